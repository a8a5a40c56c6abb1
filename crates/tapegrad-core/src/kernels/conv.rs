//! 2-D convolution kernels ([`Tensor::conv2d`](crate::Tensor::conv2d)): the forward product
//! and its two gradients, each run one sample at a time on the GEMM over the sample's columns
//! (im2col), so that a sample's columns stay in the cache between being written and read.
//!
//! Layout of one sample's columns for an input `[N, C, H, W]` and a `kH x kW` kernel: rows
//! `(c, i, j)` (row `(c·kH + i)·kW + j`) of length `L = H_out·W_out`; row `(c, i, j)` at
//! output position `(oh, ow)` holds `x[n, c, oh·sh - ph + i·dh, ow·sw - pw + j·dw]` (0 where
//! that lies in the padding). With `G` groups of `Cg = C / G` channels, group `g`'s rows are
//! the `K = Cg·kH·kW` rows from `g·K`: the `[K, L]` right operand of `w_g[C_out/G, K] ·
//! cols_g` (the weight `[C_out, Cg, kH, kW]` is row-major `[C_out, K]`).
//!
//! - [`conv2d`]: `y[n] = w · cols(x[n])`, group by group;
//! - [`conv2d_input_grad`]: `dx[n] = col2im(wᵀ · g[n])`;
//! - [`conv2d_weight_grad`]: `dw = Σ_n g[n] · cols(x[n])ᵀ`, summed over samples in
//!   [`SUM_GROUPS`] fixed runs (whatever the thread count, so the sum's order depends on the
//!   shapes only), the runs split over the threads.

use super::parallel::for_each_run;
use super::{gemm, parallel_for_each, pool, simd, MatRef};
use crate::element::Element;
use crate::ops::Conv2dGeometry;
use smallvec::SmallVec;

/// The fixed number of sample runs whose partial weight gradients are summed.
const SUM_GROUPS: usize = 4;

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

/// The sizes every kernel needs: `(groups, C_out/G, K, L, rows = G·K)`.
fn dims(geo: &Conv2dGeometry, c_out: usize) -> (usize, usize, usize, usize, usize) {
    let g = geo.groups;
    let k = geo.channels_per_group() * geo.kernel.0 * geo.kernel.1;
    (g, c_out / g, k, geo.out.0 * geo.out.1, g * k)
}

/// Sample `n`'s columns (the module's layout) into `cols` (`rows·L` elements).
fn im2col_sample<T: Element>(x: &[T], n: usize, geo: &Conv2dGeometry, cols: &mut [T]) {
    let [_, c_, h, w] = geo.input;
    let (kh, kw) = geo.kernel;
    let l = geo.out.0 * geo.out.1;
    let mut rows = cols.chunks_mut(l);
    for ch in 0..c_ {
        let plane = &x[(n * c_ + ch) * h * w..][..h * w];
        for i in 0..kh {
            for j in 0..kw {
                let dst = rows.next().expect("internal: a row per channel and tap");
                fill_row(dst, plane, i, j, geo);
            }
        }
    }
}

/// The adjoint of [`im2col_sample`]: `dx` (one sample, `[C, H, W]`) set to the sum of the
/// column entries read from each element.
fn col2im_sample<T: Element>(cols: &[T], geo: &Conv2dGeometry, dx: &mut [T]) {
    let [_, _, h, w] = geo.input;
    let (kh, kw) = geo.kernel;
    let l = geo.out.0 * geo.out.1;
    dx.fill(T::zero());
    for (ch, plane) in dx.chunks_mut(h * w).enumerate() {
        for i in 0..kh {
            for j in 0..kw {
                let row = (ch * kh + i) * kw + j;
                add_row(plane, &cols[row * l..][..l], i, j, geo);
            }
        }
    }
}

/// The convolution of `x` (`geo.input`) with `w` (`[C_out, C/G, kH, kW]`), no bias:
/// `[N, C_out, H_out, W_out]`, row-major.
pub(crate) fn conv2d<T: Element>(x: &[T], w: &[T], geo: &Conv2dGeometry, c_out: usize) -> Vec<T> {
    let (groups, og, k, l, rows) = dims(geo, c_out);
    let per = c_out * l;
    let mut y = pool::scratch(geo.input[0] * per);
    if per == 0 {
        return y;
    }
    for_each_run(&mut y, simd::COSTLY_GRAIN, per, |start, run| {
        let mut cols = pool::scratch(rows * l);
        for (s, yn) in run.chunks_mut(per).enumerate() {
            im2col_sample(x, start / per + s, geo, &mut cols);
            for g in 0..groups {
                gemm(
                    og,
                    l,
                    k,
                    &mut yn[g * og * l..],
                    false,
                    MatRef::rows(&w[g * og * k..], k),
                    MatRef::rows(&cols[g * k * l..], l),
                );
            }
        }
        pool::give(cols);
    });
    y
}

