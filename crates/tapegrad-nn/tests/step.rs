//! `train_step`: one call records the loss, runs backward, resets the tape and updates the
//! parameters. It trains to the known answer, leaves the tape empty (on errors too), equals
//! the hand-written loop, and refuses a NaN loss before touching the parameters. And the
//! paths of this crate that change parameters (an optimizer's step, a load) are seen by the
//! next `Tape::param` even without a reset.

use std::fs;
use tapegrad_core::{rng, Array, Error, Result, Tape};
use tapegrad_nn::optim::{Adam, Optimizer, Sgd};
use tapegrad_nn::{loss, train_step, Activation, Dense, Init, Mlp, Module, Reduction};

/// y = 2x - 1 on eight points, noise-free.
fn line() -> (Array<f64>, Array<f64>) {
    let x = Array::from_fn([8, 1], |i| i as f64 / 4.0 - 1.0);
    let y = x.map(|v| 2.0 * v - 1.0);
    (x, y)
}

#[test]
fn trains_a_line_to_the_known_answer_and_leaves_the_tape_empty() -> Result<()> {
    let (x, y) = line();
    let mut model = Dense::<f64>::new(1, 1, Init::Zeros, &mut rng(0));
    let mut opt = Sgd::new(0.2);
    let mut tape = Tape::new();
    let mut losses = Vec::new();
    for _ in 0..300 {
        let l = train_step(&mut tape, &mut model, &mut opt, |tape, m| {
            let pred = m.forward(tape.constant(x.clone()))?;
            loss::mse(pred, tape.constant(y.clone()), Reduction::Mean)
        })?;
        assert_eq!(tape.len(), 0, "the step resets the tape");
        losses.push(l);
    }
    // from zero weights: the loss is the mean of y², then it falls to nothing
    let first = y.data().iter().map(|v| v * v).sum::<f64>() / 8.0;
    assert!((losses[0] - first).abs() < 1e-12, "{}", losses[0]);
    assert!(
        losses.windows(2).all(|w| w[1] <= w[0]),
        "monotone for this convex problem"
    );
    assert!(losses[299] < 1e-12, "{}", losses[299]);
    let w = model.weight().value().data()[0];
    let b = model.bias().expect("bias").value().data()[0];
    assert!(
        (w - 2.0).abs() < 1e-6 && (b + 1.0).abs() < 1e-6,
        "w {w}, b {b}"
    );
    Ok(())
}

/// The step is exactly the hand-written loop (record, backward, reset, step): the same losses
/// and the same weights, bit for bit.
#[test]
fn equals_the_hand_written_loop() -> Result<()> {
    let x = Array::<f32>::randn([16, 3], 0.0, 1.0, &mut rng(1));
    let y = Array::<f32>::randn([16, 2], 0.0, 1.0, &mut rng(2));
    let make = || {
        Mlp::<f32>::new(
            &[3, 5, 2],
            Activation::Tanh,
            Activation::Identity,
            &mut rng(3),
        )
    };
    let (mut a, mut b) = (make()?, make()?);
    let (mut opt_a, mut opt_b) = (Adam::new(0.01), Adam::new(0.01));
    let (mut tape_a, mut tape_b) = (Tape::new(), Tape::new());
    for _ in 0..20 {
        let la = train_step(&mut tape_a, &mut a, &mut opt_a, |tape, m| {
            let pred = m.forward(tape.constant(x.clone()))?;
            loss::mse(pred, tape.constant(y.clone()), Reduction::Mean)
        })?;
        let (lb, grads) = {
            let pred = b.forward(tape_b.constant(x.clone()))?;
            let l = loss::mse(pred, tape_b.constant(y.clone()), Reduction::Mean)?;
            (l.item()?, l.backward()?)
        };
        tape_b.reset();
        opt_b.step(&mut b, &grads)?;
        assert_eq!(la.to_bits(), lb.to_bits());
    }
    let (pa, pb) = (a.named_params(), b.named_params());
    for ((na, va), (nb, vb)) in pa.iter().zip(&pb) {
        assert_eq!(na, nb);
        assert_eq!(va.value(), vb.value(), "{na}");
    }
    Ok(())
}

