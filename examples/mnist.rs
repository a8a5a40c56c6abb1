//! MNIST with a 784-128-64-10 ReLU MLP, softmax cross-entropy and Adam (lr 1e-3, batches of
//! 128), trained by `tapegrad::train::fit`. The target: at least 97.5% test accuracy within 10
//! epochs.
//!
//! ```text
//! cargo run --release --example mnist -- --data-dir /path/to/mnist
//! TAPEGRAD_DATA=/path/to/mnist cargo run --release --example mnist
//! cargo run --release --example mnist -- --help
//! ```
//!
//! MNIST is not shipped with tapegrad: the folder (`--data-dir` or `$TAPEGRAD_DATA`) must hold
//! `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte` and
//! `t10k-labels-idx1-ubyte`, each possibly gzipped (`.gz`).
//!
//! The validation rows (`--val-fraction`, default 0.1: 6,000 of the 60,000 training images,
//! stratified and seeded) are carved from the training set and measured after every epoch for
//! the curves; the model trains on the other 54,000, and the test set is measured once, after
//! training.
//!
//! Prints each epoch's time, loss and validation accuracy, then the test set's per-class
//! precision, recall and F1 and its confusion matrix. Writes `confusion.png`,
//! `misclassified.png`, `curves.png` (loss and accuracy per epoch, train and validation) and
//! `history.csv` to `out/mnist/` (or `--out DIR`).
//! `--export-onnx PATH` also writes the trained model as an ONNX file (input `[batch, 784]`,
//! the logits out) for ONNX Runtime.

mod common;

use clap::Parser;
use common::images::{carve_validation, VAL_FRACTION};
use common::optimizer::OptKind;
use common::plot::{self, GridImage};
use common::{CommonArgs, Progress};
use std::fmt;
use std::path::PathBuf;
use std::time::Instant;
use tapegrad::data::{ClassificationReport, ConfusionMatrix, Dataset};
use tapegrad::nn::{save_onnx, Activation, Mlp};
use tapegrad::train::{evaluate, fit, predict, Data, FitConfig, History, Loss};
use tapegrad::{rng, Array, Error, Result};

/// An MLP classifier on MNIST: per-class metrics, confusion matrix, misclassified digits,
/// learning curves.
#[derive(Parser, Debug, Clone)]
#[command(long_about = None)]
pub struct Args {
    /// Training epochs
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Learning rate
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Rows per training step
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    /// Hidden layer sizes, comma-separated
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "128,64",
        value_name = "SIZES"
    )]
    pub hidden: Vec<usize>,
    /// Optimizer
    #[arg(long, value_enum, default_value_t = OptKind::Adam)]
    pub optimizer: OptKind,
    /// Seed of the weights, the shuffling and the validation split
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Fraction of the training rows held out as validation data (stratified, seeded): the
    /// curves use them, the test rows only the final judgement
    #[arg(long, default_value_t = VAL_FRACTION, value_name = "F")]
    pub val_fraction: f64,
    /// How many misclassified test digits to draw
    #[arg(long, default_value_t = 40, value_name = "N")]
    pub show_errors: usize,
    /// Folder with the four MNIST IDX files: train-images-idx3-ubyte, train-labels-idx1-ubyte,
    /// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each may be gzipped, .gz)
    /// [default: $TAPEGRAD_DATA]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// After training, write the model to PATH as ONNX (opset 17, input `[batch, 784]`; see
    /// docs/interop.md to run it in ONNX Runtime)
    #[arg(long, value_name = "PATH")]
    pub export_onnx: Option<PathBuf>,
    /// `--out` and `--quiet`.
    #[command(flatten)]
    pub common: CommonArgs,
}

impl Default for Args {
    fn default() -> Self {
        Args::parse_from(["mnist"])
    }
}

