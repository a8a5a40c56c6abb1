//! Training with a gradient penalty (WGAN-GP, Gulrajani et al. 2017): the loss holds
//! `λ·mean((‖∇ₓ f(x)‖ − 1)²)`, the norm of the critic's gradient with respect to its *input*,
//! taken on the tape by `grad(.., create_graph = true)`; `backward` then differentiates that
//! gradient with respect to the weights, and Adam steps.
//!
//! - the penalty alone drives the input-gradient norm of a critic that starts far too steep to
//!   1 everywhere in a square;
//! - a WGAN-GP critic between two Gaussians at distance 2 learns the Wasserstein-1 distance
//!   as `mean f(real) − mean f(fake)`, with gradient norms near 1: precisely, the soft
//!   penalty's known optimum, slope `1 + 1/λ` and estimate `2(1 + 1/λ)`;
//! - the parameter gradient of the penalty agrees with central finite differences in f64, and
//!   an `Mlp` critic's gradient (the training path above, through the fused `linear` op) equals
//!   that of the same critic written with tensor ops.

use tapegrad_core::{
    grad, gradcheck, rng, Activation, Array, Error, GradcheckOptions, Param, Result, Tape, Tensor,
};
use tapegrad_nn::optim::{Adam, Optimizer};
use tapegrad_nn::ParamPath;
use tapegrad_nn::{Dense, Mlp, Module};

/// `(penalty, norms)`: `mean((‖∇ₓ f‖ − 1)²)` over the rows of `x` (a `tape.var`) and the
/// per-row norms `‖∇ₓ f(xᵢ)‖` (shape `[n]`), both recorded on the tape. `f` maps `[n, d]` to
/// `[n, 1]`, row by row, so weighting every output by one gives each row its own gradient.
fn penalty<'t>(
    tape: &'t Tape<f64>,
    x: Tensor<'t, f64>,
    f: impl FnOnce(Tensor<'t, f64>) -> Result<Tensor<'t, f64>>,
) -> Result<(Tensor<'t, f64>, Tensor<'t, f64>)> {
    let y = f(x)?;
    let ones = tape.constant(Array::ones(y.shape()));
    let g = grad(&[y], &[x], Some(&[ones]), true)?[0]
        .ok_or_else(|| Error::invalid("penalty", "f does not depend on x"))?;
    // the 1e-12 keeps sqrt's derivative finite at a zero gradient
    let norms = g.square().sum_axis(1, false)?.add_scalar(1e-12).sqrt();
    Ok((norms.sub_scalar(1.0).square().mean(), norms))
}

fn critic(sizes: &[usize], seed: u64) -> Mlp<f64> {
    Mlp::new(
        sizes,
        Activation::Tanh,
        Activation::Identity,
        &mut rng(seed),
    )
    .unwrap()
}

/// `n` rows of 2-D Gaussian samples around `(cx, 0)` with standard deviation `std`.
fn gaussian(n: usize, cx: f64, std: f64, r: &mut rand::rngs::StdRng) -> Array<f64> {
    let z = Array::<f64>::randn([n, 2], 0.0, std, r);
    Array::from_fn([n, 2], |i| z.data()[i] + if i % 2 == 0 { cx } else { 0.0 })
}

/// The mean penalty, the mean `|‖∇ₓ f‖ − 1|` and the mean `‖∇ₓ f‖` of `model` over the rows
/// of `x`.
fn measure(model: &Mlp<f64>, x: &Array<f64>) -> (f64, f64, f64) {
    let tape = Tape::new();
    let (p, norms) = penalty(&tape, tape.var(x.clone()), |x| model.forward(x)).unwrap();
    let norms = norms.to_array();
    let n = x.dims()[0] as f64;
    let dev = norms.data().iter().map(|v| (v - 1.0).abs()).sum::<f64>() / n;
    let mean = norms.data().iter().sum::<f64>() / n;
    (p.item().unwrap(), dev, mean)
}

