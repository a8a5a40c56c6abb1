//! Runtime SIMD dispatch for tapegrad's own loops (the GEMM dispatches its own), and the
//! elementwise loops and sums built on it.
//!
//! [`vectorized`] runs a closure compiled for the widest vector instructions the CPU has
//! (AVX-512, AVX2 with FMA, or the x86-64 baseline), chosen at run time by `pulp` as the
//! active [`KernelPath`] says. (The GEMM
//! in `gemm/` does not use it: it detects the CPU path itself and has hand-written
//! micro-kernels per path.) The loops below are `#[inline(always)]` so that they are compiled
//! inside that context, where LLVM vectorizes them at the CPU's full width.

use super::parallel::for_each_run;
use super::pool;
use crate::cpu::{kernel_path, KernelPath};
use crate::Scalar;
use std::sync::OnceLock;

/// The smallest piece (elements) worth giving another thread for a cheap elementwise op (add,
/// ReLU: about 16 G elements/s on one core): below it, the hand-off (about 1 µs) and reading
/// inputs that sit in the other core's cache cost more than the split saves (measured:
/// splitting a 128x784 add made it 20% slower).
pub const CHEAP_GRAIN: usize = 1 << 18;

/// The smallest piece worth giving another thread for a costly elementwise op (`exp`,
/// sigmoid, `tanh`, `log`: about 1 ns per element), some 8 µs of work.
pub const COSTLY_GRAIN: usize = 1 << 13;

/// pulp's instruction set for each [`KernelPath`], detected once; `None` where the CPU lacks
/// the path (never asked for then: [`kernel_path`] is always one the CPU has).
struct Arches {
    avx512: Option<pulp::Arch>,
    avx2: Option<pulp::Arch>,
}

/// The instructions [`vectorized`] compiles for: those of the active [`kernel_path`].
#[inline(always)]
fn arch() -> pulp::Arch {
    static ARCHES: OnceLock<Arches> = OnceLock::new();
    let arches = ARCHES.get_or_init(|| Arches {
        #[cfg(target_arch = "x86_64")]
        avx512: pulp::x86::V4::try_new().map(pulp::Arch::V4),
        #[cfg(target_arch = "x86_64")]
        avx2: pulp::x86::V3::try_new().map(pulp::Arch::V3),
        #[cfg(not(target_arch = "x86_64"))]
        avx512: None,
        #[cfg(not(target_arch = "x86_64"))]
        avx2: None,
    });
    let chosen = match kernel_path() {
        KernelPath::Avx512 => arches.avx512,
        KernelPath::Avx2 => arches.avx2,
        KernelPath::Portable => None,
    };
    chosen.unwrap_or_else(portable_arch)
}

/// The baseline instructions: pulp's scalar path, compiled for the target's own features
/// (SSE2 on x86-64, NEON on aarch64).
#[cfg(target_arch = "x86_64")]
fn portable_arch() -> pulp::Arch {
    pulp::Arch::Scalar
}

/// The baseline instructions: what pulp detects on this target.
#[cfg(not(target_arch = "x86_64"))]
fn portable_arch() -> pulp::Arch {
    pulp::Arch::new()
}

/// Runs `f` compiled for the widest vector instructions this CPU supports, detected once at
/// run time: write the whole loop inside `f` (functions it calls should be `#[inline]`).
/// Results are the same as calling `f()` directly, up to the rounding of fused multiply-adds.
///
/// ```
/// let a = vec![1.0f32; 1000];
/// let mut b = vec![2.0f32; 1000];
/// tapegrad_kernels::vectorized(|| {
///     for (y, x) in b.iter_mut().zip(&a) {
///         *y += 3.0 * x;
///     }
/// });
/// assert_eq!(b[999], 5.0);
/// ```
#[inline(always)]
pub fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    arch().dispatch(f)
}

/// `f` of every element, into a pooled buffer (a [`pool::scratch`]: every element is written,
/// so it is not zeroed first).
#[inline(always)]
pub fn map<T: Scalar>(src: &[T], grain: usize, f: impl Fn(T) -> T + Sync) -> Vec<T> {
    let mut out = pool::scratch(src.len());
    for_each_run(&mut out, grain, 1, |at, dst| {
        vectorized(|| map_into(&src[at..at + dst.len()], dst, &f))
    });
    out
}

/// `dst[i] = f(src[i])` (same lengths), a plain loop to call inside [`vectorized`].
#[inline(always)]
pub fn map_into<T: Scalar>(src: &[T], dst: &mut [T], f: impl Fn(T) -> T) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = f(s);
    }
}

/// `f` of every pair of elements, into a pooled buffer (same lengths; not zeroed first, as
/// [`map`]).
#[inline(always)]
pub fn zip<T: Scalar>(a: &[T], b: &[T], grain: usize, f: impl Fn(T, T) -> T + Sync) -> Vec<T> {
    let mut out = pool::scratch(a.len());
    for_each_run(&mut out, grain, 1, |at, dst| {
        let to = at + dst.len();
        vectorized(|| zip_into(&a[at..to], &b[at..to], dst, &f))
    });
    out
}

/// `dst[i] = f(a[i], b[i])` (same lengths), a plain loop to call inside [`vectorized`].
#[inline(always)]
pub fn zip_into<T: Scalar>(a: &[T], b: &[T], dst: &mut [T], f: impl Fn(T, T) -> T) {
    for ((d, &x), &y) in dst.iter_mut().zip(a).zip(b) {
        *d = f(x, y);
    }
}

/// Applies `f` to every element in place.
#[inline(always)]
pub fn map_in_place<T: Scalar>(x: &mut [T], grain: usize, f: impl Fn(T) -> T + Sync) {
    for_each_run(x, grain, 1, |_, run| {
        vectorized(|| {
            for v in run.iter_mut() {
                *v = f(*v);
            }
        })
    });
}

/// The sum of `f(a[i], b[i])`, with eight accumulators so that it vectorizes (the summation
/// order is fixed, so the result is deterministic).
#[inline(always)]
pub fn sum_zip<T: Scalar>(a: &[T], b: &[T], f: impl Fn(T, T) -> T) -> T {
    vectorized(|| {
        let mut acc = [T::zero(); 8];
        let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
        let (ra, rb) = (ca.remainder(), cb.remainder());
        for (x, y) in ca.zip(cb) {
            for i in 0..8 {
                acc[i] += f(x[i], y[i]);
            }
        }
        let mut s = acc.iter().copied().fold(T::zero(), |s, v| s + v);
        for (&x, &y) in ra.iter().zip(rb) {
            s += f(x, y);
        }
        s
    })
}

/// The sum of a slice (eight accumulators, vectorized).
#[inline(always)]
pub fn sum<T: Scalar>(a: &[T]) -> T {
    sum_zip(a, a, |x, _| x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_match_a_plain_loop() {
        let a: Vec<f64> = (0..1003).map(|i| (i as f64).sin()).collect();
        let plain: f64 = a.iter().sum();
        assert!((sum(&a) - plain).abs() < 1e-9);
        let b: Vec<f64> = (0..1003).map(|i| (i as f64).cos()).collect();
        let dot: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((sum_zip(&a, &b, |x, y| x * y) - dot).abs() < 1e-9);
    }

    #[test]
    fn map_and_zip() {
        let a = [1.0f32, 2.0, 3.0];
        assert_eq!(map(&a, CHEAP_GRAIN, |x| x * 2.0), vec![2.0, 4.0, 6.0]);
        assert_eq!(zip(&a, &a, CHEAP_GRAIN, |x, y| x + y), vec![2.0, 4.0, 6.0]);
    }
}
