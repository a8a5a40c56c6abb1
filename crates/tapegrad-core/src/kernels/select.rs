//! Kernels of the selection family: the three-way broadcast of `where_cond`, and the lane
//! reductions (minimum, variance, standard deviation, log-sum-exp) with their gradients.
//!
//! A lane is the run of elements along the reduced axis (all elements when the axis is
//! `None`). Lanes along the last axis are read in place and shared out to the threads in runs
//! of whole lanes; lanes along another axis are gathered into a buffer first.

use super::parallel::for_each_run;
use super::{pool, simd};
use crate::array::Array;
use crate::element::Element;
use crate::shape::Shape;
use smallvec::SmallVec;

/// `on_true` where `cond` is nonzero, else `on_false`, each read broadcast to `out`.
pub(crate) fn where_cond<T: Element>(
    cond: &Array<T>,
    on_true: &Array<T>,
    on_false: &Array<T>,
    out: &Shape,
) -> Array<T> {
    let (cd, ad, bd) = (cond.data(), on_true.data(), on_false.data());
    let pick = |c: T, a: T, b: T| if c != T::zero() { a } else { b };
    if cond.shape() == out && on_true.shape() == out && on_false.shape() == out {
        let mut data = pool::filled(out.numel(), T::zero());
        for_each_run(&mut data, simd::CHEAP_GRAIN, 1, |at, dst| {
            let to = at + dst.len();
            simd::vectorized(|| {
                for (((d, &c), &a), &b) in dst
                    .iter_mut()
                    .zip(&cd[at..to])
                    .zip(&ad[at..to])
                    .zip(&bd[at..to])
                {
                    *d = pick(c, a, b);
                }
            })
        });
        return Array::from_parts(data, out.clone());
    }
    let strides: [SmallVec<[usize; 4]>; 3] = [
        cond.shape().broadcast_strides(out),
        on_true.shape().broadcast_strides(out),
        on_false.shape().broadcast_strides(out),
    ];
    let (dims, rank) = (out.dims(), out.rank());
    let mut data = pool::take(out.numel());
    if out.numel() == 0 {
        return Array::from_parts(data, out.clone());
    }
    // one innermost row of `out` at a time (rank >= 1 here: rank-0 operands all match `out`)
    let n = dims[rank - 1];
    let rows = out.numel() / n;
    let inner = [
        strides[0][rank - 1],
        strides[1][rank - 1],
        strides[2][rank - 1],
    ];
    let mut idx: SmallVec<[usize; 4]> = SmallVec::from_elem(0, rank);
    let mut off = [0usize; 3];
    simd::vectorized(|| {
        for r in 0..rows {
            let [oc, oa, ob] = off;
            let [ic, ia, ib] = inner;
            data.extend((0..n).map(|j| pick(cd[oc + j * ic], ad[oa + j * ia], bd[ob + j * ib])));
            if r + 1 == rows {
                break;
            }
            // advance the multi-index over the leading axes
            for ax in (0..rank - 1).rev() {
                idx[ax] += 1;
                for (o, s) in off.iter_mut().zip(&strides) {
                    *o += s[ax];
                }
                if idx[ax] < dims[ax] {
                    break;
                }
                for (o, s) in off.iter_mut().zip(&strides) {
                    *o -= s[ax] * dims[ax];
                }
                idx[ax] = 0;
            }
        }
    });
    Array::from_parts(data, out.clone())
}

/// The share of the gradient of `minimum(a, b)` (`lower`) or `maximum(a, b)` that goes to
/// `a`: 1 where `a` is taken, 1/2 at a tie, 0 where `b` is taken; 1 where either is NaN (as
/// PyTorch). The share of `b` is the same function of `(b, a)`.
#[inline(always)]
pub(crate) fn pair_share<T: Element>(a: T, b: T, lower: bool) -> T {
    if a == b {
        T::of(0.5)
    } else if (lower && a > b) || (!lower && a < b) {
        T::zero()
    } else {
        T::one()
    }
}

/// `(outer, n, inner)` of the lanes along `axis` (one lane of everything for `None`).
fn split<T: Element>(x: &Array<T>, axis: Option<usize>) -> (usize, usize, usize) {
    match axis {
        Some(a) => x.shape().split_at_axis(a),
        None => (1, x.numel(), 1),
    }
}

/// `f` of each lane of `x` along `axis`, into an array of the reduced shape `out`.
fn reduce_lanes<T: Element>(
    x: &Array<T>,
    axis: Option<usize>,
    out: &Shape,
    f: impl Fn(&[T]) -> T + Sync,
) -> Array<T> {
    let (outer, n, inner) = split(x, axis);
    let xd = x.data();
    let mut data = pool::filled(outer * inner, T::zero());
    if inner == 1 {
        let grain = (simd::COSTLY_GRAIN / n.max(1)).max(1);
        for_each_run(&mut data, grain, 1, |at, dst| {
            simd::vectorized(|| {
                for (k, d) in dst.iter_mut().enumerate() {
                    let l = at + k;
                    *d = f(&xd[l * n..(l + 1) * n]);
                }
            })
        });
    } else {
        let mut buf = vec![T::zero(); n];
        simd::vectorized(|| {
            for o in 0..outer {
                for i in 0..inner {
                    for (j, b) in buf.iter_mut().enumerate() {
                        *b = xd[(o * n + j) * inner + i];
                    }
                    data[o * inner + i] = f(&buf);
                }
            }
        });
    }
    Array::from_parts(data, out.clone())
}

