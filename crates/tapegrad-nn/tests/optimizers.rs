//! Optimizers against hand-computed updates (three steps, values written out) and on a convex
//! least-squares problem where each must converge; gradient accumulation, clipping, schedules.
//!
//! The hand problem: one parameter `w = [1, -2]`, loss `Σ w²`, so the gradient is `2w`. The
//! expected values follow PyTorch's update rules, written beside each case.

use tapegrad_core::{rng, Array, Gradients, Param, Result, Tape};
use tapegrad_nn::optim::{Adagrad, Adam, AdamW, Optimizer, RmsProp, Sgd};
use tapegrad_nn::schedule::{Cosine, LrSchedule};
use tapegrad_nn::Activation::{Identity, Relu, Tanh};
use tapegrad_nn::{clip_grad_norm, clip_grad_value, loss, Dense, Init, Mlp, Module, Reduction};

mod common;
use common::regress;

common::one_param_module!(
    /// A bare parameter vector as a module: its forward ignores the input and returns `w`.
    Vector,
    |x, w| Ok(w)
);

/// Three steps of `opt` on `Σ w²` from `w = [1, -2]`; the value after each step.
fn three_steps(opt: &mut dyn Optimizer<f64>) -> Result<Vec<[f64; 2]>> {
    let mut m = Vector {
        w: Param::new(Array::from_vec(vec![1.0, -2.0], [2])?),
    };
    let mut tape = Tape::new();
    let mut out = Vec::new();
    for _ in 0..3 {
        let grads = {
            let w = m.forward(tape.constant(Array::scalar(0.0)))?;
            w.square().sum().backward()?
        };
        tape.reset();
        opt.step(&mut m, &grads)?;
        let v = m.w.value().data();
        out.push([v[0], v[1]]);
    }
    Ok(out)
}

fn assert_steps(name: &str, got: &[[f64; 2]], want: &[[f64; 2]]) {
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        for i in 0..2 {
            assert!(
                (g[i] - w[i]).abs() < 1e-12,
                "{name}, step {}: w[{i}] = {} but hand computation gives {}",
                k + 1,
                g[i],
                w[i]
            );
        }
    }
}

#[test]
fn sgd_by_hand() -> Result<()> {
    // w ← w - 0.1·2w = 0.8w
    let got = three_steps(&mut Sgd::new(0.1))?;
    assert_steps("sgd", &got, &[[0.8, -1.6], [0.64, -1.28], [0.512, -1.024]]);

    // b₁ = g₁ = 2; w = 1 - 0.2 = 0.8. g₂ = 1.6, b₂ = 0.9·2 + 1.6 = 3.4, w = 0.8 - 0.34 = 0.46.
    // g₃ = 0.92, b₃ = 0.9·3.4 + 0.92 = 3.98, w = 0.46 - 0.398 = 0.062.
    let got = three_steps(&mut Sgd::new(0.1).momentum(0.9))?;
    assert_steps(
        "momentum",
        &got,
        &[[0.8, -1.6], [0.46, -0.92], [0.062, -0.124]],
    );

    // Nesterov: d = g + 0.9·b. b₁ = 2, d = 3.8, w = 1 - 0.38 = 0.62.
    // g₂ = 1.24, b₂ = 1.8 + 1.24 = 3.04, d = 1.24 + 2.736 = 3.976, w = 0.62 - 0.3976 = 0.2224.
    let got = three_steps(&mut Sgd::new(0.1).momentum(0.9).nesterov(true))?;
    assert_steps(
        "nesterov",
        &got,
        &[[0.62, -1.24], [0.2224, -0.4448], [-0.108352, 0.216704]],
    );

    // weight decay 0.1: d = 2w + 0.1w = 2.1w; momentum 0.5, dampening 0.5.
    // b₁ = 2.1, w = 1 - 0.21 = 0.79. d₂ = 1.659, b₂ = 1.05 + 0.8295 = 1.8795, w = 0.60205.
    let got = three_steps(&mut Sgd::new(0.1).momentum(0.5).dampening(0.5).weight_decay(0.1))?;
    assert_steps(
        "sgd weight decay",
        &got,
        &[[0.79, -1.58], [0.60205, -1.2041], [0.44485975, -0.8897195]],
    );
    Ok(())
}

