//! im2col and its adjoint col2im: the data movement of a 2-D convolution, which then runs as
//! a matrix product on the GEMM ([`Tensor::conv2d`](crate::Tensor::conv2d)).
//!
//! Layout of the columns for an input `[N, C, H, W]` with `G` groups of `Cg = C / G`
//! channels and a `kH x kW` kernel: rows `(g, n, k)` of length `L = H_out·W_out`, where
//! `k = (c·kH + i)·kW + j` runs over the `K = Cg·kH·kW` taps of group `g`; row `(g, n, k)` at
//! output position `(oh, ow)` holds `x[n, g·Cg + c, oh·sh - ph + i·dh, ow·sw - pw + j·dw]`
//! (0 where that lies in the padding). With one group this is `[N, K, L]`: sample `n`'s
//! columns are the `[K, L]` right operand of `w[C_out, K] · cols[n]`.

use super::parallel::for_each_run;
use super::{pool, simd};
use crate::element::Element;
use crate::ops::Conv2dGeometry;

/// The outputs `o` in `lo..hi` (of `count`) whose input position `o·stride + tap·dilation -
/// pad` lies inside `0..len`.
fn valid(
    count: usize,
    stride: usize,
    pad: usize,
    dilation: usize,
    tap: usize,
    len: usize,
) -> (usize, usize) {
    let off = tap * dilation;
    let lo = if pad > off {
        (pad - off).div_ceil(stride)
    } else {
        0
    };
    let hi = if len + pad > off {
        (len + pad - off).div_ceil(stride)
    } else {
        0
    };
    let hi = hi.min(count);
    (lo.min(hi), hi)
}

/// Which input plane and tap a column row reads: `(n, channel, i, j)`.
fn row_source(geo: &Conv2dGeometry, row: usize) -> (usize, usize, usize, usize) {
    let (kh, kw) = geo.kernel;
    let cg = geo.channels_per_group();
    let k = cg * kh * kw;
    let (gn, tap) = (row / k, row % k);
    let (g, n) = (gn / geo.input[0], gn % geo.input[0]);
    let (c, ij) = (tap / (kh * kw), tap % (kh * kw));
    (n, g * cg + c, ij / kw, ij % kw)
}

/// The columns of `x` (`geo.input`'s shape), laid out as the module says.
pub(crate) fn im2col<T: Element>(x: &[T], geo: &Conv2dGeometry) -> Vec<T> {
    let (h, w) = (geo.input[2], geo.input[3]);
    let (ho, wo) = geo.out;
    let l = ho * wo;
    // every element is written: a value or a padding zero
    let mut cols = pool::scratch(geo.cols_len());
    if l == 0 {
        return cols;
    }
    for_each_run(&mut cols, simd::CHEAP_GRAIN, l, |start, run| {
        for (r, dst) in run.chunks_mut(l).enumerate() {
            let (n, ch, i, j) = row_source(geo, start / l + r);
            let plane = &x[(n * geo.input[1] + ch) * h * w..][..h * w];
            fill_row(dst, plane, i, j, geo);
        }
    });
    cols
}

/// One row of the columns: tap `(i, j)` of one input plane at every output position.
fn fill_row<T: Element>(dst: &mut [T], plane: &[T], i: usize, j: usize, geo: &Conv2dGeometry) {
    let (h, w) = (geo.input[2], geo.input[3]);
    let ((ho, wo), (sh, sw), (ph, pw), (dh, dw)) = (geo.out, geo.stride, geo.padding, geo.dilation);
    let (ylo, yhi) = valid(ho, sh, ph, dh, i, h);
    let (xlo, xhi) = valid(wo, sw, pw, dw, j, w);
    let zero = T::zero();
    for (oh, row) in dst.chunks_mut(wo).enumerate() {
        if oh < ylo || oh >= yhi {
            row.fill(zero);
            continue;
        }
        let src = &plane[(oh * sh + i * dh - ph) * w..][..w];
        row[..xlo].fill(zero);
        row[xhi..].fill(zero);
        if xlo == xhi {
            continue;
        }
        let first = xlo * sw + j * dw - pw;
        if sw == 1 {
            row[xlo..xhi].copy_from_slice(&src[first..first + (xhi - xlo)]);
        } else {
            for (k, v) in row[xlo..xhi].iter_mut().enumerate() {
                *v = src[first + k * sw];
            }
        }
    }
}

