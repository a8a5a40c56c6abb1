//! A `Dense(3, 1)` recovers known weights from noisy data (least squares by SGD), and the
//! answer matches the closed-form least-squares solution of the same data.

use tapegrad_core::{rng, Array, Result, Tape};
use tapegrad_nn::optim::{Optimizer, Sgd};
use tapegrad_nn::{loss, Dense, Init, Module, Reduction};

#[test]
fn dense_3_1_recovers_known_weights_from_noisy_data() -> Result<()> {
    let (n, w_true, b_true) = (500, [2.0f64, -3.0, 0.5], 1.25f64);
    let x = Array::<f64>::randn([n, 3], 0.0, 1.0, &mut rng(21));
    let noise = Array::<f64>::randn([n, 1], 0.0, 0.1, &mut rng(22));
    let y = Array::from_fn([n, 1], |i| {
        let r = &x.data()[3 * i..3 * i + 3];
        r.iter().zip(w_true).map(|(a, w)| a * w).sum::<f64>() + b_true + noise.data()[i]
    });

    let mut model = Dense::<f64>::new(3, 1, Init::XavierUniform, &mut rng(23));
    let mut opt = Sgd::new(0.1).momentum(0.5);
    let mut tape = Tape::new();
    let mut last = f64::INFINITY;
    for _ in 0..400 {
        let grads = {
            let pred = model.forward(tape.constant(x.clone()))?;
            let l = loss::mse(pred, tape.constant(y.clone()), Reduction::Mean)?;
            last = l.item()?;
            l.backward()?
        };
        tape.reset();
        opt.step(&mut model, &grads)?;
    }
    let w = model.weight().value().data().to_vec();
    let b = model.bias().expect("has a bias").value().data()[0];

    // within the noise: σ = 0.1 over 500 points gives standard errors of about 0.005
    for (got, want) in w.iter().zip(w_true) {
        assert!((got - want).abs() < 0.03, "weight {got} vs {want}");
    }
    assert!((b - b_true).abs() < 0.03, "bias {b} vs {b_true}");
    // the remaining loss is the noise's variance, 0.01
    assert!((last - 0.01).abs() < 0.003, "final loss {last}");

    // and gradient descent found the least-squares optimum: the normal equations'
    // residual Xᵀ(Xw + b - y) is zero
    let mut grad_w = [0.0f64; 3];
    let mut grad_b = 0.0;
    for i in 0..n {
        let r = &x.data()[3 * i..3 * i + 3];
        let e = r.iter().zip(&w).map(|(a, w)| a * w).sum::<f64>() + b - y.data()[i];
        for k in 0..3 {
            grad_w[k] += r[k] * e / n as f64;
        }
        grad_b += e / n as f64;
    }
    assert!(
        grad_w.iter().chain([&grad_b]).all(|g| g.abs() < 1e-9),
        "{grad_w:?} {grad_b}"
    );
    Ok(())
}
