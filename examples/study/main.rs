//! The reports' experiments as one program: each study trains many small networks, in
//! parallel over the machine's cores, and prints a table (median, interquartile range, min and
//! max of the final metric per setting, and the time per run and per epoch), writes a CSV and
//! draws a PNG.
//!
//! ```text
//! cargo run --release --example study -- <NAME> [--runs N] [--epochs E] [--data-dir D] [--out O] [--quick]
//! cargo run --release --example study -- activations --data-dir /path/to/mnist
//! cargo run --release --example study -- latent --quick
//! cargo run --release --example study -- --help
//! ```
//!
//! # The studies
//!
//! The four MLP studies share the reports' setup: a 784-64-32-10 MLP (ReLU) on MNIST, softmax
//! cross-entropy, Adam (lr 1e-3), batches of 128, 50 epochs, 15 runs per setting; each study
//! varies one thing. The final metric is the test accuracy, measured once at the end of each
//! run. 10% of the training images (stratified, seed 0) are held out as the validation set,
//! so nothing is ever chosen by the test set; the models train on the other 90%.
//!
//! - `gradcheck`: the gradients the tape computes against central finite differences (f64),
//!   per parameter of the MLP (on 16 training images, cross-entropy loss): the norm of the
//!   tape gradient, of the finite-difference estimate, and their relative error
//!   `|tape - fd| / max(|tape|, |fd|)`. A parameter with more than 5,000 elements is checked on
//!   a seeded sample of 5,000 of them (the norms are over the checked elements). Table, CSV
//!   and a bar chart of the relative errors on a log scale. It takes seconds and is recomputed
//!   each time (it has no runs to resume).
//! - `activations`: ReLU, sigmoid, tanh, GELU and SiLU in the hidden layers; a box plot of the
//!   test accuracy.
//! - `batch-size`: batches of 8, 16, 32, 64, 128 and 256; a box plot, and the seconds per
//!   epoch of each (one thread per run).
//! - `hidden-size`: both hidden layers 16, 32, 64 or 128 wide (784-h-h-10); a box plot.
//! - `optimizers`: SGD (lr 0.01), SGD with momentum 0.9 (lr 0.01), Adam (1e-3), AdamW (1e-3,
//!   weight decay 0.01) and RMSProp (1e-3, alpha 0.99); a box plot of the test accuracy and the
//!   median validation loss per epoch (training loss dashed).
//! - `latent`: autoencoders (ReLU, sigmoid output, Adam 1e-3, batches of 128) with a code of 4,
//!   8, 16, 32 or 64 numbers and a depth of 1 to 5: the encoder has `depth` hidden layers of
//!   128 units and the decoder mirrors it, so depth 1 is 784-128-L-128-784. Each is trained on
//!   MSE and on binary cross-entropy; the final metric is the test reconstruction loss (in
//!   the loss it was trained on). Two heatmaps (latent × depth), one per loss. 50 models at
//!   15 runs each is too much, so the defaults are 1 run and 10 epochs per model.
//! - `tsne`: the autoencoder example's MNIST autoencoder (784-512-256-128-4, 10 epochs) maps
//!   the first 5,000 test images to 4-number codes, and t-SNE written on the tape
//!   (`tapegrad::nn::tsne`, perplexity 30, 1,000 iterations) maps the codes to 2-D: a scatter
//!   coloured by digit, the leave-one-out 5-NN accuracy of the labels in the codes and in the
//!   map, and the codes, labels and map as `.npy` files for `scripts/tsne_compare.py`
//!   (scikit-learn's t-SNE on the same codes). One run; `--runs` does not apply.
//!
//! `--quick` is a small version: 2 runs of 2 epochs (`latent`: 1 run of 1 epoch), on at most
//! 6,000 training images when MNIST is given; on the digits, whose epochs are 11 steps, 2 runs
//! of 20 epochs (`latent`: 1 run of 10). Without MNIST (no `--data-dir` and no
//! `$TAPEGRAD_DATA`) every study uses the bundled 8x8 digits (64 inputs instead of 784).
//!
//! # Output and resuming
//!
//! `--out DIR` (default `out/study/`) receives `NAME.csv` and `NAME.png` (and
//! `optimizers_curves.png`). Each finished run's row is appended to the CSV and flushed at
//! once; a study started again reads the CSV back and only computes the runs missing from it,
//! so an interrupted study resumes where it stood (a torn last line is cut off). A row is
//! reused only by a run with the same study, setting, run number, seed, data set, epochs,
//! batch size and configuration; rows made otherwise stay in the file and are ignored.
//!
//! Run `r` of a setting gets a seed derived from (study, setting, `r`), so a resumed study
//! gives the numbers an uninterrupted one gives. Runs go in parallel, one worker per core;
//! when the runs outnumber the cores each run's kernels use one thread
//! (`tapegrad::set_num_threads(1)`).
//!
//! # Adding a study
//!
//! A study is one file and one variant of [`StudyName`]: write `examples/study/NAME.rs` with
//! `pub fn run(ctx: &Context) -> Result<Report>` (build a [`runner::Plan`], call
//! [`runner::execute`] with a closure that trains one run, summarize with
//! [`summary::Summary::of`], draw with [`figures`]), add `mod NAME;`, the variant and its arm
//! in [`run`].

#[allow(unused_imports)] // the progress bar is for single runs
#[path = "../common/mod.rs"]
mod common;
mod data;
mod figures;
mod results;
mod runner;
mod summary;

mod activations;
mod batch_size;
mod gradcheck;
mod hidden_size;
mod latent;
mod mlp;
mod optimizers;
mod tsne;

