//! Literal tests of the selection family: `minimum`/`maximum`, the comparisons, `where_cond`,
//! `clamp`, `min`/`min_axis`, `var`/`std`, `logsumexp`. Small tensors with hand-computed
//! values and gradients, PyTorch's conventions (ties share the gradient, clamp's bounds are
//! inclusive, masks take no gradient, `logsumexp` of all `-inf` is `-inf`), second
//! derivatives where they are 0 or must stay finite, and the errors (each names the op, the
//! shapes and this file as the caller). The random-shape properties are in
//! `gradient_properties!` (`common/mod.rs`).

use tapegrad_core::{grad, Array, Error, Tape, Tensor};

mod common;

use common::{arr, assert_close};

/// This file, as it appears in the location of an error raised by a call in it.
const HERE: &str = "ops_select.rs";

/// The message of an error, checked to name this file as the caller.
fn message(e: Error) -> String {
    common::located_message(e, HERE)
}

/// The gradients of `loss = Σ f(a, b) · w` for the leaves `a` and `b`.
fn grad2_weighted(
    a: Array<f64>,
    b: Array<f64>,
    w: Array<f64>,
    f: impl for<'t> Fn(Tensor<'t, f64>, Tensor<'t, f64>) -> tapegrad_core::Result<Tensor<'t, f64>>,
) -> (Array<f64>, Array<f64>) {
    let tape = Tape::new();
    let (at, bt) = (tape.var(a), tape.var(b));
    let y = f(at, bt).unwrap();
    let g = y.mul(tape.constant(w)).unwrap().sum().backward().unwrap();
    (g.get(at).unwrap().clone(), g.get(bt).unwrap().clone())
}

/// The gradient of `loss = Σ f(x) · w` for the leaf `x`, by `backward` and by `grad` (the
/// recorded form), checked equal.
fn grad_weighted(
    x: Array<f64>,
    w: Array<f64>,
    f: impl for<'t> Fn(Tensor<'t, f64>) -> tapegrad_core::Result<Tensor<'t, f64>>,
) -> Array<f64> {
    let tape = Tape::new();
    let xt = tape.var(x);
    let loss = f(xt).unwrap().mul(tape.constant(w)).unwrap().sum();
    let by_backward = loss.backward().unwrap().get(xt).unwrap().clone();
    let by_grad = grad(&[loss], &[xt], None, true).unwrap()[0].unwrap();
    assert_close(&by_grad.to_array(), by_backward.data());
    by_backward
}

/// The second derivative `Σ_j ∂²(Σ f(x)·w)/∂x_i∂x_j` (the Hessian times ones), through the
/// recorded gradient.
fn hessian_ones(
    x: Array<f64>,
    w: Array<f64>,
    f: impl for<'t> Fn(Tensor<'t, f64>) -> tapegrad_core::Result<Tensor<'t, f64>>,
) -> Option<Array<f64>> {
    let tape = Tape::new();
    let xt = tape.var(x);
    let loss = f(xt).unwrap().mul(tape.constant(w)).unwrap().sum();
    let g = grad(&[loss], &[xt], None, true).unwrap()[0].unwrap();
    grad(&[g.sum()], &[xt], None, false).unwrap()[0].map(|t| t.to_array())
}

// ---- minimum, maximum ----

