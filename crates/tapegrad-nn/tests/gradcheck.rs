//! Every module and loss, checked in f64 against central finite differences through the tape:
//! module gradients for the input and every parameter (`gradcheck_module`), loss gradients for
//! predictions and targets (the core's `gradcheck`). Shapes vary under proptest.

use proptest::prelude::*;
use tapegrad_core::{gradcheck, rng, Array, GradcheckOptions, GradcheckReport, Result, Tape};
use tapegrad_nn::loss::{self, Reduction};
use tapegrad_nn::ParamPath;
use tapegrad_nn::{
    gradcheck_module, Activation, Autoencoder, Dense, Dropout, Init, Mlp, Module, Sequential,
};

fn opts() -> GradcheckOptions {
    GradcheckOptions::f64()
}

fn randn(shape: &[usize], seed: u64) -> Array<f64> {
    Array::randn(shape, 0.0, 1.0, &mut rng(seed))
}

/// Draws every bias at random: with zero biases a ReLU after a dead unit sits exactly on its
/// kink (pre-activation 0), where finite differences see the average of the two one-sided
/// slopes and no gradient can match them.
fn randomize_biases(m: &mut dyn Module<f64>, seed: u64) {
    let mut r = rng(seed);
    m.visit_mut(&mut ParamPath::new(), &mut |name, p| {
        if name.to_string().ends_with("bias") {
            let v = Array::randn(p.value().shape(), 0.0, 0.5, &mut r);
            p.set(v).expect("same shape");
        }
    });
}

/// Asserts that every named gradient check ran and passes; a failure names the check.
fn all_pass<const N: usize>(
    checks: [(&str, Result<GradcheckReport>); N],
) -> std::result::Result<(), TestCaseError> {
    for (name, report) in checks {
        let report = report.unwrap_or_else(|e| panic!("{name}: {e}"));
        prop_assert!(report.passes(), "{name}: {report}");
    }
    Ok(())
}

fn check_module(m: &mut dyn Module<f64>, x: &Array<f64>) {
    randomize_biases(m, 99);
    let report = gradcheck_module(m, x, opts()).expect("forward");
    let n_params = m.named_params().len();
    assert_eq!(report.inputs.len(), 1 + n_params);
    assert!(report.passes(), "{}\n{report}", m.describe());
}

#[test]
fn dense_all_ranks_with_and_without_bias() {
    let mut r = rng(1);
    let mut d = Dense::<f64>::new(3, 4, Init::XavierNormal, &mut r);
    check_module(&mut d, &randn(&[5, 3], 2));
    check_module(&mut d, &randn(&[3], 3));
    check_module(&mut d, &randn(&[2, 3, 3], 4));
    let mut nb = Dense::<f64>::new_without_bias(4, 2, Init::HeUniform, &mut r);
    check_module(&mut nb, &randn(&[6, 4], 5));
}

#[test]
fn activations() {
    let x = randn(&[4, 5], 7);
    check_module(&mut Activation::Relu, &x);
    check_module(&mut Activation::LeakyRelu(0.2), &x);
    check_module(&mut Activation::Sigmoid, &x);
    check_module(&mut Activation::Tanh, &x);
    check_module(&mut Activation::Identity, &x);
    check_module(&mut Activation::Softmax(-1), &x);
    check_module(&mut Activation::Softmax(0), &x);
}

#[test]
fn dropout_in_both_modes() -> Result<()> {
    // training: a fresh module with the same seed per evaluation draws the same mask, so the
    // function is deterministic and finite differences apply
    let x = randn(&[6, 7], 8);
    let report = gradcheck(
        |_tape, xs| Dropout::new(0.4, 11)?.forward(xs[0]),
        std::slice::from_ref(&x),
        opts(),
    )?;
    assert!(report.passes(), "{report}");
    // and the gradient is the mask: zero where dropped, 1/(1-p) where kept
    let tape = Tape::<f64>::new();
    let xt = tape.var(x.clone());
    let y = Dropout::new(0.4, 11)?.forward(xt)?;
    let yv = y.to_array();
    let grads = y.sum().backward()?;
    let g = grads.get(xt).expect("x has a gradient");
    for ((&gi, &yi), &xi) in g.data().iter().zip(yv.data()).zip(x.data()) {
        if yi == 0.0 {
            assert_eq!(gi, 0.0);
        } else {
            assert!((gi - 1.0 / 0.6).abs() < 1e-12 && (yi - xi / 0.6).abs() < 1e-12);
        }
    }
    // evaluation: the identity
    let mut d = Dropout::new(0.4, 11)?;
    d.set_training(false);
    check_module(&mut d, &x);
    Ok(())
}

#[test]
fn sequential_with_every_kind_of_child() -> Result<()> {
    let mut r = rng(3);
    let mut seq = Sequential::<f64>::new()
        .with(Dense::new(3, 5, Init::HeNormal, &mut r))
        .with(Activation::LeakyRelu(0.1))
        .with(Dense::new(5, 4, Init::XavierUniform, &mut r))
        .with(Activation::Tanh)
        .with(Dense::new(4, 3, Init::XavierNormal, &mut r))
        .with(Activation::Softmax(-1));
    seq.push(Dropout::new(0.5, 1)?);
    seq.eval();
    check_module(&mut seq, &randn(&[4, 3], 9));
    Ok(())
}

