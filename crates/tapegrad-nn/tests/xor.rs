//! XOR with a 2-4-1 MLP (tanh hidden, sigmoid output), MSE, SGD lr 0.5, full batch, 5000
//! steps, for 10 seeds: at least 9 must classify all four points and reach a loss below 0.01.

use std::time::Instant;
use tapegrad_core::{rng, Array, Result, Tape};
use tapegrad_nn::optim::{Optimizer, Sgd};
use tapegrad_nn::{loss, Activation, Mlp, Module, Reduction};

struct Outcome {
    seed: u64,
    loss: f32,
    correct: usize,
}

fn train(seed: u64) -> Result<Outcome> {
    let x = Array::<f32>::from_vec(vec![0., 0., 0., 1., 1., 0., 1., 1.], [4, 2])?;
    let y = Array::<f32>::from_vec(vec![0., 1., 1., 0.], [4, 1])?;
    // the default init for a tanh stack is Xavier uniform (see `Init`)
    let mut model = Mlp::new(
        &[2, 4, 1],
        Activation::Tanh,
        Activation::Sigmoid,
        &mut rng(seed),
    )?;
    let mut opt = Sgd::new(0.5);
    let mut tape = Tape::new();
    for _ in 0..5000 {
        let grads = {
            let pred = model.forward(tape.constant(x.clone()))?;
            loss::mse(pred, tape.constant(y.clone()), Reduction::Mean)?.backward()?
        };
        tape.reset();
        opt.step(&mut model, &grads)?;
    }
    let (pred, l) = {
        let pred = model.forward(tape.constant(x.clone()))?;
        let l = loss::mse(pred, tape.constant(y.clone()), Reduction::Mean)?.item()?;
        (pred.to_array(), l)
    };
    let correct = pred
        .data()
        .iter()
        .zip(y.data())
        .filter(|(&p, &t)| (p > 0.5) == (t > 0.5))
        .count();
    Ok(Outcome {
        seed,
        loss: l,
        correct,
    })
}

#[test]
fn xor_2_4_1_learns_for_nine_of_ten_seeds() -> Result<()> {
    let start = Instant::now();
    let outcomes: Vec<Outcome> = (0..10).map(train).collect::<Result<_>>()?;
    let mut solved = 0;
    for o in &outcomes {
        let ok = o.correct == 4 && o.loss < 0.01;
        solved += usize::from(ok);
        eprintln!(
            "seed {}: {}/4 correct, final loss {:.6} {}",
            o.seed,
            o.correct,
            o.loss,
            if ok { "ok" } else { "FAILED" }
        );
    }
    eprintln!(
        "{solved}/10 seeds solved, {:.2} s for 10 × 5000 steps",
        start.elapsed().as_secs_f64()
    );
    assert!(solved >= 9, "only {solved} of 10 seeds solved XOR");
    Ok(())
}
