//! 2-D max and average pooling of `[N, C, H, W]` arrays, and their adjoints. Every kernel
//! loops over the `N·C` planes, shared out to the threads in runs of whole planes when the
//! work is large; nothing is allocated per element.

use super::parallel::for_each_run;
use super::pool;
use crate::array::Array;
use crate::element::Element;
use crate::shape::Shape;
use std::ops::Range;

/// Window reads per thread's run below which a pooling kernel stays on one thread.
const GRAIN: usize = 1 << 15;

/// The geometry of a 2-D pooling (checked by the op at forward time): `planes = N·C` planes
/// of `h × w` in, `oh × ow` out, windows of `kh × kw` every `sh`, `sw`, padded by `ph`, `pw`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pool2d {
    pub planes: usize,
    pub h: usize,
    pub w: usize,
    pub oh: usize,
    pub ow: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub ph: usize,
    pub pw: usize,
}

impl Pool2d {
    /// The geometry for an input of dims `[N, C, H, W]`, already checked (the kernel at most
    /// `Shape::MAX_ELEMENTS`, so nothing here overflows): the output is
    /// `floor((H + 2·ph - kh) / sh) + 1` by the same for the width.
    pub fn new(
        dims: &[usize],
        (kh, kw): (usize, usize),
        (sh, sw): (usize, usize),
        (ph, pw): (usize, usize),
    ) -> Pool2d {
        let (h, w) = (dims[2], dims[3]);
        Pool2d {
            planes: dims[0] * dims[1],
            h,
            w,
            oh: (h + 2 * ph - kh) / sh + 1,
            ow: (w + 2 * pw - kw) / sw + 1,
            kh,
            kw,
            sh,
            sw,
            ph,
            pw,
        }
    }

    /// The output shape `[N, C, oh, ow]` for an input of dims `[N, C, H, W]`.
    pub fn out_shape(&self, dims: &[usize]) -> Shape {
        Shape::new(&[dims[0], dims[1], self.oh, self.ow])
    }

    /// The rows and columns of the input (padding left out) in the window of output `(i, j)`.
    /// Never empty: padding is at most half the kernel.
    #[inline(always)]
    fn window(&self, i: usize, j: usize) -> (Range<usize>, Range<usize>) {
        let (y, x) = (i * self.sh, j * self.sw); // the window's start in padded coordinates
        let rows = y.max(self.ph) - self.ph..(y + self.kh).min(self.h + self.ph) - self.ph;
        let cols = x.max(self.pw) - self.pw..(x + self.kw).min(self.w + self.pw) - self.pw;
        (rows, cols)
    }

    /// Whether every window is 2x2, every 2 rows and columns, without padding (the usual
    /// pooling layer), which the max-pooling kernels unroll.
    #[inline(always)]
    fn is_2x2(&self) -> bool {
        (self.kh, self.kw, self.sh, self.sw, self.ph, self.pw) == (2, 2, 2, 2, 0, 0)
    }

    /// The smallest run of output elements worth a thread, `GRAIN` window reads.
    fn grain(&self) -> usize {
        (GRAIN / (self.kh * self.kw).max(1)).max(1)
    }
}

/// Max pooling: each output is the largest value of its window (a NaN wins, as in PyTorch).
/// The arg-maxes are not stored: the gradient finds them again from the input and the
/// output ([`max_pool2d_backward`]), so the forward pass writes nothing but its output.
pub(crate) fn max_pool2d<T: Element>(x: &Array<T>, p: &Pool2d) -> Array<T> {
    let (plane_in, plane_out) = (p.h * p.w, p.oh * p.ow);
    let mut out = pool::scratch(p.planes * plane_out);
    let xd = x.data();
    for_each_run(&mut out, p.grain(), plane_out, |start, run| {
        for (q, o) in run.chunks_mut(plane_out).enumerate() {
            let base = (start / plane_out + q) * plane_in;
            max_plane(&xd[base..base + plane_in], p, o);
        }
    });
    Array::from_parts(out, p.out_shape(x.dims()))
}

/// Max pooling's step: `v` when it is larger than `best` or NaN (`!(v <= best)`; a NaN then
/// stays, as nothing exceeds it), else `best`. A select, no branch on the data, so random
/// inputs cost no mispredictions.
#[inline(always)]
fn take_larger<T: Element>(best: T, v: T) -> T {
    if (v > best) | v.is_nan() {
        v
    } else {
        best
    }
}

