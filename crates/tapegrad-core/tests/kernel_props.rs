//! Numerical properties of the delicate kernels, in f64 and f32: softmax lanes sum to 1 and
//! stay finite for logits of ±1e4 and with ties; log_softmax equals log(softmax) wherever that
//! is finite, to a few units of the last place; cross-entropy at ±1e4 logits and
//! binary cross-entropy at ±100 logits give finite values and finite gradients that match an
//! f64 reference computed the stable way.

mod common;

use common::dims;
use proptest::prelude::*;
use tapegrad_core::{Array, Element, Tape};

/// Logits at one of three scales (1, 30, 1e4), optionally rounded to a coarse grid so that
/// lanes have ties, with an axis.
fn logits() -> BoxedStrategy<(Array<f64>, usize)> {
    (
        dims(1..=3),
        prop::sample::select(vec![1.0, 30.0, 1e4]),
        any::<bool>(),
    )
        .prop_flat_map(|(d, scale, ties)| {
            let n: usize = d.iter().product();
            let r = d.len();
            (
                prop::collection::vec(-1.0..1.0f64, n).prop_map(move |v| {
                    let data = v
                        .into_iter()
                        .map(|x| if ties { (x * 2.0).round() / 2.0 } else { x } * scale)
                        .collect();
                    Array::from_vec(data, d.clone()).unwrap()
                }),
                0..r,
            )
        })
        .boxed()
}

/// The unit roundoff of `T`.
fn unit<T: Element>() -> f64 {
    T::epsilon().as_f64()
}

fn softmax_lanes_sum_to_one<T: Element>(x: &Array<f64>, axis: usize) -> Result<(), TestCaseError> {
    let tape = Tape::<T>::new();
    let y = tape.constant(x.cast()).softmax(axis as isize)?;
    let v = y.to_array();
    prop_assert!(
        v.data()
            .iter()
            .all(|p| p.is_finite() && p.as_f64() >= 0.0 && p.as_f64() <= 1.0),
        "{v:?}"
    );
    let sums = y.sum_axis(axis as isize, false)?.to_array();
    let n = x.dims()[axis] as f64;
    for s in sums.data() {
        prop_assert!(
            (s.as_f64() - 1.0).abs() <= 4.0 * n * unit::<T>(),
            "lane sum {s}"
        );
    }
    Ok(())
}

