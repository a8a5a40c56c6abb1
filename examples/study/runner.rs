//! Running a study's jobs ([`execute`]): every (setting, run) pair is one job with its own
//! seed ([`seed_of`]); the jobs not already in the CSV run in parallel, one worker thread per
//! core, and each finished run's row is appended and flushed at once.
//!
//! When the jobs are at least as many as the cores, each run's kernels stay on its own thread
//! (`tapegrad::set_num_threads(1)`); otherwise the cores are shared out between the runs. The
//! count is fixed by the whole plan (not by the jobs left), so a resumed study computes each
//! run with the thread count an uninterrupted one would have used, and gets the same numbers.

use super::results::{ResultsFile, Row};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;
use tapegrad::nn::mix_seed;
use tapegrad::{Error, Result};

/// One setting of a study: what varies, and what else makes its runs.
#[derive(Clone, Debug)]
pub struct Setting {
    /// The label in tables and figures (`ReLU`, `batch 32`).
    pub label: String,
    /// Rows per training step.
    pub batch: usize,
    /// Everything else that makes a run (kept in each CSV row, so that only rows made the same
    /// way are reused).
    pub config: String,
}

/// What one run measured.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// The final metric (test accuracy, or test loss).
    pub metric: f64,
    /// Seconds of training (without the final test), for the time per epoch.
    pub train_seconds: f64,
    /// The training loss per epoch.
    pub train_curve: Vec<f64>,
    /// The validation loss per epoch (empty when not measured).
    pub val_curve: Vec<f64>,
}

/// The jobs of a study.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The study's name (also the CSV's `study` column and part of every seed).
    pub study: &'static str,
    /// The settings compared.
    pub settings: Vec<Setting>,
    /// Runs per setting.
    pub runs: usize,
    /// Training epochs of every run.
    pub epochs: usize,
    /// The data set's name.
    pub dataset: String,
}

/// What [`execute`] returns: every run's row, grouped by setting (in the plan's order), and
/// how many rows were reused, computed and ignored.
#[derive(Clone, Debug)]
pub struct Results {
    /// `rows[s]` holds setting `s`'s runs, by run number.
    pub rows: Vec<Vec<Row>>,
    /// Rows read back from the CSV instead of being computed.
    pub reused: usize,
    /// Runs computed now.
    pub computed: usize,
    /// Rows of the CSV made with other settings (left in the file, not used).
    pub ignored: usize,
    /// Whether a torn last line of the CSV was cut off.
    pub recovered_torn_line: bool,
    /// Runs that ran at the same time, and kernel threads per run.
    pub workers: (usize, usize),
}

/// A stable 64-bit hash of `s` (FNV-1a), so seeds do not change between builds.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The seed of run `run` of the setting labelled `setting` of `study`: the same on every
/// invocation, and independent of the other settings and of the order the runs finish in.
pub fn seed_of(study: &str, setting: &str, run: usize) -> u64 {
    mix_seed(fnv(&format!("{study}/{setting}")), run as u64)
}