/// The gradient of [`conv2d`] with respect to its input, for the output gradient `g`
/// (`[N, C_out, H_out, W_out]`): `geo.input`'s shape, row-major.
pub(crate) fn conv2d_input_grad<T: Element>(
    g: &[T],
    w: &[T],
    geo: &Conv2dGeometry,
    c_out: usize,
) -> Vec<T> {
    let (groups, og, k, l, rows) = dims(geo, c_out);
    let [n_, c_, h, wd] = geo.input;
    let plane = c_ * h * wd;
    let mut dx = pool::scratch(n_ * plane);
    if plane == 0 {
        return dx;
    }
    for_each_run(&mut dx, simd::COSTLY_GRAIN, plane, |start, run| {
        let mut cols = pool::scratch(rows * l);
        for (s, dxn) in run.chunks_mut(plane).enumerate() {
            let gn = &g[(start / plane + s) * c_out * l..][..c_out * l];
            for gi in 0..groups {
                // cols_g [K, L] = w_gᵀ [K, C_out/G] · g_g [C_out/G, L]
                gemm(
                    k,
                    l,
                    og,
                    &mut cols[gi * k * l..],
                    false,
                    MatRef::transposed(&w[gi * og * k..], k),
                    MatRef::rows(&gn[gi * og * l..], l),
                );
            }
            col2im_sample(&cols, geo, dxn);
        }
        pool::give(cols);
    });
    dx
}