fn log_softmax_is_log_of_softmax<T: Element>(
    x: &Array<f64>,
    axis: usize,
) -> Result<(), TestCaseError> {
    let tape = Tape::<T>::new();
    let xt = tape.constant(x.cast());
    let ls = xt.log_softmax(axis as isize)?.to_array();
    let sm = xt.softmax(axis as isize)?.to_array();
    let n = x.dims()[axis] as f64;
    for (l, p) in ls.data().iter().zip(sm.data()) {
        let (l, p) = (l.as_f64(), p.as_f64());
        prop_assert!(l <= 0.0 && !l.is_nan(), "log_softmax {l}");
        // where softmax is a normal number, ln(softmax) is finite and accurate
        if p >= T::min_positive_value().as_f64() {
            let tol = 8.0 * n * unit::<T>() * l.abs().max(1.0);
            prop_assert!(
                (l - p.ln()).abs() <= tol,
                "log_softmax {l} vs ln(softmax) {}",
                p.ln()
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Softmax lanes sum to one and log-softmax is the log of softmax, in f64.
    #[test]
    fn softmax_and_log_softmax_f64((x, axis) in logits()) {
        softmax_lanes_sum_to_one::<f64>(&x, axis)?;
        log_softmax_is_log_of_softmax::<f64>(&x, axis)?;
    }

    /// As `softmax_and_log_softmax_f64`, in f32.
    #[test]
    fn softmax_and_log_softmax_f32((x, axis) in logits()) {
        softmax_lanes_sum_to_one::<f32>(&x, axis)?;
        log_softmax_is_log_of_softmax::<f32>(&x, axis)?;
    }

    #[test]
    fn cross_entropy_at_huge_logits_f64((x, t) in huge_logits_and_targets()) {
        cross_entropy_is_finite_and_accurate::<f64>(&x, &t)?;
    }

    #[test]
    fn cross_entropy_at_huge_logits_f32((x, t) in huge_logits_and_targets()) {
        cross_entropy_is_finite_and_accurate::<f32>(&x, &t)?;
    }
}

/// `[N, C]` logits drawn from {-1e4, -1, 0, 1, 1e4} plus small noise, and targets.
fn huge_logits_and_targets() -> BoxedStrategy<(Array<f64>, Vec<usize>)> {
    (1..=4usize, 1..=4usize)
        .prop_flat_map(|(n, c)| {
            let v = (
                prop::sample::select(vec![-1e4, -1.0, 0.0, 1.0, 1e4]),
                -0.5..0.5f64,
            )
                .prop_map(|(a, b)| a + b);
            (
                prop::collection::vec(v, n * c)
                    .prop_map(move |d| Array::from_vec(d, [n, c]).unwrap()),
                prop::collection::vec(0..c, n),
            )
        })
        .boxed()
}

/// The cross-entropy `mean(logsumexp(row) - row[t])` in f64, computed the stable way.
fn cross_entropy_reference(x: &Array<f64>, t: &[usize]) -> f64 {
    let c = x.dims()[1];
    let rows = x.data().chunks(c);
    let total: f64 = rows
        .zip(t)
        .map(|(row, &t)| {
            let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let s: f64 = row.iter().map(|v| (v - m).exp()).sum();
            (m - row[t]) + s.ln()
        })
        .sum();
    total / t.len() as f64
}

fn cross_entropy_is_finite_and_accurate<T: Element>(
    x: &Array<f64>,
    t: &[usize],
) -> Result<(), TestCaseError> {
    let xr: Array<T> = x.cast();
    let tape = Tape::<T>::new();
    let xt = tape.var(xr.clone());
    let loss = xt.cross_entropy_with_logits(t)?;
    let v = loss.item().unwrap().as_f64();
    let want = cross_entropy_reference(&xr.cast(), t);
    prop_assert!(v.is_finite() && v >= 0.0, "loss {v}");
    prop_assert!(
        (v - want).abs() <= 16.0 * unit::<T>() * want.abs().max(1.0),
        "loss {v} vs reference {want}"
    );
    let g = loss.backward()?;
    let g = g.get(xt).unwrap();
    prop_assert!(g.data().iter().all(|v| v.is_finite()), "{g:?}");
    // each row of the gradient is (softmax - onehot)/N: it sums to 0, entries in [-1/N, 1/N]
    let n = t.len() as f64;
    for row in g.data().chunks(x.dims()[1]) {
        let s: f64 = row.iter().map(|v| v.as_f64()).sum();
        prop_assert!(s.abs() <= 1e-4, "row sum {s}");
        prop_assert!(row.iter().all(|v| v.as_f64().abs() <= 1.0 / n + 1e-6));
    }
    Ok(())
}

fn arr<T: Element>(v: &[f64], dims: &[usize]) -> Array<T> {
    Array::<f64>::from_vec(v.to_vec(), dims).unwrap().cast()
}

fn softmax_at_huge_logits_and_ties<T: Element>() {
    let tape = Tape::<T>::new();
    // ±1e4: two tied maxima share the mass, the far smaller one gets exactly 0
    let x = tape.constant(arr(&[1e4, -1e4, 1e4, 0.0, 0.0, 0.0], &[2, 3]));
    let y = x.softmax(1).unwrap().to_array();
    let half = T::of(0.5);
    let third = 1.0 / 3.0;
    assert_eq!(&y.data()[..3], &[half, T::zero(), half]);
    for p in &y.data()[3..] {
        assert!((p.as_f64() - third).abs() <= 4.0 * unit::<T>(), "{p}");
    }
    // along axis 0 too, and a one-element lane is 1
    let y = x.softmax(0).unwrap().to_array();
    assert_eq!(
        y.data(),
        arr::<T>(&[1.0, 0.0, 1.0, 0.0, 1.0, 0.0], &[2, 3]).data()
    );
    let one = tape
        .constant(arr(&[-1e4], &[1]))
        .softmax(0)
        .unwrap()
        .to_array();
    assert_eq!(one.data(), &[T::one()]);
    // log_softmax at the same logits: ln(1/2) for the tied maxima, -2e4 for the smallest
    let l = x.log_softmax(1).unwrap().to_array();
    let ln2 = std::f64::consts::LN_2;
    assert!(
        (l.data()[0].as_f64() + ln2).abs() <= 4.0 * unit::<T>(),
        "{l:?}"
    );
    assert!(
        (l.data()[2].as_f64() + ln2).abs() <= 4.0 * unit::<T>(),
        "{l:?}"
    );
    let far = l.data()[1].as_f64();
    assert!(
        (far - (-2e4 - ln2)).abs() <= 4.0 * unit::<T>() * 2e4,
        "{far}"
    );
    // gradients through both stay finite
    let xv = tape.var(arr(&[1e4, -1e4, 1e4, 0.0, 0.0, 0.0], &[2, 3]));
    let w = tape.constant(arr(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]));
    let s = xv.softmax(1).unwrap().mul(w).unwrap().sum();
    let ls = xv.log_softmax(1).unwrap().mul(w).unwrap().sum();
    for loss in [s, ls] {
        let g = loss.backward().unwrap();
        assert!(g.get(xv).unwrap().data().iter().all(|v| v.is_finite()));
    }
}

fn bce_at_large_logits<T: Element>() {
    // per element max(x, 0) - x·t + ln(1 + e^-|x|): at x = ±100 that is 100 where the logit
    // points the wrong way, e^-100 where it points the right way, and 50 for t = 1/2
    let xs = [100.0, -100.0, 100.0, -100.0, 100.0, -100.0];
    let ts = [0.0, 1.0, 1.0, 0.0, 0.5, 0.5];
    let tape = Tape::<T>::new();
    let x = tape.var(arr(&xs, &[6]));
    let t = tape.var(arr(&ts, &[6]));
    let loss = x.bce_with_logits(t).unwrap();
    let small = (-100f64).exp();
    let want = (100.0 + 100.0 + small + small + 50.0 + 50.0 + 2.0 * small) / 6.0;
    let v = loss.item().unwrap().as_f64();
    assert!(v.is_finite());
    assert!(
        (v - want).abs() <= 4.0 * unit::<T>() * want,
        "{v} vs {want}"
    );
    let g = loss.backward().unwrap();
    // d/dx = (σ(x) - t)/6: σ(100) = 1, σ(-100) = e^-100 ≈ 0
    let gx: Vec<f64> = g
        .get(x)
        .unwrap()
        .data()
        .iter()
        .map(|v| v.as_f64())
        .collect();
    let want_x = [1.0 / 6.0, -1.0 / 6.0, 0.0, 0.0, 0.5 / 6.0, -0.5 / 6.0];
    for (a, b) in gx.iter().zip(want_x) {
        assert!(
            a.is_finite() && (a - b).abs() <= 4.0 * unit::<T>(),
            "{gx:?}"
        );
    }
    // d/dt = -x/6
    let gt = g.get(t).unwrap();
    for (a, x) in gt.data().iter().zip(xs) {
        assert!(
            (a.as_f64() + x / 6.0).abs() <= 4.0 * unit::<T>() * 20.0,
            "{gt:?}"
        );
    }
}

/// Softmax and log-softmax at huge logits and ties, and BCE at large logits, in f64 (a
/// failure's line names the check).
#[test]
fn extreme_logits_f64() {
    softmax_at_huge_logits_and_ties::<f64>();
    bce_at_large_logits::<f64>();
}

/// As `extreme_logits_f64`, in f32.
#[test]
fn extreme_logits_f32() {
    softmax_at_huge_logits_and_ties::<f32>();
    bce_at_large_logits::<f32>();
}

#[test]
fn cross_entropy_at_plus_minus_1e4_by_hand() {
    // row 0: the target logit is the -1e4 one: loss = 1e4 - (-1e4) = 2e4 (+ ln 1);
    // row 1: the target is the 1e4 maximum: loss = 0 (+ e^-2e4)
    let x = [1e4, -1e4, -1e4, 1e4];
    for loss in [
        cross_entropy_value::<f64>(&x, &[1, 1]),
        cross_entropy_value::<f32>(&x, &[1, 1]),
    ] {
        assert_eq!(loss, 1e4);
    }
}

fn cross_entropy_value<T: Element>(x: &[f64], t: &[usize]) -> f64 {
    let tape = Tape::<T>::new();
    let xt = tape.var(arr(x, &[t.len(), x.len() / t.len()]));
    let loss = xt.cross_entropy_with_logits(t).unwrap();
    let g = loss.backward().unwrap();
    assert!(g.get(xt).unwrap().data().iter().all(|v| v.is_finite()));
    loss.item().unwrap().as_f64()
}