#[test]
fn the_penalty_alone_drives_input_gradient_norms_to_one() {
    let mut model = critic(&[2, 32, 32, 1], 1);
    // make the critic start far too steep: every weight times 3
    model.visit_mut(&mut ParamPath::new(), &mut |_, p| {
        for v in p.value_mut().data_mut() {
            *v *= 3.0;
        }
    });
    let held_out = Array::<f64>::rand_uniform([256, 2], -2.0, 2.0, &mut rng(99));
    let (p0, dev0, _) = measure(&model, &held_out);
    assert!(
        p0 > 1.0 && dev0 > 1.0,
        "the start is not steep: {p0} {dev0}"
    );

    let mut opt = Adam::new(3e-3);
    let mut r = rng(7);
    let mut tape = Tape::new();
    let mut losses = Vec::new();
    for _ in 0..1500 {
        let x = Array::<f64>::rand_uniform([64, 2], -2.0, 2.0, &mut r);
        let grads = {
            let (p, _) = penalty(&tape, tape.var(x), |x| model.forward(x)).unwrap();
            losses.push(p.item().unwrap());
            p.backward().unwrap()
        };
        tape.reset();
        opt.step(&mut model, &grads).unwrap();
    }
    let (p1, dev1, _) = measure(&model, &held_out);
    assert!(p1 < 1e-3 * p0, "penalty {p0} -> {p1}");
    assert!(dev1 < 0.03, "mean |‖∇f‖ − 1| {dev0} -> {dev1}");
    assert!(losses.last().unwrap() < &(1e-3 * losses[0]), "{losses:?}");
}

#[test]
fn a_wgan_gp_critic_learns_the_wasserstein_distance_with_unit_gradients() -> Result<()> {
    // real ~ N((1, 0), 0.3²), fake ~ N((-1, 0), 0.3²): W1 = 2, reached by f(x) = x₁ (+ c),
    // whose gradient has norm 1. The penalty is soft, so the critic's optimum is a bit
    // steeper: for f = s·x₁ the loss is −2s + λ(s − 1)², least at s = 1 + 1/λ, where
    // mean f(real) − mean f(fake) = 2(1 + 1/λ). That is what WGAN-GP's critic estimates.
    let (n, lambda, std) = (64, 10.0, 0.3);
    let slope = 1.0 + 1.0 / lambda;
    let mut model = critic(&[2, 32, 32, 1], 3);
    // a steep start, so that the penalty has far to fall
    model.visit_mut(&mut ParamPath::new(), &mut |_, p| {
        for v in p.value_mut().data_mut() {
            *v *= 2.0;
        }
    });
    let mut opt = Adam::new(1e-3);
    let mut r = rng(11);
    let mut tape = Tape::new();
    let mut penalties = Vec::new();
    let pair = |r: &mut rand::rngs::StdRng, n: usize| {
        let real = gaussian(n, 1.0, std, r);
        let fake = gaussian(n, -1.0, std, r);
        // WGAN-GP's interpolates: a random point on the segment between a real and a fake
        let eps = Array::<f64>::rand_uniform([n, 1], 0.0, 1.0, r);
        let mix = Array::from_fn([n, 2], |i| {
            let e = eps.data()[i / 2];
            e * real.data()[i] + (1.0 - e) * fake.data()[i]
        });
        (real, fake, mix)
    };
    for _ in 0..800 {
        let (real, fake, mix) = pair(&mut r, n);
        let grads = {
            let f_real = model.forward(tape.constant(real))?;
            let f_fake = model.forward(tape.constant(fake))?;
            let (gp, _) = penalty(&tape, tape.var(mix), |x| model.forward(x))?;
            penalties.push(gp.item()?);
            // the critic minimizes mean f(fake) − mean f(real) + λ·penalty
            let loss = f_fake
                .mean()
                .sub(f_real.mean())?
                .add(gp.mul_scalar(lambda))?;
            loss.backward()?
        };
        tape.reset();
        opt.step(&mut model, &grads)?;
    }
    // fresh samples: the critic's estimate of W1, and its gradient norms between the two
    let (real, fake, mix) = pair(&mut rng(12), 2000);
    let tape = Tape::new();
    let w1 = model.forward(tape.constant(real))?.mean().item()?
        - model.forward(tape.constant(fake))?.mean().item()?;
    let (p, _, mean_norm) = measure(&model, &mix);
    assert!(
        (w1 - 2.0 * slope).abs() < 0.05,
        "W1 estimate {w1}, expected {}",
        2.0 * slope
    );
    assert!(
        (mean_norm - slope).abs() < 0.03,
        "mean ‖∇f‖ {mean_norm}, expected {slope}"
    );
    // the penalty falls from the steep start to about (s − 1)² = 1/λ², where it settles
    let first = penalties[0];
    assert!(first > 10.0, "the start is not steep: {first}");
    let settled = 1.0 / (lambda * lambda);
    assert!(
        (p - settled).abs() < 0.5 * settled,
        "penalty {first} -> {p}, expected ~{settled}"
    );
    Ok(())
}