#[test]
fn minimum_and_maximum_values_and_ties_share_the_gradient() {
    let a = arr(&[1.0, 5.0, 3.0, -2.0], &[4]);
    let b = arr(&[2.0, 4.0, 3.0, -2.0], &[4]);
    let w = arr(&[1.0, 2.0, 4.0, -8.0], &[4]);
    let tape = Tape::new();
    let (at, bt) = (tape.constant(a.clone()), tape.constant(b.clone()));
    assert_eq!(
        at.minimum(bt).unwrap().to_array().data(),
        &[1.0, 4.0, 3.0, -2.0]
    );
    assert_eq!(
        at.maximum(bt).unwrap().to_array().data(),
        &[2.0, 5.0, 3.0, -2.0]
    );
    // d min(a, b)/da = 1 where a < b, 1/2 at a tie, 0 where a > b; weighted by w
    let (ga, gb) = grad2_weighted(a.clone(), b.clone(), w.clone(), |a, b| a.minimum(b));
    assert_close(&ga, &[1.0, 0.0, 2.0, -4.0]);
    assert_close(&gb, &[0.0, 2.0, 2.0, -4.0]);
    let (ga, gb) = grad2_weighted(a, b, w, |a, b| a.maximum(b));
    assert_close(&ga, &[0.0, 2.0, 2.0, -4.0]);
    assert_close(&gb, &[1.0, 0.0, 2.0, -4.0]);
}

#[test]
fn minimum_broadcasts_and_sums_the_gradient_back() {
    // [2, 1] with [3]: out [2, 3]
    let a = arr(&[0.0, 10.0], &[2, 1]);
    let b = arr(&[-1.0, 0.0, 1.0], &[3]);
    let w = arr(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    let tape = Tape::new();
    let y = tape
        .constant(a.clone())
        .minimum(tape.constant(b.clone()))
        .unwrap();
    assert_eq!(y.shape().dims(), &[2, 3]);
    assert_eq!(y.to_array().data(), &[-1.0, 0.0, 0.0, -1.0, 0.0, 1.0]);
    let (ga, gb) = grad2_weighted(a, b, w, |a, b| a.minimum(b));
    // row 0 (a = 0): b wins at -1, tie at 0 (half each), a wins against 1
    // row 1 (a = 10): b wins everywhere
    assert_close(&ga, &[1.0 + 3.0, 0.0]);
    assert_close(&gb, &[1.0 + 4.0, 1.0 + 5.0, 6.0]);
}

#[test]
fn minimum_propagates_nan_and_its_second_derivative_is_zero() {
    let tape = Tape::<f64>::new();
    let a = tape.constant(arr(&[f64::NAN, 1.0], &[2]));
    let b = tape.constant(arr(&[0.0, f64::NAN], &[2]));
    let m = a.minimum(b).unwrap().to_array();
    assert!(m.data().iter().all(|v| v.is_nan()), "{m:?}");
    let m = a.maximum(b).unwrap().to_array();
    assert!(m.data().iter().all(|v| v.is_nan()), "{m:?}");
    // min(x, c)·w is piecewise linear: the recorded gradient's own gradient is 0 or absent
    let h = hessian_ones(arr(&[1.0, 3.0], &[2]), arr(&[2.0, 2.0], &[2]), |x| {
        let c = x.tape().constant(Array::scalar(2.0));
        x.minimum(c)
    });
    assert!(
        h.as_ref()
            .is_none_or(|h| h.data().iter().all(|&v| v == 0.0)),
        "{h:?}"
    );
}

// ---- comparisons and where_cond ----

#[test]
fn comparisons_are_constant_masks_with_broadcasting() {
    let tape = Tape::<f64>::new();
    let a = tape.var(arr(&[1.0, 2.0, 3.0], &[3, 1]));
    let b = tape.var(arr(&[2.0, 3.0], &[2]));
    let cases: [(&str, Tensor<f64>, [f64; 6]); 5] = [
        ("gt", a.gt(b).unwrap(), [0., 0., 0., 0., 1., 0.]),
        ("ge", a.ge(b).unwrap(), [0., 0., 1., 0., 1., 1.]),
        ("lt", a.lt(b).unwrap(), [1., 1., 0., 1., 0., 0.]),
        ("le", a.le(b).unwrap(), [1., 1., 1., 1., 0., 1.]),
        ("eq", a.eq(b).unwrap(), [0., 0., 1., 0., 0., 1.]),
    ];
    for (name, m, want) in cases {
        assert_eq!(m.shape().dims(), &[3, 2], "{name}");
        assert_eq!(m.to_array().data(), &want, "{name}");
        assert!(!m.requires_grad(), "{name}: a mask takes no gradient");
    }
    // the scalar forms; NaN compares false everywhere
    let x = tape.var(arr(&[-1.0, 0.0, f64::NAN, 2.0], &[4]));
    assert_eq!(x.gt_scalar(0.0).to_array().data(), &[0., 0., 0., 1.]);
    assert_eq!(x.ge_scalar(0.0).to_array().data(), &[0., 1., 0., 1.]);
    assert_eq!(x.lt_scalar(0.0).to_array().data(), &[1., 0., 0., 0.]);
    assert_eq!(x.le_scalar(0.0).to_array().data(), &[1., 1., 0., 0.]);
    assert_eq!(x.eq_scalar(2.0).to_array().data(), &[0., 0., 0., 1.]);
    assert!(!x.gt_scalar(0.0).requires_grad());
    // a loss through a mask: the mask is a constant factor
    let g = x.gt_scalar(0.0).mul(x).unwrap().sum().backward().unwrap();
    assert_eq!(g.get(x).unwrap().data(), &[0., 0., 0., 1.]);
}

#[test]
fn where_broadcasts_and_sends_the_gradient_to_the_chosen_side() {
    // cond [2, 1], on_true [3], on_false [2, 3]: out [2, 3]
    let tape = Tape::<f64>::new();
    let cond = tape.constant(arr(&[1.0, 0.0], &[2, 1]));
    let a = tape.var(arr(&[1.0, 2.0, 3.0], &[3]));
    let b = tape.var(arr(&[-1.0, -2.0, -3.0, -4.0, -5.0, -6.0], &[2, 3]));
    let y = cond.where_cond(a, b).unwrap();
    assert_eq!(y.shape().dims(), &[2, 3]);
    assert_eq!(y.to_array().data(), &[1.0, 2.0, 3.0, -4.0, -5.0, -6.0]);
    let w = tape.constant(arr(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]));
    let g = y.mul(w).unwrap().sum().backward().unwrap();
    // on_true [3] is taken in row 0 only; on_false in row 1 only
    assert_eq!(g.get(a).unwrap().data(), &[1.0, 2.0, 3.0]);
    assert_eq!(g.get(b).unwrap().data(), &[0.0, 0.0, 0.0, 4.0, 5.0, 6.0]);
    assert!(g.get(cond).is_none(), "the condition gets no gradient");
    // the same through the recorded form
    let loss = y.mul(w).unwrap().sum();
    let gs = grad(&[loss], &[a, b], None, false).unwrap();
    assert_eq!(gs[0].unwrap().to_array().data(), &[1.0, 2.0, 3.0]);
    assert_eq!(
        gs[1].unwrap().to_array().data(),
        &[0.0, 0.0, 0.0, 4.0, 5.0, 6.0]
    );
}