#[test]
fn adam_and_adamw_by_hand() -> Result<()> {
    // step 1: m = 0.1g, v = 0.001g², m̂ = g, v̂ = g²: w = w - 0.1·g/(|g| + 1e-8) ≈ w - 0.1·sign(w)
    // step 2 (w = 0.9): g = 1.8, m = 0.18 + 0.18 = 0.36, v = 0.003996 + 0.00324 = 0.007236,
    // m̂ = 0.36/0.19, √v̂ = √(0.007236/0.001999), w = 0.9 - 0.1·m̂/(√v̂ + 1e-8) = 0.80041...
    let got = three_steps(&mut Adam::new(0.1))?;
    assert_steps(
        "adam",
        &got,
        &[
            [0.9000000005, -1.90000000025],
            [0.8004122286917927, -1.800166486115701],
            [0.7015862729460302, -1.700623392046465],
        ],
    );
    // L2 weight decay 0.1 enters the gradient (g = 2.1w); the sign step barely changes
    let got = three_steps(&mut Adam::new(0.1).weight_decay(0.1))?;
    assert_steps(
        "adam weight decay",
        &got,
        &[
            [0.9000000004761904, -1.9000000002380952],
            [0.8004122286431954, -1.8001664860916349],
            [0.7015862728718214, -1.7006233920100058],
        ],
    );
    // decoupled: w ← w·(1 - 0.1·0.1) first, then the Adam step on g = 2w (of the old w):
    // step 1: 0.99 - 0.1 = 0.89 and -1.98 + 0.1 = -1.88
    let got = three_steps(&mut AdamW::new(0.1).weight_decay(0.1))?;
    assert_steps(
        "adamw",
        &got,
        &[
            [0.8900000004999999, -1.88000000025],
            [0.7815718559365048, -1.7614089505845592],
            [0.6751012216400698, -1.6443686835605893],
        ],
    );
    Ok(())
}

#[test]
fn rmsprop_by_hand() -> Result<()> {
    // step 1: v = 0.01g², w = w - 0.01·g/(0.1|g| + 1e-8) ≈ w - 0.1·sign(w)
    // step 2 (w = 0.9): v = 0.99·0.04 + 0.01·3.24 = 0.072, w = 0.9 - 0.01·1.8/√0.072 = 0.83292
    let got = three_steps(&mut RmsProp::new(0.01))?;
    assert_steps(
        "rmsprop",
        &got,
        &[
            [0.9000000049999998, -1.9000000025],
            [0.8329179679700331, -1.8309433291098638],
            [0.7799822732436351, -1.7753494456014602],
        ],
    );
    // centered with momentum 0.9: a = √(v - ḡ²) + eps, b = 0.9b + g/a, w = w - 0.01·b
    // step 1: v = 0.04, ḡ = 0.02, a = √0.0396, w = 1 - 0.01·2/√0.0396 = 0.899496...
    let got = three_steps(&mut RmsProp::new(0.01).momentum(0.9).centered(true))?;
    assert_steps(
        "rmsprop centered momentum",
        &got,
        &[
            [0.8994962235245836, -1.8994962209993314],
            [0.7413059808836701, -1.7392987514978548],
            [0.5496501653165236, -1.5406780204571116],
        ],
    );
    Ok(())
}

#[test]
fn adagrad_by_hand() -> Result<()> {
    // step 1: s = g², w = w - 0.1·g/|g| = w - 0.1·sign(w)
    // step 2 (w = 0.9): g = 1.8, s = 4 + 3.24 = 7.24, w = 0.9 - 0.1·1.8/√7.24 = 0.83310...
    let got = three_steps(&mut Adagrad::new(0.1))?;
    assert_steps(
        "adagrad",
        &got,
        &[
            [0.900000000005, -1.9000000000025],
            [0.8331035268450359, -1.8311250538122312],
            [0.7804561813568098, -1.775821515013063],
        ],
    );
    // lr decay 0.5 (step t uses 0.1/(1 + 0.5(t-1))), weight decay 0.1, accumulators from 0.1:
    // step 1: g = 2.1, s = 0.1 + 4.41, w = 1 - 0.1·2.1/√4.51 = 0.901114...
    let got = three_steps(
        &mut Adagrad::new(0.1)
            .lr_decay(0.5)
            .weight_decay(0.1)
            .initial_accumulator(0.1),
    )?;
    assert_steps(
        "adagrad decayed",
        &got,
        &[
            [0.901114862041574, -1.9002822472488825],
            [0.8567633645032584, -1.854430284351194],
            [0.8300350298527728, -1.8265655740379578],
        ],
    );
    Ok(())
}

