//! Matrix multiplication through tapegrad's own GEMM kernel (`gemm/`: runtime CPU dispatch,
//! AVX-512 where the CPU has it, no allocation per call). Operands are strided views, so a
//! transpose is a pair of swapped strides, never a copy. Large products split into row or column blocks, one per thread of
//! [`parallel`](super::parallel)'s pool, each block a single-threaded product.

use super::parallel::{self, SharedPtr};
use crate::Scalar;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

static THREADS: AtomicUsize = AtomicUsize::new(0);

/// The machine's core count, asked once: `available_parallelism` reads cgroup files on Linux
/// (several system calls), far too slow to repeat for every small product.
static CORES: OnceLock<usize> = OnceLock::new();

/// Products with at least this many multiply-adds (m·n·k) split over the threads. The
/// default, 2^20 (1 M, about 4 µs of work on one core), was chosen by measuring the mlp and
/// ae workloads on a 2-core machine (docs/performance.md): the pool's helper is already awake
/// between a step's products, so splitting from there on pays; below it, the hand-off
/// (about a microsecond) eats the gain.
static PARALLEL_THRESHOLD: AtomicUsize = AtomicUsize::new(1 << 20);

/// Sets the size (multiply-adds, m·n·k) from which a matmul may split over several threads
/// (default 2^20); `usize::MAX` keeps every product on the calling thread.
pub fn set_parallel_threshold(multiply_adds: usize) {
    PARALLEL_THRESHOLD.store(multiply_adds, Ordering::Relaxed);
}

/// The size (multiply-adds) from which a matmul may use several threads.
pub fn parallel_threshold() -> usize {
    PARALLEL_THRESHOLD.load(Ordering::Relaxed)
}

/// The most threads tapegrad's kernels use: [`set_num_threads`] clamps to it, and so does
/// the default on a machine with more cores.
///
/// A fixed number rather than a multiple of the core count, so that a program asking for
/// `n` threads gets the same `n` (and so the same summation order) on every machine; 256 is
/// far more than the core counts the pool is built for, so asking for more than the cores
/// (as PyTorch's `set_num_threads` allows) still works, but a runaway value cannot spawn
/// thousands of threads.
pub const MAX_THREADS: usize = 256;

/// Sets how many threads a large matmul (and [`parallel_for_each`](crate::parallel_for_each))
/// may use: 0 = all available cores, the default. Values above [`MAX_THREADS`] are clamped
/// to it. The result of a matmul does not depend on it beyond floating-point summation
/// order. The pool's helper threads are spawned when a job first needs them and then kept.
///
/// ```
/// tapegrad_kernels::set_num_threads(100_000);
/// assert_eq!(tapegrad_kernels::num_threads(), 256);
/// tapegrad_kernels::set_num_threads(0); // back to the default
/// ```
pub fn set_num_threads(n: usize) {
    THREADS.store(n.min(MAX_THREADS), Ordering::Relaxed);
}

/// How many threads a large matmul uses (at most [`MAX_THREADS`]).
pub fn num_threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => *CORES.get_or_init(|| {
            std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(MAX_THREADS)
        }),
        n => n,
    }
}