#[test]
fn where_reads_any_nonzero_condition_as_true_and_a_var_condition_gets_no_gradient() {
    let tape = Tape::<f64>::new();
    let cond = tape.var(arr(&[0.5, 0.0, -2.0, f64::NAN], &[4]));
    let a = tape.var(Array::scalar(1.0));
    let b = tape.var(Array::scalar(-1.0));
    let y = Tensor::where_cond(cond, a, b).unwrap();
    assert_eq!(y.to_array().data(), &[1.0, -1.0, 1.0, 1.0]);
    let g = y.sum().backward().unwrap();
    assert_eq!(g.get(a).unwrap().data(), &[3.0]); // summed back to the scalar
    assert_eq!(g.get(b).unwrap().data(), &[1.0]);
    assert!(g.get(cond).is_none());
}

// ---- clamp ----

#[test]
fn clamp_values_and_its_bounds_are_inclusive() {
    let x = arr(&[-2.0, -1.0, 0.0, 1.0, 2.0], &[5]);
    let w = arr(&[1.0, 2.0, 3.0, 4.0, 5.0], &[5]);
    let tape = Tape::new();
    let xt = tape.constant(x.clone());
    assert_eq!(
        xt.clamp(Some(-1.0), Some(1.0)).to_array().data(),
        &[-1.0, -1.0, 0.0, 1.0, 1.0]
    );
    // gradient 1 where -1 <= x <= 1: the bounds themselves included (as PyTorch)
    let g = grad_weighted(x.clone(), w.clone(), |x| Ok(x.clamp(Some(-1.0), Some(1.0))));
    assert_close(&g, &[0.0, 2.0, 3.0, 4.0, 0.0]);
    // one bound
    assert_eq!(
        xt.clamp_min(0.0).to_array().data(),
        &[0.0, 0.0, 0.0, 1.0, 2.0]
    );
    let g = grad_weighted(x.clone(), w.clone(), |x| Ok(x.clamp_min(0.0)));
    assert_close(&g, &[0.0, 0.0, 3.0, 4.0, 5.0]);
    assert_eq!(
        xt.clamp_max(0.0).to_array().data(),
        &[-2.0, -1.0, 0.0, 0.0, 0.0]
    );
    let g = grad_weighted(x.clone(), w.clone(), |x| Ok(x.clamp(None, Some(0.0))));
    assert_close(&g, &[1.0, 2.0, 3.0, 0.0, 0.0]);
    // no bound: the identity
    assert_eq!(xt.clamp(None, None).to_array().data(), x.data());
    let g = grad_weighted(x.clone(), w.clone(), |x| Ok(x.clamp(None, None)));
    assert_close(&g, w.data());
}