/// Least squares `min ‖X w + b - y‖²` with an exact solution: a `Dense(3, 1)` must reach it.
fn least_squares(
    opt: &mut dyn Optimizer<f32>,
    steps: usize,
    schedule: Option<&dyn LrSchedule>,
) -> Result<f64> {
    let x = Array::<f32>::randn([64, 3], 0.0, 1.0, &mut rng(7));
    let w_true = [1.5f32, -2.0, 0.5];
    let b_true = 0.3f32;
    let y = Array::from_fn([64, 1], |i| {
        let r = &x.data()[3 * i..3 * i + 3];
        r[0] * w_true[0] + r[1] * w_true[1] + r[2] * w_true[2] + b_true
    });
    let mut model = Dense::<f32>::new(3, 1, Init::Zeros, &mut rng(0));
    let mut tape = Tape::new();
    for step in 0..steps {
        if let Some(s) = schedule {
            opt.set_lr(s.lr_at(step));
        }
        let grads = {
            let pred = model.forward(tape.constant(x.clone()))?;
            loss::mse(pred, tape.constant(y.clone()), Reduction::Mean)?.backward()?
        };
        tape.reset();
        opt.step(&mut model, &grads)?;
    }
    let w = model.weight().value().data();
    let b = model.bias().expect("has a bias").value().data()[0];
    let err = w
        .iter()
        .zip(w_true)
        .map(|(a, t)| (a - t).abs())
        .fold((b - b_true).abs(), f32::max);
    Ok(err as f64)
}

/// A name, an optimizer, its step count and an optional schedule.
type Case<'a> = (
    &'a str,
    Box<dyn Optimizer<f32>>,
    usize,
    Option<&'a dyn LrSchedule>,
);

#[test]
fn every_optimizer_solves_least_squares() -> Result<()> {
    let cosine = Cosine::new(0.05, 0.0, 1500)?;
    let cases: Vec<Case> = vec![
        ("sgd", Box::new(Sgd::new(0.1)), 500, None),
        (
            "sgd momentum",
            Box::new(Sgd::new(0.05).momentum(0.9)),
            300,
            None,
        ),
        (
            "sgd nesterov",
            Box::new(Sgd::new(0.05).momentum(0.9).nesterov(true)),
            300,
            None,
        ),
        ("adam", Box::new(Adam::new(0.05)), 1500, Some(&cosine)),
        (
            "adamw",
            Box::new(AdamW::new(0.05).weight_decay(0.0)),
            1500,
            Some(&cosine),
        ),
        ("rmsprop", Box::new(RmsProp::new(0.01)), 1500, Some(&cosine)),
        ("adagrad", Box::new(Adagrad::new(0.5)), 1500, None),
    ];
    for (name, mut opt, steps, sched) in cases {
        let err = least_squares(&mut *opt, steps, sched)?;
        assert!(
            err < 1e-4,
            "{name}: largest weight error {err} after {steps} steps"
        );
    }
    Ok(())
}

#[test]
fn weight_decay_shrinks_the_solution() -> Result<()> {
    // with decay the minimizer is pulled toward 0: the error stays visibly above the plain one
    let plain = least_squares(&mut Sgd::new(0.1), 500, None)?;
    let decayed = least_squares(&mut Sgd::new(0.1).weight_decay(0.1), 500, None)?;
    assert!(decayed > 0.05 && plain < 1e-3, "{decayed} {plain}");
    Ok(())
}

fn xy() -> (Array<f64>, Array<f64>) {
    let x = Array::randn([8, 3], 0.0, 1.0, &mut rng(11));
    let y = Array::randn([8, 2], 0.0, 1.0, &mut rng(12));
    (x, y)
}