/// The gradient of a lane reduction: `f(x_lane, y, g, out_lane)` for each lane, with `y` and
/// `g` the reduction's value and incoming gradient for that lane; the result has `x`'s shape.
fn lanes_back<T: Element>(
    x: &Array<T>,
    y: &Array<T>,
    g: &Array<T>,
    axis: Option<usize>,
    f: impl Fn(&[T], T, T, &mut [T]) + Sync,
) -> Array<T> {
    let (outer, n, inner) = split(x, axis);
    let (xd, yd, gd) = (x.data(), y.data(), g.data());
    let mut out = pool::filled(x.numel(), T::zero());
    if inner == 1 {
        if n > 0 {
            for_each_run(&mut out, simd::COSTLY_GRAIN, n, |at, run| {
                simd::vectorized(|| {
                    for (k, dst) in run.chunks_mut(n).enumerate() {
                        let l = at / n + k;
                        f(&xd[l * n..(l + 1) * n], yd[l], gd[l], dst);
                    }
                })
            });
        }
    } else {
        let (mut xb, mut ob) = (vec![T::zero(); n], vec![T::zero(); n]);
        simd::vectorized(|| {
            for o in 0..outer {
                for i in 0..inner {
                    for (j, b) in xb.iter_mut().enumerate() {
                        *b = xd[(o * n + j) * inner + i];
                    }
                    f(&xb, yd[o * inner + i], gd[o * inner + i], &mut ob);
                    for (j, &v) in ob.iter().enumerate() {
                        out[(o * n + j) * inner + i] = v;
                    }
                }
            }
        });
    }
    Array::from_parts(out, x.shape().clone())
}

/// The smallest value over `axis` (all elements when `None`); a NaN in a lane makes its
/// minimum NaN (as `max_axis`, and PyTorch's `amin`).
pub(crate) fn min_axis<T: Element>(x: &Array<T>, axis: Option<usize>, out: &Shape) -> Array<T> {
    reduce_lanes(x, axis, out, |lane| {
        lane.iter().copied().fold(T::infinity(), |m, v| {
            if m.is_nan() || !(v < m || v.is_nan()) {
                m
            } else {
                v
            }
        })
    })
}

/// The divisor of a variance: `max(N - correction, 0)` (0 gives inf or NaN, as PyTorch).
fn divisor(n: usize, correction: usize) -> f64 {
    n.saturating_sub(correction) as f64
}

/// The mean of a lane, as `x₀ + Σ (x - x₀)/N`: exact for a lane of equal elements (so its
/// deviations, variance and standard deviation are exactly 0), NaN for an empty lane.
#[inline(always)]
fn lane_mean<T: Element>(lane: &[T]) -> T {
    let Some(&x0) = lane.first() else {
        return T::nan();
    };
    x0 + simd::sum_zip(lane, lane, |v, _| v - x0) / T::of(lane.len() as f64)
}

/// The mean of each lane along `axis`, kept as a size-1 axis (all axes size 1 for `None`):
/// the centre `var_axis` measures from, for the recorded form of its gradient.
pub(crate) fn lane_means<T: Element>(x: &Array<T>, axis: Option<usize>) -> Array<T> {
    reduce_lanes(x, axis, &x.shape().reduced(axis, true), lane_mean)
}

/// `Σ (x - mean)² / max(N - correction, 0)` over `axis` (two passes: the mean, then the
/// squared deviations, which keeps the result accurate when the mean is large).
pub(crate) fn var_axis<T: Element>(
    x: &Array<T>,
    axis: Option<usize>,
    correction: usize,
    out: &Shape,
) -> Array<T> {
    let (_, n, _) = split(x, axis);
    let dv = T::of(divisor(n, correction));
    reduce_lanes(x, axis, out, |lane| {
        let m = lane_mean(lane);
        simd::sum_zip(lane, lane, |v, _| (v - m) * (v - m)) / dv
    })
}

/// The gradient of `var_axis`: `g · 2(x - mean)/(N - correction)`.
pub(crate) fn var_backward<T: Element>(
    x: &Array<T>,
    y: &Array<T>,
    g: &Array<T>,
    axis: Option<usize>,
    correction: usize,
) -> Array<T> {
    let (_, n, _) = split(x, axis);
    let k = T::of(2.0 / divisor(n, correction));
    lanes_back(x, y, g, axis, |lane, _, g, dst| {
        let m = lane_mean(lane);
        let s = g * k;
        for (d, &v) in dst.iter_mut().zip(lane) {
            *d = s * (v - m);
        }
    })
}