#[test]
fn clamp_with_lo_above_hi_gives_hi_everywhere_and_no_gradient() {
    // torch.clamp: "If min is greater than max ... sets all elements in input to the value of max"
    let x = arr(&[-2.0, 0.5, 1.0, 3.0], &[4]);
    let tape = Tape::new();
    let y = tape.constant(x.clone()).clamp(Some(1.0), Some(0.5));
    assert_eq!(y.to_array().data(), &[0.5, 0.5, 0.5, 0.5]);
    let g = grad_weighted(x, arr(&[1.0, 2.0, 3.0, 4.0], &[4]), |x| {
        Ok(x.clamp(Some(1.0), Some(0.5)))
    });
    assert_close(&g, &[0.0, 0.0, 0.0, 0.0]);
}

#[test]
fn clamp_keeps_nan_and_its_second_derivative_is_zero() {
    let tape = Tape::<f64>::new();
    let y = tape
        .constant(arr(&[f64::NAN], &[1]))
        .clamp(Some(0.0), Some(1.0));
    assert!(y.item().unwrap().is_nan());
    let h = hessian_ones(arr(&[-1.0, 0.5], &[2]), arr(&[3.0, 3.0], &[2]), |x| {
        Ok(x.clamp(Some(0.0), Some(1.0)))
    });
    assert!(
        h.as_ref()
            .is_none_or(|h| h.data().iter().all(|&v| v == 0.0)),
        "{h:?}"
    );
    assert_eq!(
        format!("{}", y.op()),
        format!("clamp(#{}, lo=0, hi=1)", y.id() - 1)
    );
}

// ---- min (amin) ----

#[test]
fn min_and_min_axis_split_ties_evenly() {
    let x = arr(&[3.0, 1.0, 1.0, 0.0, 2.0, 0.0], &[2, 3]);
    let tape = Tape::new();
    let xt = tape.constant(x.clone());
    assert_eq!(xt.min().unwrap().item().unwrap(), 0.0);
    assert_eq!(
        xt.min_axis(1, false).unwrap().to_array().data(),
        &[1.0, 0.0]
    );
    assert_eq!(xt.min_axis(-2, true).unwrap().shape().dims(), &[1, 3]);
    assert_eq!(
        xt.min_axis(0, true).unwrap().to_array().data(),
        &[0.0, 1.0, 0.0]
    );
    // all elements: the two zeros share the gradient (-2 each of -4)
    let tape = Tape::new();
    let xv = tape.var(x.clone());
    let g = xv.min().unwrap().mul_scalar(-4.0).backward().unwrap();
    assert_close(g.get(xv).unwrap(), &[0.0, 0.0, 0.0, -2.0, 0.0, -2.0]);
    // along axis 1: row 0's tie of 1s shares w[0] = 2, row 1's tie of 0s shares w[1] = 6
    let g = grad_weighted(x, arr(&[2.0, 6.0], &[2]), |x| x.min_axis(1, false));
    assert_close(&g, &[0.0, 1.0, 1.0, 3.0, 0.0, 3.0]);
}