fn grads_of(
    model: &Mlp<f64>,
    x: &Array<f64>,
    y: &Array<f64>,
) -> Result<tapegrad_core::Gradients<f64>> {
    let tape = Tape::new();
    let pred = model.forward(tape.constant(x.clone()))?;
    loss::mse(pred, tape.constant(y.clone()), Reduction::Mean)?.backward()
}

#[test]
fn accumulating_two_half_batches_equals_one_full_batch() -> Result<()> {
    let model = Mlp::<f64>::new(&[3, 5, 2], Tanh, Identity, &mut rng(1))?;
    let (x, y) = xy();
    let full = grads_of(&model, &x, &y)?;
    let mut acc = Gradients::new();
    for half in [0..4, 4..8] {
        let g = grads_of(&model, &x.rows(half.clone())?, &y.rows(half)?)?;
        acc.accumulate(&g)?;
    }
    assert_eq!(acc.batches(), 2);
    acc.average();
    assert_eq!(acc.len(), 4);
    for (name, p) in model.named_params() {
        let a = acc.by_id(p.id()).expect("accumulated");
        let f = full.param(p).expect("full batch");
        assert!(a.approx_eq(f, 1e-14, 1e-12), "{name}: {a:?} vs {f:?}");
    }
    // and a step from either is the same step
    let mut m1 = model.clone();
    let mut m2 = model.clone();
    // clones have new parameter ids: take each clone's own gradients
    let g1 = grads_of(&m1, &x, &y)?;
    let mut acc2 = Gradients::new();
    for half in [0..4, 4..8] {
        acc2.accumulate(&grads_of(&m2, &x.rows(half.clone())?, &y.rows(half)?)?)?;
    }
    acc2.average();
    let mut o1 = Adam::new(0.01);
    let mut o2 = Adam::new(0.01);
    o1.step(&mut m1, &g1)?;
    o2.step(&mut m2, &acc2)?;
    for ((n, a), (_, b)) in m1.named_params().into_iter().zip(m2.named_params()) {
        assert!(a.value().approx_eq(b.value(), 1e-12, 1e-10), "{n}");
    }
    // clear keeps the buffers but forgets the gradients
    acc.clear();
    assert!(acc.is_empty() && acc.batches() == 0);
    acc.accumulate(&full)?;
    assert_eq!(acc.len(), 4);
    Ok(())
}

#[test]
fn parameters_without_gradient_are_skipped() -> Result<()> {
    let mut model = Mlp::<f64>::new(&[3, 4, 2], Relu, Identity, &mut rng(2))?;
    let (x, _) = xy();
    let values = |m: &Mlp<f64>, layer: usize| -> Vec<Array<f64>> {
        m.layers()[layer]
            .named_params()
            .into_iter()
            .map(|(_, p)| p.value().clone())
            .collect()
    };
    let (first0, second0) = (values(&model, 0), values(&model, 1));
    let first_only = {
        let tape = Tape::new();
        // only the first layer runs: the second layer's parameters get no gradient
        let h = model.layers()[0].forward(tape.constant(x.clone()))?;
        h.square().sum().backward()?
    };
    let mut opt = Sgd::new(0.1).momentum(0.9).weight_decay(0.1);
    opt.step(&mut model, &first_only)?;
    assert_eq!(
        values(&model, 1),
        second0,
        "no gradient, no update (not even decay)"
    );
    assert_ne!(values(&model, 0), first0, "the first layer moved");
    Ok(())
}

#[test]
fn clipping_by_norm_and_value() -> Result<()> {
    let model = Mlp::<f64>::new(&[3, 4, 2], Tanh, Identity, &mut rng(3))?;
    let (x, y) = xy();
    let mut g = grads_of(&model, &x, &y)?;
    let norm = g.global_norm();
    let reported = clip_grad_norm(&mut g, norm / 4.0)?;
    assert_eq!(reported, norm);
    assert!((g.global_norm() - norm / 4.0).abs() < 1e-6 * norm);
    // a bound above the norm changes nothing
    let before: Vec<Array<f64>> = g.params().map(|(_, a)| a.clone()).collect();
    clip_grad_norm(&mut g, norm)?;
    let after: Vec<Array<f64>> = g.params().map(|(_, a)| a.clone()).collect();
    assert_eq!(before, after);
    clip_grad_value(&mut g, 0.01)?;
    assert!(g
        .params()
        .all(|(_, a)| a.data().iter().all(|v| v.abs() <= 0.01)));
    assert!(clip_grad_norm(&mut g, 0.0).is_err());
    assert!(clip_grad_value(&mut g, f64::NAN).is_err());
    Ok(())
}