use clap::{Parser, ValueEnum};
use common::images::ImageSource;
use common::CommonArgs;
use std::path::PathBuf;
use tapegrad::{Error, Result};

pub use summary::Report;

/// The studies this program runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StudyName {
    /// Per-parameter gradient check of the MLP: tape against finite differences (f64)
    Gradcheck,
    /// ReLU, sigmoid, tanh, GELU, SiLU: box plot of test accuracy
    Activations,
    /// Batch sizes 8 to 256: box plot, and time per epoch
    BatchSize,
    /// Hidden layers 16, 32, 64, 128 wide: box plot
    HiddenSize,
    /// SGD, SGD+momentum, Adam, AdamW, RMSProp: box plot and median loss curves
    Optimizers,
    /// Autoencoders, latent 4..64 x depth 1..5, MSE and BCE: two heatmaps of test loss
    Latent,
    /// t-SNE of the autoencoder's 4-number codes of 5,000 test digits: scatter by digit
    Tsne,
}

impl StudyName {
    /// The name on the command line and in the files (`batch-size`).
    pub fn name(self) -> &'static str {
        match self {
            StudyName::Gradcheck => "gradcheck",
            StudyName::Activations => "activations",
            StudyName::BatchSize => "batch-size",
            StudyName::HiddenSize => "hidden-size",
            StudyName::Optimizers => "optimizers",
            StudyName::Latent => "latent",
            StudyName::Tsne => "tsne",
        }
    }
}

/// Runs one of the reports' experiments: many small networks, a table, a CSV and a figure.
#[derive(Parser, Debug, Clone)]
#[command(
    long_about = None,
    after_help = "Defaults: the MLP studies (activations, batch-size, hidden-size, optimizers) \
    run 15 runs of 50 epochs per setting; latent trains 50 autoencoders (latent 4..64 x depth \
    1..5, MSE and BCE), 1 run of 10 epochs each, depth = hidden layers of 128 units in the \
    encoder (the decoder mirrors them). --quick: 2 runs of 2 epochs (latent: 1 run of 1), at \
    most 6,000 MNIST training images; on the digits 20 epochs (latent: 10). Without MNIST the bundled 8x8 digits are used. A study \
    resumes from its CSV: runs already in it are not computed again."
)]
pub struct Args {
    /// The study to run
    #[arg(value_enum)]
    pub study: StudyName,
    /// Runs per setting [default: 15; latent 1; --quick 2, latent 1]
    #[arg(long, value_name = "N")]
    pub runs: Option<usize>,
    /// Training epochs of every run [default: 50; latent 10; --quick 2 (latent 1), on the
    /// digits 20 (latent 10)]
    #[arg(long, value_name = "E")]
    pub epochs: Option<usize>,
    /// A small version that finishes in under a minute (see below)
    #[arg(long)]
    pub quick: bool,
    /// `--data-dir` and `--digits`.
    #[command(flatten)]
    pub source: ImageSource,
    /// `--out` and `--quiet`.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// What every study gets: the flags, the output folder, whether to print progress.
pub struct Context<'a> {
    /// The command line.
    pub args: &'a Args,
    /// The output folder (created).
    pub out: PathBuf,
    /// Whether to print a line per finished run.
    pub progress: bool,
}

impl Context<'_> {
    /// `--runs`, else `full` (or `quick` with `--quick`).
    pub fn runs(&self, full: usize, quick: usize) -> usize {
        self.args
            .runs
            .unwrap_or(if self.args.quick { quick } else { full })
    }

    /// `--epochs`, else `full` (or `quick` with `--quick`).
    pub fn epochs(&self, full: usize, quick: usize) -> usize {
        self.args
            .epochs
            .unwrap_or(if self.args.quick { quick } else { full })
    }

    /// `out/NAME.EXT`.
    pub fn file(&self, name: &str, ext: &str) -> PathBuf {
        self.out.join(format!("{name}.{ext}"))
    }
}

/// Runs the study `args` names.
///
/// # Errors
/// [`Error::InvalidArgument`] for `--runs 0` or `--epochs 0`; MNIST's reading errors; an I/O
/// error naming a file that cannot be read or written (the CSV, a figure).
pub fn run(args: &Args) -> Result<Report> {
    if args.runs == Some(0) || args.epochs == Some(0) {
        return Err(Error::invalid(
            "study",
            "--runs and --epochs must be at least 1",
        ));
    }
    let out = args
        .common
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out/study"));
    std::fs::create_dir_all(&out).map_err(|source| Error::Io {
        path: out.clone(),
        source,
    })?;
    let ctx = Context {
        args,
        out,
        progress: !args.common.quiet,
    };
    match args.study {
        StudyName::Gradcheck => gradcheck::run(&ctx),
        StudyName::Activations => activations::run(&ctx),
        StudyName::BatchSize => batch_size::run(&ctx),
        StudyName::HiddenSize => hidden_size::run(&ctx),
        StudyName::Optimizers => optimizers::run(&ctx),
        StudyName::Latent => latent::run(&ctx),
        StudyName::Tsne => tsne::run(&ctx),
    }
}

/// Parses `argv` and runs the study; returns the exit code: 0, or 1 after printing the error
/// (bad arguments included: an unknown study, `--runs 0`); `--help` prints and returns 0.
pub fn launch(argv: impl IntoIterator<Item = String>) -> u8 {
    let args = match Args::try_parse_from(argv) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return u8::from(e.use_stderr());
        }
    };
    let code = common::main_with(|| {
        let report = run(&args)?;
        println!("{report}");
        Ok(())
    });
    u8::from(code != std::process::ExitCode::SUCCESS)
}

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(launch(std::env::args()))
}