#[test]
fn min_propagates_nan() {
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[1.0, f64::NAN, 0.0], &[3]));
    let m = x.min().unwrap();
    assert!(m.item().unwrap().is_nan());
    // no element equals NaN: every element gets NaN, as max's (the NaN is not hidden)
    let g = m.backward().unwrap();
    assert!(g.get(x).unwrap().data().iter().all(|v| v.is_nan()));
    let r = tape
        .constant(arr(&[f64::NAN, 1.0, 2.0, 3.0], &[2, 2]))
        .min_axis(0, false)
        .unwrap();
    let r = r.to_array();
    assert!(r.data()[0].is_nan());
    assert_eq!(r.data()[1], 1.0);
}

// ---- var, std ----

#[test]
fn var_and_std_of_known_data_with_each_correction_and_keepdim() {
    // rows [1, 2, 3, 6] (mean 3, Σ(x - mean)² = 14) and [2, 4, 4, 6] (mean 4, Σ = 8)
    let x = arr(&[1.0, 2.0, 3.0, 6.0, 2.0, 4.0, 4.0, 6.0], &[2, 4]);
    let tape = Tape::new();
    let xt = tape.constant(x.clone());
    assert_close(
        &xt.var_axis(1, false, 1).unwrap().to_array(),
        &[14.0 / 3.0, 8.0 / 3.0],
    );
    assert_close(
        &xt.var_axis(-1, false, 0).unwrap().to_array(),
        &[14.0 / 4.0, 8.0 / 4.0],
    );
    let v = xt.var_axis(1, true, 1).unwrap();
    assert_eq!(v.shape().dims(), &[2, 1]);
    let s = xt.std_axis(1, true, 0).unwrap();
    assert_eq!(s.shape().dims(), &[2, 1]);
    assert_close(&s.to_array(), &[3.5f64.sqrt(), 2.0f64.sqrt()]);
    // along axis 0: pairs (1, 2), (2, 4), (3, 4), (6, 6)
    assert_close(
        &xt.var_axis(0, false, 1).unwrap().to_array(),
        &[0.5, 2.0, 0.5, 0.0],
    );
    assert_close(
        &xt.std_axis(0, false, 0).unwrap().to_array(),
        &[0.5, 1.0, 0.5, 0.0],
    );
    // all elements: mean 3.5, Σ(x - mean)² = 14 + 4·... computed directly
    let mean = x.data().iter().sum::<f64>() / 8.0;
    let ss: f64 = x.data().iter().map(|v| (v - mean) * (v - mean)).sum();
    assert_close(&xt.var(1).to_array(), &[ss / 7.0]);
    assert_close(&xt.var(0).to_array(), &[ss / 8.0]);
    assert_close(&xt.std(1).to_array(), &[(ss / 7.0).sqrt()]);
    assert_eq!(xt.var(1).shape().rank(), 0);
}

