//! Handwritten digits (the bundled 8x8 set, 1,797 images) classified by a 64-64-32-10 ReLU MLP
//! trained with softmax cross-entropy and AdamW through the shared loop `tapegrad::train::fit`.
//!
//! ```text
//! cargo run --release --example digits
//! cargo run --release --example digits -- --help
//! ```
//!
//! The set is split 80/20 into training and test rows, and a tenth of the training rows
//! (`--val-fraction`) is held out as validation rows (both splits stratified and seeded:
//! 1,293 / 144 / 360 rows); the features are standardized with the mean and deviation of the
//! training rows only. Prints the test accuracy, the per-class precision,
//! recall and F1, and the confusion matrix; writes to `out/digits/` (or `--out DIR`):
//! `curves.png` (loss and accuracy per epoch), `confusion.png`, `misclassified.png` (the test
//! images the model gets wrong, with their true and predicted labels) and `history.csv`.
//!
//! The validation curves are measured on the validation rows; the test rows are measured once,
//! after training, so the final test accuracy is an honest estimate.

mod common;

use clap::{Parser, ValueEnum};
use common::images::{carve_validation, VAL_FRACTION};
use common::plot::{self, GridImage};
use common::{CommonArgs, Progress};
use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use tapegrad::data::{self, ClassificationReport, ConfusionMatrix, StandardScaler};
use tapegrad::nn::optim::{Adam, AdamW, Optimizer, Sgd};
use tapegrad::nn::{Activation, Mlp, Module};
use tapegrad::train::{fit, predict_classes, Data, FitConfig, History, Loss};
use tapegrad::{rng, Error, Result};

/// The optimizers this example offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Opt {
    /// Adam (weight decay as an L2 term added to the gradient).
    Adam,
    /// AdamW (decoupled weight decay).
    Adamw,
    /// SGD with Nesterov momentum 0.9 (weight decay as an L2 term).
    Sgd,
}

/// Classifies the bundled 8x8 digits with an MLP trained by tapegrad.
#[derive(Parser, Debug, Clone)]
#[command(long_about = None)]
pub struct Args {
    /// Passes over the training rows
    #[arg(long, default_value_t = 80)]
    pub epochs: usize,
    /// Learning rate
    #[arg(long, default_value_t = 3e-3)]
    pub lr: f64,
    /// Weight decay
    #[arg(long, default_value_t = 0.05)]
    pub weight_decay: f64,
    /// Rows per training step
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// Hidden layer sizes, comma-separated (64 inputs and 10 outputs are added around them)
    #[arg(long, value_delimiter = ',', default_value = "64,32")]
    pub hidden: Vec<usize>,
    /// Optimizer
    #[arg(long, value_enum, default_value_t = Opt::Adamw)]
    pub optimizer: Opt,
    /// Seed of the splits, the initial weights and the shuffling
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Fraction of the rows held out for testing
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    /// Fraction of the training rows held out as validation data (the curves use them)
    #[arg(long, default_value_t = VAL_FRACTION, value_name = "F")]
    pub val_fraction: f64,
    /// Print a summary line every N epochs (0 = never)
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub log_every: usize,
    /// The output folder and quiet flags.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// What a run produced.
#[derive(Clone, Debug)]
pub struct Report {
    /// The layer sizes.
    pub sizes: Vec<usize>,
    /// The number of parameters.
    pub params: usize,
    /// Training, validation and test rows.
    pub rows: (usize, usize, usize),
    /// The test accuracy (0..1).
    pub test_accuracy: f64,
    /// Per-class precision, recall and F1 on the test rows.
    pub classification: ClassificationReport,
    /// The test confusion matrix.
    pub confusion: ConfusionMatrix,
    /// The per-epoch history (validation: rows carved from the training rows).
    pub history: History,
    /// Seconds spent in `fit`.
    pub train_seconds: f64,
    /// Seconds of the whole run (loading, training, evaluation, figures).
    pub total_seconds: f64,
    /// The files written.
    pub files: Vec<PathBuf>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f)?;
        writeln!(f, "Per-class metrics on the {} test images:", self.rows.2)?;
        writeln!(f, "{}", self.classification)?;
        writeln!(
            f,
            "Confusion matrix (rows: true class, columns: predicted):"
        )?;
        writeln!(f, "{}", self.confusion)?;
        writeln!(
            f,
            "MLP {:?} ({} parameters), {} training rows: test accuracy {:.2}% ({}/{})",
            self.sizes,
            self.params,
            self.rows.0,
            100.0 * self.test_accuracy,
            (self.test_accuracy * self.rows.2 as f64).round(),
            self.rows.2
        )?;
        writeln!(
            f,
            "trained {} epochs in {}, whole run {}",
            self.history.len(),
            common::fmt_seconds(self.train_seconds),
            common::fmt_seconds(self.total_seconds)
        )?;
        common::write_files(f, "wrote ", &self.files)
    }
}

