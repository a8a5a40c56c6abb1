//! Literal tests of the second wave of elementwise ops: known values (`sin(π/2) = 1`, ...),
//! their first derivatives (from `backward()` and from `grad`, which must agree) and their
//! second derivatives (by differentiating the recorded gradient of
//! `grad(.., create_graph = true)`), in f64 and f32, at points where each has a hand-computed
//! or mathematically known value. The rule always receives an incoming gradient `W != 1`.

use std::f64::consts::{FRAC_PI_2, FRAC_PI_3, LN_2};
use tapegrad_core::{grad, Array, Element, Tape, Tensor};

/// The incoming gradient every rule receives (the output is scaled by it).
const W: f64 = -1.5;

/// `(f(x), f′(x), f″(x))` at a scalar `x` in `T`: `f′` from `backward()`, checked equal to
/// `grad`'s recorded one, and `f″` the gradient of that recorded `f′` (0 when it does not
/// depend on `x`).
fn derivs<T: Element>(
    x: f64,
    f: impl for<'t> Fn(Tensor<'t, T>) -> Tensor<'t, T>,
) -> (f64, f64, f64) {
    let tape = Tape::<T>::new();
    let xt = tape.var(Array::scalar(T::of(x)));
    let y = f(xt);
    let loss = y.mul_scalar(W);
    let d1 = loss.backward().unwrap().get(xt).unwrap().data()[0].as_f64();
    let g = grad(&[loss], &[xt], None, true).unwrap()[0].expect("f depends on x");
    let recorded = g.item().unwrap().as_f64();
    assert!(
        (recorded - d1).abs() <= 1e-6 * (1.0 + d1.abs()),
        "grad {recorded} vs backward {d1}"
    );
    let d2 = grad(&[g], &[xt], None, false).unwrap()[0].map_or(0.0, |t| t.item().unwrap().as_f64());
    (y.item().unwrap().as_f64(), d1 / W, d2 / W)
}

#[track_caller]
fn close(got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol * (1.0 + want.abs()),
        "got {got}, want {want}"
    );
}

/// Checks `f` at `x` against `(y, f′, f″)` in f64 (to 1e-12) and f32 (to 1e-5).
#[track_caller]
fn check(
    x: f64,
    want: (f64, f64, f64),
    f64_op: impl for<'t> Fn(Tensor<'t, f64>) -> Tensor<'t, f64>,
    f32_op: impl for<'t> Fn(Tensor<'t, f32>) -> Tensor<'t, f32>,
) {
    for (got, tol) in [(derivs(x, f64_op), 1e-12), (derivs(x, f32_op), 1e-5)] {
        close(got.0, want.0, tol);
        close(got.1, want.1, tol);
        close(got.2, want.2, tol);
    }
}

/// `check` with the same op in both types.
macro_rules! check {
    ($x:expr, $want:expr, |$t:ident| $body:expr) => {
        check($x, $want, |$t| $body, |$t| $body)
    };
}

#[test]
fn sin_and_cos_at_known_points() {
    // sin(π/2) = 1, sin' = cos = 0, sin'' = -sin = -1
    check!(FRAC_PI_2, (1.0, 0.0, -1.0), |x| x.sin());
    // sin(0) = 0, sin' = 1, sin'' = 0
    check!(0.0, (0.0, 1.0, 0.0), |x| x.sin());
    // cos(π/3) = 1/2, cos' = -sin = -√3/2, cos'' = -cos = -1/2
    let s3 = 3f64.sqrt() / 2.0;
    check!(FRAC_PI_3, (0.5, -s3, -0.5), |x| x.cos());
    // cos(0) = 1, cos' = 0, cos'' = -1
    check!(0.0, (1.0, 0.0, -1.0), |x| x.cos());
}