#[test]
fn var_and_std_gradients_by_hand() {
    // row [1, 2, 3, 6]: mean 3, deviations [-2, -1, 0, 3]
    let x = arr(&[1.0, 2.0, 3.0, 6.0], &[1, 4]);
    // d var/dx = 2(x - mean)/(N - correction), weighted by 3
    let g = grad_weighted(x.clone(), arr(&[3.0], &[1]), |x| x.var_axis(1, false, 1));
    assert_close(&g, &[-4.0, -2.0, 0.0, 6.0]); // 3 · 2(x - 3)/3
    let g = grad_weighted(x.clone(), arr(&[3.0], &[1, 1]), |x| x.var_axis(-1, true, 0));
    assert_close(&g, &[-3.0, -1.5, 0.0, 4.5]); // 3 · 2(x - 3)/4
                                               // d std/dx = (x - mean)/((N - correction)·std), std = √(14/3)
    let s = (14.0f64 / 3.0).sqrt();
    let g = grad_weighted(x.clone(), arr(&[3.0], &[1]), |x| x.std_axis(1, false, 1));
    assert_close(
        &g,
        &[-2.0, -1.0, 0.0, 3.0].map(|d: f64| 3.0 * d / (3.0 * s)),
    );
    // all elements, correction 0: std = √(14/4)
    let s = 3.5f64.sqrt();
    let g = grad_weighted(x, arr(&[-2.0], &[]), |x| Ok(x.std(0)));
    assert_close(
        &g,
        &[-2.0, -1.0, 0.0, 3.0].map(|d: f64| -2.0 * d / (4.0 * s)),
    );
}

#[test]
fn std_of_a_constant_row_has_gradient_zero_not_nan_in_first_and_second_order() {
    // row 0 constant (std exactly 0, also for 0.1, whose mean rounds); row 1 not
    let x = arr(&[0.1, 0.1, 0.1, 1.0, 2.0, 4.0], &[2, 3]);
    let w = arr(&[5.0, 1.0], &[2]);
    let tape = Tape::new();
    let s = tape.constant(x.clone()).std_axis(1, false, 1).unwrap();
    assert_eq!(s.to_array().data()[0], 0.0);
    let g = grad_weighted(x.clone(), w.clone(), |x| x.std_axis(1, false, 1));
    assert_eq!(&g.data()[..3], &[0.0, 0.0, 0.0]);
    assert!(g.data().iter().all(|v| v.is_finite()), "{g:?}");
    let h = hessian_ones(x.clone(), w.clone(), |x| x.std_axis(1, false, 1)).unwrap();
    assert!(h.data().iter().all(|v| v.is_finite()), "{h:?}");
    // all elements equal: std() is 0 with a zero gradient, finite second order
    let c = arr(&[2.0, 2.0, 2.0, 2.0], &[4]);
    let g = grad_weighted(c.clone(), arr(&[1.0], &[]), |x| Ok(x.std(0)));
    assert_eq!(g.data(), &[0.0; 4]);
    let h = hessian_ones(c, arr(&[1.0], &[]), |x| Ok(x.std(1))).unwrap();
    assert!(h.data().iter().all(|v| v.is_finite()), "{h:?}");
}

#[test]
fn var_with_too_few_elements_is_nan_as_pytorch() {
    let tape = Tape::<f64>::new();
    // one element with correction 1: 0/0
    let x = tape.var(arr(&[3.0], &[1]));
    assert!(x.var(1).item().unwrap().is_nan());
    assert!(x.std(1).item().unwrap().is_nan());
    assert_eq!(x.var(0).item().unwrap(), 0.0);
    // no element at all
    let e = tape.constant(Array::zeros([0]));
    assert!(e.var(0).item().unwrap().is_nan());
    assert!(e.var(1).item().unwrap().is_nan());
}

#[test]
fn var_second_derivative_is_exact() {
    // Σ var(x)·w has the Hessian (2/(N - c))·(I - 11ᵀ/N)·w per row: its rows sum to 0
    let h = hessian_ones(
        arr(&[1.0, 2.0, 4.0, 0.5, -1.0, 3.0], &[2, 3]),
        arr(&[2.0, 3.0], &[2]),
        |x| x.var_axis(1, false, 1),
    )
    .unwrap();
    assert_close(&h, &[0.0; 6]);
    // and H·e_0 for one row of [1, 2, 4] (N = 3, c = 0): (2/3)(e_0 - 1/3)
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[1.0, 2.0, 4.0], &[3]));
    let g = grad(&[x.var(0)], &[x], None, true).unwrap()[0].unwrap();
    let e0 = tape.constant(arr(&[1.0, 0.0, 0.0], &[3]));
    let h0 = grad(&[g.mul(e0).unwrap().sum()], &[x], None, false).unwrap()[0]
        .unwrap()
        .to_array();
    assert_close(&h0, &[2.0 / 3.0 * (2.0 / 3.0), -2.0 / 9.0, -2.0 / 9.0]);
}