/// One plane of [`max_pool2d`]: [`take_larger`] over each window in row-major order.
#[inline(always)]
fn max_plane<T: Element>(x: &[T], p: &Pool2d, out: &mut [T]) {
    if p.is_2x2() {
        // the common case, unrolled: each window is two pairs of two adjacent inputs
        for (i, o) in out.chunks_exact_mut(p.ow).enumerate() {
            let (r0, r1) = (
                &x[2 * i * p.w..][..2 * p.ow],
                &x[(2 * i + 1) * p.w..][..2 * p.ow],
            );
            for ((o, a), b) in o.iter_mut().zip(r0.chunks_exact(2)).zip(r1.chunks_exact(2)) {
                *o = [a[0], a[1], b[0], b[1]]
                    .into_iter()
                    .fold(T::neg_infinity(), take_larger);
            }
        }
        return;
    }
    for (i, o) in out.chunks_exact_mut(p.ow).enumerate() {
        let (rows, _) = p.window(i, 0);
        for (j, o) in o.iter_mut().enumerate() {
            let (_, cols) = p.window(0, j);
            let mut best = T::neg_infinity();
            for r in rows.clone() {
                for &v in &x[r * p.w + cols.start..r * p.w + cols.end] {
                    best = take_larger(best, v);
                }
            }
            *o = best;
        }
    }
}

/// The flat index, within its plane `x`, of the element output `(i, j)` of [`max_pool2d`]
/// took: the first element of the window equal to the output `y`, or with a NaN output the
/// last NaN (the forward pass moves to every NaN it reads, as PyTorch's kernel). Selects, not
/// branches, on the data: the window is read whole, backwards for the first equal element.
#[inline(always)]
fn window_argmax<T: Element>(x: &[T], p: &Pool2d, i: usize, j: usize, y: T) -> usize {
    if p.is_2x2() && !y.is_nan() {
        // the common case, unrolled: the window's four inputs, last to first
        let k = 2 * i * p.w + 2 * j;
        return [k + p.w + 1, k + p.w, k + 1, k]
            .into_iter()
            .fold(k, |at, q| if x[q] == y { q } else { at });
    }
    let (rows, cols) = p.window(i, j);
    let mut at = rows.start * p.w + cols.start;
    if y.is_nan() {
        for r in rows {
            for c in cols.clone() {
                at = if x[r * p.w + c].is_nan() {
                    r * p.w + c
                } else {
                    at
                };
            }
        }
    } else {
        for r in rows.rev() {
            for c in cols.clone().rev() {
                at = if x[r * p.w + c] == y { r * p.w + c } else { at };
            }
        }
    }
    at
}

/// For each output of [`max_pool2d`] (`y`, computed from `x`), the flat index into `x` of the
/// element it took (see [`window_argmax`]): what the second-order gradient scatters to.
pub(crate) fn max_pool2d_argmax<T: Element>(x: &Array<T>, y: &Array<T>, p: &Pool2d) -> Vec<usize> {
    let (plane_in, plane_out) = (p.h * p.w, p.oh * p.ow);
    let (xd, yd) = (x.data(), y.data());
    let mut at = vec![0usize; p.planes * plane_out];
    for (plane, a) in at.chunks_mut(plane_out.max(1)).enumerate() {
        let (xs, ys) = (
            &xd[plane * plane_in..][..plane_in],
            &yd[plane * plane_out..],
        );
        for (k, a) in a.iter_mut().enumerate() {
            let (i, j) = (k / p.ow, k % p.ow);
            *a = plane * plane_in + window_argmax(xs, p, i, j, ys[k]);
        }
    }
    at
}

/// The gradient of max pooling: zeros of `x`'s shape, each `g` added at the element its
/// output took (found again from `x` and the output `y`; a scatter-add, as overlapping
/// windows may share one).
pub(crate) fn max_pool2d_backward<T: Element>(
    g: &Array<T>,
    x: &Array<T>,
    y: &Array<T>,
    p: &Pool2d,
) -> Array<T> {
    let (plane_in, plane_out) = (p.h * p.w, p.oh * p.ow);
    let mut dx = pool::filled(x.numel(), T::zero());
    let (gd, xd, yd) = (g.data(), x.data(), y.data());
    for_each_run(&mut dx, p.grain(), plane_in, |start, run| {
        for (q, d) in run.chunks_mut(plane_in).enumerate() {
            let plane = start / plane_in + q;
            let xs = &xd[plane * plane_in..][..plane_in];
            let outs = plane * plane_out..(plane + 1) * plane_out;
            for (k, (&gv, &yv)) in gd[outs.clone()].iter().zip(&yd[outs]).enumerate() {
                d[window_argmax(xs, p, k / p.ow, k % p.ow, yv)] += gv;
            }
        }
    });
    Array::from_parts(dx, x.shape().clone())
}

