//! Softmax and log-softmax along an axis, stable for large logits: the maximum is subtracted
//! before exponentiating.

use super::parallel::for_each_run;
use super::{pool, simd};
use crate::array::Array;
use crate::element::Element;

/// Calls `f` with the values of each lane along `axis` gathered into `buf`, and writes back
/// what `f` leaves in `buf`. Lanes along the last axis of a big array are shared out to the
/// threads in runs of whole rows (each lane costs an `exp` per element).
fn for_each_lane<T: Element>(x: &Array<T>, axis: usize, f: impl Fn(&mut [T]) + Sync) -> Array<T> {
    let (outer, n, inner) = x.shape().split_at_axis(axis);
    let mut out = pool::copy_of(x.data());
    if inner == 1 && n > 0 {
        for_each_run(&mut out, simd::COSTLY_GRAIN, n, |_, rows| {
            simd::vectorized(|| lanes(rows, rows.len() / n, n, 1, &f))
        });
    } else {
        simd::vectorized(|| lanes(&mut out, outer, n, inner, &f));
    }
    Array::from_parts(out, x.shape().clone())
}

#[inline(always)]
fn lanes<T: Element>(out: &mut [T], outer: usize, n: usize, inner: usize, f: &impl Fn(&mut [T])) {
    if inner == 1 {
        for lane in out.chunks_mut(n.max(1)) {
            f(lane);
        }
    } else {
        let mut buf = vec![T::zero(); n];
        for o in 0..outer {
            for i in 0..inner {
                for j in 0..n {
                    buf[j] = out[(o * n + j) * inner + i];
                }
                f(&mut buf);
                for j in 0..n {
                    out[(o * n + j) * inner + i] = buf[j];
                }
            }
        }
    }
}

/// `exp(x - max) / sum(exp(x - max))` along `axis`.
pub(crate) fn softmax<T: Element>(x: &Array<T>, axis: usize) -> Array<T> {
    for_each_lane(x, axis, |lane| {
        let m = lane.iter().copied().fold(T::neg_infinity(), T::max);
        for v in lane.iter_mut() {
            *v = (*v - m).exp_fast();
        }
        let inv = T::one() / simd::sum(lane);
        for v in lane.iter_mut() {
            *v *= inv;
        }
    })
}

/// `(x - max) - log(sum(exp(x - max)))` along `axis`. The order matters: `x - max` is exact
/// near the maximum, while `x - (max + log(sum))` would round `max + log(sum)` to the spacing
/// of `max` first (about 1e-3 at 1e4 in f32).
pub(crate) fn log_softmax<T: Element>(x: &Array<T>, axis: usize) -> Array<T> {
    for_each_lane(x, axis, |lane| {
        let m = lane.iter().copied().fold(T::neg_infinity(), T::max);
        let ls = simd::sum_zip(lane, lane, |v, _| (v - m).exp_fast()).ln();
        for v in lane.iter_mut() {
            *v = (*v - m) - ls;
        }
    })
}

/// Calls `f(y_lane, g_lane, out_lane)` for each lane along `axis` of three same-shape arrays.
fn zip_lanes<T: Element>(
    y: &Array<T>,
    g: &Array<T>,
    axis: usize,
    mut f: impl FnMut(&[T], &[T], &mut [T]),
) -> Array<T> {
    let (outer, n, inner) = y.shape().split_at_axis(axis);
    let mut out = pool::filled(y.numel(), T::zero());
    simd::vectorized(|| zip_lanes_into(y.data(), g.data(), &mut out, (outer, n, inner), &mut f));
    Array::from_parts(out, y.shape().clone())
}

#[inline(always)]
fn zip_lanes_into<T: Element>(
    y: &[T],
    g: &[T],
    out: &mut [T],
    (outer, n, inner): (usize, usize, usize),
    f: &mut impl FnMut(&[T], &[T], &mut [T]),
) {
    if inner == 1 {
        let n1 = n.max(1);
        for ((yl, gl), ol) in y.chunks(n1).zip(g.chunks(n1)).zip(out.chunks_mut(n1)) {
            f(yl, gl, ol);
        }
    } else {
        let (mut yb, mut gb, mut ob) = (vec![T::zero(); n], vec![T::zero(); n], vec![T::zero(); n]);
        for o in 0..outer {
            for i in 0..inner {
                for j in 0..n {
                    yb[j] = y[(o * n + j) * inner + i];
                    gb[j] = g[(o * n + j) * inner + i];
                }
                f(&yb, &gb, &mut ob);
                for j in 0..n {
                    out[(o * n + j) * inner + i] = ob[j];
                }
            }
        }
    }
}

/// The gradient of softmax from its output `y`: `y · (g - Σ g·y)` along `axis`.
pub(crate) fn softmax_backward<T: Element>(y: &Array<T>, g: &Array<T>, axis: usize) -> Array<T> {
    zip_lanes(y, g, axis, |y, g, out| {
        let dot = simd::sum_zip(y, g, |a, b| a * b);
        for ((o, &yv), &gv) in out.iter_mut().zip(y).zip(g) {
            *o = yv * (gv - dot);
        }
    })
}

/// The gradient of log-softmax from its output `y`: `g - exp(y) · Σ g` along `axis`.
pub(crate) fn log_softmax_backward<T: Element>(
    y: &Array<T>,
    g: &Array<T>,
    axis: usize,
) -> Array<T> {
    zip_lanes(y, g, axis, |y, g, out| {
        let s = simd::sum(g);
        for ((o, &yv), &gv) in out.iter_mut().zip(y).zip(g) {
            *o = gv - yv.exp_fast() * s;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_sum_to_one_even_for_huge_logits() {
        let x = Array::<f32>::from_vec(vec![1e4, -1e4, 1e4, 0., 0., 0.], [2, 3]).unwrap();
        let y = softmax(&x, 1);
        assert_eq!(y.data()[..3], [0.5, 0.0, 0.5]);
        let l = log_softmax(&x, 1);
        assert!(l
            .data()
            .iter()
            .all(|v| v.is_finite() || *v == f32::NEG_INFINITY));
        // (1e4 - 1e4) - ln 2: exact to f32's precision at ln 2, although the spacing of f32
        // near 1e4 is ~1e-3
        assert!((l.data()[0] - (-std::f32::consts::LN_2)).abs() < 1e-6);
    }

    #[test]
    fn axis_zero_of_a_matrix() {
        let x = Array::<f64>::from_vec(vec![0., 1., 0., 1.], [2, 2]).unwrap();
        let y = softmax(&x, 0);
        assert!(y.data().iter().all(|&v| (v - 0.5).abs() < 1e-12));
    }
}