// ---- logsumexp ----

#[test]
fn logsumexp_is_stable_at_large_logits() {
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[1e4, 1e4], &[2]));
    let y = x.logsumexp();
    assert_eq!(y.item().unwrap(), 1e4 + 2f64.ln());
    let g = y.backward().unwrap();
    assert_eq!(g.get(x).unwrap().data(), &[0.5, 0.5]);
    let n = tape.constant(arr(&[-1e4, -1e4 - 1.0], &[2]));
    let want = -1e4 + (1.0 + (-1.0f64).exp()).ln();
    assert_close(&n.logsumexp().to_array(), &[want]);
    // f32 at ±1e4, along an axis
    let tape = Tape::<f32>::new();
    let x = tape.var(Array::from_vec(vec![1e4f32, 1e4, -1e4, -1e4], [2, 2]).unwrap());
    let y = x.logsumexp_axis(1, false).unwrap();
    assert_eq!(y.to_array().data(), &[1e4 + 2f32.ln(), -1e4 + 2f32.ln()]);
    let g = y.sum().backward().unwrap();
    assert_eq!(g.get(x).unwrap().data(), &[0.5f32; 4]);
}

#[test]
fn logsumexp_axis_values_and_gradient_is_the_softmax() {
    let x = arr(&[0.0, 1.0, 2.0, 3.0, 5.0, -1.0], &[2, 3]);
    let tape = Tape::new();
    let xt = tape.constant(x.clone());
    let lse = |v: &[f64]| v.iter().map(|x| x.exp()).sum::<f64>().ln();
    let y = xt.logsumexp_axis(0, true).unwrap();
    assert_eq!(y.shape().dims(), &[1, 3]);
    assert_close(
        &y.to_array(),
        &[lse(&[0.0, 3.0]), lse(&[1.0, 5.0]), lse(&[2.0, -1.0])],
    );
    assert_close(
        &xt.logsumexp_axis(-1, false).unwrap().to_array(),
        &[lse(&[0.0, 1.0, 2.0]), lse(&[3.0, 5.0, -1.0])],
    );
    // d logsumexp/dx = softmax(x), weighted per row by w
    let w = [2.0, -3.0];
    let g = grad_weighted(x.clone(), arr(&w, &[2]), |x| x.logsumexp_axis(1, false));
    let mut want = Vec::new();
    for (r, row) in x.data().chunks(3).enumerate() {
        let l = lse(row);
        want.extend(row.iter().map(|v| w[r] * (v - l).exp()));
    }
    assert_close(&g, &want);
}

#[test]
fn logsumexp_with_minus_infinity_entries_and_rows() {
    let inf = f64::INFINITY;
    let x = arr(&[0.0, -inf, 0.0, -inf, -inf, -inf], &[2, 3]);
    let tape = Tape::new();
    let y = tape.constant(x.clone()).logsumexp_axis(1, false).unwrap();
    // a row with some -inf: they count as e^-inf = 0; a row of all -inf gives -inf
    assert_eq!(y.to_array().data(), &[2f64.ln(), -inf]);
    // the gradient: the softmax where it exists, 0 for the -inf entries and the dead row
    let g = grad_weighted(x.clone(), arr(&[1.0, 1.0], &[2]), |x| {
        x.logsumexp_axis(1, false)
    });
    assert_close(&g, &[0.5, 0.0, 0.5, 0.0, 0.0, 0.0]);
    let h = hessian_ones(x, arr(&[1.0, 1.0], &[2]), |x| x.logsumexp_axis(1, false)).unwrap();
    assert!(h.data().iter().all(|v| !v.is_nan()), "{h:?}");
    // all elements of an all -inf (or empty) tensor
    let tape = Tape::<f64>::new();
    assert_eq!(
        tape.constant(arr(&[-inf, -inf], &[2]))
            .logsumexp()
            .item()
            .unwrap(),
        -inf
    );
    assert_eq!(
        tape.constant(Array::zeros([0])).logsumexp().item().unwrap(),
        -inf
    );
    // a +inf entry gives +inf
    let p = tape.constant(arr(&[1.0, inf], &[2])).logsumexp();
    assert_eq!(p.item().unwrap(), inf);
}

