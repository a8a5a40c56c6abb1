//! Module behaviour beyond gradients: fused and unfused MLPs agree, training mode reaches
//! nested dropout, the printout, and the gradient checker itself catches a wrong gradient.

use tapegrad_core::{rng, Array, GradcheckOptions, Param, Result, Tape};
use tapegrad_nn::loss::{self, Reduction};
use tapegrad_nn::Activation::{Identity, Relu, Sigmoid, Tanh};
use tapegrad_nn::{gradcheck_module, Activation, Dense, Dropout, Init, Mlp, Module, Sequential};

mod common;

/// Named arrays: one per parameter.
type Named<T> = Vec<(String, Array<T>)>;

/// Forward + backward of `sum(y · r)`: the output and every parameter's gradient, by name.
fn run<T: tapegrad_core::Element>(m: &dyn Module<T>, x: &Array<T>) -> Result<(Array<T>, Named<T>)> {
    let tape = Tape::new();
    let y = m.forward(tape.constant(x.clone()))?;
    let r = Array::rand_uniform(y.shape(), -1.0, 1.0, &mut rng(5));
    let grads = y.mul(tape.constant(r))?.sum().backward()?;
    let gs = m
        .named_params()
        .into_iter()
        .map(|(n, p)| {
            (
                n,
                grads
                    .param(p)
                    .expect("every parameter has a gradient")
                    .clone(),
            )
        })
        .collect();
    Ok((y.to_array(), gs))
}

#[test]
fn fused_mlp_equals_unfused() -> Result<()> {
    for act in [Relu, Sigmoid, Tanh, Identity, Activation::LeakyRelu(0.1)] {
        for out in [Identity, Sigmoid, Activation::Softmax(-1)] {
            let mut m = Mlp::<f64>::new(&[5, 7, 6, 3], act, out, &mut rng(2))?;
            let x = Array::randn([9, 5], 0.0, 1.0, &mut rng(3));
            let (y_fused, g_fused) = run(&m, &x)?;
            m.set_fused(false);
            let (y_plain, g_plain) = run(&m, &x)?;
            assert!(y_fused.approx_eq(&y_plain, 1e-12, 1e-12), "{act:?} {out:?}");
            for ((n, a), (_, b)) in g_fused.iter().zip(&g_plain) {
                assert!(a.approx_eq(b, 1e-12, 1e-10), "{act:?} {out:?} {n}");
            }
            // and f32 agrees within rounding
            let m32 = Mlp::<f32>::new(&[5, 7, 6, 3], act, out, &mut rng(2))?;
            let mut u32 = m32.clone();
            u32.set_fused(false);
            let x32 = x.cast::<f32>();
            let (a, _) = run(&m32, &x32)?;
            let (b, _) = run(&u32, &x32)?;
            assert!(a.approx_eq(&b, 1e-5, 1e-5), "{act:?} {out:?} f32");
        }
    }
    Ok(())
}

#[test]
fn fused_mlp_records_fewer_nodes() -> Result<()> {
    let mut m = Mlp::<f32>::new(&[4, 8, 8, 2], Relu, Sigmoid, &mut rng(0))?;
    let count = |m: &Mlp<f32>| -> Result<usize> {
        let tape = Tape::new();
        m.forward(tape.constant(Array::ones([3, 4])))?;
        Ok(tape.len())
    };
    let fused = count(&m)?;
    m.set_fused(false);
    let plain = count(&m)?;
    // 1 input + 3 × (weight, bias, linear); unfused adds one node per activation
    assert_eq!((fused, plain), (10, 13));
    Ok(())
}

#[test]
fn training_mode_reaches_nested_dropout() -> Result<()> {
    let mut r = rng(1);
    let inner = Sequential::<f32>::new()
        .with(Dense::new(4, 4, Init::HeNormal, &mut r))
        .with(Relu)
        .with(Dropout::new(0.5, 3)?);
    let mut outer = Sequential::new().with(inner).with(Dropout::new(0.9, 4)?);
    let x = Array::<f32>::ones([64, 4]);
    let out = |m: &Sequential<f32>| -> Result<Array<f32>> {
        let tape = Tape::new();
        Ok(m.forward(tape.constant(x.clone()))?.to_array())
    };
    let a = out(&outer)?;
    let zeros = a.data().iter().filter(|&&v| v == 0.0).count();
    assert!(
        zeros > 200,
        "training: most outputs dropped, got {zeros} zeros of 256"
    );
    outer.eval();
    let b = out(&outer)?;
    let c = out(&outer)?;
    assert_eq!(b, c, "evaluation mode is deterministic");
    outer.train();
    assert_ne!(out(&outer)?, b);
    Ok(())
}

#[test]
fn printout_and_counts() -> Result<()> {
    let mut r = rng(0);
    let digits = Mlp::<f32>::new(&[64, 64, 32, 10], Relu, Activation::Softmax(-1), &mut r)?;
    assert_eq!(
        digits.to_string(),
        "Mlp(\n  (0): Dense(in=64, out=64, bias)\n  (1): ReLU\n  (2): Dense(in=64, out=32, bias)\n  (3): ReLU\n  (4): Dense(in=32, out=10, bias)\n  (5): Softmax(dim=-1)\n)\ntotal parameters: 6570"
    );
    let boxed: Box<dyn Module<f32>> = Box::new(digits);
    assert!(boxed.to_string().ends_with("total parameters: 6570"));
    let seq = Sequential::<f32>::new()
        .with(boxed)
        .with(Dropout::new(0.1, 0)?);
    assert_eq!(
        seq.describe().lines().take(3).collect::<Vec<_>>(),
        [
            "Sequential(",
            "  (0): Mlp(",
            "    (0): Dense(in=64, out=64, bias)"
        ]
    );
    assert!(seq.describe().ends_with("  )\n  (1): Dropout(p=0.1)\n)"));
    let names: Vec<String> = seq.named_params().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names[0], "0.0.weight");
    assert_eq!(names[5], "0.4.bias");
    Ok(())
}