#[test]
fn log1p_and_expm1_at_known_points() {
    // log1p(1) = ln 2, 1/(1 + x) = 1/2, -1/(1 + x)² = -1/4
    check!(1.0, (LN_2, 0.5, -0.25), |x| x.log1p());
    // log1p(0) = 0, 1, -1
    check!(0.0, (0.0, 1.0, -1.0), |x| x.log1p());
    // expm1(ln 2) = 1, e^x = 2, e^x = 2
    check!(LN_2, (1.0, 2.0, 2.0), |x| x.expm1());
    // expm1(0) = 0, 1, 1
    check!(0.0, (0.0, 1.0, 1.0), |x| x.expm1());
}

#[test]
fn log1p_and_expm1_keep_tiny_inputs() {
    // where 1 + x rounds to 1, ln(1 + x) and e^x - 1 computed naively give 0
    let tape = Tape::<f64>::new();
    let x = tape.constant(Array::from_vec(vec![1e-20, -3e-18], [2]).unwrap());
    assert_eq!(x.log1p().to_array().data(), &[1e-20, -3e-18]);
    assert_eq!(x.expm1().to_array().data(), &[1e-20, -3e-18]);
    let tape = Tape::<f32>::new();
    let x = tape.constant(Array::from_vec(vec![1e-20f32, -3e-18], [2]).unwrap());
    assert_eq!(x.log1p().to_array().data(), &[1e-20, -3e-18]);
    assert_eq!(x.expm1().to_array().data(), &[1e-20, -3e-18]);
}

#[test]
fn log1p_outside_its_domain_is_ieee() {
    let tape = Tape::<f64>::new();
    let x = tape.constant(Array::from_vec(vec![-1.0, -2.0], [2]).unwrap());
    let y = x.log1p().to_array();
    assert_eq!(y.data()[0], f64::NEG_INFINITY);
    assert!(y.data()[1].is_nan());
}

#[test]
fn reciprocal_and_rsqrt_at_known_points() {
    // 1/x at 2: 1/2, -1/x² = -1/4, 2/x³ = 1/4
    check!(2.0, (0.5, -0.25, 0.25), |x| x.reciprocal());
    // at -0.5: -2, -4, -16
    check!(-0.5, (-2.0, -4.0, -16.0), |x| x.reciprocal());
    // x^(-1/2) at 4: 1/2, -x^(-3/2)/2 = -1/16, 3x^(-5/2)/4 = 3/128
    check!(4.0, (0.5, -0.0625, 3.0 / 128.0), |x| x.rsqrt());
    // at 1/4: 2, -4, 24
    check!(0.25, (2.0, -4.0, 24.0), |x| x.rsqrt());
}

#[test]
fn reciprocal_and_rsqrt_at_zero_are_infinite() {
    let tape = Tape::<f64>::new();
    let x = tape.constant(Array::from_vec(vec![0.0, -0.0], [2]).unwrap());
    assert_eq!(
        x.reciprocal().to_array().data(),
        &[f64::INFINITY, f64::NEG_INFINITY]
    );
    assert_eq!(x.rsqrt().to_array().data()[0], f64::INFINITY);
    let x = tape.constant(Array::scalar(-1.0));
    assert!(x.rsqrt().item().unwrap().is_nan());
}

#[test]
fn silu_at_known_points() {
    // silu(1) = σ(1), σ(1)(1 + 1·(1 - σ(1))), and the second derivative
    // σ'(1)(1 + (1 - σ(1))) + σ(1)((1 - σ(1)) - σ'(1)) with σ' = σ(1 - σ)
    let want = (0.7310585786300049, 0.9276705118714869, 0.3023661188100153);
    check!(1.0, want, |x| x.silu());
    let want = (
        -0.2384058440442351,
        -0.09078424878489547,
        0.05006216869470692,
    );
    check!(-2.0, want, |x| x.silu());
    // silu(0) = 0, σ(0) = 1/2, σ'(0)·2 = 1/2
    check!(0.0, (0.0, 0.5, 0.5), |x| x.silu());
}