#[test]
fn bad_settings_and_mismatched_gradients_are_errors() -> Result<()> {
    let mut m = Vector {
        w: Param::new(Array::from_vec(vec![1.0, 2.0], [2])?),
    };
    let grads = {
        let tape = Tape::new();
        tape.param(&m.w).sum().backward()?
    };
    let cases: Vec<(Box<dyn Optimizer<f64>>, &str)> = vec![
        (Box::new(Sgd::new(-0.1)), "lr must be positive and finite"),
        (
            Box::new(Sgd::new(0.1).momentum(1.0)),
            "momentum must be in [0, 1)",
        ),
        (
            Box::new(Sgd::new(0.1).nesterov(true)),
            "Nesterov momentum needs",
        ),
        (Box::new(Adam::new(0.1).betas(0.9, 1.0)), "beta2 must be in"),
        (
            Box::new(AdamW::new(f64::NAN)),
            "lr must be positive and finite",
        ),
        (Box::new(RmsProp::new(0.1).alpha(-0.5)), "alpha must be in"),
        (Box::new(Adagrad::new(0.1).eps(-1.0)), "eps must be in"),
    ];
    for (mut opt, msg) in cases {
        let err = opt.step(&mut m, &grads).unwrap_err().to_string();
        assert!(err.contains(msg), "{err}");
    }
    assert_eq!(m.w.value().data(), &[1.0, 2.0], "nothing changed");

    // a gradient whose shape is not its parameter's: an error naming the parameter
    let mut wrong = {
        let tape = Tape::new();
        tape.param(&m.w).sum().backward()?
    };
    let id = m.w.id();
    *wrong.by_id_mut(id).expect("present") = Array::zeros([3]);
    let err = Sgd::new(0.1).step(&mut m, &wrong).unwrap_err().to_string();
    assert!(
        err.starts_with("sgd: [2] and [3]: the gradient of parameter `w`"),
        "{err}"
    );
    let mut opt = Sgd::<f64>::new(0.1);
    opt.set_lr(0.25);
    assert_eq!(opt.lr(), 0.25);
    Ok(())
}

/// Every optimizer of this crate, with learning rate `lr` (momentum and the like switched on,
/// so that every kind of state is present).
fn every_optimizer(lr: f64) -> Vec<Box<dyn Optimizer<f64>>> {
    vec![
        Box::new(Sgd::new(lr)),
        Box::new(Sgd::new(lr).momentum(0.9).nesterov(true)),
        Box::new(Adam::new(lr)),
        Box::new(AdamW::new(lr)),
        Box::new(RmsProp::new(lr).momentum(0.5).centered(true)),
        Box::new(Adagrad::new(lr).lr_decay(0.1)),
    ]
}

#[test]
fn learning_rates_that_are_not_positive_and_finite_are_refused_at_the_callers_line() -> Result<()> {
    let mut m = Vector {
        w: Param::new(Array::from_vec(vec![1.0, 2.0], [2])?),
    };
    let grads = {
        let tape = Tape::new();
        tape.param(&m.w).sum().backward()?
    };
    for lr in [0.0, -0.0, -0.1, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        for mut opt in every_optimizer(lr) {
            let err = opt.step(&mut m, &grads).unwrap_err();
            let line = line!() - 1;
            let msg = err.to_string();
            // `sgd: lr must be positive and finite, got 0 (at tests/optimizers.rs:L:C)`
            let name = msg.split(':').next().expect("an op name");
            assert!(
                ["sgd", "adam", "adamw", "rmsprop", "adagrad"].contains(&name),
                "{msg}"
            );
            assert!(
                msg.contains(&format!("lr must be positive and finite, got {lr}")),
                "{msg}"
            );
            assert!(
                msg.contains(&format!(
                    "(at crates/tapegrad-nn/tests/optimizers.rs:{line}:"
                )),
                "the caller's line: {msg}"
            );
        }
    }
    assert_eq!(m.w.value().data(), &[1.0, 2.0], "nothing changed");

    // a schedule that reaches 0 (a cosine with min 0, past its end): the step says so
    let cosine = Cosine::new(0.1, 0.0, 10)?;
    let mut opt = Adam::new(0.1);
    opt.set_lr(cosine.lr_at(10));
    let err = opt.step(&mut m, &grads).unwrap_err().to_string();
    assert!(
        err.starts_with("adam: lr must be positive and finite, got 0 (at crates/tapegrad-nn/tests/optimizers.rs:"),
        "{err}"
    );
    Ok(())
}