/// Average pooling with the zero padding counted (`count_include_pad`): each output is the
/// sum of its window over `kh·kw`. (With `ceil_mode` off and padding at most half the
/// kernel, no window reaches past the padding, so `kh·kw` is PyTorch's divisor too.)
pub(crate) fn avg_pool2d<T: Element>(x: &Array<T>, p: &Pool2d) -> Array<T> {
    let (plane_in, plane_out) = (p.h * p.w, p.oh * p.ow);
    let mut out = pool::scratch(p.planes * plane_out);
    let xd = x.data();
    let inv = T::one() / T::of((p.kh * p.kw) as f64);
    for_each_run(&mut out, p.grain(), plane_out, |start, run| {
        for (q, o) in run.chunks_mut(plane_out).enumerate() {
            let base = (start / plane_out + q) * plane_in;
            let x = &xd[base..base + plane_in];
            for i in 0..p.oh {
                for j in 0..p.ow {
                    let (rows, cols) = p.window(i, j);
                    let mut s = T::zero();
                    for r in rows {
                        for &v in &x[r * p.w + cols.start..r * p.w + cols.end] {
                            s += v;
                        }
                    }
                    o[i * p.ow + j] = s * inv;
                }
            }
        }
    });
    Array::from_parts(out, p.out_shape(x.dims()))
}