/// Loads, splits, scales, trains, evaluates and draws.
///
/// # Errors
/// Bad flags (an empty or zero hidden size, a test or validation fraction outside (0, 1), a
/// batch size of 0), a diverging loss (a too large learning rate), files that cannot be written.
pub fn run(args: &Args) -> Result<Report> {
    let start = Instant::now();
    if args.hidden.contains(&0) {
        return Err(Error::invalid(
            "digits",
            format!("--hidden sizes must be positive, got {:?}", args.hidden),
        ));
    }
    let out = common::out_dir("digits", &args.common)?;
    let ds = data::digits();
    let (train, test) = data::train_test_split(&ds, args.test_fraction, args.seed, true)?;
    let (train, val) = carve_validation(&train, args.val_fraction, args.seed)?;
    let scaler = StandardScaler::fit(&train.x)?; // the training rows only
    let x_train = scaler.transform(&train.x)?;
    let (x_val, x_test) = (scaler.transform(&val.x)?, scaler.transform(&test.x)?);

    let mut sizes = vec![ds.features()];
    sizes.extend(&args.hidden);
    sizes.push(ds.classes);
    let mut model = Mlp::<f32>::new(
        &sizes,
        Activation::Relu,
        Activation::Identity,
        &mut rng(args.seed),
    )?;
    let mut opt: Box<dyn Optimizer<f32>> = match args.optimizer {
        Opt::Adam => Box::new(Adam::new(args.lr).weight_decay(args.weight_decay)),
        Opt::Adamw => Box::new(AdamW::new(args.lr).weight_decay(args.weight_decay)),
        Opt::Sgd => Box::new(
            Sgd::new(args.lr)
                .momentum(0.9)
                .nesterov(true)
                .weight_decay(args.weight_decay),
        ),
    };
    let config = FitConfig::new(Loss::CrossEntropy)
        .epochs(args.epochs)
        .batch_size(args.batch_size)
        .seed(args.seed);
    if !args.common.quiet {
        println!("{model}");
        println!(
            "training on {} rows, validating on {}, testing on {} ({} epochs, batch {}, {:?} lr \
             {} weight decay {})",
            train.len(),
            val.len(),
            test.len(),
            args.epochs,
            args.batch_size,
            args.optimizer,
            args.lr,
            args.weight_decay
        );
    }
    let mut progress = Progress::new(args.common.quiet).epoch_lines(args.log_every);
    let t = Instant::now();
    let history = fit(
        &mut model,
        opt.as_mut(),
        Data::classes(&x_train, &train.y),
        Some(Data::classes(&x_val, &val.y)),
        &config,
        &mut progress,
    )?;
    let train_seconds = t.elapsed().as_secs_f64();

    // The test rows, once.
    let pred = predict_classes(&mut model, &x_test, 1024)?;
    let test_accuracy = data::accuracy(&pred, &test.y)?;
    let confusion =
        ConfusionMatrix::new(&pred, &test.y, ds.classes)?.with_names(&ds.class_names)?;
    let classification = ClassificationReport::from_confusion(&confusion);

    let mut files = vec![common::save_history(&out, "history.csv", &history)?];
    files.push(plot::history(
        &out.join("curves.png"),
        "Digits MLP: training and validation curves",
        &history,
    )?);
    files.push(plot::confusion_matrix(
        &out.join("confusion.png"),
        &format!(
            "Digits: test confusion matrix ({:.1}% correct)",
            100.0 * test_accuracy
        ),
        &confusion,
    )?);
    let wrong: Vec<GridImage> = (0..test.len())
        .filter(|&i| pred[i] != test.y[i])
        .take(40)
        .map(|i| {
            let px = test.x.data()[i * 64..(i + 1) * 64].to_vec();
            GridImage::new(px, 8, 8, format!("true {} / pred {}", test.y[i], pred[i]))
                .range(0.0, 16.0)
                .caption_color(plot::color(3))
        })
        .collect();
    let n_wrong = pred.iter().zip(&test.y).filter(|(p, t)| p != t).count();
    files.push(plot::image_grid(
        &out.join("misclassified.png"),
        &format!(
            "Digits: the {} misclassified test images{}",
            n_wrong,
            if n_wrong > wrong.len() {
                format!(" (first {})", wrong.len())
            } else {
                String::new()
            }
        ),
        &wrong,
        8,
        10,
    )?);

    Ok(Report {
        params: model.param_count(),
        sizes,
        rows: (train.len(), val.len(), test.len()),
        test_accuracy,
        classification,
        confusion,
        history,
        train_seconds,
        total_seconds: start.elapsed().as_secs_f64(),
        files,
    })
}

fn main() -> ExitCode {
    common::main_with(|| {
        let args = Args::parse();
        let report = run(&args)?;
        print!("{report}");
        Ok(())
    })
}
