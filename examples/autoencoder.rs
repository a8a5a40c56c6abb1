//! An autoencoder on MNIST (or, when no MNIST is given, on the bundled 8x8 digits): an MLP
//! encoder squeezes each image into a 4-number code, a mirrored MLP decoder with a sigmoid
//! output rebuilds the image, trained on MSE (or binary cross-entropy) with Adam through
//! `tapegrad::train::fit`.
//!
//! ```text
//! cargo run --release --example autoencoder -- --data-dir /path/to/mnist   # MNIST
//! TAPEGRAD_DATA=/path/to/mnist cargo run --release --example autoencoder  # the same
//! cargo run --release --example autoencoder                                # bundled digits
//! cargo run --release --example autoencoder -- --help
//! ```
//!
//! What it shows:
//! - the test reconstruction error (MSE and PSNR) next to the mean-image baseline, and
//!   originals beside their reconstructions (`reconstructions.png`);
//! - the latent space: k-nearest-neighbour (k = 5) accuracy of the test codes against the
//!   training codes, a scatter of the codes by class (`latent.png`; the first two principal
//!   components when the code has more than two numbers), and decoded straight lines between
//!   the class centroids (`interpolation.png`);
//! - denoising: a second autoencoder trained on inputs with Gaussian noise (sigma 0.2, clipped
//!   to [0, 1]) and clean targets, judged at sigma 0.2, 0.4 and 0.6 (`denoising.png`).
//!
//! Writes the figures, `history.csv` and `denoise_history.csv` to `out/autoencoder/` (or
//! `--out DIR`). MNIST is read from `--data-dir` or `$TAPEGRAD_DATA`: a folder holding
//! `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte` and
//! `t10k-labels-idx1-ubyte` (each may be gzipped, `.gz`).

mod common;

use clap::{Parser, ValueEnum};
use common::optimizer::OptKind;
use common::plot::{self, Axes, GridImage};
use common::{CommonArgs, Progress};
use std::fmt;
use std::path::PathBuf;
use std::time::Instant;
use tapegrad::data::{self, mnist, train_test_split, Dataset};
use tapegrad::nn::{Activation, Autoencoder};
use tapegrad::train::{fit, fit_with, Data, FitConfig, History, Loss};
use tapegrad::{rng, Array, Error, Result, Tape, Tensor};

/// The reconstruction loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LossKind {
    /// Mean squared error of the sigmoid outputs
    Mse,
    /// Binary cross-entropy (computed on the logits, stable; the sigmoid is applied for the
    /// images and the errors)
    Bce,
}

impl fmt::Display for LossKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LossKind::Mse => "MSE",
            LossKind::Bce => "BCE",
        })
    }
}

/// An MLP autoencoder on MNIST (or the bundled digits): reconstructions, latent space, k-NN on
/// the codes, class-centroid interpolation, and a denoising autoencoder.
#[derive(Parser, Debug, Clone)]
#[command(long_about = None)]
pub struct Args {
    /// Training epochs [default: 20 on MNIST, 300 on the small digits set]
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// Learning rate
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Rows per training step
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    /// Hidden layer sizes of the encoder, comma-separated (the decoder mirrors them)
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "256,64",
        value_name = "SIZES"
    )]
    pub hidden: Vec<usize>,
    /// Size of the latent code
    #[arg(long, default_value_t = 4)]
    pub latent: usize,
    /// Reconstruction loss
    #[arg(long, value_enum, default_value_t = LossKind::Mse)]
    pub loss: LossKind,
    /// Optimizer
    #[arg(long, value_enum, default_value_t = OptKind::Adam)]
    pub optimizer: OptKind,
    /// Seed of the weights, the shuffling, the noise (and the digits split)
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Neighbours of the k-NN classifier on the latent codes
    #[arg(long, default_value_t = 5)]
    pub knn_k: usize,
    /// Noise (standard deviation) added to the inputs when training the denoising autoencoder
    #[arg(long, default_value_t = 0.2, value_name = "SIGMA")]
    pub noise: f64,
    /// Epochs of the denoising autoencoder [default: as --epochs]
    #[arg(long, value_name = "N")]
    pub denoise_epochs: Option<usize>,
    /// Latent size of the denoising autoencoder [default: as --latent]
    #[arg(long, value_name = "N")]
    pub denoise_latent: Option<usize>,
    /// Skip the denoising autoencoder (about halves the run time)
    #[arg(long)]
    pub skip_denoise: bool,
    /// Folder with the four MNIST IDX files: train-images-idx3-ubyte, train-labels-idx1-ubyte,
    /// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each may be gzipped, .gz)
    /// [default: $TAPEGRAD_DATA; without either, the bundled 8x8 digits are used]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Use the bundled 8x8 digits even when MNIST is available
    #[arg(long, conflicts_with = "data_dir")]
    pub digits: bool,
    /// `--out` and `--quiet`.
    #[command(flatten)]
    pub common: CommonArgs,
}