common::one_param_module!(
    /// A module whose parameter gradient is wrong on purpose: the weight is detached, so the
    /// tape gives it no gradient although the output depends on it.
    Broken,
    |x, w| x.mul(w.detach())
);

#[test]
fn gradcheck_module_catches_a_wrong_gradient() -> Result<()> {
    let mut b = Broken {
        w: Param::new(Array::from_vec(vec![0.5, -1.5, 2.0], [3])?),
    };
    assert_eq!(b.describe(), "Broken"); // the default description is the type's name
    let x = Array::from_vec(vec![1.0, 2.0, -0.5], [3])?;
    let report = gradcheck_module(&mut b, &x, GradcheckOptions::f64())?;
    assert!(
        report.inputs[0].worst_ratio <= 1.0,
        "the input's gradient is right"
    );
    assert!(
        !report.passes(),
        "the weight's missing gradient must fail:\n{report}"
    );
    // the parameter was restored after the perturbations
    assert_eq!(b.w.value().data(), &[0.5, -1.5, 2.0]);
    Ok(())
}

#[test]
fn loss_shape_errors_name_both_shapes() -> Result<()> {
    let tape = Tape::<f32>::new();
    let p = tape.constant(Array::zeros([4, 1]));
    let t = tape.constant(Array::zeros([4]));
    for (name, err) in [
        ("mse", loss::mse(p, t, Reduction::Mean).unwrap_err()),
        ("mae", loss::mae(p, t, Reduction::Mean).unwrap_err()),
        (
            "huber",
            loss::huber(p, t, 1.0, Reduction::Mean).unwrap_err(),
        ),
        ("bce", loss::bce(p, t, Reduction::Mean).unwrap_err()),
        (
            "bce_with_logits",
            loss::bce_with_logits(p, t, Reduction::Sum).unwrap_err(),
        ),
    ] {
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("{name}: [4, 1] and [4]:")),
            "{msg}"
        );
    }
    let err = loss::cross_entropy_with_logits(p, &[0, 0], Reduction::Mean).unwrap_err();
    assert!(err.to_string().contains("[4, 1]") && err.to_string().contains("[2]"));
    Ok(())
}

/// Asserts that the error message `err` contains `want` and names line `line` of this file.
fn assert_error_at(err: &str, want: &str, line: u32) {
    assert!(err.contains(want), "{want:?} missing from: {err}");
    assert!(err.contains(&format!("modules.rs:{line}:")), "{err}");
}

#[test]
fn forward_errors_name_the_module_path_and_the_callers_line() -> tapegrad_core::Result<()> {
    use tapegrad_nn::{Autoencoder, Dense, Init, Sequential};
    let mut r = tapegrad_core::rng(0);
    let tape = Tape::<f32>::new();
    let x = tape.constant(Array::ones([3, 4]));

    let seq = Sequential::<f32>::new()
        .with(Dense::new(4, 8, Init::HeNormal, &mut r))
        .with(Relu)
        .with(Dense::new(9, 2, Init::HeNormal, &mut r));
    let err = seq.forward(x).unwrap_err().to_string();
    let line = line!() - 1;
    assert!(
        err.starts_with("dense: [3, 8] and [9, 2]: the input's last axis must be in=9 (in module `2`: Dense(in=9, out=2, bias)) (at crates/tapegrad-nn/tests/modules.rs:"),
        "{err}"
    );
    assert!(err.contains(&format!("modules.rs:{line}:")), "{err}");

    // nested containers and `dyn`: the path grows from the outside in
    let inner = Sequential::<f32>::new().with(Dense::new(5, 2, Init::HeNormal, &mut r));
    let outer: Box<dyn Module<f32>> = Box::new(
        Sequential::new()
            .with(Dense::new(4, 6, Init::HeNormal, &mut r))
            .with(inner),
    );
    let err = outer.forward(x).unwrap_err().to_string();
    let line = line!() - 1;
    assert_error_at(&err, "(in module `1.0`: Dense(in=5, out=2, bias))", line);

    // an autoencoder names encoder/decoder and the MLP's torch-style index
    let ae = Autoencoder::<f32>::new(6, &[4], 2, Tanh, Sigmoid, &mut r)?;
    let err = ae.forward(x).unwrap_err().to_string();
    let line = line!() - 1;
    let want =
        "the input's last axis must be in=6 (in module `encoder.0`: Dense(in=6, out=4, bias))";
    assert_error_at(&err, want, line);
    Ok(())
}

#[test]
fn reseed_makes_dropout_masks_a_function_of_the_stream() -> tapegrad_core::Result<()> {
    use tapegrad_nn::{Dropout, Sequential};
    let tape = Tape::<f32>::new();
    let x = tape.constant(Array::ones([64]));
    let mut a = Sequential::<f32>::new().with(Dropout::new(0.5, 3)?);
    let mut b = Sequential::<f32>::new().with(Dropout::new(0.5, 3)?);
    // b draws a few masks first: after the same reseed both draw the same
    for _ in 0..3 {
        b.forward(x)?;
    }
    a.reseed(42);
    b.reseed(42);
    let (ya, yb) = (a.forward(x)?.to_array(), b.forward(x)?.to_array());
    assert_eq!(ya, yb);
    a.reseed(43);
    assert_ne!(a.forward(x)?.to_array(), ya, "another stream, another mask");
    Ok(())
}