/// The same 2-3-3-1 tanh critic as tensor ops (the fused `linear` op `Mlp` uses), for
/// `gradcheck`: `ws` = [w0, b0, w1, b1, w2, b2].
fn critic_ops<'t>(x: Tensor<'t, f64>, ws: &[Tensor<'t, f64>]) -> Result<Tensor<'t, f64>> {
    let h = x.linear(ws[0], Some(ws[1]), Activation::Tanh)?;
    let h = h.linear(ws[2], Some(ws[3]), Activation::Tanh)?;
    h.linear(ws[4], Some(ws[5]), Activation::Identity)
}

#[test]
fn the_penalty_gradient_matches_central_differences() {
    let model = critic(&[2, 3, 3, 1], 5);
    let weights: Vec<Array<f64>> = model
        .named_params()
        .into_iter()
        .map(|(_, p)| p.value().clone())
        .collect();
    assert_eq!(weights.len(), 6);
    // a steep start, so that the penalty and its gradient are far from 0
    let weights: Vec<Array<f64>> = weights.iter().map(|w| w.map(|v| 3.0 * v)).collect();
    let x = Array::<f64>::rand_uniform([5, 2], -1.0, 1.0, &mut rng(6));

    // gradient of the penalty with respect to every weight: tape vs central differences
    let report = gradcheck(
        |tape, ws| {
            let (p, _) = penalty(tape, tape.var(x.clone()), |x| critic_ops(x, ws))?;
            Ok(p)
        },
        &weights,
        GradcheckOptions::f64(),
    )
    .unwrap();
    assert!(report.passes(), "{report}");

    // the training path (an Mlp's params, `backward`) gives the same gradients as the checked
    // expression
    let layers = weights
        .chunks(2)
        .map(|wb| Dense::from_arrays(wb[0].clone(), Some(wb[1].clone())).unwrap())
        .collect();
    let mlp = Mlp::from_layers(layers, Activation::Tanh, Activation::Identity).unwrap();
    let tape = Tape::new();
    let (p_mlp, _) = penalty(&tape, tape.var(x.clone()), |x| mlp.forward(x)).unwrap();
    let g_mlp = p_mlp.backward().unwrap();
    let tape2 = Tape::new();
    let ws: Vec<Tensor<'_, f64>> = weights.iter().map(|w| tape2.var(w.clone())).collect();
    let (p_ops, _) = penalty(&tape2, tape2.var(x.clone()), |x| critic_ops(x, &ws)).unwrap();
    assert!((p_mlp.item().unwrap() - p_ops.item().unwrap()).abs() < 1e-12);
    assert!(p_ops.item().unwrap() > 0.5, "{}", p_ops.item().unwrap());
    let g_ops = p_ops.backward().unwrap();
    let params: Vec<&Param<f64>> = mlp.named_params().into_iter().map(|(_, p)| p).collect();
    for (k, (p, w)) in params.iter().zip(&ws).enumerate() {
        let (a, b) = (g_mlp.param(p), g_ops.get(*w));
        if k == 5 {
            // the output bias shifts f, not its gradient: no path from it to the penalty
            assert!(a.is_none() && b.is_none(), "{a:?} {b:?}");
            continue;
        }
        let a = a.expect("every other weight shapes the penalty");
        let b = b.expect("every other weight shapes the penalty");
        assert!(a.approx_eq(b, 1e-12, 1e-10), "{a:?} vs {b:?}");
    }
}