/// A read-only strided matrix view: element (i, j) is `data[i * rs + j * cs]`. Any strides
/// are allowed (0 repeats a row or column); [`gemm()`] checks that the elements it reads
/// lie inside `data`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a, T> {
    /// The elements.
    pub data: &'a [T],
    /// The row stride (elements from (i, j) to (i + 1, j)).
    pub rs: usize,
    /// The column stride (elements from (i, j) to (i, j + 1)).
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

    /// Whether every element (i, j) of a `rows x cols` matrix at this view's strides lies
    /// inside `data`: the last one's offset, `(rows - 1) * rs + (cols - 1) * cs`, computed
    /// without overflow and below `data.len()` (so every offset fits `isize`, as a slice's
    /// length does). An empty matrix (`rows` or `cols` 0) has no element and spans any data.
    pub fn spans(&self, rows: usize, cols: usize) -> bool {
        if rows == 0 || cols == 0 {
            return true;
        }
        let last = (rows - 1)
            .checked_mul(self.rs)
            .zip((cols - 1).checked_mul(self.cs))
            .and_then(|(a, b)| a.checked_add(b));
        last.is_some_and(|last| last < self.data.len())
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

/// `dst[m x n] (+)= lhs[m x k] · rhs[k x n]`; `dst` is row-major and contiguous (its first
/// `m * n` elements). With `accumulate` the product is added to what `dst` holds, otherwise
/// it replaces it. Products of at least [`parallel_threshold`] multiply-adds split over
/// [`num_threads`] threads.
///
/// ```
/// use tapegrad_kernels::{gemm, MatRef};
/// let a = [1.0f32, 2.0, 3.0, 4.0]; // [[1, 2], [3, 4]]
/// let mut c = [0.0f32; 4];
/// gemm(2, 2, 2, &mut c, false, MatRef::rows(&a, 2), MatRef::transposed(&a, 2)); // a · aᵀ
/// assert_eq!(c, [5.0, 11.0, 11.0, 25.0]);
/// ```
///
/// # Panics
///
/// If `dst` has fewer than `m * n` elements, or an element of `lhs` or `rhs` the product
/// reads lies outside its `data` (all computed without overflow): the callers check shapes
/// first, so this is an internal error.
pub fn gemm<T: Scalar>(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [T],
    accumulate: bool,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
) {
    // The checks that make the unsafe call below sound: checked arithmetic only, so no
    // wrapped product can make an out-of-bounds operand pass.
    let mn = m.checked_mul(n);
    assert!(
        mn.is_some_and(|mn| mn <= dst.len()),
        "internal: gemm dst: {m} x {n} does not fit its {} elements",
        dst.len()
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(T::zero());
        }
        return;
    }
    assert!(
        lhs.spans(m, k),
        "internal: gemm lhs: {m} x {k} at strides ({}, {}) runs past its {} elements",
        lhs.rs,
        lhs.cs,
        lhs.data.len()
    );
    assert!(
        rhs.spans(k, n),
        "internal: gemm rhs: {k} x {n} at strides ({}, {}) runs past its {} elements",
        rhs.rs,
        rhs.cs,
        rhs.data.len()
    );
    // (only a heuristic, but saturating: a product too large to count is large). A product
    // whose dst is narrow both ways (a long reduction into a small block, as a convolution's
    // weight gradient) stays on one thread: split, every part would stream the whole of the
    // unsplit operand, and a part of fewer than SPLIT_ALIGN columns or rows runs ragged.
    let parts = if m.max(n) >= 2 * SPLIT_ALIGN
        && m.saturating_mul(n).saturating_mul(k) >= parallel_threshold()
    {
        num_threads()
    } else {
        1
    };
    gemm_in_parts(parts, m, n, k, dst, accumulate, lhs, rhs);
}

/// [`gemm()`] (whose bounds checks must have passed) split into `parts` blocks, one per
/// thread of the pool.
#[allow(clippy::too_many_arguments)]
fn gemm_in_parts<T: Scalar>(
    parts: usize,
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [T],
    accumulate: bool,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
) {
    // No overflow below: `from <= long` and the offsets are those of elements inside the
    // operands, whose last offsets `gemm` checked.
    let parts = parts.min(m.max(n).div_ceil(SPLIT_ALIGN)).max(1);
    // Split the longer side of dst into `parts` blocks (multiples of SPLIT_ALIGN), one per
    // thread: rows of dst take the same rows of lhs, columns the same columns of rhs. With
    // one part, `run` calls the closure once on this thread.
    let split_rows = m >= n;
    let long = if split_rows { m } else { n };
    let block = long.div_ceil(parts).next_multiple_of(SPLIT_ALIGN);
    let (dst_ptr, lhs_ptr, rhs_ptr) = (
        SharedPtr::new_mut(dst),
        SharedPtr::new_read(lhs.data),
        SharedPtr::new_read(rhs.data),
    );
    parallel::run(parts, &|part| {
        let from = (part * block).min(long);
        let len = block.min(long - from);
        if len == 0 {
            return;
        }
        // (rows, cols) of this block and the offsets of its first dst, lhs and rhs elements
        let (bm, bn, dst_at, lhs_at, rhs_at) = if split_rows {
            (len, n, from * n, from * lhs.rs, 0)
        } else {
            (m, len, from, 0, from * rhs.cs)
        };
        #[allow(unsafe_code)]
        // The block covers rows (or columns) from..from+len of dst, disjoint from every other
        // part's; every element read or written lies inside its slice by the bounds asserted
        // in `gemm` (the block's last element is the whole product's at most); `dst` stays
        // mutably borrowed until `run` has returned, after every part has finished.
        // SAFETY: so the threads write disjoint, in-bounds elements of a `dst` that overlaps
        // neither `lhs` nor `rhs` (a `&mut` and two `&`), and nothing outlives the borrow.
        unsafe {
            super::gemm::gemm_serial(
                bm,
                bn,
                k,
                dst_ptr.at(dst_at),
                n,
                accumulate,
                lhs_ptr.at(lhs_at),
                lhs.rs,
                lhs.cs,
                rhs_ptr.at(rhs_at),
                rhs.rs,
                rhs.cs,
            )
        };
    });
}

