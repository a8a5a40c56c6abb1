//! A convolutional network on MNIST (or, when no MNIST is given, on the bundled 8x8 digits):
//! LeNet-5 (two 5x5 convolutions with ReLU and max pooling, then dense 120-84-10), softmax
//! cross-entropy on the logits, Adam (lr 1e-3 annealed by a cosine to 1e-5 over the run,
//! batches of 128), trained by `tapegrad::train::fit`. The target: at least 99.0% MNIST test
//! accuracy within 10 epochs (99.11% with the defaults, trained on 54,000 images; with a
//! constant rate, `--schedule constant`, reaching it at epoch 10 depends on the seed).
//!
//! ```text
//! cargo run --release --example cnn -- --data-dir /path/to/mnist   # MNIST
//! TAPEGRAD_DATA=/path/to/mnist cargo run --release --example cnn  # the same
//! cargo run --release --example cnn                                # bundled digits (seconds)
//! cargo run --release --example cnn -- --help
//! ```
//!
//! What it teaches: images go in as `[N, 1, H, W]` (the `[N, H*W]` rows are reshaped), a
//! `Sequential` of `Conv2d`, `Activation`, `MaxPool2d`, `Flatten` and `Dense` is a module like
//! any other for `fit`, and the trained network can be looked into: its first layer's filters
//! and the feature maps a digit lights up after each convolution. On the 8x8 digits the second
//! convolution is 3x3 and unpooled (see `model::lenet`), the rest is the same code.
//!
//! The validation rows (`--val-fraction`, default 0.1: 6,000 of MNIST's 60,000 training images,
//! stratified and seeded) are carved from the training set and measured after every epoch for
//! the curves; the network trains on the rest (54,000) and the test set is measured once, at
//! the end.
//!
//! Prints each epoch's loss and validation accuracy, then a table of the result (test accuracy,
//! the epoch 99% validation accuracy was first reached, seconds per epoch, parameters). Writes
//! `history.csv`, `curves.png` (loss and accuracy per epoch, train and validation),
//! `filters.png` (conv1's 6 filters), `feature_maps_conv1.png` and `feature_maps_conv2.png`
//! (one test digit's maps) and `confusion.png` to `out/cnn/` (or `--out DIR`). MNIST is read
//! from `--data-dir` or
//! `$TAPEGRAD_DATA`: a folder holding `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
//! `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte` (each may be gzipped, `.gz`).
//! `--export-onnx PATH` also writes the trained network as an ONNX file (input
//! `[batch, 1, H, W]`, the logits out) for ONNX Runtime.

#[path = "../common/mod.rs"]
mod common;
mod figures;
mod model;
mod report;

use clap::Parser;
use common::images::Images;
use common::optimizer::{OptKind, ScheduleKind};
use common::{plot, CommonArgs, Progress};
use std::path::PathBuf;
use std::time::Instant;
use tapegrad::data::ConfusionMatrix;
use tapegrad::nn::{save_onnx, Module};
use tapegrad::train::{fit, predict, Data, FitConfig, Loss};
use tapegrad::{Error, Result};

pub use common::images::ImageSource;
pub use common::optimizer;
pub use model::{activations, as_images, lenet};
pub use report::Report;

/// The test accuracy the example aims at.
pub const TARGET: f64 = 0.99;

/// LeNet-5 on MNIST (or a small LeNet on the bundled digits): learning curves, filters,
/// feature maps, confusion matrix.
#[derive(Parser, Debug, Clone)]
#[command(long_about = None)]
pub struct Args {
    /// Training epochs [default: 10 on MNIST, 60 on the small digits set]
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// Learning rate
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Rows per training step
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    /// Optimizer
    #[arg(long, value_enum, default_value_t = OptKind::Adam)]
    pub optimizer: OptKind,
    /// Learning-rate schedule over the run's steps
    #[arg(long, value_enum, default_value_t = ScheduleKind::Cosine)]
    pub schedule: ScheduleKind,
    /// Seed of the weights and the shuffling (and the digits split)
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The test image whose feature maps are drawn
    #[arg(long, default_value_t = 0, value_name = "I")]
    pub show: usize,
    /// `--data-dir` and `--digits`.
    #[command(flatten)]
    pub source: ImageSource,
    /// After training, write the model to PATH as ONNX (opset 17, input `[batch, 1, H, W]`;
    /// see docs/interop.md to run it in ONNX Runtime)
    #[arg(long, value_name = "PATH")]
    pub export_onnx: Option<PathBuf>,
    /// `--out` and `--quiet`.
    #[command(flatten)]
    pub common: CommonArgs,
}

impl Default for Args {
    fn default() -> Self {
        Args::parse_from(["cnn"])
    }
}

