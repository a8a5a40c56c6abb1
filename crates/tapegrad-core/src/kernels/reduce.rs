//! Reductions along one axis (or over everything): sum and max, and the kernels that send
//! their gradients back.

use super::{pool, simd};
use crate::array::Array;
use crate::element::Element;
use crate::shape::Shape;

/// Sums over `axis` (all elements when `None`); `out` is the reduced shape.
pub(crate) fn sum_axis<T: Element>(x: &Array<T>, axis: Option<usize>, out: &Shape) -> Array<T> {
    let Some(axis) = axis else {
        return Array::from_parts(pool::filled(1, simd::sum(x.data())), out.clone());
    };
    let (outer, n, inner) = x.shape().split_at_axis(axis);
    let xd = x.data();
    let mut data = pool::filled(outer * inner, T::zero());
    simd::vectorized(|| {
        for o in 0..outer {
            let dst = &mut data[o * inner..(o + 1) * inner];
            if inner == 1 {
                dst[0] = simd::sum(&xd[o * n..(o + 1) * n]);
                continue;
            }
            for j in 0..n {
                let src = &xd[(o * n + j) * inner..(o * n + j + 1) * inner];
                for (d, &s) in dst.iter_mut().zip(src) {
                    *d += s;
                }
            }
        }
    });
    Array::from_parts(data, out.clone())
}

/// The largest value over `axis` (all elements when `None`).
pub(crate) fn max_axis<T: Element>(x: &Array<T>, axis: Option<usize>, out: &Shape) -> Array<T> {
    let xd = x.data();
    let Some(axis) = axis else {
        // NaN wins, as in max over an axis (T::max would skip it)
        let m = xd.iter().copied().fold(T::neg_infinity(), |m, v| {
            if m.is_nan() || !(v > m || v.is_nan()) {
                m
            } else {
                v
            }
        });
        return Array::from_parts(pool::filled(1, m), out.clone());
    };
    let (outer, n, inner) = x.shape().split_at_axis(axis);
    let mut data = pool::filled(outer * inner, T::neg_infinity());
    for o in 0..outer {
        let dst = &mut data[o * inner..(o + 1) * inner];
        for j in 0..n {
            let src = &xd[(o * n + j) * inner..(o * n + j + 1) * inner];
            for (d, &s) in dst.iter_mut().zip(src) {
                if s > *d || s.is_nan() {
                    *d = s;
                }
            }
        }
    }
    Array::from_parts(data, out.clone())
}

/// Repeats a reduced gradient `g` along `axis` back to `x_shape` (the gradient of a sum).
pub(crate) fn broadcast_back<T: Element>(
    g: &Array<T>,
    x_shape: &Shape,
    axis: Option<usize>,
) -> Array<T> {
    let Some(axis) = axis else {
        return Array::full(x_shape.clone(), g.data()[0]);
    };
    let (outer, n, inner) = x_shape.split_at_axis(axis);
    let gd = g.data();
    let mut data = pool::take(x_shape.numel());
    for o in 0..outer {
        let src = &gd[o * inner..(o + 1) * inner];
        for _ in 0..n {
            data.extend_from_slice(src);
        }
    }
    Array::from_parts(data, x_shape.clone())
}

/// The gradient of max: `g` goes to the positions that hold the maximum, split evenly between
/// ties (as PyTorch's `amax`).
pub(crate) fn max_backward<T: Element>(
    x: &Array<T>,
    max: &Array<T>,
    g: &Array<T>,
    axis: Option<usize>,
) -> Array<T> {
    let xd = x.data();
    let (outer, n, inner) = match axis {
        Some(a) => x.shape().split_at_axis(a),
        None => (1, x.numel(), 1),
    };
    let (md, gd) = (max.data(), g.data());
    let mut out = pool::filled(x.numel(), T::zero());
    for o in 0..outer {
        for i in 0..inner {
            let m = md[o * inner + i];
            let count = (0..n).filter(|&j| xd[(o * n + j) * inner + i] == m).count();
            if count == 0 {
                // the maximum is NaN (no element equals it): every element gets NaN, as
                // PyTorch's (g / 0) · 0, so the NaN is not hidden by a zero gradient
                for j in 0..n {
                    out[(o * n + j) * inner + i] = T::nan();
                }
                continue;
            }
            let share = gd[o * inner + i] / T::of(count as f64);
            for j in 0..n {
                let p = (o * n + j) * inner + i;
                if xd[p] == m {
                    out[p] = share;
                }
            }
        }
    }
    Array::from_parts(out, x.shape().clone())
}