// ---- errors ----

#[test]
fn shape_and_axis_errors_name_the_op_and_the_shapes() {
    let tape = Tape::<f64>::new();
    let a = tape.constant(Array::ones([2, 3]));
    let b = tape.constant(Array::ones([4]));
    let binary: [(&str, tapegrad_core::Result<Tensor<f64>>); 7] = [
        ("minimum", a.minimum(b)),
        ("maximum", a.maximum(b)),
        ("gt", a.gt(b)),
        ("ge", a.ge(b)),
        ("lt", a.lt(b)),
        ("le", a.le(b)),
        ("eq", a.eq(b)),
    ];
    for (name, r) in binary {
        let e = r.unwrap_err();
        assert!(matches!(e, Error::Shape { .. }), "{e:?}");
        let msg = message(e);
        assert!(
            msg.starts_with(&format!("{name}: [2, 3] and [4]: ")),
            "{msg}"
        );
    }
    // where_cond names the three shapes
    let c = tape.constant(Array::ones([5]));
    let ok = tape.constant(Array::ones([3]));
    let msg = message(c.where_cond(a, ok).unwrap_err());
    assert!(msg.starts_with("where_cond: [2, 3] and [3]: "), "{msg}");
    assert!(
        msg.contains("with the condition's shape [5], cannot broadcast"),
        "{msg}"
    );
    let msg = message(ok.where_cond(a, b).unwrap_err());
    assert!(msg.starts_with("where_cond: [2, 3] and [4]: "), "{msg}");
    // axes out of range
    let axes = [
        ("min", a.min_axis(2, false)),
        ("var", a.var_axis(-3, true, 1)),
        ("std", a.std_axis(2, false, 0)),
        ("logsumexp", a.logsumexp_axis(5, false)),
    ];
    for (name, r) in axes {
        let e = r.unwrap_err();
        assert!(matches!(e, Error::AxisOutOfRange { .. }), "{e:?}");
        let msg = message(e);
        assert!(msg.starts_with(&format!("{name}: axis ")), "{msg}");
        assert!(msg.contains("shape [2, 3]"), "{msg}");
    }
}

#[test]
fn min_of_nothing_is_an_error_as_max() {
    let tape = Tape::<f64>::new();
    let e = tape.constant(Array::zeros([2, 0]));
    let msg = message(e.min().unwrap_err());
    assert!(
        msg.starts_with("min: the tensor of shape [2, 0] is empty"),
        "{msg}"
    );
    let msg = message(e.min_axis(1, false).unwrap_err());
    assert!(
        msg.starts_with("min: axis 1 of shape [2, 0] is empty"),
        "{msg}"
    );
}

#[test]
fn tensors_from_two_tapes() {
    let (t1, t2) = (Tape::<f64>::new(), Tape::<f64>::new());
    let a = t1.constant(Array::ones([2]));
    let b = t2.constant(Array::ones([2]));
    for (name, r) in [
        ("minimum", a.minimum(b)),
        ("gt", a.gt(b)),
        ("where_cond", a.where_cond(a, b)),
    ] {
        let e = r.unwrap_err();
        assert!(matches!(e, Error::TapeMismatch { .. }), "{name}: {e:?}");
        assert!(message(e).starts_with(name));
    }
}