#[test]
fn a_nan_loss_is_an_error_and_nothing_is_updated() -> Result<()> {
    let mut model = Dense::<f64>::new(1, 1, Init::Constant(0.5), &mut rng(0));
    let before = model.weight().value().clone();
    let mut opt = Sgd::new(0.1);
    let mut tape = Tape::new();
    let e = train_step(&mut tape, &mut model, &mut opt, |tape, m| {
        let x = tape.constant(Array::from_vec(vec![-1.0], [1, 1])?);
        Ok(m.forward(x)?.sum().log()) // log(0.5 · -1 + 0) = log(-0.5): NaN
    })
    .expect_err("a NaN loss");
    let Error::NonFinite { what, value } = &e else {
        panic!("{e}")
    };
    assert_eq!(what, "train_step: the loss");
    assert!(value.is_nan());
    assert_eq!(
        e.to_string(),
        "train_step: the loss: value is NaN (not finite)"
    );
    assert_eq!(model.weight().value(), &before, "not updated");
    assert!(tape.is_empty());
    Ok(())
}

#[test]
fn errors_of_the_closure_and_the_optimizer_propagate_and_the_tape_is_emptied() -> Result<()> {
    let mut model = Dense::<f64>::new(2, 1, Init::Constant(1.0), &mut rng(0));
    let mut tape = Tape::new();
    // the forward pass's shape error
    let e = train_step(&mut tape, &mut model, &mut Sgd::new(0.1), |tape, m| {
        let x = tape.constant(Array::zeros([4, 3])); // 3 inputs, the layer takes 2
        m.forward(x)?.mse(tape.constant(Array::zeros([4, 1])))
    })
    .expect_err("a shape error");
    assert!(matches!(e, Error::Shape { .. }), "{e}");
    assert!(tape.is_empty());
    // the optimizer's refusal of a bad learning rate, located at the train_step call
    let line = line!() + 1;
    let e = train_step(&mut tape, &mut model, &mut Sgd::new(0.0), |tape, m| {
        let x = tape.constant(Array::ones([4, 2]));
        m.forward(x)?.mse(tape.constant(Array::zeros([4, 1])))
    })
    .expect_err("lr 0 is refused");
    match e {
        Error::InvalidArgument { location, .. } => {
            assert!(location.file().ends_with("step.rs"), "{location}");
            assert_eq!(location.line(), line);
        }
        e => panic!("{e}"),
    }
    assert!(tape.is_empty());
    assert_eq!(model.weight().value().data(), &[1.0, 1.0], "not updated");
    Ok(())
}

/// The new user's loop with an optimizer and no reset: the optimizer's update (copy on write,
/// since the tape still holds the weights) is seen by the next forward pass on the same tape,
/// so the run matches the one that resets.
#[test]
fn an_optimizer_step_without_reset_is_seen_by_the_next_forward() -> Result<()> {
    let (x, y) = line();
    let mut kept = Dense::<f64>::new(1, 1, Init::Zeros, &mut rng(0));
    let mut reset = Dense::<f64>::new(1, 1, Init::Zeros, &mut rng(0));
    let (mut opt_k, mut opt_r) = (Sgd::new(0.2), Sgd::new(0.2));
    let never_reset = Tape::new();
    let mut tape = Tape::new();
    for _ in 0..10 {
        let (lk, gk) = {
            let pred = kept.forward(never_reset.constant(x.clone()))?;
            let l = loss::mse(pred, never_reset.constant(y.clone()), Reduction::Mean)?;
            (l.item()?, l.backward()?)
        };
        opt_k.step(&mut kept, &gk)?;
        let lr = train_step(&mut tape, &mut reset, &mut opt_r, |tape, m| {
            let pred = m.forward(tape.constant(x.clone()))?;
            loss::mse(pred, tape.constant(y.clone()), Reduction::Mean)
        })?;
        assert_eq!(lk, lr);
    }
    assert_eq!(kept.weight().value(), reset.weight().value());
    Ok(())
}

/// Loading weights into a model whose parameters a tape holds: the next binding reads the
/// loaded values.
#[test]
fn a_load_while_bound_is_seen_by_the_next_binding() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("tapegrad-nn-step-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("ones.safetensors");
    let ones = Dense::<f64>::new(2, 1, Init::Constant(1.0), &mut rng(0));
    ones.save(&path)?;
    let mut model = Dense::<f64>::new(2, 1, Init::Constant(0.0), &mut rng(0));
    let tape = Tape::new();
    let x = tape.constant(Array::from_vec(vec![2.0, 3.0], [1, 2])?);
    assert_eq!(model.forward(x)?.item()?, 0.0);
    model.load(&path)?;
    assert_eq!(model.forward(x)?.item()?, 2.0 + 3.0); // weights 1, bias 0
    let _ = fs::remove_dir_all(&dir);
    Ok(())
}