#[test]
fn shape_errors_of_a_step_name_the_callers_line() -> Result<()> {
    let mut m = Vector {
        w: Param::new(Array::from_vec(vec![1.0, 2.0], [2])?),
    };
    let mut wrong = {
        let tape = Tape::new();
        tape.param(&m.w).sum().backward()?
    };
    *wrong.by_id_mut(m.w.id()).expect("present") = Array::zeros([3]);
    for mut opt in every_optimizer(0.1) {
        let opt: &mut dyn Optimizer<f64> = &mut *opt;
        let err = opt.step(&mut m, &wrong).unwrap_err().to_string();
        let line = line!() - 1;
        assert!(
            err.contains(&format!(
                "the gradient of parameter `w` must have its shape (at crates/tapegrad-nn/tests/optimizers.rs:{line}:"
            )),
            "{err}"
        );
    }
    Ok(())
}

#[test]
fn a_step_that_leaves_a_parameter_non_finite_is_an_error_naming_it() -> Result<()> {
    // a NaN gradient makes every optimizer's update NaN
    for mut opt in every_optimizer(0.1) {
        assert!(opt.checks_finite());
        let mut m = Vector {
            w: Param::new(Array::from_vec(vec![1.0, 2.0], [2])?),
        };
        let mut g = {
            let tape = Tape::new();
            tape.param(&m.w).sum().backward()?
        };
        g.by_id_mut(m.w.id()).expect("present").data_mut()[1] = f64::NAN;
        let err = opt.step(&mut m, &g).unwrap_err();
        match &err {
            tapegrad_core::Error::NonFinite { what, value } => {
                assert!(what.ends_with(": parameter `w` after the update"), "{what}");
                assert!(value.is_nan());
            }
            e => panic!("expected NonFinite, got {e}"),
        }
    }
    // an overflow: a huge learning rate on a large gradient gives an infinite weight
    let mut m = Vector {
        w: Param::new(Array::from_vec(vec![1e300, 2.0], [2])?),
    };
    let grads = {
        let tape = Tape::new();
        tape.param(&m.w).square().sum().backward()? // gradient 2e300
    };
    let err = Sgd::new(1e10).step(&mut m, &grads).unwrap_err().to_string();
    assert_eq!(
        err,
        "sgd: parameter `w` after the update: value is -inf (not finite)"
    );
    Ok(())
}

/// `steps` steps of `opt` on a small regression from a fixed model; the model after them.
fn run(opt: &mut dyn Optimizer<f64>, model: &mut Mlp<f64>, steps: usize) -> Result<()> {
    let (x, y) = xy();
    regress(opt, model, &x, &y, steps)
}