impl Default for Args {
    fn default() -> Self {
        Args::parse_from(["autoencoder"])
    }
}

impl Args {
    /// The training epochs: `--epochs`, else 20 on MNIST and 300 on the digits (1,437
    /// training images, 12 steps per epoch at batch 128).
    pub fn epochs(&self, mnist: bool) -> usize {
        self.epochs.unwrap_or(if mnist { 20 } else { 300 })
    }
}

/// Images with labels, split into training and test rows.
#[derive(Clone, Debug)]
pub struct Images {
    /// What the set is, for the report (`MNIST`, `digits (8x8, bundled)`).
    pub name: String,
    /// The training rows, pixels in [0, 1].
    pub train: Dataset<f32>,
    /// The test rows, pixels in [0, 1].
    pub test: Dataset<f32>,
    /// Image width in pixels.
    pub width: usize,
    /// Image height in pixels.
    pub height: usize,
}

/// The name of the MNIST set in [`Images::name`].
pub const MNIST: &str = "MNIST";

/// Whether MNIST was asked for: `--data-dir` or a non-empty `$TAPEGRAD_DATA`.
pub fn mnist_requested(args: &Args) -> bool {
    !args.digits
        && (args.data_dir.is_some()
            || std::env::var_os(mnist::ENV_VAR).is_some_and(|v| !v.is_empty()))
}

/// The data: MNIST when asked for (an error if it cannot be read), else the bundled digits
/// scaled to [0, 1] and split 80/20 (stratified, seeded).
///
/// # Errors
/// MNIST's reading errors (a missing file names the folder and the files expected).
pub fn load_images(args: &Args) -> Result<Images> {
    if mnist_requested(args) {
        let m = common::mnist_data::load(args.data_dir.clone())?;
        return Ok(Images {
            name: MNIST.into(),
            train: m.train,
            test: m.test,
            width: m.image_cols,
            height: m.image_rows,
        });
    }
    let mut ds = data::digits();
    ds.x = ds.x.map(|v| v / 16.0);
    let (train, test) = train_test_split(&ds, 0.2, args.seed, true)?;
    Ok(Images {
        name: "digits (8x8, bundled)".into(),
        train,
        test,
        width: 8,
        height: 8,
    })
}

/// An autoencoder and whether its decoder ends in raw logits (BCE training) that still need
/// the sigmoid.
pub struct Model {
    /// The network.
    pub ae: Autoencoder<f32>,
    /// The decoder's output is a logit (the sigmoid is applied by [`Model::reconstruct`] and
    /// [`Model::decode`]).
    pub logits: bool,
}

/// The noise levels the denoising autoencoder is judged at.
pub const SIGMAS: [f64; 3] = [0.2, 0.4, 0.6];

/// Rows per forward pass outside training.
const EVAL_BATCH: usize = 1024;

/// Runs `f` on batches of rows of `x` on one reused tape and stacks the results.
fn map_rows<'m>(
    x: &Array<f32>,
    f: impl for<'t> Fn(Tensor<'t, f32>) -> Result<Tensor<'t, f32>> + 'm,
) -> Result<Array<f32>> {
    let n = x.dims()[0];
    let mut tape = Tape::new();
    let mut out = Vec::new();
    let mut cols = 0;
    for start in (0..n).step_by(EVAL_BATCH) {
        let xb = x.rows(start..(start + EVAL_BATCH).min(n))?;
        {
            let y = f(tape.constant(xb))?;
            let y = y.value();
            cols = y.dims()[1];
            out.extend_from_slice(y.data());
        }
        tape.reset();
    }
    Array::from_vec(out, [n, cols])
}

fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + (-v).exp())
}

impl Model {
    /// A new autoencoder `[input, hidden..., latent]` and its mirror, ReLU between layers,
    /// seeded; the output and loss as `args.loss` says.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a zero size.
    pub fn new(input: usize, latent: usize, args: &Args, seed: u64) -> Result<Self> {
        let logits = args.loss == LossKind::Bce;
        let out = if logits {
            Activation::Identity
        } else {
            Activation::Sigmoid
        };
        let ae = Autoencoder::new(
            input,
            &args.hidden,
            latent,
            Activation::Relu,
            out,
            &mut rng(seed),
        )?;
        Ok(Model { ae, logits })
    }

    /// The loss `fit` minimizes.
    pub fn loss(&self) -> Loss {
        if self.logits {
            Loss::BceWithLogits
        } else {
            Loss::Mse
        }
    }

    fn squash(&self, y: Array<f32>) -> Array<f32> {
        if self.logits {
            y.map(sigmoid)
        } else {
            y
        }
    }

    /// The latent codes of the rows of `x`.
    ///
    /// # Errors
    /// Shape errors when `x` does not fit the encoder.
    pub fn encode(&self, x: &Array<f32>) -> Result<Array<f32>> {
        map_rows(x, |t| self.ae.encode(t))
    }

    /// The images (in [0, 1]) decoded from the codes `z`.
    ///
    /// # Errors
    /// Shape errors when `z` does not fit the decoder.
    pub fn decode(&self, z: &Array<f32>) -> Result<Array<f32>> {
        Ok(self.squash(map_rows(z, |t| self.ae.decode(t))?))
    }

    /// The reconstructions (in [0, 1]) of the rows of `x`.
    ///
    /// # Errors
    /// Shape errors when `x` does not fit the autoencoder.
    pub fn reconstruct(&self, x: &Array<f32>) -> Result<Array<f32>> {
        let y = map_rows(x, |t| {
            let z = self.ae.encode(t)?;
            self.ae.decode(z)
        })?;
        Ok(self.squash(y))
    }
}

/// The mean code of each class (`classes` rows; a class without rows gets zeros).
///
/// # Errors
/// [`Error::InvalidArgument`] when a label is `classes` or more.
pub fn class_centroids(z: &Array<f32>, labels: &[usize], classes: usize) -> Result<Array<f32>> {
    let d = z.dims()[1];
    let mut sum = vec![0.0_f64; classes * d];
    let mut count = vec![0usize; classes];
    for (row, &c) in z.data().chunks_exact(d).zip(labels) {
        if c >= classes {
            return Err(Error::invalid(
                "class_centroids",
                format!("label {c} out of range for {classes} classes"),
            ));
        }
        count[c] += 1;
        for (s, &v) in sum[c * d..(c + 1) * d].iter_mut().zip(row) {
            *s += f64::from(v);
        }
    }
    let data = sum
        .iter()
        .enumerate()
        .map(|(i, s)| (s / count[i / d].max(1) as f64) as f32)
        .collect();
    Array::from_vec(data, [classes, d])
}

/// Each row of `x` plus Gaussian noise of standard deviation `sigma`, clipped to [0, 1].
pub fn add_noise(x: &Array<f32>, sigma: f64, seed: u64) -> Array<f32> {
    let noise = Array::<f32>::randn(x.shape().clone(), 0.0, sigma, &mut rng(seed));
    let mut out = x.clone();
    for (a, &n) in out.data_mut().iter_mut().zip(noise.data()) {
        *a = (*a + n).clamp(0.0, 1.0);
    }
    out
}

/// The denoising results at one noise level.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DenoiseRow {
    /// The noise's standard deviation.
    pub sigma: f64,
    /// MSE between the clean test images and their noisy versions (the model's input).
    pub noisy_mse: f64,
    /// MSE between the clean images and the denoising autoencoder's output.
    pub denoised_mse: f64,
    /// MSE between the clean images and the plain autoencoder's output on the noisy input.
    pub plain_mse: f64,
}