/// The adjoint of [`avg_pool2d`]: zeros of shape `[N, C, h, w]`, each `g` over `kh·kw`
/// added over its window.
pub(crate) fn avg_pool2d_backward<T: Element>(g: &Array<T>, p: &Pool2d) -> Array<T> {
    let (plane_in, plane_out) = (p.h * p.w, p.oh * p.ow);
    let mut dx = pool::filled(p.planes * plane_in, T::zero());
    let gd = g.data();
    let inv = T::one() / T::of((p.kh * p.kw) as f64);
    for_each_run(&mut dx, p.grain(), plane_in, |start, run| {
        for (q, d) in run.chunks_mut(plane_in).enumerate() {
            let base = (start / plane_in + q) * plane_out;
            let g = &gd[base..base + plane_out];
            for i in 0..p.oh {
                for j in 0..p.ow {
                    let (rows, cols) = p.window(i, j);
                    let v = g[i * p.ow + j] * inv;
                    for r in rows {
                        for o in &mut d[r * p.w + cols.start..r * p.w + cols.end] {
                            *o += v;
                        }
                    }
                }
            }
        }
    });
    let dims = g.dims();
    Array::from_parts(dx, Shape::new(&[dims[0], dims[1], p.h, p.w]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pooling by its definition: the padded input materialized (`pad` as the padding's
    /// value), then each window read whole; `reduce` gets the window's values and returns
    /// the output and the row-major index (in the padded window) it came from.
    fn naive(
        x: &Array<f64>,
        k: (usize, usize),
        s: (usize, usize),
        pd: (usize, usize),
        pad: f64,
        reduce: impl Fn(&[f64]) -> (f64, usize),
    ) -> (Vec<f64>, Vec<usize>) {
        let d = x.dims();
        let (hp, wp) = (d[2] + 2 * pd.0, d[3] + 2 * pd.1);
        let (oh, ow) = ((hp - k.0) / s.0 + 1, (wp - k.1) / s.1 + 1);
        let (mut out, mut at) = (vec![], vec![]);
        for n in 0..d[0] {
            for c in 0..d[1] {
                for i in 0..oh {
                    for j in 0..ow {
                        let mut vals = vec![];
                        let mut pos = vec![];
                        for r in i * s.0..i * s.0 + k.0 {
                            for q in j * s.1..j * s.1 + k.1 {
                                let inside =
                                    r >= pd.0 && r < d[2] + pd.0 && q >= pd.1 && q < d[3] + pd.1;
                                if inside {
                                    let (r, q) = (r - pd.0, q - pd.1);
                                    vals.push(x.get(&[n, c, r, q]).unwrap());
                                    pos.push(((n * d[1] + c) * d[2] + r) * d[3] + q);
                                } else {
                                    vals.push(pad);
                                    pos.push(usize::MAX);
                                }
                            }
                        }
                        let (v, w) = reduce(&vals);
                        out.push(v);
                        at.push(pos[w]);
                    }
                }
            }
        }
        (out, at)
    }

    fn first_max(v: &[f64]) -> (f64, usize) {
        let mut best = (f64::NEG_INFINITY, 0);
        for (i, &x) in v.iter().enumerate() {
            if x > best.0 {
                best = (x, i);
            }
        }
        best
    }

    fn mean(v: &[f64]) -> (f64, usize) {
        (v.iter().sum::<f64>() / v.len() as f64, 0)
    }

    /// `(kernel, stride, padding)`.
    type Attrs = ((usize, usize), (usize, usize), (usize, usize));

    const CASES: [Attrs; 5] = [
        ((2, 2), (2, 2), (0, 0)),
        ((3, 3), (1, 1), (1, 1)),
        ((3, 2), (2, 1), (1, 1)),
        ((2, 3), (1, 2), (1, 0)),
        ((1, 1), (3, 2), (0, 0)),
    ];

    #[test]
    fn max_pool_matches_definition() {
        // few distinct values: ties inside windows, the first one must win
        let x = Array::<f64>::from_fn([2, 3, 5, 6], |k| ((k * 7) % 5) as f64);
        for (k, s, pd) in CASES {
            let p = Pool2d::new(x.dims(), k, s, pd);
            let y = max_pool2d(&x, &p);
            let at = max_pool2d_argmax(&x, &y, &p);
            let (want, want_at) = naive(&x, k, s, pd, f64::NEG_INFINITY, first_max);
            assert_eq!(y.data(), &want[..], "{k:?} {s:?} {pd:?}");
            assert_eq!(at, want_at, "{k:?} {s:?} {pd:?}");
        }
    }

    #[test]
    fn max_pool_2x2_takes_the_last_nan_and_the_first_tie() {
        // one 4x4 plane, 2x2 windows: [NaN in two places], [ties], [-inf only], [plain]
        let (n, m) = (f64::NAN, f64::NEG_INFINITY);
        #[rustfmt::skip]
        let rows = vec![
            1., n, 3., 3.,
            n, 0., 1., 3.,
            m, m, 5., 6.,
            m, m, 8., 7.,
        ];
        let x = Array::<f64>::from_vec(rows, [1, 1, 4, 4]).unwrap();
        let p = Pool2d::new(x.dims(), (2, 2), (2, 2), (0, 0));
        let y = max_pool2d(&x, &p);
        assert!(y.data()[0].is_nan());
        assert_eq!(&y.data()[1..], &[3., f64::NEG_INFINITY, 8.]);
        // the last NaN (row 1, col 0), the first 3, the window's first element, the 8
        assert_eq!(max_pool2d_argmax(&x, &y, &p), [4, 2, 8, 14]);
        let g = Array::<f64>::from_vec(vec![1., 2., 3., 4.], [1, 1, 2, 2]).unwrap();
        let dx = max_pool2d_backward(&g, &x, &y, &p);
        let mut want = [0.0; 16];
        (want[4], want[2], want[8], want[14]) = (1., 2., 3., 4.);
        assert_eq!(dx.data(), &want[..]);
    }

    #[test]
    fn avg_pool_matches_definition_and_its_adjoint() {
        let x = Array::<f64>::from_fn([2, 3, 5, 6], |k| (k as f64 * 0.3).sin());
        for (k, s, pd) in CASES {
            let p = Pool2d::new(x.dims(), k, s, pd);
            let y = avg_pool2d(&x, &p);
            let (want, _) = naive(&x, k, s, pd, 0.0, mean);
            assert!(y
                .data()
                .iter()
                .zip(&want)
                .all(|(a, b)| (a - b).abs() < 1e-12));
            // <avg(x), g> = <x, avg_backward(g)>
            let g = Array::<f64>::from_fn(y.shape().clone(), |k| (k as f64 * 0.7).cos());
            let dx = avg_pool2d_backward(&g, &p);
            let lhs: f64 = y.data().iter().zip(g.data()).map(|(a, b)| a * b).sum();
            let rhs: f64 = x.data().iter().zip(dx.data()).map(|(a, b)| a * b).sum();
            assert!((lhs - rhs).abs() < 1e-12, "{lhs} vs {rhs}");
        }
    }

    #[test]
    fn big_inputs_split_over_threads_give_the_same_result() {
        let x = Array::<f64>::from_fn([4, 16, 40, 40], |k| ((k * 7919) % 1013) as f64);
        let p = Pool2d::new(x.dims(), (3, 3), (2, 2), (1, 1));
        let y = max_pool2d(&x, &p);
        let at = max_pool2d_argmax(&x, &y, &p);
        let (want, want_at) = naive(&x, (3, 3), (2, 2), (1, 1), f64::NEG_INFINITY, first_max);
        assert_eq!((y.data(), &at), (&want[..], &want_at));
        let g = Array::<f64>::from_fn(y.shape().clone(), |k| (k % 3) as f64);
        let dx = max_pool2d_backward(&g, &x, &y, &p);
        let mut want_dx = vec![0.0; x.numel()];
        for (k, &a) in want_at.iter().enumerate() {
            want_dx[a] += g.data()[k];
        }
        assert_eq!(dx.data(), &want_dx[..]);
        let y = avg_pool2d(&x, &p);
        let (want, _) = naive(&x, (3, 3), (2, 2), (1, 1), 0.0, mean);
        assert!(y
            .data()
            .iter()
            .zip(&want)
            .all(|(a, b)| (a - b).abs() < 1e-9));
    }
}
