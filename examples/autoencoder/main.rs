//! An autoencoder on MNIST (or, when no MNIST is given, on the bundled 8x8 digits): an MLP
//! encoder squeezes each image into a 4-number code, a mirrored MLP decoder with a sigmoid
//! output rebuilds the image, trained on MSE (or binary cross-entropy) with Adam through
//! `tapegrad::train::fit_with`. On MNIST the encoder is 784-512-256-128-4, trained 10 epochs
//! at batch 128 with the rate annealed by a cosine from 2e-3 to 2e-5 (the shallower
//! 784-256-64-4 at a constant 1e-3 stopped near 89-90% k-NN accuracy on its codes); on the
//! digits it is 64-256-64-4 for 300 epochs.
//!
//! A tenth of the training images (`--val-fraction`, stratified, seeded) is held out as
//! validation rows for the loss curves; the test images are only used after training.
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
//!
//! [`run`] reads top to bottom as the stages of the experiment: load, train, reconstruction,
//! latent space, denoising, report. Each stage's work is in a file of its own: `images.rs`
//! (the data and how figures draw it), `model.rs` (the network, its training and its batched
//! forward passes), `reconstruction.rs`, `latent.rs`, `denoise.rs` and `report.rs` (what is
//! printed).

#[path = "../common/mod.rs"]
mod common;
mod denoise;
mod images;
mod latent;
mod model;
mod reconstruction;
mod report;

use clap::Parser;
use common::optimizer::{OptKind, ScheduleKind};
use common::{plot, CommonArgs};
use images::{load_images, MNIST};
use latent::LatentSpace;
use model::{LossKind, Model};
use reconstruction::Reconstruction;
use report::Report;
use std::time::Instant;
use tapegrad::train::{Data, FitConfig};
use tapegrad::{Error, Result};

pub use common::images::ImageSource;
pub use latent::class_centroids;

/// An MLP autoencoder on MNIST (or the bundled digits): reconstructions, latent space, k-NN on
/// the codes, class-centroid interpolation, and a denoising autoencoder.
#[derive(Parser, Debug, Clone)]
#[command(long_about = None)]
pub struct Args {
    /// Training epochs [default: 10 on MNIST, 300 on the small digits set]
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// Learning rate (the peak of the schedule)
    #[arg(long, default_value_t = 2e-3)]
    pub lr: f64,
    /// Rows per training step
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    /// Hidden layer sizes of the encoder, comma-separated (the decoder mirrors them)
    /// [default: 512,256,128 on MNIST, 256,64 on the small digits set]
    #[arg(long, value_delimiter = ',', value_name = "SIZES")]
    pub hidden: Option<Vec<usize>>,
    /// Size of the latent code
    #[arg(long, default_value_t = 4)]
    pub latent: usize,
    /// Reconstruction loss
    #[arg(long, value_enum, default_value_t = LossKind::Mse)]
    pub loss: LossKind,
    /// Optimizer
    #[arg(long, value_enum, default_value_t = OptKind::Adam)]
    pub optimizer: OptKind,
    /// Learning-rate schedule over the run's steps
    #[arg(long, value_enum, default_value_t = ScheduleKind::Cosine)]
    pub schedule: ScheduleKind,
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
    /// `--data-dir` and `--digits`.
    #[command(flatten)]
    pub source: ImageSource,
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
    /// The training epochs: `--epochs`, else 10 on MNIST and 300 on the digits (1,293
    /// training images, 11 steps per epoch at batch 128).
    pub fn epochs(&self, mnist: bool) -> usize {
        self.epochs.unwrap_or(if mnist { 10 } else { 300 })
    }

    /// The encoder's hidden sizes: `--hidden`, else 512-256-128 on MNIST (depth is what
    /// separates the classes in a 4-number code) and 256-64 on the 64-pixel digits.
    pub fn hidden(&self, mnist: bool) -> Vec<usize> {
        self.hidden.clone().unwrap_or_else(|| {
            if mnist {
                vec![512, 256, 128]
            } else {
                vec![256, 64]
            }
        })
    }
}

