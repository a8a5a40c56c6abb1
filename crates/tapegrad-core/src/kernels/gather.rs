//! Kernels of the selecting ops and their adjoints: narrow's adjoint (a slice written into
//! zeros), gather along an axis and its adjoint, scatter-add. (`narrow` itself is
//! [`slice_axis`](super::slice_axis).)

use super::pool;
use crate::array::Array;
use crate::element::Element;
use crate::shape::Shape;
use smallvec::SmallVec;

/// `g` written at positions `start..start + g.dims[axis]` of `axis` in zeros whose `axis` has
/// `size` positions (the adjoint of `slice_axis`).
pub(crate) fn pad_axis<T: Element>(
    g: &Array<T>,
    axis: usize,
    start: usize,
    size: usize,
) -> Array<T> {
    let (outer, len, inner) = g.shape().split_at_axis(axis);
    let mut dims: SmallVec<[usize; 4]> = SmallVec::from_slice(g.dims());
    dims[axis] = size;
    let mut out = pool::filled(outer * size * inner, T::zero());
    let block = len * inner;
    for o in 0..outer {
        let base = (o * size + start) * inner;
        out[base..base + block].copy_from_slice(&g.data()[o * block..(o + 1) * block]);
    }
    Array::from_parts(out, Shape::new(&dims))
}

/// Calls `f(k, off)` for every element `k` (row-major) of an index of shape `index_shape`
/// (rank >= 1, that of `x`), where `off` is the flat offset in an array of shape `x` of the
/// element gather picks for it: the index element's position with its `axis` coordinate
/// replaced by `index[k]`. Shapes and indices are checked by the caller.
fn for_each_pick(
    x: &Shape,
    index_shape: &Shape,
    axis: usize,
    index: &[usize],
    mut f: impl FnMut(usize, usize),
) {
    if index.is_empty() {
        return;
    }
    let xs = x.strides();
    let dims = index_shape.dims();
    let last = dims.len() - 1;
    let (step, pick) = (if last == axis { 0 } else { xs[last] }, xs[axis]);
    let mut at: SmallVec<[usize; 4]> = SmallVec::from_elem(0, dims.len());
    // the offset of the current position with its `axis` coordinate taken as 0
    let mut base = 0usize;
    let mut k = 0usize;
    loop {
        for j in 0..dims[last] {
            f(k, base + j * step + index[k] * pick);
            k += 1;
        }
        // advance the leading axes, odometer-style
        let mut ax = last;
        loop {
            if ax == 0 {
                return;
            }
            ax -= 1;
            let stride = if ax == axis { 0 } else { xs[ax] };
            at[ax] += 1;
            base += stride;
            if at[ax] < dims[ax] {
                break;
            }
            base -= stride * dims[ax];
            at[ax] = 0;
        }
    }
}

/// `out[i..] = x[i.. with i_axis replaced by index[i..]]`, in the index's shape
/// (`torch.gather`).
pub(crate) fn gather<T: Element>(
    x: &Array<T>,
    index_shape: &Shape,
    axis: usize,
    index: &[usize],
) -> Array<T> {
    let xd = x.data();
    let mut out = pool::take(index.len());
    for_each_pick(x.shape(), index_shape, axis, index, |_, off| {
        out.push(xd[off])
    });
    Array::from_parts(out, index_shape.clone())
}

/// Zeros of shape `target` into which each `g[i..]` is added at the position gather would
/// read for `i..` (the adjoint of [`gather`]; repeated indices add up). `index` has `g`'s
/// shape.
pub(crate) fn scatter_add<T: Element>(
    g: &Array<T>,
    target: &Shape,
    axis: usize,
    index: &[usize],
) -> Array<T> {
    let gd = g.data();
    let mut out = pool::filled(target.numel(), T::zero());
    for_each_pick(target, g.shape(), axis, index, |k, off| out[off] += gd[k]);
    Array::from_parts(out, target.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Gather by its definition, element by element through multi-indices.
    fn naive_gather(x: &Array<f64>, ishape: &Shape, axis: usize, index: &[usize]) -> Vec<f64> {
        let is = ishape.strides();
        (0..index.len())
            .map(|k| {
                let mut pos: Vec<usize> = is
                    .iter()
                    .zip(ishape.dims())
                    .map(|(&s, &d)| k / s % d)
                    .collect();
                pos[axis] = index[k];
                x.get(&pos).unwrap()
            })
            .collect()
    }

    #[test]
    fn gather_matches_definition_on_each_axis() {
        let x = Array::<f64>::arange(60).reshape([3, 4, 5]).unwrap();
        for axis in 0..3 {
            let mut dims = [2, 3, 4];
            dims[axis] = 6; // the gathered axis may be longer than x's
            let ishape = Shape::new(&dims);
            let n = x.dims()[axis];
            let index: Vec<usize> = (0..ishape.numel()).map(|k| (k * 7 + 3) % n).collect();
            let y = gather(&x, &ishape, axis, &index);
            assert_eq!(y.dims(), &dims);
            assert_eq!(y.data(), &naive_gather(&x, &ishape, axis, &index)[..]);
        }
    }

    #[test]
    fn scatter_add_is_the_adjoint_of_gather() {
        // <gather(x), g> = <x, scatter_add(g)> for every x and g
        let x = Array::<f64>::from_fn([3, 4, 2], |k| (k as f64 * 0.37).sin());
        let ishape = Shape::new(&[5, 2, 2]);
        let index: Vec<usize> = (0..20).map(|k| (k * 5 + 1) % 3).collect();
        let g = Array::<f64>::from_fn(ishape.clone(), |k| (k as f64 * 0.71).cos());
        let y = gather(&x, &ishape, 0, &index);
        let s = scatter_add(&g, x.shape(), 0, &index);
        let lhs: f64 = y.data().iter().zip(g.data()).map(|(a, b)| a * b).sum();
        let rhs: f64 = x.data().iter().zip(s.data()).map(|(a, b)| a * b).sum();
        assert!((lhs - rhs).abs() < 1e-12, "{lhs} vs {rhs}");
    }

    #[test]
    fn pad_axis_undoes_slice_axis_inside_zeros() {
        let g = Array::<f64>::arange(6).reshape([2, 3]).unwrap();
        let p = pad_axis(&g, 1, 1, 5);
        assert_eq!(
            p.data(),
            &[0.0, 0.0, 1.0, 2.0, 0.0, 0.0, 3.0, 4.0, 5.0, 0.0]
        );
        assert_eq!(super::super::slice_axis(&p, 1, 1, 3), g);
    }
}