/// What a run measured and wrote.
#[derive(Clone, Debug)]
pub struct Report {
    /// The data set used.
    pub dataset: String,
    /// Training and test rows.
    pub rows: (usize, usize),
    /// The encoder's layer sizes (the decoder mirrors them).
    pub encoder: Vec<usize>,
    /// The reconstruction loss trained on.
    pub loss: LossKind,
    /// Test reconstruction MSE (pixels in [0, 1]).
    pub test_mse: f64,
    /// Test reconstruction PSNR in dB (peak 1).
    pub test_psnr: f64,
    /// The MSE of predicting every test image by the mean training image.
    pub baseline_mse: f64,
    /// Neighbours of the k-NN classifier.
    pub knn_k: usize,
    /// Test codes whose k-NN class (among the training codes) is right.
    pub knn_correct: usize,
    /// k-NN accuracy on the test codes (`knn_correct / rows.1`).
    pub knn_accuracy: f64,
    /// The fraction of the code's variance along the two axes of the latent scatter.
    pub scatter_explained: (f64, f64),
    /// The training noise of the denoising autoencoder.
    pub noise: f64,
    /// Denoising at each noise level (empty with `--skip-denoise`).
    pub denoise: Vec<DenoiseRow>,
    /// The training history of the autoencoder.
    pub history: History,
    /// The training history of the denoising autoencoder.
    pub denoise_history: Option<History>,
    /// Seconds training the autoencoder.
    pub train_seconds: f64,
    /// Seconds training the denoising autoencoder.
    pub denoise_seconds: f64,
    /// Seconds for the whole run (loading, training, evaluating, figures).
    pub total_seconds: f64,
    /// The files written.
    pub files: Vec<PathBuf>,
}

fn mean_epoch(h: &History) -> f64 {
    h.epochs.iter().map(|e| e.seconds).sum::<f64>() / h.len().max(1) as f64
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (ntr, nte) = self.rows;
        let dec: Vec<usize> = self.encoder.iter().rev().copied().collect();
        writeln!(
            f,
            "autoencoder on {} ({ntr} training / {nte} test images)",
            self.dataset
        )?;
        writeln!(
            f,
            "  encoder {:?} -> decoder {:?} + sigmoid, {} loss",
            self.encoder, dec, self.loss
        )?;
        writeln!(f)?;
        writeln!(f, "  {:<44} {:>12}", "measure", "value")?;
        writeln!(f, "  {:-<44} {:->12}", "", "")?;
        let row = |f: &mut fmt::Formatter<'_>, k: &str, v: String| writeln!(f, "  {k:<44} {v:>12}");
        row(
            f,
            "test reconstruction MSE",
            format!("{:.5}", self.test_mse),
        )?;
        row(
            f,
            "test reconstruction PSNR",
            format!("{:.2} dB", self.test_psnr),
        )?;
        row(
            f,
            "mean-image baseline MSE",
            format!("{:.5}", self.baseline_mse),
        )?;
        row(
            f,
            &format!("k-NN (k={}) accuracy on the test codes", self.knn_k),
            format!("{:.2}%", 100.0 * self.knn_accuracy),
        )?;
        row(
            f,
            "  right / test images",
            format!("{} / {nte}", self.knn_correct),
        )?;
        row(
            f,
            "training time",
            format!(
                "{} epochs, {} ({:.2} s/epoch)",
                self.history.len(),
                common::fmt_seconds(self.train_seconds),
                mean_epoch(&self.history)
            ),
        )?;
        if !self.denoise.is_empty() {
            writeln!(f)?;
            writeln!(
                f,
                "  denoising (test MSE against the clean images; trained at sigma {})",
                self.noise
            )?;
            writeln!(
                f,
                "  {:>6} {:>12} {:>12} {:>16}",
                "sigma", "noisy input", "denoised", "plain AE output"
            )?;
            writeln!(f, "  {:->6} {:->12} {:->12} {:->16}", "", "", "", "")?;
            for d in &self.denoise {
                writeln!(
                    f,
                    "  {:>6.1} {:>12.5} {:>12.5} {:>16.5}",
                    d.sigma, d.noisy_mse, d.denoised_mse, d.plain_mse
                )?;
            }
            writeln!(
                f,
                "  denoising autoencoder trained in {}",
                common::fmt_seconds(self.denoise_seconds)
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "total run time {}",
            common::fmt_seconds(self.total_seconds)
        )?;
        writeln!(f, "files:")?;
        common::write_files(f, "  ", &self.files)
    }
}

