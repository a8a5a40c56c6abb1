//! Tests of the GEMM kernel on every CPU path this machine has: results against a naive f64
//! triple loop (all stride layouts, sub-blocks of larger matrices, accumulate on and off, NaN
//! in an overwritten dst, k = 0, shapes crossing every blocking edge), determinism, and no
//! heap allocation once the packing buffers have grown (counted by a global allocator). The
//! ignored `gemm_speed_vs_gemm_crate` measures GFLOP/s against the `gemm` crate.

use super::{buffer, gemm_with, Path};
use crate::Scalar;
#[cfg(not(miri))]
use proptest::prelude::*;
use rand::Rng;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Conversions to and from `f64` for the tests (tapegrad-core's `Element` has its own).
trait Conv: Scalar {
    fn of(v: f64) -> Self;
    fn as_f64(self) -> f64;
}

impl<T: Scalar> Conv for T {
    fn of(v: f64) -> Self {
        <T as num_traits::NumCast>::from(v).expect("internal: f64 converts to f32 and f64")
    }
    fn as_f64(self) -> f64 {
        self.to_f64().expect("internal: f32 and f64 convert to f64")
    }
}

/// Counts this thread's heap allocations (alloc, alloc_zeroed, realloc).
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count_one() {
    // a const-initialized thread-local without destructor: safe to touch inside the allocator
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

#[allow(unsafe_code)]
// SAFETY: every method forwards to the system allocator unchanged; counting allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: forwarded contract.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: forwarded contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// One product to check: shapes, operand layouts, where dst sits in a larger matrix.
#[derive(Clone, Copy, Debug)]
struct Case {
    m: usize,
    n: usize,
    k: usize,
    /// lhs given as the transpose of a row-major `k x m` matrix (rs = 1, cs = m).
    lhs_t: bool,
    /// rhs given as the transpose of a row-major `n x k` matrix (rs = 1, cs = k).
    rhs_t: bool,
    /// Extra columns of the matrix dst is a block of (dst_rs = n + pad).
    pad: usize,
    accumulate: bool,
    seed: u64,
}

/// A seeded generator of values in [-1, 1) (SplitMix64): cheap enough for Miri, where the
/// standard generator costs more than the products it feeds.
struct Uniform(u64);

impl Uniform {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

/// Value of the untouched elements around the dst block.
const SENTINEL: f64 = 7.25;

/// Runs the case on `path` with element type `T` and checks it against a naive f64 loop.
fn check<T: Scalar>(path: Path, c: Case) {
    let Case { m, n, k, .. } = c;
    let mut rng = Uniform(c.seed);
    let lhs: Vec<T> = (0..m * k).map(|_| T::of(rng.next())).collect();
    let rhs: Vec<T> = (0..k * n).map(|_| T::of(rng.next())).collect();
    let (lhs_rs, lhs_cs) = if c.lhs_t { (1, m) } else { (k, 1) };
    let (rhs_rs, rhs_cs) = if c.rhs_t { (1, k) } else { (n, 1) };
    let at = |i: usize, l: usize| lhs[i * lhs_rs + l * lhs_cs].as_f64();
    let bt = |l: usize, j: usize| rhs[l * rhs_rs + j * rhs_cs].as_f64();
    // dst is the block at (1, pad / 2) of a (m + 2) x (n + pad) matrix: with pad = 0 its rows
    // are contiguous, otherwise there are untouched columns beside them
    let dst_rs = n + c.pad;
    let offset = dst_rs + c.pad / 2;
    let inside =
        |idx: usize| idx >= offset && (idx - offset) / dst_rs < m && (idx - offset) % dst_rs < n;
    let mut dst: Vec<T> = (0..(m + 2) * dst_rs)
        .map(|idx| {
            if !inside(idx) {
                T::of(SENTINEL)
            } else if c.accumulate {
                T::of(rng.next())
            } else {
                T::nan()
            }
        })
        .collect();
    let before = dst.clone();
    #[allow(unsafe_code)]
    // SAFETY: the operands hold every element the strides name; dst's block (m rows of n at
    // stride dst_rs from `offset`) lies inside `dst`, which overlaps neither operand.
    unsafe {
        gemm_with(
            path,
            m,
            n,
            k,
            dst.as_mut_ptr().add(offset),
            dst_rs,
            c.accumulate,
            lhs.as_ptr(),
            lhs_rs,
            lhs_cs,
            rhs.as_ptr(),
            rhs_rs,
            rhs_cs,
        )
    };
    let eps = if size_of::<T>() == 4 {
        f32::EPSILON as f64
    } else {
        f64::EPSILON
    };
    for (idx, (got, old)) in dst.iter().zip(&before).enumerate() {
        if !inside(idx) {
            assert_eq!(
                got.as_f64(),
                SENTINEL,
                "{path:?} {c:?}: element {idx} outside"
            );
            continue;
        }
        let (i, j) = ((idx - offset) / dst_rs, (idx - offset) % dst_rs);
        let mut want = if c.accumulate { old.as_f64() } else { 0.0 };
        let mut scale = want.abs();
        for l in 0..k {
            want += at(i, l) * bt(l, j);
            scale += (at(i, l) * bt(l, j)).abs();
        }
        let got = got.as_f64();
        let tol = 2.0 * (k + 1) as f64 * eps * scale + 1e-30;
        assert!(
            (got - want).abs() <= tol,
            "{path:?} {c:?}: ({i}, {j}) = {got}, want {want} (tol {tol})"
        );
    }
}

fn check_all_paths(c: Case) {
    for path in Path::available() {
        check::<f32>(path, c);
        check::<f64>(path, c);
    }
}

#[cfg(not(miri))]
fn case_strategy(max_mn: usize, max_k: usize) -> impl Strategy<Value = Case> {
    (
        0..=max_mn,
        0..=max_mn,
        0..=max_k,
        any::<bool>(),
        any::<bool>(),
        0usize..4,
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(|(m, n, k, lhs_t, rhs_t, pad, accumulate, seed)| Case {
            m,
            n,
            k,
            lhs_t,
            rhs_t,
            pad,
            accumulate,
            seed,
        })
}

// Under Miri (far too slow for random cases) the fixed lists below cover the same edges.
#[cfg(not(miri))]
proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn small_products_match_naive_on_every_path(c in case_strategy(70, 70)) {
        check_all_paths(c);
    }
}

#[cfg(not(miri))]
proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn large_products_match_naive_on_every_path(c in case_strategy(300, 1100)) {
        check_all_paths(c);
    }
}

#[test]
fn blocking_edges_match_naive_on_every_path() {
    // every m / n / k blocking edge of every spec: one past a tile, one past a block, ragged
    // kc splits (385, 1100), rows in place vs packed (k around 256 and 384)
    #[cfg(miri)]
    for (s, &(m, n, k, layout)) in MIRI_SHAPES.iter().enumerate() {
        check_all_paths(Case {
            m,
            n,
            k,
            lhs_t: layout & 1 == 1,
            rhs_t: layout & 2 == 2,
            pad: layout,
            accumulate: s % 2 == 0,
            seed: s as u64,
        });
    }
    #[cfg(not(miri))]
    let shapes = [
        (13, 33, 385),
        (481, 17, 5),
        (25, 481, 257),
        (241, 241, 383),
        (12, 32, 384),
        (7, 1, 1100),
        (1, 300, 9),
        (300, 1, 300),
        (4, 4, 2),
        (4, 1, 4),
        (24, 40, 3),
        (25, 40, 300),
        // more lhs rows than direct_rhs_rows: a row-major rhs is packed too
        (530, 40, 50),
        (600, 70, 400),
        // more lhs rows than one mc block: lhs packed in two blocks
        (1540, 13, 400),
    ];
    #[cfg(not(miri))]
    for (s, &(m, n, k)) in shapes.iter().enumerate() {
        for layout in 0..4 {
            check_all_paths(Case {
                m,
                n,
                k,
                lhs_t: layout & 1 == 1,
                rhs_t: layout & 2 == 2,
                pad: layout,
                accumulate: s % 2 == 0,
                seed: s as u64,
            });
        }
    }
}

/// The products the blocking-edge test runs under Miri, `(m, n, k, layout)`: small (Miri
/// runs a multiply-add in about 0.3 ms), but together they cross an edge of every spec: rows
/// past a tile, a ragged last panel through the scratch tile (with the full and the narrow
/// kernel), an exactly narrow panel, one row, one column, lhs packed (transposed with
/// k > kc) in one and in two kc blocks, rhs packed (transposed), the tiny loop; all on
/// operands allocated to exactly their size, so a pointer formed past an operand's end is
/// reported. `layout` as in the full test: bit 0 lhs transposed, bit 1 rhs transposed, and
/// the dst padding.
#[cfg(miri)]
const MIRI_SHAPES: [(usize, usize, usize, usize); 7] = [
    (13, 21, 3, 0),
    (7, 1, 11, 2),
    (1, 40, 5, 1),
    (3, 16, 2, 3),
    (2, 5, 257, 1),
    (2, 3, 390, 3),
    (4, 4, 2, 2),
];

#[test]
fn k_zero_clears_or_keeps_dst() {
    for accumulate in [false, true] {
        let big = if cfg!(miri) { (5, 9) } else { (40, 70) };
        for (m, n) in [(0, 0), (0, 5), (5, 0), (3, 7), big] {
            check_all_paths(Case {
                m,
                n,
                k: 0,
                lhs_t: false,
                rhs_t: false,
                pad: 1,
                accumulate,
                seed: 1,
            });
        }
    }
}

/// Runs `gemm_with` on fresh operands of the given layout, returning dst.
fn run<T: Scalar>(path: Path, m: usize, n: usize, k: usize, lhs_t: bool, rhs_t: bool) -> Vec<T> {
    let lhs: Vec<T> = (0..m * k).map(|i| T::of((i as f64 * 0.37).sin())).collect();
    let rhs: Vec<T> = (0..k * n).map(|i| T::of((i as f64 * 0.11).cos())).collect();
    let mut dst = vec![T::zero(); m * n];
    let (lhs_rs, lhs_cs) = if lhs_t { (1, m) } else { (k, 1) };
    let (rhs_rs, rhs_cs) = if rhs_t { (1, k) } else { (n, 1) };
    #[allow(unsafe_code)]
    // SAFETY: the operands hold m*k and k*n elements as their strides name; dst m*n.
    unsafe {
        gemm_with(
            path,
            m,
            n,
            k,
            dst.as_mut_ptr(),
            n,
            false,
            lhs.as_ptr(),
            lhs_rs,
            lhs_cs,
            rhs.as_ptr(),
            rhs_rs,
            rhs_cs,
        )
    };
    dst
}

#[test]
fn results_are_bit_identical_across_calls() {
    for path in Path::available() {
        #[cfg(miri)]
        let (shapes, between) = ([(3, 9, 100), (4, 2, 4)], (7, 20, 9));
        #[cfg(not(miri))]
        let (shapes, between) = ([(130, 90, 800), (33, 47, 61), (4, 2, 4)], (77, 500, 390));
        for &(m, n, k) in &shapes {
            let first: Vec<f32> = run(path, m, n, k, true, false);
            // a call of another shape in between (other buffer contents) changes nothing
            run::<f32>(path, between.0, between.1, between.2, false, true);
            let again: Vec<f32> = run(path, m, n, k, true, false);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&first), bits(&again), "{path:?} {m}x{n}x{k}");
        }
    }
}

