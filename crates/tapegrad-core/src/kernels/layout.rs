//! Kernels that move data without arithmetic: permute, gather and scatter rows, concat and
//! slices along an axis.

use super::pool;
use crate::array::Array;
use crate::element::Element;
use crate::shape::Shape;
use smallvec::SmallVec;

/// Reorders axes: `out.dims[i] = x.dims[perm[i]]`.
pub(crate) fn permute<T: Element>(x: &Array<T>, perm: &[usize]) -> Array<T> {
    let mut dims: SmallVec<[usize; 4]> = perm.iter().map(|&p| x.dims()[p]).collect();
    let out_shape = Shape::new(&dims);
    let xs = x.shape().strides();
    let mut src: SmallVec<[usize; 4]> = perm.iter().map(|&p| xs[p]).collect();
    // trailing output axes that stay contiguous in `x` merge into one, copied as whole runs
    while dims.len() >= 2 {
        let (a, b) = (dims.len() - 2, dims.len() - 1);
        if src[a] != src[b] * dims[b] {
            break;
        }
        dims[a] *= dims[b];
        src[a] = src[b];
        dims.pop();
        src.pop();
    }
    let xd = x.data();
    let n = out_shape.numel();
    let mut data = pool::take(n);
    if n == 0 {
        return Array::from_parts(data, out_shape);
    }
    let rank = dims.len();
    if rank == 0 {
        data.push(xd[0]);
        return Array::from_parts(data, out_shape);
    }
    let mut idx: SmallVec<[usize; 4]> = SmallVec::from_elem(0, rank);
    let mut off = 0usize;
    let last = rank - 1;
    loop {
        if src[last] == 1 {
            data.extend_from_slice(&xd[off..off + dims[last]]);
        } else {
            for j in 0..dims[last] {
                data.push(xd[off + j * src[last]]);
            }
        }
        // advance leading axes
        let mut ax = last;
        loop {
            if ax == 0 {
                return Array::from_parts(data, out_shape);
            }
            ax -= 1;
            idx[ax] += 1;
            off += src[ax];
            if idx[ax] < dims[ax] {
                break;
            }
            off -= src[ax] * dims[ax];
            idx[ax] = 0;
        }
    }
}

/// The rows (first-axis slices) at `indices`, in order (gathered by
/// [`tapegrad_kernels::gather_rows`], split over the threads for a big batch).
pub(crate) fn gather_rows<T: Element>(x: &Array<T>, indices: &[usize]) -> Array<T> {
    let row = x.numel() / x.dims()[0].max(1);
    let data = tapegrad_kernels::gather_rows(x.data(), row, indices);
    let mut dims: SmallVec<[usize; 4]> = SmallVec::from_slice(x.dims());
    dims[0] = indices.len();
    Array::from_parts(data, Shape::new(&dims))
}

/// Adds row `k` of `g` into row `indices[k]` of a zero array of shape `target`.
pub(crate) fn scatter_add_rows<T: Element>(
    g: &Array<T>,
    indices: &[usize],
    target: &Shape,
) -> Array<T> {
    let row = target.numel() / target.dim(0).max(1);
    let mut out = pool::filled(target.numel(), T::zero());
    for (k, &i) in indices.iter().enumerate() {
        for (o, &v) in out[i * row..(i + 1) * row]
            .iter_mut()
            .zip(&g.data()[k * row..(k + 1) * row])
        {
            *o += v;
        }
    }
    Array::from_parts(out, target.clone())
}

/// Joins arrays along `axis` (their other dims already checked equal).
pub(crate) fn concat<T: Element>(xs: &[&Array<T>], axis: usize) -> Array<T> {
    let first = xs[0].shape();
    let (outer, _, inner) = first.split_at_axis(axis);
    let total: usize = xs.iter().map(|x| x.dims()[axis]).sum();
    let mut dims: SmallVec<[usize; 4]> = SmallVec::from_slice(first.dims());
    dims[axis] = total;
    let mut data = pool::take(outer * total * inner);
    for o in 0..outer {
        for x in xs {
            let block = x.dims()[axis] * inner;
            data.extend_from_slice(&x.data()[o * block..(o + 1) * block]);
        }
    }
    Array::from_parts(data, Shape::new(&dims))
}

/// Positions `start..start + len` of `axis`, copied.
pub(crate) fn slice_axis<T: Element>(
    x: &Array<T>,
    axis: usize,
    start: usize,
    len: usize,
) -> Array<T> {
    let (outer, n, inner) = x.shape().split_at_axis(axis);
    let mut dims: SmallVec<[usize; 4]> = SmallVec::from_slice(x.dims());
    dims[axis] = len;
    let mut data = pool::take(outer * len * inner);
    for o in 0..outer {
        let base = (o * n + start) * inner;
        data.extend_from_slice(&x.data()[base..base + len * inner]);
    }
    Array::from_parts(data, Shape::new(&dims))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permute_3d_matches_definition() {
        let x = Array::<f64>::arange(24).reshape([2, 3, 4]).unwrap();
        let y = permute(&x, &[2, 0, 1]);
        assert_eq!(y.dims(), &[4, 2, 3]);
        for i in 0..4 {
            for j in 0..2 {
                for k in 0..3 {
                    assert_eq!(y.get(&[i, j, k]), x.get(&[j, k, i]));
                }
            }
        }
    }

    #[test]
    fn concat_then_slice_round_trips() {
        let a = Array::<f64>::arange(6).reshape([2, 3]).unwrap();
        let b = Array::<f64>::arange(4).reshape([2, 2]).unwrap();
        let c = concat(&[&a, &b], 1);
        assert_eq!(c.dims(), &[2, 5]);
        assert_eq!(slice_axis(&c, 1, 0, 3), a);
        assert_eq!(slice_axis(&c, 1, 3, 2), b);
    }
}