impl Args {
    /// The training epochs: `--epochs`, else 10 on MNIST and 60 on the digits (1,437
    /// training images, 12 steps per epoch at batch 128).
    pub fn epochs(&self, mnist: bool) -> usize {
        self.epochs.unwrap_or(if mnist { 10 } else { 60 })
    }
}

/// Trains the network on `images`' training rows, measuring the validation rows after each
/// epoch, then judges it once on the test rows and draws it: everything [`run`] does after
/// loading, so tests can call it on any images.
///
/// # Errors
/// [`Error::InvalidArgument`] for bad flags or images that are not square; training errors;
/// an I/O error naming the file when a figure or CSV cannot be written.
pub fn train_and_report(args: &Args, images: &Images) -> Result<Report> {
    let start = Instant::now();
    let epochs = args.epochs(images.is_mnist());
    let (train, val, test) = (&images.train, &images.val, &images.test);
    if epochs == 0 || args.show >= test.len() || images.width != images.height {
        return Err(Error::invalid(
            "cnn",
            format!(
                "--epochs must be at least 1 (got {epochs}), --show below the {} test images \
                 (got {}), and the images square (got {}x{})",
                test.len(),
                args.show,
                images.width,
                images.height
            ),
        ));
    }
    let out = common::out_dir("cnn", &args.common)?;
    let quiet = args.common.quiet;
    let mut net = lenet(images.width, train.classes, args.seed)?;
    if !quiet {
        println!("{net}");
        println!(
            "training: {epochs} epochs, {} lr {} ({}), batch {}, softmax cross-entropy",
            args.optimizer, args.lr, args.schedule, args.batch_size
        );
    }
    let side = (images.width, images.height);
    let x_train = as_images(&train.x, side)?;
    let x_val = as_images(&val.x, side)?;
    let steps = epochs * train.len().div_ceil(args.batch_size.max(1));
    let config = FitConfig::new(Loss::CrossEntropy)
        .epochs(epochs)
        .batch_size(args.batch_size)
        .seed(args.seed);
    let config = args.schedule.apply(config, args.lr, steps)?;
    let mut opt = args.optimizer.build(args.lr);
    let mut progress = Progress::new(quiet).epoch_lines(1);
    let t = Instant::now();
    let history = fit(
        &mut net,
        &mut opt,
        Data::classes(&x_train, &train.y),
        Some(Data::classes(&x_val, &val.y)),
        &config,
        &mut progress,
    )?;
    let train_seconds = t.elapsed().as_secs_f64();

    // The test rows, once.
    let x_test = as_images(&test.x, side)?;
    let pred = predict(&mut net, &x_test, 1024)?.argmax_rows()?;
    let confusion =
        ConfusionMatrix::new(&pred, &test.y, test.classes)?.with_names(&test.class_names)?;
    let test_accuracy = confusion.accuracy();
    let mut files = vec![common::save_history(&out, "history.csv", &history)?];
    if let Some(path) = &args.export_onnx {
        save_onnx(&net, &[1, images.height, images.width], path)?;
        files.push(path.clone());
    }
    files.push(plot::history(
        &out.join("curves.png"),
        &format!(
            "LeNet on {} (validation rows from the training set)",
            images.name
        ),
        &history,
    )?);
    files.push(figures::filters(&net, &out)?);
    files.extend(figures::feature_maps(&mut net, images, args.show, &out)?);
    files.push(plot::confusion_matrix(
        &out.join("confusion.png"),
        &format!(
            "{} test confusion matrix ({:.2}% right)",
            images.name,
            100.0 * test_accuracy
        ),
        &confusion,
    )?);

    Ok(Report {
        dataset: images.name.clone(),
        rows: (train.len(), val.len(), test.len()),
        parameters: net.param_count(),
        test_accuracy,
        target_epoch: history
            .epochs
            .iter()
            .find(|e| e.val_accuracy.is_some_and(|a| a >= TARGET))
            .map(|e| e.epoch),
        confusion,
        history,
        train_seconds,
        total_seconds: start.elapsed().as_secs_f64(),
        files,
    })
}

/// Loads the images (MNIST from `--data-dir` or `$TAPEGRAD_DATA`, else the bundled digits)
/// and runs [`train_and_report`].
///
/// # Errors
/// A clean message naming the folder and the four expected files when MNIST was asked for but
/// is missing; the errors of [`train_and_report`].
pub fn run(args: &Args) -> Result<Report> {
    let start = Instant::now();
    let images = args.source.load(args.seed)?;
    if !args.common.quiet {
        images.announce("cnn", args.source.data_dir.as_deref(), args.source.digits);
    }
    let mut report = train_and_report(args, &images)?;
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