/// What a run measured and wrote.
#[derive(Clone, Debug)]
pub struct Report {
    /// The layer sizes.
    pub sizes: Vec<usize>,
    /// Training, validation and test rows.
    pub rows: (usize, usize, usize),
    /// Test accuracy after the last epoch.
    pub test_accuracy: f64,
    /// Test cross-entropy after the last epoch.
    pub test_loss: f64,
    /// Validation accuracy after the last epoch.
    pub val_accuracy: f64,
    /// Per-class precision, recall and F1 on the test set.
    pub classification: ClassificationReport,
    /// The test confusion matrix (rows: true digit, columns: predicted).
    pub confusion: ConfusionMatrix,
    /// The per-epoch history (validation: rows carved from the training set).
    pub history: History,
    /// The first epoch whose validation accuracy reached 97.5%, if any.
    pub target_epoch: Option<usize>,
    /// Seconds spent in `fit` (training and the per-epoch validation pass).
    pub train_seconds: f64,
    /// Seconds for the whole run (loading, training, evaluating, figures).
    pub total_seconds: f64,
    /// The files written.
    pub files: Vec<PathBuf>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (ntr, nva, nte) = self.rows;
        writeln!(
            f,
            "MLP {:?} on MNIST ({ntr} training / {nva} validation / {nte} test images)",
            self.sizes
        )?;
        writeln!(f)?;
        common::write_epoch_table(f, &self.history, "val")?;
        writeln!(f)?;
        writeln!(f, "per-class metrics on the test set:")?;
        writeln!(f, "{:.4}", self.classification)?;
        writeln!(
            f,
            "confusion matrix (rows: true digit, columns: predicted):"
        )?;
        writeln!(f, "{}", self.confusion)?;
        let right = self.confusion.total() - errors(&self.confusion);
        writeln!(
            f,
            "test accuracy {:.2}% ({right} of {nte}), test loss {:.4}",
            100.0 * self.test_accuracy,
            self.test_loss
        )?;
        writeln!(
            f,
            "validation accuracy {:.2}% after the last epoch",
            100.0 * self.val_accuracy
        )?;
        match self.target_epoch {
            Some(e) => writeln!(f, "97.5% validation accuracy first reached at epoch {e}")?,
            None => writeln!(f, "97.5% validation accuracy not reached")?,
        }
        let n = self.history.len().max(1) as f64;
        writeln!(
            f,
            "training {} ({:.2} s per epoch), whole run {}",
            common::fmt_seconds(self.train_seconds),
            self.train_seconds / n,
            common::fmt_seconds(self.total_seconds)
        )?;
        writeln!(f, "files:")?;
        common::write_files(f, "  ", &self.files)
    }
}

/// The number of off-diagonal (wrong) entries of a confusion matrix.
fn errors(cm: &ConfusionMatrix) -> usize {
    let k = cm.classes();
    (0..k)
        .flat_map(|t| (0..k).map(move |p| (t, p)))
        .filter(|(t, p)| t != p)
        .map(|(t, p)| cm.get(t, p))
        .sum()
}

/// The classifier: `[inputs, hidden..., 10]`, ReLU between layers, logits out.
///
/// # Errors
/// [`Error::InvalidArgument`] for a zero size.
pub fn model(inputs: usize, hidden: &[usize], classes: usize, seed: u64) -> Result<Mlp<f32>> {
    let sizes: Vec<usize> = std::iter::once(inputs)
        .chain(hidden.iter().copied())
        .chain(std::iter::once(classes))
        .collect();
    if sizes.contains(&0) {
        return Err(Error::invalid(
            "mnist",
            format!("layer sizes must be positive, got {sizes:?}"),
        ));
    }
    Mlp::new(
        &sizes,
        Activation::Relu,
        Activation::Identity,
        &mut rng(seed),
    )
}

