//! Elementwise binary kernels with NumPy broadcasting, and `sum_to_shape`, their inverse for
//! gradients.

use super::{pool, simd};
use crate::array::Array;
use crate::element::Element;
use crate::shape::Shape;
use smallvec::SmallVec;

/// `f(a, b)` elementwise over the broadcast shape `out`.
pub(crate) fn binary<T: Element>(
    a: &Array<T>,
    b: &Array<T>,
    out: &Shape,
    f: impl Fn(T, T) -> T + Sync,
) -> Array<T> {
    let (ad, bd) = (a.data(), b.data());
    if a.shape() == out && b.shape() == out {
        return Array::from_parts(simd::zip(ad, bd, simd::CHEAP_GRAIN, f), out.clone());
    }
    if b.numel() == 1 && a.shape() == out {
        let y = bd[0];
        return Array::from_parts(simd::map(ad, simd::CHEAP_GRAIN, |x| f(x, y)), out.clone());
    }
    if a.numel() == 1 && b.shape() == out {
        let x = ad[0];
        return Array::from_parts(simd::map(bd, simd::CHEAP_GRAIN, |y| f(x, y)), out.clone());
    }
    let sa = a.shape().broadcast_strides(out);
    let sb = b.shape().broadcast_strides(out);
    // every element is written below (one innermost row at a time), so no zero fill first
    let mut data = pool::scratch(out.numel());
    let mut at = 0;
    simd::vectorized(|| {
        for_each_row(out, &sa, &sb, |oa, ob, n, ia, ib| {
            let dst = &mut data[at..at + n];
            at += n;
            match (ia, ib) {
                // the common cases get contiguous loops that vectorize: a row of each side,
                // a row and a repeated value, a repeated value and a row
                (1, 1) => simd::zip_into(&ad[oa..oa + n], &bd[ob..ob + n], dst, &f),
                (1, 0) => {
                    let y = bd[ob];
                    for (d, &x) in dst.iter_mut().zip(&ad[oa..oa + n]) {
                        *d = f(x, y);
                    }
                }
                (0, 1) => {
                    let x = ad[oa];
                    for (d, &y) in dst.iter_mut().zip(&bd[ob..ob + n]) {
                        *d = f(x, y);
                    }
                }
                _ => {
                    for (j, d) in dst.iter_mut().enumerate() {
                        *d = f(ad[oa + j * ia], bd[ob + j * ib]);
                    }
                }
            }
        });
    });
    Array::from_parts(data, out.clone())
}

/// Walks `out` one innermost row at a time, giving the start offsets into two broadcast
/// inputs (strides `sa`, `sb`), the row length and the inputs' innermost strides.
fn for_each_row(
    out: &Shape,
    sa: &[usize],
    sb: &[usize],
    mut f: impl FnMut(usize, usize, usize, usize, usize),
) {
    let rank = out.rank();
    if rank == 0 {
        f(0, 0, 1, 0, 0);
        return;
    }
    let dims = out.dims();
    let n = dims[rank - 1];
    let rows: usize = dims[..rank - 1].iter().product();
    let mut idx: SmallVec<[usize; 4]> = SmallVec::from_elem(0, rank - 1);
    let (mut oa, mut ob) = (0usize, 0usize);
    for r in 0..rows {
        f(oa, ob, n, sa[rank - 1], sb[rank - 1]);
        if r + 1 == rows {
            break;
        }
        // advance the multi-index over the leading axes
        let mut ax = rank - 1;
        loop {
            ax -= 1;
            idx[ax] += 1;
            oa += sa[ax];
            ob += sb[ax];
            if idx[ax] < dims[ax] {
                break;
            }
            oa -= sa[ax] * dims[ax];
            ob -= sb[ax] * dims[ax];
            idx[ax] = 0;
        }
    }
}

/// Sums `g` over every axis that broadcasting stretched, giving an array of shape `target`
/// (the gradient of an input that was broadcast to `g`'s shape).
pub(crate) fn sum_to_shape<T: Element>(g: Array<T>, target: &Shape) -> Array<T> {
    if g.shape() == target {
        return g;
    }
    if target.numel() == 1 {
        let s = simd::sum(g.data());
        return Array::from_parts(pool::filled(1, s), target.clone());
    }
    let st = target.broadcast_strides(g.shape());
    let ones: SmallVec<[usize; 4]> = g.shape().strides();
    let mut out = pool::filled(target.numel(), T::zero());
    let gd = g.data();
    simd::vectorized(|| {
        for_each_row(g.shape(), &ones, &st, |og, ot, n, _ig, it| {
            let row = &gd[og..og + n];
            if it == 0 {
                out[ot] += simd::sum(row);
            } else {
                for (o, &v) in out[ot..ot + n].iter_mut().zip(row) {
                    *o += v;
                }
            }
        })
    });
    Array::from_parts(out, target.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_plus_row() {
        let a = Array::<f64>::from_vec(vec![1., 2., 3.], [3, 1]).unwrap();
        let b = Array::<f64>::from_vec(vec![10., 20., 30., 40.], [4]).unwrap();
        let out = Shape::broadcast("add", a.shape(), b.shape()).unwrap();
        let c = binary(&a, &b, &out, |x, y| x + y);
        assert_eq!(c.dims(), &[3, 4]);
        assert_eq!(c.get(&[2, 3]), Some(43.0));
        assert_eq!(c.get(&[0, 1]), Some(21.0));
    }

    #[test]
    fn sum_to_shape_undoes_broadcast() {
        let g = Array::<f64>::ones([2, 3, 4]);
        assert_eq!(
            sum_to_shape(g.clone(), &Shape::new(&[3, 1])).data(),
            &[8.; 3]
        );
        assert_eq!(sum_to_shape(g.clone(), &Shape::new(&[4])).data(), &[6.; 4]);
        assert_eq!(sum_to_shape(g, &Shape::scalar()).data(), &[24.]);
    }
}