/// The gradient of [`conv2d`] with respect to its weight, for the input `x` and the output
/// gradient `g`: `[C_out, C/G, kH, kW]`, row-major.
pub(crate) fn conv2d_weight_grad<T: Element>(
    x: &[T],
    g: &[T],
    geo: &Conv2dGeometry,
    c_out: usize,
) -> Vec<T> {
    let (groups, og, k, l, rows) = dims(geo, c_out);
    let n_ = geo.input[0];
    let len = c_out * k;
    if n_ == 0 || l == 0 || len == 0 {
        return pool::filled(len, T::zero());
    }
    let per = n_.div_ceil(SUM_GROUPS.min(n_));
    let runs = n_.div_ceil(per);
    let mut parts: SmallVec<[(usize, Vec<T>); SUM_GROUPS]> =
        (0..runs).map(|r| (r * per, pool::scratch(len))).collect();
    let sum_run = |first: usize, d: &mut [T]| {
        let mut cols = pool::scratch(rows * l);
        for n in first..(first + per).min(n_) {
            im2col_sample(x, n, geo, &mut cols);
            let gn = &g[n * c_out * l..][..c_out * l];
            for gi in 0..groups {
                // dw_g [C_out/G, K] (+)= g_g [C_out/G, L] · cols_gᵀ [L, K]
                gemm(
                    og,
                    k,
                    l,
                    &mut d[gi * og * k..],
                    n > first,
                    MatRef::rows(&gn[gi * og * l..], l),
                    MatRef::transposed(&cols[gi * k * l..], l),
                );
            }
        }
        pool::give(cols);
    };
    parallel_for_each(&mut parts, |(first, d)| sum_run(*first, d));
    let mut parts = parts.into_iter().map(|(_, d)| d);
    let mut dw = parts.next().expect("internal: at least one sample run");
    for p in parts {
        for (a, b) in dw.iter_mut().zip(&p) {
            *a += *b;
        }
        pool::give(p);
    }
    dw
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
        Conv2dGeometry::new([5, 4, 5, 6], (3, 2), (2, 1), (1, 2), (1, 2), 2)
    }

    fn values(len: usize, a: usize, b: usize, off: f64) -> Vec<f64> {
        (0..len).map(|v| ((v * a % b) as f64) - off).collect()
    }

    /// The input element tap `(i, j)` reads at output `(oh, ow)`, if not padding.
    fn source(
        geo: &Conv2dGeometry,
        oh: usize,
        ow: usize,
        i: usize,
        j: usize,
    ) -> Option<(usize, usize)> {
        let [_, _, h, w] = geo.input;
        let ih = (oh * geo.stride.0 + i * geo.dilation.0) as isize - geo.padding.0 as isize;
        let iw = (ow * geo.stride.1 + j * geo.dilation.1) as isize - geo.padding.1 as isize;
        ((0..h as isize).contains(&ih) && (0..w as isize).contains(&iw))
            .then_some((ih as usize, iw as usize))
    }

    /// The convolution by its definition, seven loops deep.
    fn direct(x: &[f64], w: &[f64], geo: &Conv2dGeometry, c_out: usize) -> Vec<f64> {
        let [n_, c_, h, wd] = geo.input;
        let ((ho, wo), (kh, kw), cg) = (geo.out, geo.kernel, geo.channels_per_group());
        let og = c_out / geo.groups;
        let mut y = vec![0.0; n_ * c_out * ho * wo];
        for n in 0..n_ {
            for co in 0..c_out {
                for oh in 0..ho {
                    for ow in 0..wo {
                        let mut acc = 0.0;
                        for c in 0..cg {
                            let ch = (co / og) * cg + c;
                            for i in 0..kh {
                                for j in 0..kw {
                                    if let Some((ih, iw)) = source(geo, oh, ow, i, j) {
                                        acc += x[((n * c_ + ch) * h + ih) * wd + iw]
                                            * w[((co * cg + c) * kh + i) * kw + j];
                                    }
                                }
                            }
                        }
                        y[((n * c_out + co) * ho + oh) * wo + ow] = acc;
                    }
                }
            }
        }
        y
    }

    fn dot(a: &[f64], b: &[f64]) -> f64 {
        a.iter().zip(b).map(|(a, b)| a * b).sum()
    }

    #[test]
    fn im2col_sample_matches_its_definition() {
        let geo = geometry();
        let x: Vec<f64> = (0..geo.input.iter().product::<usize>())
            .map(|v| v as f64 + 1.0)
            .collect();
        let [_, c_, h, w] = geo.input;
        let ((ho, wo), (kh, kw)) = (geo.out, geo.kernel);
        let l = ho * wo;
        let mut cols = vec![f64::NAN; c_ * kh * kw * l];
        for n in 0..geo.input[0] {
            im2col_sample(&x, n, &geo, &mut cols);
            for row in 0..c_ * kh * kw {
                let (ch, i, j) = (row / (kh * kw), row % (kh * kw) / kw, row % kw);
                for oh in 0..ho {
                    for ow in 0..wo {
                        let want = source(&geo, oh, ow, i, j)
                            .map_or(0.0, |(ih, iw)| x[((n * c_ + ch) * h + ih) * w + iw]);
                        assert_eq!(
                            cols[row * l + oh * wo + ow],
                            want,
                            "row {row} at ({oh}, {ow})"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn col2im_sample_is_the_adjoint_of_im2col_sample() {
        // <im2col(x), c> = <x, col2im(c)> for any x and c
        let geo = geometry();
        let [_, c_, h, w] = geo.input;
        let rows = c_ * geo.kernel.0 * geo.kernel.1;
        let l = geo.out.0 * geo.out.1;
        let x = values(c_ * h * w, 7, 11, 5.0);
        let c = values(rows * l, 5, 13, 6.0);
        let mut cols = vec![0.0; rows * l];
        im2col_sample(&x, 0, &geo, &mut cols);
        let mut back = vec![f64::NAN; c_ * h * w];
        col2im_sample(&c, &geo, &mut back);
        assert_eq!(dot(&cols, &c), dot(&x, &back));
    }

    #[test]
    fn the_three_kernels_match_the_definition_and_each_other() {
        // conv2d against the seven loops; its two gradients through the adjoint identities
        // <conv(x, w), g> = <x, input_grad(g, w)> = <w, weight_grad(x, g)>
        for geo in [
            geometry(),
            Conv2dGeometry::new([7, 1, 8, 8], (5, 5), (1, 1), (2, 2), (1, 1), 1),
            Conv2dGeometry::new([3, 6, 6, 5], (3, 3), (1, 2), (0, 1), (1, 1), 3),
        ] {
            let c_out = 2 * geo.groups;
            let [n_, c_, h, w] = geo.input;
            let wlen = c_out * geo.channels_per_group() * geo.kernel.0 * geo.kernel.1;
            let x = values(n_ * c_ * h * w, 7, 11, 5.0);
            let wt = values(wlen, 3, 7, 3.0);
            let y = conv2d(&x, &wt, &geo, c_out);
            assert_eq!(y, direct(&x, &wt, &geo, c_out), "{geo:?}");
            let g = values(y.len(), 5, 13, 6.0);
            let dx = conv2d_input_grad(&g, &wt, &geo, c_out);
            let dw = conv2d_weight_grad(&x, &g, &geo, c_out);
            assert_eq!((dx.len(), dw.len()), (x.len(), wt.len()));
            let lhs = dot(&y, &g);
            assert_eq!(lhs, dot(&x, &dx), "{geo:?}");
            assert_eq!(lhs, dot(&wt, &dw), "{geo:?}");
        }
    }
}
