//! The standard benchmark workloads (sgemm, mlp, ae, xor, tiny, hvp, cnn, wide), run with
//! tapegrad.
//!
//! Every workload does exactly the work of the peer scripts (PyTorch, JAX, NumPy) so the numbers
//! can be compared side by side: the same shapes, optimizers, batch sizes and epochs, and the
//! same initial weights (uniform ±1/sqrt(fan_in) drawn by NumPy's seeded Mersenne Twister,
//! reproduced here bit for bit). Each figure is printed as one line:
//!
//! ```text
//! RESULT system=tapegrad workload=<id> metric=<name> value=<number>
//! ```
//!
//! Lines starting with `#` are diagnostics (epoch times, losses, conditions).
//!
//! ```text
//! cargo run --release --example bench                          # every workload
//! cargo run --release --example bench -- --workloads mlp,xor   # a subset
//! cargo run --release --example bench -- --workloads mlp --phases   # where a step's time goes
//! cargo run --release --example bench -- --workloads hvp       # Hessian-vector products
//! cargo run --release --example bench -- --workloads cnn,wide  # LeNet-5 and a wide MLP
//! ```
//!
//! MNIST is read with `tapegrad::data::mnist`, from `--data-dir`, else `$TAPEGRAD_DATA`, else
//! `$MNIST_DIR`, else `../shared/data/mnist` or `data/mnist` beside the repository. Without it,
//! the MNIST workloads (mlp, ae, hvp, cnn, wide) are skipped with a message and the rest still
//! runs.

use clap::Parser;
use rand::seq::SliceRandom;
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tapegrad::data::mnist::{self, Mnist};
use tapegrad::nn::optim::{Adam, Optimizer, Sgd};
use tapegrad::nn::{Activation, Conv2d, Dense, Flatten, MaxPool2d, Mlp, Module, Sequential};
use tapegrad::Conv2dOptions;
use tapegrad::{hvp, Array, Param, Tape};

// ---------------------------------------------------------------------------------------------
// Heap allocation counter (for `allocs_per_step`)

/// The system allocator, counting every allocation (and reallocation) it hands out.
struct CountingAlloc;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static ALLOC_BYTES: AtomicUsize = AtomicUsize::new(0);

fn count(size: usize) {
    ALLOCS.fetch_add(1, Ordering::Relaxed);
    ALLOC_BYTES.fetch_add(size, Ordering::Relaxed);
}

#[allow(unsafe_code)]
// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the only addition is bumping two atomic counters.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller's contract for `alloc` is passed through unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: as for `dealloc`; `new_size` is the caller's, passed through.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn allocs() -> (usize, usize) {
    (
        ALLOCS.load(Ordering::Relaxed),
        ALLOC_BYTES.load(Ordering::Relaxed),
    )
}

// ---------------------------------------------------------------------------------------------
// Flags

const ALL_WORKLOADS: [&str; 8] = ["sgemm", "mlp", "ae", "xor", "tiny", "hvp", "cnn", "wide"];

#[derive(Parser, Debug)]
#[command(
    about = "The standard workloads (sgemm, mlp, ae, xor, tiny, hvp, cnn, wide) with tapegrad; prints RESULT lines"
)]
struct Args {
    /// Comma-separated subset of sgemm,mlp,ae,xor,tiny,hvp,cnn,wide.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "sgemm,mlp,ae,xor,tiny,hvp,cnn,wide"
    )]
    workloads: Vec<String>,
    /// Threads a large matmul may use (the workloads allow at most 2).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// The kernel path: avx512, avx2 or portable [default: $TAPEGRAD_KERNEL, else the best
    /// this CPU has]. A path the CPU lacks falls back to the best one below it.
    #[arg(long, value_name = "PATH")]
    kernel: Option<tapegrad::KernelPath>,
    /// Multiply-adds (m·n·k) from which a matmul splits over the threads (default: the
    /// core's, `tapegrad::parallel_threshold()`).
    #[arg(long)]
    parallel_threshold: Option<usize>,
    /// The folder holding the four MNIST files (or a `mnist/` sub-folder with them).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Epochs for mlp, ae, cnn and wide, instead of the standard's (mlp and ae 5, cnn 3, wide
    /// 2; epoch_s is the median of epochs 2..). Another count is a shortened run: its figures
    /// are printed as `#` lines, not RESULT lines.
    #[arg(long)]
    epochs: Option<usize>,
    /// Also print where each training step's time goes (batch, forward, backward, update).
    #[arg(long)]
    phases: bool,
    /// Products per timing repeat of the hvp workload (the standard is 200).
    #[arg(long, default_value_t = 200)]
    hvp_products: usize,
    /// Stop each training epoch after this many batches (a shortened run, e.g. for a profiler).
    #[arg(long)]
    max_batches: Option<usize>,
}

// ---------------------------------------------------------------------------------------------
// Output

const SYSTEM: &str = "tapegrad";