/// The adjoint of [`im2col`]: every column entry added back onto the input element it was
/// read from (padding entries dropped); the result has `geo.input`'s shape.
pub(crate) fn col2im<T: Element>(cols: &[T], geo: &Conv2dGeometry) -> Vec<T> {
    let [n_, c_, h, w] = geo.input;
    let (kh, kw) = geo.kernel;
    let (ho, wo) = geo.out;
    let l = ho * wo;
    let cg = geo.channels_per_group();
    let k = cg * kh * kw;
    let mut x = pool::filled(n_ * c_ * h * w, T::zero());
    if h * w == 0 || l == 0 {
        return x;
    }
    for_each_run(&mut x, simd::CHEAP_GRAIN, h * w, |start, run| {
        for (p, plane) in run.chunks_mut(h * w).enumerate() {
            let (n, ch) = ((start / (h * w) + p) / c_, (start / (h * w) + p) % c_);
            let (g, c) = (ch / cg, ch % cg);
            for i in 0..kh {
                for j in 0..kw {
                    let row = (g * n_ + n) * k + (c * kh + i) * kw + j;
                    add_row(plane, &cols[row * l..][..l], i, j, geo);
                }
            }
        }
    });
    x
}

/// Adds one row of columns (tap `(i, j)`) back onto its input plane.
fn add_row<T: Element>(plane: &mut [T], src: &[T], i: usize, j: usize, geo: &Conv2dGeometry) {
    let (h, w) = (geo.input[2], geo.input[3]);
    let ((ho, wo), (sh, sw), (ph, pw), (dh, dw)) = (geo.out, geo.stride, geo.padding, geo.dilation);
    let (ylo, yhi) = valid(ho, sh, ph, dh, i, h);
    let (xlo, xhi) = valid(wo, sw, pw, dw, j, w);
    if xlo == xhi {
        return;
    }
    for oh in ylo..yhi {
        let dst = &mut plane[(oh * sh + i * dh - ph) * w..][..w];
        let from = &src[oh * wo..][..wo];
        let first = xlo * sw + j * dw - pw;
        if sw == 1 {
            for (d, &v) in dst[first..first + (xhi - xlo)]
                .iter_mut()
                .zip(&from[xlo..xhi])
            {
                *d += v;
            }
        } else {
            for (k, &v) in from[xlo..xhi].iter().enumerate() {
                dst[first + k * sw] += v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry() -> Conv2dGeometry {
        Conv2dGeometry::new([2, 4, 5, 6], (3, 2), (2, 1), (1, 2), (1, 2), 2)
    }

    #[test]
    fn im2col_matches_its_definition() {
        let geo = geometry();
        let x: Vec<f64> = (0..geo.input.iter().product::<usize>())
            .map(|v| v as f64 + 1.0)
            .collect();
        let cols = im2col(&x, &geo);
        let [n_, c_, h, w] = geo.input;
        let (ho, wo) = geo.out;
        let l = ho * wo;
        for row in 0..cols.len() / l {
            let (n, ch, i, j) = row_source(&geo, row);
            for oh in 0..ho {
                for ow in 0..wo {
                    let ih =
                        (oh * geo.stride.0 + i * geo.dilation.0) as isize - geo.padding.0 as isize;
                    let iw =
                        (ow * geo.stride.1 + j * geo.dilation.1) as isize - geo.padding.1 as isize;
                    let want = if (0..h as isize).contains(&ih) && (0..w as isize).contains(&iw) {
                        x[((n * c_ + ch) * h + ih as usize) * w + iw as usize]
                    } else {
                        0.0
                    };
                    assert_eq!(
                        cols[row * l + oh * wo + ow],
                        want,
                        "row {row} at ({oh}, {ow})"
                    );
                }
            }
        }
        assert_eq!(n_, 2);
    }

    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        // <im2col(x), c> = <x, col2im(c)> for any x and c
        let geo = geometry();
        let xn: usize = geo.input.iter().product();
        let x: Vec<f64> = (0..xn).map(|v| ((v * 7 % 11) as f64) - 5.0).collect();
        let c: Vec<f64> = (0..geo.cols_len())
            .map(|v| ((v * 5 % 13) as f64) - 6.0)
            .collect();
        let lhs: f64 = im2col(&x, &geo).iter().zip(&c).map(|(a, b)| a * b).sum();
        let rhs: f64 = x.iter().zip(col2im(&c, &geo)).map(|(a, b)| a * b).sum();
        assert_eq!(lhs, rhs);
    }
}