/// The gradient of the standard deviation `y = √var`: `g · (x - mean)/((N - correction)·y)`,
/// and 0 for a lane whose `y` is 0 (all its elements equal: the subgradient 0, where
/// PyTorch gives NaN).
pub(crate) fn std_backward<T: Element>(
    x: &Array<T>,
    y: &Array<T>,
    g: &Array<T>,
    axis: Option<usize>,
    correction: usize,
) -> Array<T> {
    let (_, n, _) = split(x, axis);
    let dv = T::of(divisor(n, correction));
    lanes_back(x, y, g, axis, |lane, y, g, dst| {
        if y == T::zero() {
            dst.iter_mut().for_each(|d| *d = T::zero());
            return;
        }
        let m = lane_mean(lane);
        let s = g / (dv * y);
        for (d, &v) in dst.iter_mut().zip(lane) {
            *d = s * (v - m);
        }
    })
}

/// `log Σ e^x` over `axis`, as `max + log Σ e^(x - max)`: stable for logits of ±1e4. A lane
/// of all `-inf` gives `-inf`, a lane holding `+inf` gives `+inf`, a NaN gives NaN (as
/// PyTorch).
pub(crate) fn logsumexp<T: Element>(x: &Array<T>, axis: Option<usize>, out: &Shape) -> Array<T> {
    reduce_lanes(x, axis, out, |lane| {
        let m = lane.iter().copied().fold(T::neg_infinity(), T::max);
        if m.is_infinite() {
            // all -inf, or a +inf: the sum is e^m (NaN still wins)
            return if lane.iter().any(|v| v.is_nan()) {
                T::nan()
            } else {
                m
            };
        }
        m + simd::sum_zip(lane, lane, |v, _| (v - m).exp_fast()).ln()
    })
}

/// The gradient of `logsumexp`: `g · softmax(x)`, the softmax computed from the lane's maximum
/// (as `e^(x - y)` it would lose the digits `y` rounds away at ±1e4); 0 for a lane of all
/// `-inf` (`y = -inf`, where the softmax is 0/0: PyTorch gives NaN).
pub(crate) fn logsumexp_backward<T: Element>(
    x: &Array<T>,
    y: &Array<T>,
    g: &Array<T>,
    axis: Option<usize>,
) -> Array<T> {
    lanes_back(x, y, g, axis, |lane, y, g, dst| {
        if y == T::neg_infinity() {
            dst.iter_mut().for_each(|d| *d = T::zero());
            return;
        }
        let m = lane.iter().copied().fold(T::neg_infinity(), T::max);
        for (d, &v) in dst.iter_mut().zip(lane) {
            *d = (v - m).exp_fast();
        }
        let s = g / simd::sum(dst);
        dst.iter_mut().for_each(|d| *d *= s);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arr(v: &[f64], dims: &[usize]) -> Array<f64> {
        Array::from_vec(v.to_vec(), dims).unwrap()
    }

    #[test]
    fn where_broadcasts_three_ways() {
        // cond [2, 1], on_true [3], on_false scalar: out [2, 3]
        let c = arr(&[1.0, 0.0], &[2, 1]);
        let a = arr(&[1.0, 2.0, 3.0], &[3]);
        let b = arr(&[-1.0], &[]);
        let y = where_cond(&c, &a, &b, &Shape::new(&[2, 3]));
        assert_eq!(y.data(), &[1.0, 2.0, 3.0, -1.0, -1.0, -1.0]);
    }

    #[test]
    fn where_matches_a_naive_loop_at_rank_three() {
        // cond [2, 1, 3], on_true [4, 1], on_false [2, 4, 3] (each stretched somewhere)
        let c = Array::from_fn([2, 1, 3], |k| (k % 2) as f64);
        let a = Array::from_fn([4, 1], |k| k as f64 + 10.0);
        let b = Array::from_fn([2, 4, 3], |k| -(k as f64));
        let y = where_cond(&c, &a, &b, &Shape::new(&[2, 4, 3]));
        for i in 0..2 {
            for j in 0..4 {
                for k in 0..3 {
                    let want = if c.get(&[i, 0, k]).unwrap() != 0.0 {
                        a.get(&[j, 0]).unwrap()
                    } else {
                        b.get(&[i, j, k]).unwrap()
                    };
                    assert_eq!(y.get(&[i, j, k]), Some(want));
                }
            }
        }
    }

    #[test]
    fn lane_reductions_along_an_inner_axis() {
        // [2, 3] reduced over axis 0: lanes (1, 4), (2, 5), (3, 6)
        let x = arr(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
        let out = Shape::new(&[3]);
        assert_eq!(min_axis(&x, Some(0), &out).data(), &[1.0, 2.0, 3.0]);
        assert_eq!(var_axis(&x, Some(0), 1, &out).data(), &[4.5, 4.5, 4.5]);
        assert_eq!(var_axis(&x, Some(0), 0, &out).data(), &[2.25, 2.25, 2.25]);
        let l = logsumexp(&x, Some(0), &out);
        let want = (1f64.exp() + 4f64.exp()).ln();
        assert!((l.data()[0] - want).abs() < 1e-12);
    }
}