/// `value` with 6 significant digits, as Python's `%.6g` (the peers' format).
fn g6(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    fn trim(s: String) -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
    let exp = v.abs().log10().floor() as i32;
    if !(-4..6).contains(&exp) {
        let s = format!("{v:.5e}");
        let (m, e) = s.split_once('e').expect("internal: {:e} has an exponent");
        let e: i32 = e.parse().expect("internal: exponent is an integer");
        format!(
            "{}e{}{:02}",
            trim(m.to_string()),
            if e < 0 { '-' } else { '+' },
            e.abs()
        )
    } else {
        let prec = (5 - exp).max(0) as usize;
        trim(format!("{v:.prec$}"))
    }
}

/// Set when `--epochs` or `--max-batches` shortens the training workloads: their figures are
/// then printed as `#` lines, so no results file or summary picks them up.
static SHORTENED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The workloads whose figures a shortened run changes.
const TRAINED: [&str; 4] = ["mlp", "ae", "cnn", "wide"];

fn result(workload: &str, metric: &str, value: f64) {
    let line = format!(
        "system={SYSTEM} workload={workload} metric={metric} value={}",
        g6(value)
    );
    if SHORTENED.load(Ordering::Relaxed) && TRAINED.contains(&workload) {
        info(format!("shortened run, not a result: {line}"));
    } else {
        println!("RESULT {line}");
    }
}

fn info(msg: impl AsRef<str>) {
    println!("# {}", msg.as_ref());
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "n/a".into())
}

/// Resets the process's peak resident set size (Linux: `5` into `/proc/self/clear_refs`), so
/// the next [`peak_rss_mb`] covers one workload only. Returns whether it worked.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The peak resident set size (`VmHWM`) in MiB, if the platform reports it.
fn peak_rss_mb() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

// ---------------------------------------------------------------------------------------------
// NumPy's legacy RandomState (MT19937), so the initial weights equal the peers' to the bit

/// The Mersenne Twister as `numpy.random.RandomState(seed)` seeds and uses it.
struct NumpyRandomState {
    mt: [u32; 624],
    index: usize,
}