#[test]
fn exported_state_continues_exactly_in_a_new_optimizer_and_model() -> Result<()> {
    let fresh = || Mlp::<f64>::new(&[3, 5, 2], Tanh, Identity, &mut rng(21));
    for (mut straight, mut first, mut second) in every_optimizer(0.01)
        .into_iter()
        .zip(every_optimizer(0.01))
        .zip(every_optimizer(0.5)) // other settings: the import must replace them
        .map(|((a, b), c)| (a, b, c))
    {
        // 6 steps in one go
        let mut a = fresh()?;
        run(&mut *straight, &mut a, 6)?;
        // 3 steps, the state exported by name, 3 more on a copy of the model (new parameter
        // ids) with a new optimizer that imported it
        let mut b = fresh()?;
        run(&mut *first, &mut b, 3)?;
        let state = first.export_state(&b)?;
        assert!(!state.settings.is_empty());
        let mut c = b.clone();
        second.import_state(&c, &state)?;
        assert_eq!(second.lr(), 0.01);
        assert_eq!(second.export_state(&c)?, state, "{}", state.kind);
        run(&mut *second, &mut c, 3)?;
        for ((n, p), (_, q)) in a.named_params().into_iter().zip(c.named_params()) {
            assert_eq!(p.value(), q.value(), "{}: {n}", state.kind);
        }
    }
    Ok(())
}

#[test]
fn importing_a_state_that_does_not_fit_is_an_error_and_changes_nothing() -> Result<()> {
    let mut model = Mlp::<f64>::new(&[3, 5, 2], Tanh, Identity, &mut rng(1))?;
    let mut adam = Adam::new(0.01);
    run(&mut adam, &mut model, 2)?;
    let state = adam.export_state(&model)?;
    assert_eq!(state.kind, "adam");
    assert_eq!(state.params["0.weight"].step, Some(2));
    assert_eq!(state.params["0.weight"].buffers["exp_avg"].dims(), &[3, 5]);

    // another kind
    let mut sgd = Sgd::<f64>::new(0.3);
    let err = sgd.import_state(&model, &state).unwrap_err().to_string();
    assert!(
        err.starts_with("sgd: cannot take the state of a adam optimizer"),
        "{err}"
    );
    assert_eq!(sgd.lr(), 0.3);
    // a parameter the model does not have
    let small = Mlp::<f64>::new(&[3, 2], Tanh, Identity, &mut rng(1))?;
    let mut other = Adam::new(0.7);
    let err = other.import_state(&small, &state).unwrap_err().to_string();
    assert!(
        err.contains("the `exp_avg` of parameter `0.bias` holds 5 values, the parameter 2"),
        "{err}"
    );
    let mut renamed = state.clone();
    let ps = renamed.params.remove("0.bias").expect("present");
    renamed.params.insert("9.bias".into(), ps);
    let err = other
        .import_state(&model, &renamed)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the state names parameter `9.bias`, which the model does not have"),
        "{err}"
    );
    // a buffer of the wrong length, a missing setting
    let mut bad = state.clone();
    bad.params
        .get_mut("0.bias")
        .expect("present")
        .buffers
        .insert("exp_avg".into(), Array::zeros([4]));
    let err = other.import_state(&model, &bad).unwrap_err().to_string();
    assert!(
        err.contains("the `exp_avg` of parameter `0.bias` holds 4 values, the parameter 5"),
        "{err}"
    );
    let mut bad = state.clone();
    bad.settings.remove("beta2");
    let err = other.import_state(&model, &bad).unwrap_err().to_string();
    assert!(err.contains("lacks the setting `beta2`"), "{err}");
    assert_eq!(other.lr(), 0.7, "nothing changed");
    assert!(other.export_state(&model)?.params.is_empty());
    Ok(())
}

#[test]
fn an_optimizer_of_ones_own_is_refused_by_checkpoints_unless_it_exports() -> Result<()> {
    struct Plain(f64);
    impl Optimizer<f64> for Plain {
        fn step(&mut self, _: &mut dyn Module<f64>, _: &Gradients<f64>) -> Result<()> {
            Ok(())
        }
        fn lr(&self) -> f64 {
            self.0
        }
        fn set_lr(&mut self, lr: f64) {
            self.0 = lr;
        }
    }
    let model = Dense::<f64>::new(2, 1, Init::Zeros, &mut rng(0));
    let p = Plain(0.1);
    assert!(!p.checks_finite());
    let err = p.export_state(&model).unwrap_err().to_string();
    assert!(err.contains("does not support checkpoints"), "{err}");
    Ok(())
}

