//! Matrix multiplication through the `gemm` crate (runtime CPU dispatch, AVX-512 where the CPU
//! has it). Operands are strided views, so a transpose is a pair of swapped strides, never a
//! copy.

use crate::element::Element;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

static THREADS: AtomicUsize = AtomicUsize::new(0);

/// The machine's core count, asked once: `available_parallelism` reads cgroup files on Linux
/// (several system calls), far too slow to repeat for every small product.
static CORES: OnceLock<usize> = OnceLock::new();

/// Products with at least this many multiply-adds (m·n·k) may use several threads; the
/// default, 2^26 (64 M), keeps a training step's products on the calling thread. Measured on
/// this project's 2-core machines (docs/performance.md): splitting the 128-row products of a
/// training step (4 M to 26 M multiply-adds) over two threads made mlp and ae epochs 10-20%
/// slower, because the pool's threads fall asleep between a step's products and waking them
/// costs more than the split saves; a lone large product (1024³) still gains nearly 2x.
static PARALLEL_THRESHOLD: AtomicUsize = AtomicUsize::new(1 << 26);

/// Sets the size (multiply-adds, m·n·k) from which a matmul may split over several threads
/// (default 2^26). Lower it for large products back to back, e.g. on a quiet many-core machine.
pub fn set_parallel_threshold(multiply_adds: usize) {
    PARALLEL_THRESHOLD.store(multiply_adds, Ordering::Relaxed);
}

/// The size (multiply-adds) from which a matmul may use several threads.
pub fn parallel_threshold() -> usize {
    PARALLEL_THRESHOLD.load(Ordering::Relaxed)
}

/// Sets how many threads a large matmul may use (0 = all available cores, the default).
/// The result of a matmul does not depend on it beyond floating-point summation order.
pub fn set_num_threads(n: usize) {
    THREADS.store(n, Ordering::Relaxed);
}

/// How many threads a large matmul uses.
pub fn num_threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        n => n,
    }
}

/// A read-only strided matrix view: element (i, j) is `data[i * rs + j * cs]`.
#[derive(Clone, Copy)]
pub(crate) struct MatRef<'a, T> {
    pub data: &'a [T],
    pub rs: usize,
    pub cs: usize,
}

impl<'a, T> MatRef<'a, T> {
    /// A row-major `rows x cols` matrix.
    pub fn rows(data: &'a [T], cols: usize) -> Self {
        MatRef {
            data,
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose of a row-major `rows x cols` matrix, as a view (`cols x rows`).
    pub fn transposed(data: &'a [T], cols: usize) -> Self {
        MatRef {
            data,
            rs: 1,
            cs: cols,
        }
    }
}

/// `dst[m x n] (+)= lhs[m x k] · rhs[k x n]`; `dst` is row-major and contiguous. With
/// `accumulate` the product is added to what `dst` holds, otherwise it replaces it.
pub(crate) fn gemm<T: Element>(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [T],
    accumulate: bool,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
) {
    assert!(dst.len() >= m * n, "internal: gemm dst too small");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(T::zero());
        }
        return;
    }
    let last = |v: &MatRef<'_, T>, r: usize, c: usize| (r - 1) * v.rs + (c - 1) * v.cs;
    assert!(
        last(&lhs, m, k) < lhs.data.len(),
        "internal: gemm lhs out of bounds"
    );
    assert!(
        last(&rhs, k, n) < rhs.data.len(),
        "internal: gemm rhs out of bounds"
    );
    let threads = if m * n * k >= parallel_threshold() {
        num_threads()
    } else {
        1
    };
    let parallelism = if threads > 1 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the asserts above prove that every element gemm reads (the last one of each
    // operand is at (rows-1)*rs + (cols-1)*cs) and writes (dst is m*n contiguous, row-major)
    // lies inside its slice; `dst` is borrowed mutably, so nothing else aliases it.
    #[allow(unsafe_code)]
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.cs as isize,
            lhs.rs as isize,
            rhs.data.as_ptr(),
            rhs.cs as isize,
            rhs.rs as isize,
            T::one(),
            T::one(),
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, n: usize, k: usize, a: &[f64], b: &[f64]) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|l| a[i * k + l] * b[l * n + j]).sum();
            }
        }
        c
    }

    #[test]
    fn matches_naive_and_transposed_views() {
        let (m, n, k) = (5, 7, 3);
        let a: Vec<f64> = (0..m * k).map(|i| i as f64 * 0.5 - 3.0).collect();
        let b: Vec<f64> = (0..k * n).map(|i| (i as f64).sin()).collect();
        let mut c = vec![0.0; m * n];
        gemm(
            m,
            n,
            k,
            &mut c,
            false,
            MatRef::rows(&a, k),
            MatRef::rows(&b, n),
        );
        for (x, y) in c.iter().zip(naive(m, n, k, &a, &b)) {
            assert!((x - y).abs() < 1e-12);
        }
        // (Bᵀ Aᵀ)ᵀ = A B: compute Cᵀ[n x m] from transposed views
        let mut ct = vec![0.0; n * m];
        gemm(
            n,
            m,
            k,
            &mut ct,
            false,
            MatRef::transposed(&b, n),
            MatRef::transposed(&a, k),
        );
        for i in 0..m {
            for j in 0..n {
                assert!((ct[j * m + i] - c[i * n + j]).abs() < 1e-12);
            }
        }
        // accumulate adds
        gemm(
            m,
            n,
            k,
            &mut c,
            true,
            MatRef::rows(&a, k),
            MatRef::rows(&b, n),
        );
        let twice: Vec<f64> = naive(m, n, k, &a, &b).iter().map(|v| 2.0 * v).collect();
        for (x, y) in c.iter().zip(&twice) {
            assert!((x - y).abs() < 1e-12);
        }
    }
}