#[test]
fn elu_at_known_points_and_at_its_kink() {
    // elu(-1) = e^-1 - 1, gradient α·e^-1, second derivative α·e^-1
    let e1 = 0.36787944117144233;
    check!(-1.0, (-0.6321205588285577, e1, e1), |x| x.elu(1.0));
    // alpha 0.5 at -2: 0.5(e^-2 - 1), 0.5·e^-2 twice
    let h = 0.06766764161830635;
    check!(-2.0, (-0.43233235838169365, h, h), |x| x.elu(0.5));
    // at 0, PyTorch's x <= 0 branch: value 0, gradient α·e^0 = α, second derivative α
    check!(0.0, (0.0, 0.5, 0.5), |x| x.elu(0.5));
    // above 0 the identity: gradient 1, second derivative 0
    check!(2.0, (2.0, 1.0, 0.0), |x| x.elu(0.5));
}

#[test]
fn elu_of_a_huge_input_has_gradient_one() {
    // the x <= 0 branch's α·e^x would overflow here: the rule never forms it
    let tape = Tape::<f32>::new();
    let x = tape.var(Array::from_vec(vec![100.0f32, 1e30], [2]).unwrap());
    let y = x.elu(1.0);
    assert_eq!(y.to_array().data(), &[100.0, 1e30]);
    assert_eq!(
        y.sum().backward().unwrap().get(x).unwrap().data(),
        &[1.0, 1.0]
    );
    let g = grad(&[y.sum()], &[x], None, true).unwrap()[0].unwrap();
    assert_eq!(g.to_array().data(), &[1.0, 1.0]);
}

#[test]
fn softplus_at_known_points_and_its_threshold() {
    // softplus(1) = ln(1 + e), σ(1), σ(1)(1 - σ(1))
    let want = (1.3132616875182228, 0.7310585786300049, 0.19661193324148185);
    check!(1.0, want, |x| x.softplus());
    check!(1.0, want, |x| x.softplus_with(1.0, 20.0));
    // beta 2 at -0.5: ln(1 + e^-1)/2, σ(-1), 2σ(-1)(1 - σ(-1))
    let want = (0.15663084375911143, 0.2689414213699951, 0.3932238664829637);
    check!(-0.5, want, |x| x.softplus_with(2.0, 20.0));
    // exactly at the threshold (20 is not > 20): still ln(1 + e^20), σ(20)
    let want = (
        20.000000002061153,
        0.9999999979388463,
        2.0611536879193953e-9,
    );
    check!(20.0, want, |x| x.softplus());
    // above it the identity: gradient 1, second derivative 0
    check!(25.0, (25.0, 1.0, 0.0), |x| x.softplus());
    // beta 2, threshold 1: 2·1 > 1, so x itself
    check!(1.0, (1.0, 1.0, 0.0), |x| x.softplus_with(2.0, 1.0));
}

#[test]
fn softplus_does_not_overflow() {
    // a threshold above every input: ln(1 + e^(βx)) computed stably, no inf
    let tape = Tape::<f32>::new();
    let x = tape.var(Array::from_vec(vec![200.0f32, -200.0], [2]).unwrap());
    let y = x.softplus_with(1.0, 1e9);
    assert_eq!(y.to_array().data(), &[200.0, 0.0]);
    assert_eq!(
        y.sum().backward().unwrap().get(x).unwrap().data(),
        &[1.0, 0.0]
    );
}

#[test]
fn erf_and_gelu_at_known_points() {
    // erf: 2/√π·e^(-x²), then -2x · 2/√π·e^(-x²)
    let want = (0.5204998778130465, 0.8787825789354448, -0.8787825789354448);
    check!(0.5, want, |x| x.erf());
    let want = (0.8427007929497149, 0.4151074974205947, -0.8302149948411894);
    check!(1.0, want, |x| x.erf());
    // gelu(1) = Φ(1), Φ(1) + φ(1), and the second derivative φ(x)(2 - x²) = φ(1)
    let want = (0.8413447460685429, 1.0833154705876864, 0.24197072451914337);
    check!(1.0, want, |x| x.gelu());
    let want = (
        -0.15426876936299344,
        0.13250487534383712,
        0.6161143218375241,
    );
    check!(-0.5, want, |x| x.gelu());
    // gelu(0) = 0, Φ(0) = 1/2, 2φ(0) = 2/√(2π)
    check!(0.0, (0.0, 0.5, 0.7978845608028654), |x| x.gelu());
}