impl NumpyRandomState {
    fn new(seed: u32) -> Self {
        let mut mt = [0u32; 624];
        mt[0] = seed;
        for i in 1..624 {
            mt[i] = 1_812_433_253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        NumpyRandomState { mt, index: 624 }
    }

    fn next_u32(&mut self) -> u32 {
        if self.index >= 624 {
            for i in 0..624 {
                let y = (self.mt[i] & 0x8000_0000) | (self.mt[(i + 1) % 624] & 0x7fff_ffff);
                let mut v = self.mt[(i + 397) % 624] ^ (y >> 1);
                if y & 1 == 1 {
                    v ^= 0x9908_b0df;
                }
                self.mt[i] = v;
            }
            self.index = 0;
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `random_sample()`: a double in [0, 1) from 53 random bits.
    fn next_f64(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// `uniform(lo, hi, n).astype(np.float32)`.
    fn uniform_f32(&mut self, lo: f64, hi: f64, n: usize) -> Vec<f32> {
        (0..n)
            .map(|_| (lo + (hi - lo) * self.next_f64()) as f32)
            .collect()
    }

    /// `randint(0, high)` for a small `high` (NumPy's masked rejection sampling).
    fn randint(&mut self, high: u32) -> u32 {
        let max = high - 1;
        let mask = u32::MAX >> max.leading_zeros();
        loop {
            let v = self.next_u32() & mask;
            if v <= max {
                return v;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Models: `nn::Mlp` with the peers' initial weights

/// As the peers' `common.init_layers(sizes, seed)`: for each layer, W `[in, out]` then b, each
/// uniform in ±1/sqrt(fan_in) from one `RandomState(seed)`, as an [`Mlp`] whose dense layers
/// are fused with their activations (one `linear` node per layer).
fn mlp(
    sizes: &[usize],
    seed: u32,
    hidden: Activation,
    output: Activation,
) -> tapegrad::Result<Mlp<f32>> {
    let mut rs = NumpyRandomState::new(seed);
    let layers = sizes
        .windows(2)
        .map(|io| {
            let (fan_in, fan_out) = (io[0], io[1]);
            let bound = 1.0 / (fan_in as f64).sqrt();
            let w = rs.uniform_f32(-bound, bound, fan_in * fan_out);
            let b = rs.uniform_f32(-bound, bound, fan_out);
            Dense::from_arrays(
                Array::from_vec(w, [fan_in, fan_out])?,
                Some(Array::from_vec(b, [fan_out])?),
            )
        })
        .collect::<tapegrad::Result<Vec<_>>>()?;
    Mlp::from_layers(layers, hidden, output)
}

/// The model's output for `x`, computed on a fresh tape.
fn predict(model: &dyn Module<f32>, x: &Array<f32>) -> tapegrad::Result<Array<f32>> {
    let tape = Tape::new();
    Ok(model.forward(tape.constant(x.clone()))?.to_array())
}

/// torch.optim.Adam with the workloads' settings.
fn adam() -> Adam<f32> {
    Adam::new(1e-3).betas(0.9, 0.999).eps(1e-8)
}

// ---------------------------------------------------------------------------------------------
// Data

/// MNIST's folder: `--data-dir`, `$TAPEGRAD_DATA`, `$MNIST_DIR` (the peers' variable), then the
/// shared data beside the repository and the repository's own `data/mnist`; each may hold the
/// files or a `mnist/` sub-folder with them ([`mnist::find_files`] looks in both).
fn find_mnist(flag: Option<&Path>) -> Result<PathBuf, String> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let candidates: Vec<PathBuf> = match flag {
        Some(d) => vec![d.to_path_buf()],
        None => [
            std::env::var_os(mnist::ENV_VAR).map(PathBuf::from),
            std::env::var_os("MNIST_DIR").map(PathBuf::from),
            Some(repo.join("../shared/data/mnist")),
            Some(repo.join("data")),
        ]
        .into_iter()
        .flatten()
        .collect(),
    };
    candidates
        .iter()
        .find(|d| mnist::find_files(d).is_ok())
        .cloned()
        .ok_or_else(|| {
            let list: Vec<String> = candidates.iter().map(|d| d.display().to_string()).collect();
            format!(
                "MNIST not found (looked in {}); pass --data-dir DIR or set {}=DIR",
                list.join(", "),
                mnist::ENV_VAR
            )
        })
}

// ---------------------------------------------------------------------------------------------
// The training loop shared by mlp, ae and tiny

/// What a batch is trained against.
#[derive(Clone, Copy)]
enum Target<'a> {
    /// Class indices: softmax cross-entropy on the logits.
    Classes(&'a [usize]),
    /// The input itself: MSE of the reconstruction (the autoencoder).
    Input,
}

/// Settings of one run of [`train_epochs`].
struct LoopOpts {
    batch: usize,
    epochs: usize,
    seed: u64,
    max_batches: Option<usize>,
    /// Time the phases of every step.
    phases: bool,
    /// Count heap allocations over these steps of the first epoch.
    count_allocs: Option<std::ops::Range<usize>>,
}

impl LoopOpts {
    /// The MNIST workloads' settings: `batch`, seed [`SEED`], the standard's epochs (or
    /// `--epochs`), the batch limit and phase timing of the command line, allocations counted
    /// over steps 50..150.
    fn mnist(args: &Args, batch: usize, standard_epochs: usize) -> Self {
        LoopOpts {
            batch,
            epochs: args.epochs.unwrap_or(standard_epochs),
            seed: u64::from(SEED),
            max_batches: args.max_batches,
            phases: args.phases,
            count_allocs: Some(50..150),
        }
    }
}

/// What [`train_epochs`] measured.
#[derive(Default)]
struct LoopStats {
    epoch_s: Vec<f64>,
    last_loss: f32,
    steps: usize,
    /// (allocations, bytes, steps) over the counting window.
    allocs: Option<(usize, usize, usize)>,
    /// batch gather, forward + loss, backward, reset + update
    phases: [Duration; 4],
    /// Every step's wall time in seconds (with `phases`).
    step_s: Vec<f64>,
}

/// Shuffled mini-batch training (the peers' `train_epochs`): per epoch a fresh permutation,
/// then one step per batch. Only the loop is timed.
fn train_epochs(
    net: &mut dyn Module<f32>,
    opt: &mut dyn Optimizer<f32>,
    x: &Array<f32>,
    target: Target<'_>,
    o: &LoopOpts,
) -> tapegrad::Result<LoopStats> {
    let n = x.dims()[0];
    let mut rng = tapegrad::rng(o.seed);
    let mut perm: Vec<usize> = (0..n).collect();
    let mut labels: Vec<usize> = Vec::with_capacity(o.batch);
    let mut stats = LoopStats::default();
    let mut tape = Tape::<f32>::new();
    for epoch in 0..o.epochs {
        let t0 = Instant::now();
        perm.shuffle(&mut rng);
        for (step, idx) in perm.chunks(o.batch).enumerate() {
            if o.max_batches.is_some_and(|m| step >= m) {
                break;
            }
            if epoch == 0 {
                if let Some(w) = &o.count_allocs {
                    if step == w.start {
                        let (a, b) = allocs();
                        stats.allocs = Some((a, b, 0));
                    } else if step == w.end {
                        if let Some((a0, b0, _)) = stats.allocs {
                            let (a, b) = allocs();
                            stats.allocs = Some((a - a0, b - b0, w.len()));
                        }
                    }
                }
            }
            let tp = o.phases.then(Instant::now);
            let xb = x.select_rows(idx)?;
            if let Target::Classes(y) = target {
                labels.clear();
                labels.extend(idx.iter().map(|&i| y[i]));
            }
            let t1 = o.phases.then(Instant::now);
            let mut t2 = None;
            let grads = {
                let xt = tape.constant(xb);
                let out = net.forward(xt)?;
                let loss = match target {
                    Target::Classes(_) => out.cross_entropy_with_logits(&labels)?,
                    Target::Input => out.mse(xt)?,
                };
                stats.last_loss = loss.item()?;
                if o.phases {
                    t2 = Some(Instant::now());
                }
                loss.backward()?
            };
            let t3 = o.phases.then(Instant::now);
            tape.reset();
            opt.step(net, &grads)?;
            drop(grads);
            if let (Some(tp), Some(t1), Some(t2), Some(t3)) = (tp, t1, t2, t3) {
                let t4 = Instant::now();
                stats.phases[0] += t1 - tp;
                stats.phases[1] += t2 - t1;
                stats.phases[2] += t3 - t2;
                stats.phases[3] += t4 - t3;
                stats.step_s.push((t4 - tp).as_secs_f64());
            }
            stats.steps += 1;
        }
        stats.epoch_s.push(t0.elapsed().as_secs_f64());
    }
    // a window that ran past the epoch's end (a shortened run) counts nothing
    if stats.allocs.is_some_and(|(_, _, s)| s == 0) {
        stats.allocs = None;
    }
    Ok(stats)
}

fn print_phases(workload: &str, s: &LoopStats) {
    let total: f64 = s.phases.iter().map(Duration::as_secs_f64).sum();
    if total == 0.0 {
        return;
    }
    let names = ["batch gather", "forward+loss", "backward", "reset+update"];
    let parts: Vec<String> = names
        .iter()
        .zip(&s.phases)
        .map(|(n, d)| {
            format!(
                "{n} {:.1} us ({:.0}%)",
                d.as_secs_f64() / s.steps as f64 * 1e6,
                100.0 * d.as_secs_f64() / total
            )
        })
        .collect();
    info(format!(
        "{SYSTEM} {workload} per step ({} steps): {}",
        s.steps,
        parts.join(", ")
    ));
    // The fastest steps ran without interruption: on a busy machine the 10th percentile is a
    // steadier estimate of the undisturbed step time than the mean.
    let mut t = s.step_s.clone();
    t.sort_by(f64::total_cmp);
    let pct = |q: f64| t[((t.len() - 1) as f64 * q).round() as usize] * 1e6;
    if !t.is_empty() {
        info(format!(
            "{SYSTEM} {workload} step time: p10 {:.1} us, median {:.1} us, p90 {:.1} us",
            pct(0.1),
            pct(0.5),
            pct(0.9)
        ));
    }
}

fn report_memory(workload: &str, s: &LoopStats, rss_reset: bool) {
    if let Some((a, bytes, steps)) = s.allocs {
        result(workload, "allocs_per_step", a as f64 / steps as f64);
        info(format!(
            "{SYSTEM} {workload} heap bytes allocated per step {:.0} (steps in window: {steps})",
            bytes as f64 / steps as f64
        ));
    }
    if let Some(mb) = peak_rss_mb() {
        result(workload, "peak_rss_mb", mb);
        if !rss_reset {
            info("peak RSS could not be reset between workloads: it covers the whole process");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Workloads

const BATCH: usize = 128;
/// The epochs of the mlp and ae workloads.
const EPOCHS: usize = 5;
const SEED: u32 = 0;
const XOR_SEED: u32 = 0;

fn bench_sgemm() -> tapegrad::Result<()> {
    const WARMUP: usize = 3;
    const REPS: usize = 20;
    let mut rng = tapegrad::rng(u64::from(SEED));
    for (metric, (m, k, n)) in [
        ("gflops_1024", (1024, 1024, 1024)),
        ("gflops_128x784x128", (128, 784, 128)),
    ] {
        let a = Array::<f32>::rand_uniform([m, k], 0.0, 1.0, &mut rng);
        let b = Array::<f32>::rand_uniform([k, n], 0.0, 1.0, &mut rng);
        let flop = 2.0 * (m * k * n) as f64;
        // Through the public API: a matmul recorded on a tape, which allocates its [m, n]
        // output. The operands are bound as parameters (shared with the tape, not copied).
        let (pa, pb) = (Param::new(a), Param::new(b));
        let mut tape = Tape::<f32>::new();
        let mut best = f64::INFINITY;
        for rep in 0..WARMUP + REPS {
            {
                let (at, bt) = (tape.param(&pa), tape.param(&pb));
                let t0 = Instant::now();
                let c = at.matmul(bt)?;
                let dt = t0.elapsed().as_secs_f64();
                std::hint::black_box(c.id());
                if rep >= WARMUP {
                    best = best.min(dt);
                }
            }
            tape.reset();
        }
        result("sgemm", metric, flop / best / 1e9);
        // For reference, the `gemm` crate (the GEMM the core used before its own kernel) into
        // a preallocated output, as `torch.mm(a, b, out=c)` does.
        let mut c = vec![0f32; m * n];
        let mut best = f64::INFINITY;
        for rep in 0..WARMUP + REPS {
            let t0 = Instant::now();
            raw_gemm(m, k, n, pa.value().data(), pb.value().data(), &mut c);
            let dt = t0.elapsed().as_secs_f64();
            std::hint::black_box(&c);
            if rep >= WARMUP {
                best = best.min(dt);
            }
        }
        info(format!(
            "{SYSTEM} sgemm {metric}: the gemm crate called directly (no tape, output reused) {} GFLOP/s",
            g6(flop / best / 1e9)
        ));
    }
    Ok(())
}

/// `c = a · b` for row-major `a [m, k]`, `b [k, n]`, `c [m, n]`, with the `gemm` crate on the
/// core's thread count (its own Rayon threads from 2^18 multiply-adds).
fn raw_gemm(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    assert!(a.len() == m * k && b.len() == k * n && c.len() == m * n);
    let threads = tapegrad::num_threads();
    let par = if threads > 1 && m * n * k >= 1 << 18 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    #[allow(unsafe_code)]
    // SAFETY: the assert above proves each row-major operand holds exactly the elements gemm
    // reads or writes with these dims and strides; `c` is borrowed mutably, so nothing aliases.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            k as isize,
            b.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}

/// The share of rows of `x` whose largest output is their label, evaluated `chunk` rows at a
/// time.
fn test_accuracy(
    net: &dyn Module<f32>,
    x: &Array<f32>,
    y: &[usize],
    chunk: usize,
) -> tapegrad::Result<f64> {
    let rows: Vec<usize> = (0..y.len()).collect();
    let mut hits = 0;
    for part in rows.chunks(chunk) {
        let pred = predict(net, &x.select_rows(part)?)?.argmax_rows()?;
        hits += pred.iter().zip(part).filter(|(p, &i)| **p == y[i]).count();
    }
    Ok(hits as f64 / y.len() as f64)
}

/// How a classification workload (mlp, cnn, wide) trains and is evaluated.
struct Classify<'a> {
    workload: &'a str,
    /// Training and test images in the model's input layout.
    train_x: &'a Array<f32>,
    test_x: &'a Array<f32>,
    batch: usize,
    /// The standard's epoch count.
    epochs: usize,
    /// Test rows per forward pass.
    eval_chunk: usize,
}

/// Adam and softmax cross-entropy training as the peers' `classify`, then the test accuracy:
/// prints `epoch_s`, `test_acc` and the memory figures.
fn classify(
    c: &Classify<'_>,
    net: &mut dyn Module<f32>,
    data: &Mnist,
    args: &Args,
    rss_reset: bool,
) -> tapegrad::Result<()> {
    let w = c.workload;
    let mut opt = adam();
    let opts = LoopOpts::mnist(args, c.batch, c.epochs);
    let s = train_epochs(
        net,
        &mut opt,
        c.train_x,
        Target::Classes(&data.train.y),
        &opts,
    )?;
    let acc = test_accuracy(net, c.test_x, &data.test.y, c.eval_chunk)?;
    info(format!(
        "{SYSTEM} {w} epoch times {} (last batch loss {:.4})",
        fmt_times(&s.epoch_s),
        s.last_loss
    ));
    result(w, "epoch_s", median(later_epochs(&s.epoch_s)));
    result(w, "test_acc", acc);
    report_memory(w, &s, rss_reset);
    if args.phases {
        print_phases(w, &s);
    }
    Ok(())
}

fn bench_mlp(data: &Mnist, args: &Args, rss_reset: bool) -> tapegrad::Result<()> {
    let mut net = mlp(
        &[784, 128, 64, 10],
        SEED,
        Activation::Relu,
        Activation::Identity,
    )?;
    let c = Classify {
        workload: "mlp",
        train_x: &data.train.x,
        test_x: &data.test.x,
        batch: BATCH,
        epochs: EPOCHS,
        eval_chunk: data.test.y.len(),
    };
    classify(&c, &mut net, data, args, rss_reset)
}

/// The wide workload: 784-1024-1024-10 ReLU, batch 256, 2 epochs.
fn bench_wide(data: &Mnist, args: &Args, rss_reset: bool) -> tapegrad::Result<()> {
    let mut net = mlp(
        &[784, 1024, 1024, 10],
        SEED,
        Activation::Relu,
        Activation::Identity,
    )?;
    let c = Classify {
        workload: "wide",
        train_x: &data.train.x,
        test_x: &data.test.x,
        batch: 256,
        epochs: 2,
        eval_chunk: data.test.y.len(),
    };
    classify(&c, &mut net, data, args, rss_reset)
}

/// As the peers' `common.init_cnn(seed)`: one `RandomState(seed)` draws, in order, conv1 W
/// `[6,1,5,5]` and b, conv2 W `[16,6,5,5]` and b, then the dense layers 400-120-84-10 (W
/// `[in, out]` then b), each uniform in ±1/sqrt(fan_in) (fan_in = C_in·kH·kW for a conv). The
/// LeNet-5-like net: conv 5x5 pad 2, ReLU, max-pool 2; conv 5x5, ReLU, max-pool 2; flatten; the
/// fused 400-120-84-10 ReLU MLP.
fn lenet(seed: u32) -> tapegrad::Result<Sequential<f32>> {
    let mut rs = NumpyRandomState::new(seed);
    let mut draw = |dims: &[usize], fan_in: usize| {
        let bound = 1.0 / (fan_in as f64).sqrt();
        Array::from_vec(rs.uniform_f32(-bound, bound, dims.iter().product()), dims)
    };
    let mut conv = |c_in: usize, c_out: usize, pad: usize| -> tapegrad::Result<Conv2d<f32>> {
        let w = draw(&[c_out, c_in, 5, 5], c_in * 25)?;
        let b = draw(&[c_out], c_in * 25)?;
        Conv2d::from_arrays(w, Some(b), Conv2dOptions::default().padding(pad))
    };
    let (conv1, conv2) = (conv(1, 6, 2)?, conv(6, 16, 0)?);
    let sums: Vec<String> = [&conv1, &conv2]
        .iter()
        .map(|c| {
            format!(
                "{:.6}",
                c.weight()
                    .value()
                    .data()
                    .iter()
                    .map(|&v| f64::from(v))
                    .sum::<f64>()
            )
        })
        .collect();
    info(format!(
        "{SYSTEM} cnn init check: conv1 W starts {:?}, sums of conv1 W and conv2 W {} \
         (expected 0.0195254, 0.0860757; 0.616858 1.71261)",
        &conv1.weight().value().data()[..2],
        sums.join(" ")
    ));
    let dense = [400, 120, 84, 10]
        .windows(2)
        .map(|io| {
            let w = draw(&[io[0], io[1]], io[0])?;
            let b = draw(&[io[1]], io[0])?;
            Dense::from_arrays(w, Some(b))
        })
        .collect::<tapegrad::Result<Vec<_>>>()?;
    info(format!(
        "{SYSTEM} cnn init check: sum of fc1 W {:.6} (expected -9.30483)",
        dense[0]
            .weight()
            .value()
            .data()
            .iter()
            .map(|&v| f64::from(v))
            .sum::<f64>()
    ));
    Ok(Sequential::new()
        .with(conv1)
        .with(Activation::Relu)
        .with(MaxPool2d::new(2))
        .with(conv2)
        .with(Activation::Relu)
        .with(MaxPool2d::new(2))
        .with(Flatten)
        .with(Mlp::from_layers(
            dense,
            Activation::Relu,
            Activation::Identity,
        )?))
}

/// The cnn workload: [`lenet`] on NCHW `[N, 1, 28, 28]` images, batch 128, 3 epochs, the test
/// set evaluated 1000 images at a time.
fn bench_cnn(data: &Mnist, args: &Args, rss_reset: bool) -> tapegrad::Result<()> {
    let mut net = lenet(SEED)?;
    let nchw = |x: &Array<f32>| x.reshape([x.dims()[0], 1, 28, 28]);
    let (train_x, test_x) = (nchw(&data.train.x)?, nchw(&data.test.x)?);
    let c = Classify {
        workload: "cnn",
        train_x: &train_x,
        test_x: &test_x,
        batch: 128,
        epochs: 3,
        eval_chunk: 1000,
    };
    classify(&c, &mut net, data, args, rss_reset)
}

fn bench_ae(data: &Mnist, args: &Args, rss_reset: bool) -> tapegrad::Result<()> {
    let mut net = mlp(
        &[784, 256, 64, 256, 784],
        SEED,
        Activation::Relu,
        Activation::Sigmoid,
    )?;
    let test_mse = |net: &Mlp<f32>| -> tapegrad::Result<f64> {
        let pred = predict(net, &data.test.x)?;
        let d: f64 = pred
            .data()
            .iter()
            .zip(data.test.x.data())
            .map(|(&p, &t)| f64::from(p - t).powi(2))
            .sum();
        Ok(d / pred.numel() as f64)
    };
    info(format!(
        "{SYSTEM} ae initial test_mse {:.5}",
        test_mse(&net)?
    ));
    let mut opt = adam();
    let opts = LoopOpts::mnist(args, BATCH, EPOCHS);
    let s = train_epochs(&mut net, &mut opt, &data.train.x, Target::Input, &opts)?;
    info(format!(
        "{SYSTEM} ae epoch times {} (last batch loss {:.5})",
        fmt_times(&s.epoch_s),
        s.last_loss
    ));
    result("ae", "epoch_s", median(later_epochs(&s.epoch_s)));
    result("ae", "test_mse", test_mse(&net)?);
    report_memory("ae", &s, rss_reset);
    if args.phases {
        print_phases("ae", &s);
    }
    Ok(())
}

fn bench_xor() -> tapegrad::Result<()> {
    const STEPS: usize = 5000;
    let x = Array::from_vec(vec![0., 0., 0., 1., 1., 0., 1., 1.], [4, 2])?;
    let y = Array::from_vec(vec![0., 1., 1., 0.], [4, 1])?;
    let mut net = mlp(&[2, 4, 1], XOR_SEED, Activation::Tanh, Activation::Sigmoid)?;
    let mut opt = Sgd::new(0.5);
    let mut tape = Tape::<f32>::new();
    let mut last = 0.0;
    let t0 = Instant::now();
    for _ in 0..STEPS {
        let grads = {
            let xt = tape.constant(x.clone());
            let yt = tape.constant(y.clone());
            let loss = net.forward(xt)?.mse(yt)?;
            last = loss.item()?;
            loss.backward()?
        };
        tape.reset();
        opt.step(&mut net, &grads)?;
    }
    let total = t0.elapsed().as_secs_f64();
    let pred = predict(&net, &x)?;
    let final_loss: f64 = pred
        .data()
        .iter()
        .zip(y.data())
        .map(|(&p, &t)| f64::from(p - t).powi(2))
        .sum::<f64>()
        / 4.0;
    let preds: Vec<String> = pred.data().iter().map(|p| format!("{p:.3}")).collect();
    info(format!(
        "{SYSTEM} xor loss at last step {}, predictions {}",
        g6(f64::from(last)),
        preds.join(" ")
    ));
    result("xor", "total_s", total);
    result("xor", "final_loss", final_loss);
    Ok(())
}

fn bench_tiny() -> tapegrad::Result<()> {
    // The peers' `tiny_data`: RandomState(1).rand(1437, 64), then randint(0, 10, 1437).
    let mut rs = NumpyRandomState::new(SEED + 1);
    let x: Vec<f32> = (0..1437 * 64).map(|_| rs.next_f64() as f32).collect();
    let x = Array::from_vec(x, [1437, 64])?;
    let y: Vec<usize> = (0..1437).map(|_| rs.randint(10) as usize).collect();
    let mut net = mlp(
        &[64, 64, 32, 10],
        SEED,
        Activation::Relu,
        Activation::Identity,
    )?;
    let mut opt = Sgd::new(0.01);
    let opts = LoopOpts {
        batch: 32,
        epochs: 50,
        seed: u64::from(SEED),
        max_batches: None,
        phases: false,
        count_allocs: None,
    };
    let t0 = Instant::now();
    let s = train_epochs(&mut net, &mut opt, &x, Target::Classes(&y), &opts)?;
    let total = t0.elapsed().as_secs_f64();
    let tape = Tape::new();
    let loss = net
        .forward(tape.constant(x))?
        .cross_entropy_with_logits(&y)?
        .item()?;
    info(format!(
        "{SYSTEM} tiny final train loss {loss:.4} ({} steps)",
        s.steps
    ));
    result("tiny", "total_s", total);
    Ok(())
}

/// The hvp workload: Hessian-vector products `H·v` of the mean cross-entropy of the
/// 784-128-64-10 tanh net (the mlp workload's initial weights) with respect to all six weight
/// and bias arrays, `v` fixed (`common.hvp_vector`: `RandomState(2)`, U(-1, 1), W then b per
/// layer). Product `i` uses training rows `128i .. 128i+127` in file order. Reverse over
/// reverse: `grad(loss, params, create_graph)`, then the gradient of `Σ ⟨g, v⟩` ([`hvp`]).
fn bench_hvp(data: &Mnist, args: &Args) -> tapegrad::Result<()> {
    const SIZES: [usize; 4] = [784, 128, 64, 10];
    const BATCH: usize = 128;
    let (products, repeats, warmup) = (args.hvp_products, 5, 10);
    let net = mlp(&SIZES, SEED, Activation::Tanh, Activation::Identity)?;
    let mut rs = NumpyRandomState::new(2);
    let mut v = Vec::new();
    for io in SIZES.windows(2) {
        let w = rs.uniform_f32(-1.0, 1.0, io[0] * io[1]);
        v.push(Arc::new(Array::from_vec(w, [io[0], io[1]])?));
        v.push(Arc::new(Array::from_vec(
            rs.uniform_f32(-1.0, 1.0, io[1]),
            [io[1]],
        )?));
    }
    let needed = products.max(warmup);
    if data.train.x.dims()[0] < needed * BATCH {
        return Err(tapegrad::Error::invalid(
            "bench hvp",
            format!("{} products need {} training rows", needed, needed * BATCH),
        ));
    }
    // staged before the clock starts, as the peers do
    let batches = (0..needed)
        .map(|i| {
            let rows: Vec<usize> = (i * BATCH..(i + 1) * BATCH).collect();
            Ok((
                Arc::new(data.train.x.select_rows(&rows)?),
                data.train.y[i * BATCH..(i + 1) * BATCH].to_vec(),
            ))
        })
        .collect::<tapegrad::Result<Vec<_>>>()?;
    let mut tape = Tape::<f32>::new();
    let mut product = |i: usize| -> tapegrad::Result<Vec<Array<f32>>> {
        let (x, y) = &batches[i];
        let out = {
            let params: Vec<_> = net
                .named_params()
                .into_iter()
                .map(|(_, p)| tape.param(p))
                .collect();
            let vs: Vec<_> = v
                .iter()
                .map(|a| tape.constant_shared(Arc::clone(a)))
                .collect();
            let loss = net
                .forward(tape.constant_shared(Arc::clone(x)))?
                .cross_entropy_with_logits(y)?;
            hvp(loss, &params, &vs, false)?
                .into_iter()
                .zip(&v)
                .map(|(h, vi)| match h {
                    Some(h) => h.to_array(),
                    None => Array::zeros(vi.shape()), // H·v is identically 0 there
                })
                .collect()
        };
        tape.reset();
        Ok(out)
    };
    let hv = product(0)?;
    let norm = hv
        .iter()
        .flat_map(|a| a.data())
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt();
    for i in 0..warmup {
        product(i)?;
    }
    let mut times = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let t0 = Instant::now();
        for i in 0..products {
            product(i)?;
        }
        times.push(t0.elapsed().as_secs_f64() / products as f64);
    }
    info(format!(
        "{SYSTEM} hvp s/product per repeat {}",
        times
            .iter()
            .map(|t| format!("{t:.5}"))
            .collect::<Vec<_>>()
            .join(" ")
    ));
    result("hvp", "hvp_s", median(&times));
    result("hvp", "hvp_norm", norm);
    Ok(())
}

fn later_epochs(t: &[f64]) -> &[f64] {
    if t.len() > 1 {
        &t[1..]
    } else {
        t
    }
}

fn fmt_times(t: &[f64]) -> String {
    t.iter()
        .map(|t| format!("{t:.3}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() -> std::process::ExitCode {
    match run(Args::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    if let Some(bad) = args
        .workloads
        .iter()
        .find(|w| !ALL_WORKLOADS.contains(&w.as_str()))
    {
        return Err(format!(
            "unknown workload {bad:?}; choose from {}",
            ALL_WORKLOADS.join(",")
        )
        .into());
    }
    if args.threads == 0 || args.epochs == Some(0) {
        return Err("--threads and --epochs must be at least 1".into());
    }
    SHORTENED.store(
        args.epochs.is_some() || args.max_batches.is_some(),
        Ordering::Relaxed,
    );
    tapegrad::set_num_threads(args.threads);
    if let Some(path) = args.kernel {
        let got = tapegrad::set_kernel_path(path);
        if got != path {
            info(format!(
                "this CPU lacks the {path} kernel path; using {got}"
            ));
        }
    }
    if let Some(t) = args.parallel_threshold {
        tapegrad::set_parallel_threshold(t);
    }
    let wants = |w: &str| args.workloads.iter().any(|x| x == w);
    let avx512 = {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("avx512f")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    };
    info(format!(
        "{SYSTEM} {} threads={} kernel={} avx512f={avx512} debug_assertions={} loadavg={}",
        env!("CARGO_PKG_VERSION"),
        tapegrad::num_threads(),
        tapegrad::kernel_path(),
        cfg!(debug_assertions),
        loadavg()
    ));
    if cfg!(debug_assertions) {
        info("WARNING: a debug build; run with --release for meaningful numbers");
    }
    let data = if ["mlp", "ae", "hvp", "cnn", "wide"].iter().any(|w| wants(w)) {
        let loaded = find_mnist(args.data_dir.as_deref())
            .and_then(|d| mnist::load(&d).map_err(|e| e.to_string()));
        match loaded {
            Ok(d) => Some(d),
            Err(e) => {
                eprintln!("bench: {e}; skipping mlp, ae, hvp, cnn and wide");
                info(format!("{e}; skipping mlp, ae, hvp, cnn and wide"));
                None
            }
        }
    } else {
        None
    };
    for w in &args.workloads {
        let rss_reset = reset_peak_rss();
        match (w.as_str(), &data) {
            ("sgemm", _) => bench_sgemm()?,
            ("mlp", Some(d)) => bench_mlp(d, &args, rss_reset)?,
            ("ae", Some(d)) => bench_ae(d, &args, rss_reset)?,
            ("xor", _) => bench_xor()?,
            ("tiny", _) => bench_tiny()?,
            ("hvp", Some(d)) => bench_hvp(d, &args)?,
            ("cnn", Some(d)) => bench_cnn(d, &args, rss_reset)?,
            ("wide", Some(d)) => bench_wide(d, &args, rss_reset)?,
            _ => {} // an MNIST workload without data: already reported
        }
    }
    Ok(())
}