#[test]
fn gemm_serial_runs_the_active_path() {
    let (m, n, k) = if cfg!(miri) { (7, 9, 11) } else { (50, 70, 90) };
    let lhs: Vec<f64> = (0..m * k).map(|i| (i as f64).sin()).collect();
    let rhs: Vec<f64> = (0..k * n).map(|i| (i as f64).cos()).collect();
    let mut serial = vec![f64::NAN; m * n];
    let mut active = vec![f64::NAN; m * n];
    #[allow(unsafe_code)]
    // SAFETY: the operands hold m*k and k*n elements, row-major; dst m*n.
    unsafe {
        super::gemm_serial(
            m,
            n,
            k,
            serial.as_mut_ptr(),
            n,
            false,
            lhs.as_ptr(),
            k,
            1,
            rhs.as_ptr(),
            n,
            1,
        );
        gemm_with(
            crate::kernel_path(),
            m,
            n,
            k,
            active.as_mut_ptr(),
            n,
            false,
            lhs.as_ptr(),
            k,
            1,
            rhs.as_ptr(),
            n,
            1,
        );
    };
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&serial), bits(&active));
    assert!(serial.iter().all(|x| x.is_finite()));
}

#[test]
fn threads_use_their_own_buffers() {
    // two threads packing different shapes at once get the results of one thread alone
    #[cfg(miri)]
    let shapes = [(5, 20, 30, true, true), (20, 5, 12, true, false)];
    #[cfg(not(miri))]
    let shapes = [(300, 200, 900, true, true), (200, 300, 700, true, false)];
    for path in Path::available() {
        let alone: Vec<Vec<u32>> = shapes
            .iter()
            .map(|&(m, n, k, lt, rt)| run::<f32>(path, m, n, k, lt, rt))
            .map(|v| v.iter().map(|x| x.to_bits()).collect())
            .collect();
        let together: Vec<Vec<u32>> = std::thread::scope(|s| {
            let handles: Vec<_> = shapes
                .iter()
                .map(|&(m, n, k, lt, rt)| {
                    s.spawn(move || {
                        let mut last = Vec::new();
                        for _ in 0..if cfg!(miri) { 1 } else { 5 } {
                            last = run::<f32>(path, m, n, k, lt, rt);
                        }
                        last.iter().map(|x| x.to_bits()).collect::<Vec<u32>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("internal: test thread panicked"))
                .collect()
        });
        assert!(
            alone == together,
            "{path:?}: threads disagree with one thread"
        );
    }
}

/// Calls `gemm_with` on preallocated operands, `reps` times; returns the allocations counted
/// on this thread during those calls.
fn allocations_during<T: Scalar>(path: Path, m: usize, n: usize, k: usize, reps: usize) -> usize {
    let lhs = vec![T::one(); m * k];
    let rhs = vec![T::one(); k * n];
    let mut dst = vec![T::zero(); m * n];
    let before = allocations();
    for rep in 0..reps {
        let (lhs_rs, lhs_cs) = if rep % 2 == 0 { (k, 1) } else { (1, m) };
        let (rhs_rs, rhs_cs) = if rep % 3 == 0 { (n, 1) } else { (1, k) };
        #[allow(unsafe_code)]
        // SAFETY: the operands hold m*k and k*n elements as their strides name; dst m*n.
        unsafe {
            gemm_with(
                path,
                m,
                n,
                k,
                dst.as_mut_ptr(),
                n,
                rep % 2 == 1,
                lhs.as_ptr(),
                lhs_rs,
                lhs_cs,
                rhs.as_ptr(),
                rhs_rs,
                rhs_cs,
            )
        };
    }
    allocations() - before
}

#[test]
#[cfg_attr(miri, ignore = "training-step sizes: too slow under Miri")]
fn steady_state_calls_allocate_nothing() {
    // the counter sees this thread's allocations: a Vec made here must count
    let probe = allocations();
    drop(std::hint::black_box(vec![0u8; 16]));
    assert_eq!(
        allocations(),
        probe + 1,
        "the counting allocator is not installed"
    );

    // a training step's shapes: packed, in place, ragged, tiny
    let shapes = [
        (128, 128, 784),
        (784, 128, 128),
        (128, 784, 128),
        (128, 10, 64),
        (32, 64, 64),
        (32, 10, 32),
        (4, 4, 2),
        (300, 300, 1100),
    ];
    for path in Path::available() {
        // warm-up: the buffers grow to the largest shape
        for &(m, n, k) in &shapes {
            allocations_during::<f32>(path, m, n, k, 6);
            allocations_during::<f64>(path, m, n, k, 6);
        }
        let capacities = buffer::capacities();
        for &(m, n, k) in &shapes {
            let count = allocations_during::<f32>(path, m, n, k, 6)
                + allocations_during::<f64>(path, m, n, k, 6);
            // allocations_during allocates its 3 operand vectors per type before counting
            assert_eq!(
                count, 0,
                "{path:?} {m}x{n}x{k}: {count} allocations in 12 calls"
            );
        }
        assert_eq!(buffer::capacities(), capacities, "{path:?}: buffers regrew");
    }
}

/// GFLOP/s of the fastest of several timed samples of `f` (each repeated enough to last a
/// few milliseconds), after a warm-up.
fn gflops(flop: f64, mut f: impl FnMut()) -> f64 {
    use std::time::{Duration, Instant};
    f();
    let mut reps = 1;
    loop {
        let t = Instant::now();
        for _ in 0..reps {
            f();
        }
        if t.elapsed() > Duration::from_millis(5) {
            break;
        }
        reps *= 2;
    }
    let mut best = f64::INFINITY;
    for _ in 0..15 {
        let t = Instant::now();
        for _ in 0..reps {
            f();
        }
        best = best.min(t.elapsed().as_secs_f64() / reps as f64);
    }
    flop / best / 1e9
}

/// Measures this kernel (the best path, and the AVX2 one where available) against the `gemm`
/// crate on one thread at the shapes of the training workloads. Prints a table; checks the
/// results agree. Not a timing assertion. Run with
/// `cargo test --release -p tapegrad-core gemm_speed -- --ignored --nocapture`.
#[test]
#[ignore]
fn gemm_speed_vs_gemm_crate() {
    // (label, m, n, k, lhs transposed, rhs transposed)
    let shapes: &[(&str, usize, usize, usize, bool, bool)] = &[
        ("1024^3", 1024, 1024, 1024, false, false),
        ("1024^3 lhs^T", 1024, 1024, 1024, true, false),
        ("1024^3 rhs^T", 1024, 1024, 1024, false, true),
        ("1000x1000x1000 lhs^T", 1000, 1000, 1000, true, false),
        ("[128,784]x[784,128]", 128, 128, 784, false, false),
        ("mlp dW1 x^T dz", 784, 128, 128, true, false),
        ("mlp dX dz W^T", 128, 784, 128, false, true),
        ("[128,128]x[128,64]", 128, 64, 128, false, false),
        ("[128,64]x[64,10]", 128, 10, 64, false, false),
        ("ae [128,784]x[784,256]", 128, 256, 784, false, false),
        ("ae dW 784x256 (k128)", 784, 256, 128, true, false),
        ("ae dX 128x784 (k256)", 128, 784, 256, false, true),
        ("ae [128,256]x[256,64]", 128, 64, 256, false, false),
        ("ae dW 256x64 (k128)", 256, 64, 128, true, false),
        ("ae dX 128x256 (k64)", 128, 256, 64, false, true),
        ("ae [128,64]x[64,256]", 128, 256, 64, false, false),
        ("ae dW 64x256 (k128)", 64, 256, 128, true, false),
        ("ae dX 128x64 (k256)", 128, 64, 256, false, true),
        ("ae [128,256]x[256,784]", 128, 784, 256, false, false),
        ("ae dW 256x784 (k128)", 256, 784, 128, true, false),
        ("ae dX 128x256 (k784)", 128, 256, 784, false, true),
        ("tiny [32,64]x[64,64]", 32, 64, 64, false, false),
        ("tiny [32,64]x[64,32]", 32, 32, 64, false, false),
        ("tiny [32,32]x[32,10]", 32, 10, 32, false, false),
        ("tiny [4,2]x[2,4]", 4, 4, 2, false, false),
    ];
    println!(
        "{:<44} {:>8} {:>8} {:>9} {:>6}",
        "shape: m n k", "gemm", "ours", "ours-avx2", "ratio"
    );
    for &(label, m, n, k, lhs_t, rhs_t) in shapes {
        let row = measure::<f32>(m, n, k, lhs_t, rhs_t);
        println!("{}", row.line(&format!("f32 {label} ({m} {n} {k})")));
    }
    for &(label, m, n, k, lhs_t, rhs_t) in &shapes[..4] {
        let row = measure::<f64>(m, n, k, lhs_t, rhs_t);
        println!("{}", row.line(&format!("f64 {label} ({m} {n} {k})")));
    }
}

/// GFLOP/s of one shape: the gemm crate, ours on the best path, ours on AVX2 (if not best).
struct Speeds {
    theirs: f64,
    ours: f64,
    avx2: Option<f64>,
}

impl Speeds {
    fn line(&self, label: &str) -> String {
        format!(
            "{label:<44} {:>8.1} {:>8.1} {:>9} {:>6.2}",
            self.theirs,
            self.ours,
            self.avx2.map_or("-".into(), |g| format!("{g:.1}")),
            self.ours / self.theirs
        )
    }
}

/// Times the gemm crate and this kernel on one shape (random operands, dst overwritten), and
/// checks that their results agree.
fn measure<T: Scalar>(m: usize, n: usize, k: usize, lhs_t: bool, rhs_t: bool) -> Speeds {
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(7);
    let lhs: Vec<T> = (0..m * k)
        .map(|_| T::of(rng.random_range(-1.0..1.0)))
        .collect();
    let rhs: Vec<T> = (0..k * n)
        .map(|_| T::of(rng.random_range(-1.0..1.0)))
        .collect();
    let (lhs_rs, lhs_cs) = if lhs_t { (1, m) } else { (k, 1) };
    let (rhs_rs, rhs_cs) = if rhs_t { (1, k) } else { (n, 1) };
    let mut theirs = vec![T::zero(); m * n];
    let mut ours = vec![T::zero(); m * n];
    let flop = 2.0 * (m * n * k) as f64;
    let g_theirs = gflops(flop, || {
        #[allow(unsafe_code)]
        // SAFETY: operands and dst hold every element their strides name.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                theirs.as_mut_ptr(),
                1,
                n as isize,
                false,
                lhs.as_ptr(),
                lhs_cs as isize,
                lhs_rs as isize,
                rhs.as_ptr(),
                rhs_cs as isize,
                rhs_rs as isize,
                T::zero(),
                T::one(),
                false,
                false,
                false,
                gemm::Parallelism::None,
            )
        }
    });
    let ours_on = |path: Path, out: &mut Vec<T>| {
        gflops(flop, || {
            #[allow(unsafe_code)]
            // SAFETY: operands and dst hold every element their strides name.
            unsafe {
                gemm_with(
                    path,
                    m,
                    n,
                    k,
                    out.as_mut_ptr(),
                    n,
                    false,
                    lhs.as_ptr(),
                    lhs_rs,
                    lhs_cs,
                    rhs.as_ptr(),
                    rhs_rs,
                    rhs_cs,
                )
            }
        })
    };
    let best = Path::best();
    let g_ours = ours_on(best, &mut ours);
    let g_avx2 = (best != Path::Avx2 && Path::available().contains(&Path::Avx2))
        .then(|| ours_on(Path::Avx2, &mut vec![T::zero(); m * n]));
    let eps = if size_of::<T>() == 4 {
        f32::EPSILON as f64
    } else {
        f64::EPSILON
    };
    let tol = 4.0 * (k * k) as f64 * eps;
    for (x, y) in ours.iter().zip(&theirs) {
        let (x, y) = (x.as_f64(), y.as_f64());
        assert!((x - y).abs() <= tol, "{m}x{n}x{k}: {x} vs gemm crate {y}");
    }
    Speeds {
        theirs: g_theirs,
        ours: g_ours,
        avx2: g_avx2,
    }
}