/// Logistic regression written as tensor expressions on two loose parameters, `w` `[3, 1]` and
/// `b` `[1]`: the mean BCE-with-logits of `x·w + b` on a fixed, seeded problem.
fn logreg_grads(tape: &mut Tape<f64>, w: &Param<f64>, b: &Param<f64>) -> Result<Gradients<f64>> {
    let x = Array::<f64>::randn([32, 3], 0.0, 1.0, &mut rng(7));
    let y = Array::from_fn([32, 1], |i| {
        let r = &x.data()[3 * i..3 * i + 3];
        f64::from(u8::from(r[0] - 2.0 * r[1] + 0.5 * r[2] > 0.0))
    });
    let (_, grads) = tape.value_and_grad(|tape| {
        let logits = tape.constant(x).matmul(tape.param(w))?.add(tape.param(b))?;
        loss::bce_with_logits(logits, tape.constant(y), Reduction::Mean)
    })?;
    Ok(grads)
}

#[test]
fn loose_params_step_as_a_module_does() -> Result<()> {
    let w0 = Array::from_vec(vec![0.1, -0.2, 0.3], [3, 1])?;
    let b0 = Array::from_vec(vec![0.05], [1])?;
    let steps = 50;
    let mut tape = Tape::new();
    // 1. inside a module (a Dense used only as the parameters' container)
    let mut dense = Dense::from_arrays(w0.clone(), Some(b0.clone()))?;
    let mut opt = Adam::new(0.05).weight_decay(1e-3);
    let mut first_loss_grad = None;
    for _ in 0..steps {
        let grads = logreg_grads(&mut tape, dense.weight(), dense.bias().unwrap())?;
        first_loss_grad.get_or_insert_with(|| grads.param(dense.weight()).unwrap().clone());
        opt.step(&mut dense, &grads)?;
    }
    let want = [
        dense.weight().value().clone(),
        dense.bias().unwrap().value().clone(),
    ];
    // training did something: the weights moved toward the separating direction (1, -2, 0.5)
    assert!(
        want[0].data()[0] > 0.5 && want[0].data()[1] < -0.5,
        "{:?}",
        want[0]
    );
    assert_ne!(first_loss_grad.unwrap().data(), &[0.0; 3]);
    // 2. as a Vec<Param> (torch's ParameterList)
    let mut list = vec![Param::new(w0.clone()), Param::new(b0.clone())];
    let mut opt2 = Adam::new(0.05).weight_decay(1e-3);
    for _ in 0..steps {
        let grads = logreg_grads(&mut tape, &list[0], &list[1])?;
        opt2.step(&mut list, &grads)?;
    }
    // 3. in two separate variables, through step_params (through a dyn Optimizer too)
    let (mut w, mut b) = (Param::new(w0), Param::new(b0));
    let mut opt3: Box<dyn Optimizer<f64>> = Box::new(Adam::new(0.05).weight_decay(1e-3));
    for _ in 0..steps {
        let grads = logreg_grads(&mut tape, &w, &b)?;
        opt3.step_params(&mut [&mut w, &mut b], &grads)?;
    }
    for got in [[list[0].value(), list[1].value()], [w.value(), b.value()]] {
        assert_eq!(got[0].data(), want[0].data(), "bit-identical weights");
        assert_eq!(got[1].data(), want[1].data(), "bit-identical biases");
    }
    // the list and the loose parameters checkpoint alike, under the names 0 and 1
    let s2 = opt2.export_state(&list)?;
    let s3 = opt3.export_state(&tapegrad_nn::ParamRefs(&mut [&mut w, &mut b]))?;
    assert_eq!(s2, s3);
    assert_eq!(s2.params.keys().collect::<Vec<_>>(), ["0", "1"]);
    assert_eq!(s2.params["0"].step, Some(steps));
    let mut fresh = Adam::new(0.05);
    fresh.import_state(&list, &s2)?;
    assert_eq!(fresh.export_state(&list)?, s2);
    // clipping and naming work on the list; its forward is an error that says why
    assert_eq!(list.param_count(), 4);
    let err = list
        .forward(tape.constant(Array::zeros([1, 3])))
        .unwrap_err();
    assert!(err.to_string().contains("no forward pass"), "{err}");
    assert!(
        list.describe()
            .starts_with("ParameterList(\n  (0): Parameter [3, 1]"),
        "{}",
        list.describe()
    );
    Ok(())
}
