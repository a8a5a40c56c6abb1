//! XOR learned with raw tensor expressions: no `nn` crate, just the tape.
//!
//! Two weight matrices and their biases are `Param`s; the forward pass is written as tensor
//! ops (`matmul`, `+`, `tanh`, `sigmoid`), the loss (MSE) too; `backward` gives the gradients
//! and a hand-written SGD step updates the parameters. Run it with
//!
//! ```text
//! cargo run --release --example tensor_xor
//! ```

use tapegrad::{rng, Array, Param, Result, Tape};

fn main() -> Result<()> {
    // The four XOR rows and their targets.
    let x = Array::<f32>::from_vec(vec![0., 0., 0., 1., 1., 0., 1., 1.], [4, 2])?;
    let t = Array::<f32>::from_vec(vec![0., 1., 1., 0.], [4, 1])?;

    // A 2-4-1 network: weights drawn from a seeded normal, biases at zero.
    let mut r = rng(3);
    let mut params = [
        Param::new(Array::randn([2, 4], 0.0, 1.0, &mut r)), // w1
        Param::new(Array::zeros([4])),                      // b1
        Param::new(Array::randn([4, 1], 0.0, 1.0, &mut r)), // w2
        Param::new(Array::zeros([1])),                      // b2
    ];
    let lr = 0.5;
    let mut tape = Tape::new();

    for step in 0..=5000 {
        let (loss, grads) = {
            let [w1, b1, w2, b2] = params.each_ref().map(|p| tape.param(p));
            let xs = tape.constant(x.clone());
            let hidden = (xs.matmul(w1)? + b1).tanh();
            let out = (hidden.matmul(w2)? + b2).sigmoid();
            let loss = (out - tape.constant(t.clone())).square().mean(); // MSE as ops
            if step == 0 {
                println!("The tape of one training step:\n{tape}");
            }
            (loss.item()?, loss.backward()?)
        };
        if step % 500 == 0 {
            println!("step {step:>4}  loss {loss:.6}");
        }
        // Free the tape first, so the parameters are updated in place (no copy).
        tape.reset();
        for p in &mut params {
            let g = grads
                .param(p)
                .expect("every parameter feeds the loss")
                .clone();
            for (w, g) in p.value_mut().data_mut().iter_mut().zip(g.data()) {
                *w -= lr * g; // plain SGD
            }
        }
    }

    // The truth table with what the network predicts.
    let [w1, b1, w2, b2] = params.each_ref().map(|p| tape.param(p));
    let xs = tape.constant(x.clone());
    let out = (xs.matmul(w1)? + b1).tanh().matmul(w2)?.add(b2)?.sigmoid();
    let out = out.to_array();
    println!("\n x1 x2 | target | output | predicted");
    let mut correct = 0;
    for i in 0..4 {
        let (p, target) = (out.data()[i], t.data()[i]);
        let predicted = if p > 0.5 { 1.0 } else { 0.0 };
        correct += usize::from(predicted == target);
        let (a, b) = (x.data()[2 * i], x.data()[2 * i + 1]);
        println!("  {a}  {b} |   {target}    | {p:.4} |     {predicted}");
    }
    println!("\n{correct}/4 correct");
    Ok(())
}