/// The optimizer steps of `epochs` passes over `rows` rows in batches of `batch_size`.
pub fn steps(epochs: usize, rows: usize, batch_size: usize) -> usize {
    epochs * rows.div_ceil(batch_size.max(1))
}

/// Runs the experiment.
///
/// # Errors
/// A clean message when MNIST was asked for but cannot be read; [`Error::InvalidArgument`] for
/// bad flags; an I/O error naming the file when a figure or CSV cannot be written.
pub fn run(args: &Args) -> Result<Report> {
    let start = Instant::now();

    // Load: the images, the epochs they call for, the output folder.
    let images = load_images(args)?;
    let epochs = args.epochs(images.name == MNIST);
    let hidden = args.hidden(images.name == MNIST);
    let denoise_latent = args.denoise_latent.unwrap_or(args.latent);
    if args.knn_k == 0 || args.latent == 0 || epochs == 0 || denoise_latent == 0 {
        return Err(Error::invalid(
            "autoencoder",
            "--epochs, --latent, --denoise-latent and --knn-k must be at least 1",
        ));
    }
    let out = common::out_dir("autoencoder", &args.common)?;
    let quiet = args.common.quiet;
    let (train, val, test) = (&images.train, &images.val, &images.test);
    if !quiet {
        images.announce(
            "autoencoder",
            args.source.data_dir.as_deref(),
            args.source.digits,
        );
    }

    // Train: the autoencoder learns to rebuild the training images.
    let mut model = Model::new(train.features(), &hidden, args.latent, args, args.seed)?;
    if !quiet {
        println!("{}", model.ae);
        println!(
            "training: {} epochs, {} lr {} ({}), batch {}, {} loss",
            epochs, args.optimizer, args.lr, args.schedule, args.batch_size, args.loss
        );
    }
    let config = FitConfig::new(model.loss())
        .epochs(epochs)
        .batch_size(args.batch_size)
        .seed(args.seed);
    let config =
        args.schedule
            .apply(config, args.lr, steps(epochs, train.len(), args.batch_size))?;
    let (history, train_seconds) = model.train(
        args,
        &config,
        Data::autoencoder(&train.x),
        Data::autoencoder(&val.x),
        &mut |_, _, _| Ok(()),
    )?;
    let mut files = vec![common::save_history(&out, "history.csv", &history)?];
    files.push(plot::history(
        &out.join("loss.png"),
        &format!(
            "autoencoder loss ({}, {}; validation rows from the training set)",
            args.loss, images.name
        ),
        &history,
    )?);

    // Reconstruction: how close the test images come back, against the mean image.
    let Reconstruction {
        test_mse,
        test_psnr,
        baseline_mse,
    } = reconstruction::measure(&mut model, &images, &out, &mut files)?;

    // The latent space: k-NN on the codes, their scatter, lines between class centroids.
    let LatentSpace {
        knn_correct,
        knn_accuracy,
        scatter_explained,
    } = latent::explore(&mut model, &images, args.knn_k, &out, &mut files)?;

    // Denoising: a second autoencoder, trained on noisy inputs, against the first.
    let denoising = (!args.skip_denoise)
        .then(|| {
            denoise::train_and_judge(
                &mut model,
                &images,
                args,
                &config,
                (&hidden, denoise_latent),
                &out,
                &mut files,
            )
        })
        .transpose()?;

    // The report.
    Ok(Report {
        dataset: images.name.clone(),
        rows: (train.len(), val.len(), test.len()),
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
        denoise: denoising.as_ref().map_or_else(Vec::new, |d| d.rows.clone()),
        history,
        train_seconds,
        denoise_seconds: denoising.as_ref().map_or(0.0, |d| d.seconds),
        denoise_history: denoising.map(|d| d.history),
        total_seconds: start.elapsed().as_secs_f64(),
        files,
    })
}

fn main() -> std::process::ExitCode {
    common::main_with(|| {
        let args = Args::parse();
        let report = run(&args)?;
        println!("{report}");
        Ok(())
    })
}
