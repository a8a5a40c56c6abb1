//! `tsne`: t-SNE of an autoencoder's 4-number codes of the test digits, as a scatter coloured
//! by digit, with the leave-one-out 5-NN accuracy of the labels in the codes and in the map.
//!
//! The autoencoder is the autoencoder example's MNIST default: 784-512-256-128-4 (ReLU,
//! sigmoid output), MSE, Adam with the rate annealed by a cosine from 2e-3 to 2e-5 over the
//! run's steps, batches of 128, seed 0, 10 epochs (`--quick`: 2 on MNIST, 20 on the digits).
//! The map: `tapegrad::nn::tsne::Tsne` with its defaults (perplexity 30, 1,000 iterations;
//! `--quick` 300) on the codes of the first 5,000 test images (`--quick` 1,000).
//! Writes `tsne.csv` (`x,y,label`), `tsne.png`, and the codes, labels and map as NumPy files
//! (`tsne_codes.npy`, `tsne_labels.npy`, `tsne_map.npy`) for `scripts/tsne_compare.py`,
//! which runs scikit-learn's t-SNE on the same codes and scores both maps the same way.

use super::common::plot::{self, Axes};
use super::data;
use super::summary::Report;
use super::Context;
use std::fmt::Write as _;
use std::time::Instant;
use tapegrad::data::npy::{write_npy, write_npy_labels};
use tapegrad::nn::optim::Adam;
use tapegrad::nn::schedule::Cosine;
use tapegrad::nn::tsne::{neighbour_accuracy, Tsne};
use tapegrad::nn::{write_file_atomic, Activation, Autoencoder};
use tapegrad::train::{fit, predict, Data, Every, FitConfig, Loss};
use tapegrad::{rng, Result};

/// The encoder's hidden layers (the autoencoder example's MNIST default).
pub const HIDDEN: [usize; 3] = [512, 256, 128];
/// The peak learning rate (the cosine ends at 1/100 of it).
pub const LR: f64 = 2e-3;
/// The code size.
pub const LATENT: usize = 4;
/// Test images mapped (`--quick`: [`QUICK_POINTS`]).
pub const POINTS: usize = 5_000;
/// Test images mapped with `--quick`.
pub const QUICK_POINTS: usize = 1_000;
/// Neighbours of the k-NN metric.
pub const K: usize = 5;

/// Runs the study.
///
/// # Errors
/// As [`data::load`] and training; an I/O error naming the CSV or the figure.
pub fn run(ctx: &Context) -> Result<Report> {
    let data = data::load(ctx)?;
    let epochs = ctx.epochs(10, if data.mnist { 2 } else { 20 });
    let iterations = if ctx.args.quick { 300 } else { 1000 };
    let n = data
        .test
        .len()
        .min(if ctx.args.quick { QUICK_POINTS } else { POINTS });
    let features = data.features();

    let start = Instant::now();
    let mut ae = Autoencoder::<f32>::new(
        features,
        &HIDDEN,
        LATENT,
        Activation::Relu,
        Activation::Sigmoid,
        &mut rng(0),
    )?;
    let steps = epochs * data.train.len().div_ceil(128);
    let config = FitConfig::new(Loss::Mse)
        .epochs(epochs)
        .batch_size(128)
        .seed(0)
        .schedule(
            Cosine::new(LR, LR / 100.0, steps.saturating_sub(1).max(1))?,
            Every::Step,
        );
    let mut opt = Adam::new(LR);
    fit(
        &mut ae,
        &mut opt,
        Data::autoencoder(&data.train.x),
        None,
        &config,
        &mut (),
    )?;
    let train_secs = start.elapsed().as_secs_f64();
    let test = data.test.x.rows(0..n)?;
    let labels = &data.test.y[..n];
    let codes = predict(ae.encoder_mut(), &test, 1000)?;

    let start = Instant::now();
    let map = Tsne::new().iterations(iterations).seed(0).fit(&codes)?;
    let tsne_secs = start.elapsed().as_secs_f64();
    let code_acc = neighbour_accuracy(&codes, labels, K)?;
    let map_acc = neighbour_accuracy(&map.embedding, labels, K)?;

    let points: Vec<(f64, f64)> = map
        .embedding
        .data()
        .chunks(2)
        .map(|p| (f64::from(p[0]), f64::from(p[1])))
        .collect();
    let mut csv = String::from("x,y,label\n");
    for (p, l) in points.iter().zip(labels) {
        writeln!(csv, "{},{},{l}", p.0, p.1).expect("internal: writing to a String");
    }
    let csv_path = ctx.file("tsne", "csv");
    write_file_atomic(&csv_path, csv.as_bytes())?;
    let names: Vec<String> = (0..10).map(|d| d.to_string()).collect();
    let title = format!(
        "t-SNE of the {LATENT}-number codes of {n} test images ({})",
        data.name
    );
    let axes = Axes {
        title: &title,
        x_label: "t-SNE 1",
        y_label: "t-SNE 2",
        log_y: false,
        integer_x: false,
    };
    let png = plot::scatter(&ctx.file("tsne", "png"), &axes, &points, labels, &names)?;
    let npy = [
        ctx.file("tsne_codes", "npy"),
        ctx.file("tsne_labels", "npy"),
        ctx.file("tsne_map", "npy"),
    ];
    write_npy(&npy[0], &codes)?;
    write_npy_labels(&npy[1], labels)?;
    write_npy(&npy[2], &map.embedding)?;

    let mut table = String::new();
    writeln!(table, "leave-one-out {K}-NN accuracy of the labels").expect("internal: String");
    writeln!(table, "  in the {LATENT}-D codes  {code_acc:.4}").expect("internal: String");
    writeln!(table, "  in the 2-D map     {map_acc:.4}").expect("internal: String");
    writeln!(table, "KL(P||Q) of the map  {:.4}", map.kl).expect("internal: String");
    Ok(Report {
        heading: format!(
            "study tsne: autoencoder {features}-{}-{}-{}-{LATENT} (MSE, Adam {LR} with a cosine \
             to 1/100, batch 128, {epochs} epochs) on {}; t-SNE (perplexity 30, {iterations} \
             iterations, seed 0) of {n} test codes",
            HIDDEN[0], HIDDEN[1], HIDDEN[2], data.name
        ),
        table,
        summaries: vec![],
        reused: 0,
        computed: 0,
        ignored: 0,
        recovered_torn_line: false,
        notes: vec![format!(
            "seconds: autoencoder training {train_secs:.1}, t-SNE {tsne_secs:.1} \
             (affinities and {iterations} iterations)"
        )],
        files: [vec![csv_path, png], npy.to_vec()].concat(),
    })
}