/// Carves `--val-fraction` of `train` out as validation rows ([`carve_validation`]), trains a
/// classifier on the rest, measuring the validation rows after each epoch, and judges it once
/// on `test`: everything [`run`] does after loading, so tests can call it on any data set.
///
/// # Errors
/// A bad `--val-fraction`; training errors; an I/O error naming the file when a figure or CSV
/// cannot be written.
pub fn train_and_report(
    args: &Args,
    train: &Dataset<f32>,
    test: &Dataset<f32>,
    (width, height): (usize, usize),
) -> Result<Report> {
    let start = Instant::now();
    let (train, val) = &carve_validation(train, args.val_fraction, args.seed)?;
    let out = common::out_dir("mnist", &args.common)?;
    let quiet = args.common.quiet;
    let mut net = model(train.features(), &args.hidden, train.classes, args.seed)?;
    if !quiet {
        println!("{net}");
        println!(
            "training: {} epochs, {} lr {}, batch {}, softmax cross-entropy",
            args.epochs, args.optimizer, args.lr, args.batch_size
        );
    }
    let config = FitConfig::new(Loss::CrossEntropy)
        .epochs(args.epochs)
        .batch_size(args.batch_size)
        .seed(args.seed);
    let mut opt = args.optimizer.build(args.lr);
    let mut progress = Progress::new(quiet);
    let t = Instant::now();
    let history = fit(
        &mut net,
        opt.as_mut(),
        Data::classes(&train.x, &train.y),
        Some(Data::classes(&val.x, &val.y)),
        &config,
        &mut progress,
    )?;
    let train_seconds = t.elapsed().as_secs_f64();
    let last = history
        .last()
        .ok_or_else(|| Error::invalid("mnist", "--epochs must be at least 1"))?;
    let val_accuracy = last.val_accuracy.unwrap_or(f64::NAN);
    let target_epoch = history
        .epochs
        .iter()
        .find(|e| e.val_accuracy.is_some_and(|a| a >= 0.975))
        .map(|e| e.epoch);

    // The test rows, once.
    let logits = predict(&mut net, &test.x, 1024)?;
    let pred = logits.argmax_rows()?;
    let test_loss = evaluate(&mut net, Data::classes(&test.x, &test.y), &config)?.loss;
    let confusion =
        ConfusionMatrix::new(&pred, &test.y, test.classes)?.with_names(&test.class_names)?;
    let classification = ClassificationReport::from_confusion(&confusion);
    let test_accuracy = confusion.accuracy();

    let mut files = vec![common::save_history(&out, "history.csv", &history)?];
    if let Some(path) = &args.export_onnx {
        save_onnx(&net, &[train.features()], path)?;
        files.push(path.clone());
    }
    files.push(plot::history(
        &out.join("curves.png"),
        "MNIST MLP (validation rows from the training set)",
        &history,
    )?);
    files.push(plot::confusion_matrix(
        &out.join("confusion.png"),
        &format!(
            "MNIST test confusion matrix ({:.2}% right)",
            100.0 * test_accuracy
        ),
        &confusion,
    )?);
    let probs = softmax_rows(&logits);
    let k = test.classes;
    let wrong: Vec<GridImage> = pred
        .iter()
        .zip(&test.y)
        .enumerate()
        .filter(|(_, (p, t))| p != t)
        .take(args.show_errors)
        .map(|(i, (&p, &t))| {
            let d = test.features();
            let pixels = test.x.data()[i * d..(i + 1) * d].to_vec();
            let caption = format!("{t} \u{2192} {p} ({:.0}%)", 100.0 * probs[i * k + p]);
            GridImage::new(pixels, width, height, caption)
                .range(0.0, 1.0)
                .caption_color(plot::color(3))
        })
        .collect();
    let n_wrong = errors(&confusion);
    files.push(plot::image_grid(
        &out.join("misclassified.png"),
        &format!(
            "the first {} of {n_wrong} misclassified test digits: true \u{2192} predicted (confidence)",
            wrong.len()
        ),
        &wrong,
        10,
        3,
    )?);

    Ok(Report {
        sizes: net.sizes(),
        rows: (train.len(), val.len(), test.len()),
        test_accuracy,
        test_loss,
        val_accuracy,
        classification,
        confusion,
        history,
        target_epoch,
        train_seconds,
        total_seconds: start.elapsed().as_secs_f64(),
        files,
    })
}

/// The softmax of each row of `logits` `[n, k]`, flattened.
fn softmax_rows(logits: &Array<f32>) -> Vec<f32> {
    let k = logits.dims()[1];
    let mut out = Vec::with_capacity(logits.numel());
    for row in logits.data().chunks_exact(k) {
        let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let e: Vec<f32> = row.iter().map(|v| (v - m).exp()).collect();
        let s: f32 = e.iter().sum();
        out.extend(e.iter().map(|v| v / s));
    }
    out
}

/// Loads MNIST (`--data-dir` or `$TAPEGRAD_DATA`) and runs [`train_and_report`].
///
/// # Errors
/// A clean message naming the folder and the four expected files when MNIST is missing; the
/// errors of [`train_and_report`].
pub fn run(args: &Args) -> Result<Report> {
    let start = Instant::now();
    let m = common::mnist_data::load(args.data_dir.clone())?;
    if !args.common.quiet {
        println!(
            "MNIST: {} training / {} test images of {}x{} (read in {:.2} s)",
            m.train.len(),
            m.test.len(),
            m.image_rows,
            m.image_cols,
            start.elapsed().as_secs_f64()
        );
    }
    let mut report = train_and_report(args, &m.train, &m.test, (m.image_cols, m.image_rows))?;
    report.total_seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

fn main() -> std::process::ExitCode {
    common::main_with(|| {
        let args = Args::parse();
        let report = run(&args)?;
        println!("{report}");
        Ok(())
    })
}