/// The machine's cores.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs every job of `plan` whose row is not in the CSV at `csv` yet, calling
/// `job(setting index, seed)` on worker threads, and returns all rows. With `progress`, prints
/// one line per finished run.
///
/// # Errors
/// The CSV's errors ([`ResultsFile::open`], [`ResultsFile::append`]) and the first error a
/// job returns (the other workers stop after their current run; the rows finished so far
/// stay in the CSV).
pub fn execute(
    plan: &Plan,
    csv: &Path,
    progress: bool,
    job: &(dyn Fn(usize, u64) -> Result<Outcome> + Sync),
) -> Result<Results> {
    if plan.runs == 0 {
        return Err(Error::invalid("study", "--runs must be at least 1"));
    }
    if plan.epochs == 0 {
        return Err(Error::invalid("study", "--epochs must be at least 1"));
    }
    let file = ResultsFile::open(csv)?;
    let key = |s: usize, run: usize| {
        let setting = &plan.settings[s];
        Row {
            study: plan.study.into(),
            setting: setting.label.clone(),
            run,
            seed: seed_of(plan.study, &setting.label, run),
            dataset: plan.dataset.clone(),
            epochs: plan.epochs,
            batch: setting.batch,
            config: setting.config.clone(),
            metric: f64::NAN,
            seconds: 0.0,
            seconds_per_epoch: 0.0,
            train_curve: Vec::new(),
            val_curve: Vec::new(),
        }
    };
    let mut rows: Vec<Vec<Option<Row>>> = vec![vec![None; plan.runs]; plan.settings.len()];
    let mut todo = Vec::new();
    let mut reused = 0;
    for (s, slots) in rows.iter_mut().enumerate() {
        for (run, slot) in slots.iter_mut().enumerate() {
            let k = key(s, run);
            match file.find(&k) {
                Some(found) => {
                    *slot = Some(found.clone());
                    reused += 1;
                }
                None => todo.push(k),
            }
        }
    }
    let ignored = file
        .rows
        .iter()
        .filter(|r| {
            !(0..plan.settings.len()).any(|s| (0..plan.runs).any(|n| r.matches(&key(s, n))))
        })
        .count();
    let recovered_torn_line = file.recovered_torn_line;

    // One thread per run when the runs fill the cores; the count depends on the plan only.
    let total = plan.settings.len() * plan.runs;
    let cores = cores();
    let threads = (cores / total.max(1)).max(1);
    let workers = cores.min(todo.len()).max(1);
    let computed = todo.len();
    if !todo.is_empty() {
        let before = tapegrad::num_threads();
        tapegrad::set_num_threads(threads);
        let outcome = run_jobs(plan, &todo, workers, file, progress, job, &mut rows);
        tapegrad::set_num_threads(before);
        outcome?;
    }
    let rows = rows
        .into_iter()
        .map(|runs| {
            runs.into_iter()
                .map(|r| r.expect("every job ran"))
                .collect()
        })
        .collect();
    Ok(Results {
        rows,
        reused,
        computed,
        ignored,
        recovered_torn_line,
        workers: (workers, threads),
    })
}

/// Runs the jobs `todo` on `workers` threads, appending each row to `file` and putting it in
/// its slot of `rows`.
fn run_jobs(
    plan: &Plan,
    todo: &[Row],
    workers: usize,
    file: ResultsFile,
    progress: bool,
    job: &(dyn Fn(usize, u64) -> Result<Outcome> + Sync),
    rows: &mut [Vec<Option<Row>>],
) -> Result<()> {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let shared = Mutex::new((file, Vec::<Row>::new(), None::<Error>));
    let setting_of = |label: &str| {
        plan.settings
            .iter()
            .position(|s| s.label == label)
            .expect("a job of the plan")
    };
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(key) = todo.get(i) else { return };
                let start = Instant::now();
                let result = job(setting_of(&key.setting), key.seed);
                let seconds = start.elapsed().as_secs_f64();
                let mut guard = shared.lock().unwrap_or_else(|p| p.into_inner());
                let (file, done, error) = &mut *guard;
                let outcome = match result {
                    Ok(o) => o,
                    Err(e) => {
                        stop.store(true, Ordering::Relaxed);
                        error.get_or_insert(e);
                        return;
                    }
                };
                let row = Row {
                    metric: outcome.metric,
                    seconds,
                    seconds_per_epoch: outcome.train_seconds / plan.epochs as f64,
                    train_curve: outcome.train_curve,
                    val_curve: outcome.val_curve,
                    ..key.clone()
                };
                if let Err(e) = file.append(&row) {
                    stop.store(true, Ordering::Relaxed);
                    error.get_or_insert(e);
                    return;
                }
                if progress {
                    println!(
                        "  [{}/{}] {} run {}: {:.4} ({:.1} s)",
                        done.len() + 1,
                        todo.len(),
                        row.setting,
                        row.run + 1,
                        row.metric,
                        row.seconds
                    );
                }
                done.push(row);
            });
        }
    });
    let (_, done, error) = shared.into_inner().unwrap_or_else(|p| p.into_inner());
    for row in done {
        let s = setting_of(&row.setting);
        let run = row.run;
        rows[s][run] = Some(row);
    }
    error.map_or(Ok(()), Err)
}