/// The pixels of row `i` of `x`.
fn row_of(x: &Array<f32>, i: usize) -> Vec<f32> {
    let d = x.dims()[1];
    x.data()[i * d..(i + 1) * d].to_vec()
}

/// The first `per` test rows of each class, class by class.
fn examples_per_class(labels: &[usize], classes: usize, per: usize) -> Vec<Vec<usize>> {
    (0..classes)
        .map(|c| {
            labels
                .iter()
                .enumerate()
                .filter(|(_, &l)| l == c)
                .map(|(i, _)| i)
                .take(per)
                .collect()
        })
        .collect()
}

/// Pixel scale of the figures: about 84 pixels per image side.
fn pixel_scale(images: &Images) -> u32 {
    (84 / images.width.max(images.height).max(1)).max(1) as u32
}

/// Runs the experiment.
///
/// # Errors
/// A clean message when MNIST was asked for but cannot be read; [`Error::InvalidArgument`] for
/// bad flags; an I/O error naming the file when a figure or CSV cannot be written.
pub fn run(args: &Args) -> Result<Report> {
    let start = Instant::now();
    let images = load_images(args)?;
    let epochs = args.epochs(images.name == MNIST);
    let denoise_latent = args.denoise_latent.unwrap_or(args.latent);
    if args.knn_k == 0 || args.latent == 0 || epochs == 0 || denoise_latent == 0 {
        return Err(Error::invalid(
            "autoencoder",
            "--epochs, --latent, --denoise-latent and --knn-k must be at least 1",
        ));
    }
    let out = common::out_dir("autoencoder", &args.common)?;
    let quiet = args.common.quiet;
    let (train, test) = (&images.train, &images.test);
    let input = train.features();
    let classes = train.classes;
    if !quiet {
        println!(
            "autoencoder on {} ({} training / {} test images of {}x{})",
            images.name,
            train.len(),
            test.len(),
            images.width,
            images.height
        );
        if !mnist_requested(args) && !args.digits {
            println!(
                "  (no MNIST given: pass --data-dir DIR or set {}=DIR to use it)",
                mnist::ENV_VAR
            );
        }
    }

    // The autoencoder.
    let mut model = Model::new(input, args.latent, args, args.seed)?;
    if !quiet {
        println!("{}", model.ae);
        println!(
            "training: {} epochs, {} lr {}, batch {}, {} loss",
            epochs, args.optimizer, args.lr, args.batch_size, args.loss
        );
    }
    let config = FitConfig::new(model.loss())
        .epochs(epochs)
        .batch_size(args.batch_size)
        .seed(args.seed);
    let mut opt = args.optimizer.build(args.lr);
    let mut progress = Progress::new(quiet).epoch_lines(epoch_lines(epochs));
    let t = Instant::now();
    let history = fit(
        &mut model.ae,
        opt.as_mut(),
        Data::autoencoder(&train.x),
        Some(Data::autoencoder(&test.x)),
        &config,
        &mut progress,
    )?;
    let train_seconds = t.elapsed().as_secs_f64();
    let mut files = vec![common::save_history(&out, "history.csv", &history)?];
    files.push(plot::history(
        &out.join("loss.png"),
        &format!("autoencoder loss ({}, {})", args.loss, images.name),
        &history,
    )?);

    // Reconstruction error, against predicting the mean training image.
    let recon = model.reconstruct(&test.x)?;
    let test_mse = data::mse(&recon, &test.x)?;
    let test_psnr = data::psnr(&recon, &test.x, 1.0)?;
    let mean_image = class_centroids(&train.x, &vec![0; train.len()], 1)?;
    let baseline = Array::from_fn(test.x.shape().clone(), |i| mean_image.data()[i % input]);
    let baseline_mse = data::mse(&baseline, &test.x)?;

    let (w, h, scale) = (images.width, images.height, pixel_scale(&images));
    let mut grid = Vec::new();
    let picks = examples_per_class(&test.y, classes, 2);
    for round in 0..2 {
        let idx: Vec<usize> = picks.iter().filter_map(|p| p.get(round).copied()).collect();
        for &i in &idx {
            grid.push(
                GridImage::new(row_of(&test.x, i), w, h, format!("{}", test.y[i])).range(0.0, 1.0),
            );
        }
        for &i in &idx {
            let r = row_of(&recon, i);
            let e: f64 = r
                .iter()
                .zip(&row_of(&test.x, i))
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum::<f64>()
                / input as f64;
            grid.push(
                GridImage::new(r, w, h, format!("{e:.3}"))
                    .range(0.0, 1.0)
                    .caption_color(plot::color(0)),
            );
        }
    }
    files.push(plot::image_grid(
        &out.join("reconstructions.png"),
        &format!(
            "test digits (label) and their reconstructions from {} numbers (MSE)",
            args.latent
        ),
        &grid,
        classes,
        scale,
    )?);

    // The latent space.
    let z_train = model.encode(&train.x)?;
    let z_test = model.encode(&test.x)?;
    let pred = data::knn_classify(&z_train, &train.y, &z_test, args.knn_k)?;
    let knn_correct = pred.iter().zip(&test.y).filter(|(p, t)| p == t).count();
    let knn_accuracy = knn_correct as f64 / test.len() as f64;

    let (points, scatter_explained, x_label, y_label) = if args.latent <= 2 {
        let d = args.latent;
        let pts = z_test
            .data()
            .chunks_exact(d)
            .map(|r| (f64::from(r[0]), r.get(1).map_or(0.0, |&v| f64::from(v))))
            .collect();
        (pts, (1.0, 0.0), "z1".to_string(), "z2".to_string())
    } else {
        // The projection in f64 (the codes converted exactly) keeps the points unrounded.
        let z64 = Array::from_vec(
            z_test.data().iter().map(|&v| f64::from(v)).collect(),
            z_test.shape().clone(),
        )?;
        let pca = data::Pca::fit(&z64, 2)?;
        let ex = &pca.explained_variance_ratio;
        let pc = pca.transform(&z64)?;
        (
            pc.data()
                .chunks_exact(2)
                .map(|p| (p[0], p[1]))
                .collect::<Vec<_>>(),
            (ex[0], ex[1]),
            format!("PC 1 ({:.0}% of the variance)", 100.0 * ex[0]),
            format!("PC 2 ({:.0}%)", 100.0 * ex[1]),
        )
    };
    let shown = points.len().min(3000);
    let title = if args.latent <= 2 {
        format!("latent codes of {shown} test images")
    } else {
        format!(
            "{}-D latent codes of {shown} test images (PCA)",
            args.latent
        )
    };
    files.push(plot::scatter(
        &out.join("latent.png"),
        &Axes {
            title: &title,
            x_label: &x_label,
            y_label: &y_label,
            log_y: false,
        },
        &points[..shown],
        &test.y[..shown],
        &test.class_names,
    )?);

    // Straight lines between class centroids, decoded.
    let centroids = class_centroids(&z_train, &train.y, classes)?;
    let steps = 8;
    let d = args.latent;
    let mut path = Vec::with_capacity(classes * steps * d);
    for a in 0..classes {
        let b = (a + 1) % classes;
        for s in 0..steps {
            let t = s as f32 / (steps - 1) as f32;
            for k in 0..d {
                let (za, zb) = (centroids.data()[a * d + k], centroids.data()[b * d + k]);
                path.push((1.0 - t) * za + t * zb);
            }
        }
    }
    let decoded = model.decode(&Array::from_vec(path, [classes * steps, d])?)?;
    let grid: Vec<GridImage> = (0..classes * steps)
        .map(|i| {
            let (a, s) = (i / steps, i % steps);
            let caption = match s {
                0 => test.class_names[a].clone(),
                s if s == steps - 1 => test.class_names[(a + 1) % classes].clone(),
                _ => String::new(),
            };
            GridImage::new(row_of(&decoded, i), w, h, caption).range(0.0, 1.0)
        })
        .collect();
    files.push(plot::image_grid(
        &out.join("interpolation.png"),
        "decoded straight lines between class centroids of the codes",
        &grid,
        steps,
        scale,
    )?);

    // Denoising: the test images at each noise level (the first also validates training).
    let noisy_sets: Vec<(f64, Array<f32>)> = SIGMAS
        .iter()
        .enumerate()
        .map(|(i, &sigma)| {
            let seed = args.seed.wrapping_add(100 + i as u64);
            (sigma, add_noise(&test.x, sigma, seed))
        })
        .collect();
    let mut denoise = Vec::new();
    let mut denoise_history = None;
    let mut denoise_seconds = 0.0;
    if !args.skip_denoise {
        if !quiet {
            println!(
                "training the denoising autoencoder (input noise sigma {}, clipped to [0, 1]; \
                 validation: test images at sigma {})",
                args.noise, SIGMAS[0]
            );
        }
        let mut den = Model::new(input, denoise_latent, args, args.seed.wrapping_add(1))?;
        let config = config
            .clone()
            .epochs(args.denoise_epochs.unwrap_or(epochs))
            .input_noise(args.noise);
        let mut opt = args.optimizer.build(args.lr);
        let mut progress = Progress::new(quiet).epoch_lines(epoch_lines(config.epochs));
        // `fit` has added the noise; keep the pixels in [0, 1] as a real image would be.
        let mut clip = |xb: &mut Array<f32>, _epoch: usize, _step: usize| {
            xb.data_mut()
                .iter_mut()
                .for_each(|v| *v = v.clamp(0.0, 1.0));
            Ok(())
        };
        let t = Instant::now();
        let dh = fit_with(
            &mut den.ae,
            opt.as_mut(),
            Data::autoencoder(&train.x),
            Some(Data::values(&noisy_sets[0].1, &test.x)),
            &config,
            &mut progress,
            &mut clip,
        )?;
        denoise_seconds = t.elapsed().as_secs_f64();
        files.push(common::save_history(&out, "denoise_history.csv", &dh)?);
        denoise_history = Some(dh);

        // Rows of the figure: the clean images, then noisy and denoised at each level.
        let cols = 10.min(test.len());
        let caption = |c: usize, s: &str| if c == 0 { s.to_string() } else { String::new() };
        let mut grid: Vec<GridImage> = (0..cols)
            .map(|c| GridImage::new(row_of(&test.x, c), w, h, caption(c, "clean")).range(0.0, 1.0))
            .collect();
        for (sigma, noisy) in &noisy_sets {
            let cleaned = den.reconstruct(noisy)?;
            let plain = model.reconstruct(noisy)?;
            denoise.push(DenoiseRow {
                sigma: *sigma,
                noisy_mse: data::mse(noisy, &test.x)?,
                denoised_mse: data::mse(&cleaned, &test.x)?,
                plain_mse: data::mse(&plain, &test.x)?,
            });
            for (src, name) in [
                (noisy, format!("noisy \u{3c3} {sigma}")),
                (&cleaned, "denoised".to_string()),
            ] {
                grid.extend((0..cols).map(|c| {
                    GridImage::new(row_of(src, c), w, h, caption(c, &name)).range(0.0, 1.0)
                }));
            }
        }
        files.push(plot::image_grid(
            &out.join("denoising.png"),
            &format!(
                "denoising autoencoder (trained at \u{3c3} {}, latent {denoise_latent})",
                args.noise
            ),
            &grid,
            cols,
            scale,
        )?);
    }

    Ok(Report {
        dataset: images.name.clone(),
        rows: (train.len(), test.len()),
        encoder: model.ae.encoder().sizes(),
        loss: args.loss,
        test_mse,
        test_psnr,
        baseline_mse,
        knn_k: args.knn_k,
        knn_correct,
        knn_accuracy,
        scatter_explained,
        noise: args.noise,
        denoise,
        history,
        denoise_history,
        train_seconds,
        denoise_seconds,
        total_seconds: start.elapsed().as_secs_f64(),
        files,
    })
}

/// Print a summary line every few epochs: about ten lines per run.
fn epoch_lines(epochs: usize) -> usize {
    epochs.div_ceil(10).max(1)
}

fn main() -> std::process::ExitCode {
    common::main_with(|| {
        let args = Args::parse();
        let report = run(&args)?;
        println!("{report}");
        Ok(())
    })
}