/// Threads split a product into blocks whose side is a multiple of this (a whole number of
/// SIMD vectors), so no thread gets a ragged sliver.
const SPLIT_ALIGN: usize = 16;

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

    // Views whose size arithmetic wraps: before the checks were checked arithmetic, a
    // wrapped product made the bounds checks pass (in release builds) and the kernel wrote
    // or read far outside the slices; now the checks refuse them.
    #[test]
    #[should_panic(expected = "gemm dst: 8589934592 x 2147483648 does not fit")]
    fn a_dst_size_that_wraps_is_refused() {
        // (2^33 x 2^31 = 2^64 wraps to 0); lhs and rhs broadcast one element (strides 0)
        let one = [1.0f64];
        let stride0 = MatRef {
            data: &one,
            rs: 0,
            cs: 0,
        };
        let mut dst = [0.0f64; 4];
        gemm(1 << 33, 1 << 31, 1, &mut dst, false, stride0, stride0);
    }

    #[test]
    #[should_panic(expected = "gemm lhs: 3 x 2 at strides (9223372036854775808, 1) runs past")]
    fn an_lhs_stride_that_wraps_is_refused() {
        // (3 - 1) * 2^63 wraps to 0, so the last element "was" at offset 1
        let a = [1.0f64; 4];
        let b = [1.0f64; 4];
        let lhs = MatRef {
            data: &a,
            rs: 1 << 63,
            cs: 1,
        };
        let mut dst = [0.0f64; 6];
        gemm(3, 2, 2, &mut dst, false, lhs, MatRef::rows(&b, 2));
    }

    #[test]
    fn views_span_exactly_their_data() {
        let d = [0.0f32; 12];
        assert!(MatRef::rows(&d, 4).spans(3, 4));
        assert!(!MatRef::rows(&d, 4).spans(4, 4));
        assert!(MatRef::transposed(&d, 4).spans(4, 3));
        assert!(!MatRef::transposed(&d, 4).spans(4, 4));
        let huge = MatRef {
            data: &d,
            rs: usize::MAX,
            cs: 1,
        };
        assert!(huge.spans(1, 12));
        assert!(!huge.spans(2, 1));
        assert!(huge.spans(0, 5) && MatRef::rows(&d[..0], 4).spans(3, 0));
    }

    #[test]
    fn split_products_match_the_serial_one() {
        // both split directions, ragged last blocks, transposed views, accumulate
        #[cfg(miri)]
        let shapes = [(20, 9, 3), (9, 20, 2), (1, 17, 3)];
        #[cfg(not(miri))]
        let shapes = [
            (70, 33, 19),
            (33, 70, 5),
            (16, 17, 3),
            (1, 40, 7),
            (40, 1, 7),
        ];
        for &(m, n, k) in &shapes {
            let a: Vec<f64> = (0..m * k).map(|i| ((i * 7) % 13) as f64 - 6.0).collect();
            let b: Vec<f64> = (0..k * n).map(|i| ((i * 5) % 11) as f64 * 0.25).collect();
            let expect = naive(m, n, k, &a, &b);
            for parts in 1..=4 {
                for accumulate in [false, true] {
                    let start = if accumulate { 1.0 } else { f64::NAN };
                    let mut c = vec![start; m * n];
                    gemm_in_parts(
                        parts,
                        m,
                        n,
                        k,
                        &mut c,
                        accumulate,
                        MatRef::rows(&a, k),
                        MatRef::rows(&b, n),
                    );
                    let shift = if accumulate { 1.0 } else { 0.0 };
                    for (x, y) in c.iter().zip(&expect) {
                        assert_eq!(*x, y + shift, "{m}x{n}x{k} in {parts} parts");
                    }
                    // Cᵀ = Bᵀ Aᵀ through transposed views
                    let mut ct = vec![start; n * m];
                    gemm_in_parts(
                        parts,
                        n,
                        m,
                        k,
                        &mut ct,
                        accumulate,
                        MatRef::transposed(&b, n),
                        MatRef::transposed(&a, k),
                    );
                    for i in 0..m {
                        for j in 0..n {
                            assert_eq!(ct[j * m + i], expect[i * n + j] + shift);
                        }
                    }
                }
            }
        }
    }
}