#[test]
fn gelu_tanh_at_known_points() {
    // the value and the derivatives of x(1 + tanh(k(x + κx³)))/2 (the second derivative
    // by hand, checked against central differences of the first)
    let want = (0.8411919906082768, 1.0829640838457826, 0.24214819798377285);
    check!(1.0, want, |x| x.gelu_tanh());
    let want = (-0.15428599017485606, 0.13263009646535764, 0.615506895115985);
    check!(-0.5, want, |x| x.gelu_tanh());
    check!(0.0, (0.0, 0.5, 0.7978845608028654), |x| x.gelu_tanh());
}

#[test]
fn gelu_saturates_without_nan() {
    let tape = Tape::<f32>::new();
    let x = tape.var(Array::from_vec(vec![-30.0f32, 30.0], [2]).unwrap());
    for y in [x.gelu(), x.gelu_tanh()] {
        assert_eq!(y.to_array().data(), &[-0.0, 30.0]);
        let g = y.sum().backward().unwrap();
        assert_eq!(g.get(x).unwrap().data(), &[0.0, 1.0]);
    }
}

#[test]
fn scalars_on_either_side_of_an_operator() {
    // at x = 2 with c = 3: (value, d/dx, d²/dx²)
    check!(2.0, (5.0, 1.0, 0.0), |x| 3.0 + x);
    check!(2.0, (1.0, -1.0, 0.0), |x| 3.0 - x);
    check!(2.0, (6.0, 3.0, 0.0), |x| 3.0 * x);
    // c/x: -c/x² = -3/4, 2c/x³ = 3/4
    check!(2.0, (1.5, -0.75, 0.75), |x| 3.0 / x);
    check!(2.0, (5.0, 1.0, 0.0), |x| x + 3.0);
    check!(2.0, (-1.0, 1.0, 0.0), |x| x - 3.0);
    check!(2.0, (6.0, 3.0, 0.0), |x| x * 3.0);
    check!(2.0, (2.0 / 3.0, 1.0 / 3.0, 0.0), |x| x / 3.0);
    // 1 - x², 2x, 1/x together: -2x + 2 - 1/x² = -2.25, -2 + 2/x³ = -1.75
    check!(2.0, (-3.0, -2.25, -1.75), |x| 1.0 - x * x
        + 2.0 * x
        + 1.0 / x
        - 4.5);
}

#[test]
fn the_tape_names_the_new_ops() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Array::scalar(0.5));
    let ys = [
        x.sin(),
        x.cos(),
        x.log1p(),
        x.expm1(),
        x.reciprocal(),
        x.rsqrt(),
        x.silu(),
        x.elu(0.5),
        x.softplus_with(2.0, 10.0),
        x.erf(),
        x.gelu(),
        x.gelu_tanh(),
    ];
    let names: Vec<&str> = ys.iter().map(|y| y.op().name()).collect();
    assert_eq!(
        names,
        [
            "sin",
            "cos",
            "log1p",
            "expm1",
            "reciprocal",
            "rsqrt",
            "silu",
            "elu",
            "softplus",
            "erf",
            "gelu",
            "gelu_tanh"
        ]
    );
    let id = x.elu(0.5).op().inputs()[0];
    assert_eq!(
        x.elu(0.5).op().to_string(),
        format!("elu(#{id}, alpha=0.5)")
    );
    assert_eq!(
        x.softplus_with(2.0, 10.0).op().to_string(),
        format!("softplus(#{id}, beta=2, threshold=10)")
    );
}