#[test]
fn autoencoder() -> Result<()> {
    let mut ae = Autoencoder::<f64>::new(
        6,
        &[4],
        2,
        Activation::Tanh,
        Activation::Sigmoid,
        &mut rng(4),
    )?;
    check_module(&mut ae, &randn(&[3, 6], 10));
    Ok(())
}

const ACTS: [Activation; 10] = [
    Activation::Relu,
    Activation::LeakyRelu(0.05),
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Identity,
    Activation::Gelu,
    Activation::GeluTanh,
    Activation::Silu,
    Activation::Elu(1.0),
    Activation::Softplus {
        beta: 1.0,
        threshold: 20.0,
    },
];
const OUTS: [Activation; 3] = [
    Activation::Identity,
    Activation::Sigmoid,
    Activation::Softmax(-1),
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn mlp_any_shape_activation_and_fusion(
        sizes in prop::collection::vec(1usize..5, 2..5),
        batch in 1usize..4,
        act in 0usize..ACTS.len(),
        out in 0usize..3,
        fused in any::<bool>(),
        seed in 0u64..1000,
    ) {
        let mut mlp = Mlp::<f64>::new(&sizes, ACTS[act], OUTS[out], &mut rng(seed)).unwrap();
        mlp.set_fused(fused);
        randomize_biases(&mut mlp, seed + 2);
        let x = randn(&[batch, sizes[0]], seed + 1);
        let report = gradcheck_module(&mut mlp, &x, opts()).unwrap();
        prop_assert!(report.passes(), "{}\n{report}", mlp.describe());
    }

    #[test]
    fn dense_any_shape(
        i in 1usize..6, o in 1usize..6, batch in 1usize..5, seed in 0u64..1000,
    ) {
        let mut d = Dense::<f64>::new(i, o, Init::XavierNormal, &mut rng(seed));
        randomize_biases(&mut d, seed + 2);
        let report = gradcheck_module(&mut d, &randn(&[batch, i], seed + 1), opts()).unwrap();
        prop_assert!(report.passes(), "{report}");
    }

    #[test]
    fn regression_losses(
        rows in 1usize..5, cols in 1usize..5, seed in 0u64..1000, sum in any::<bool>(),
    ) {
        let red = if sum { Reduction::Sum } else { Reduction::Mean };
        let p = randn(&[rows, cols], seed);
        let t = randn(&[rows, cols], seed + 1);
        let inputs = [p, t];
        all_pass([
            ("mse", gradcheck(|_, xs| loss::mse(xs[0], xs[1], red), &inputs, opts())),
            ("mae", gradcheck(|_, xs| loss::mae(xs[0], xs[1], red), &inputs, opts())),
            ("huber", gradcheck(|_, xs| loss::huber(xs[0], xs[1], 0.7, red), &inputs, opts())),
        ])?;
    }

    #[test]
    fn binary_losses(
        rows in 1usize..5, cols in 1usize..4, seed in 0u64..1000, sum in any::<bool>(),
    ) {
        let red = if sum { Reduction::Sum } else { Reduction::Mean };
        let logits = randn(&[rows, cols], seed);
        // targets inside [0, 1] also when the finite differences nudge them
        let t = Array::rand_uniform([rows, cols], 0.05, 0.95, &mut rng(seed + 1));
        let probs = Array::rand_uniform([rows, cols], 0.05, 0.95, &mut rng(seed + 2));
        all_pass([
            ("bce", gradcheck(|_, xs| loss::bce(xs[0], xs[1], red), &[probs, t.clone()], opts())),
            (
                "bce_with_logits",
                gradcheck(|_, xs| loss::bce_with_logits(xs[0], xs[1], red), &[logits, t], opts()),
            ),
        ])?;
    }

    #[test]
    fn class_losses(
        n in 1usize..6, c in 1usize..5, seed in 0u64..1000, sum in any::<bool>(),
    ) {
        let red = if sum { Reduction::Sum } else { Reduction::Mean };
        let logits = randn(&[n, c], seed).map(|v| 3.0 * v);
        let targets: Vec<usize> = (0..n).map(|i| (i * 7 + seed as usize) % c).collect();
        let soft = Array::rand_uniform([n, c], 0.0, 1.0, &mut rng(seed + 1));
        let one = std::slice::from_ref(&logits);
        let both = [logits.clone(), soft];
        all_pass([
            (
                "cross_entropy_with_logits",
                gradcheck(
                    |_, xs| loss::cross_entropy_with_logits(xs[0], &targets, red),
                    one,
                    opts(),
                ),
            ),
            (
                "cross_entropy_with_probs",
                gradcheck(|_, xs| loss::cross_entropy_with_probs(xs[0], xs[1], red), &both, opts()),
            ),
            (
                "nll",
                gradcheck(|_, xs| loss::nll(xs[0].log_softmax(1)?, &targets, red), one, opts()),
            ),
        ])?;
    }
}
