//! `latent`: autoencoders with a code of 4 to 64 numbers and 1 to 5 hidden layers, trained on
//! MSE and on binary cross-entropy; two heatmaps (latent × depth) of the test reconstruction
//! loss.
//!
//! Depth `d` is the encoder's number of hidden layers, each [`WIDTH`] units wide (ReLU); the
//! decoder mirrors the encoder and ends in a sigmoid, so depth 1 with a code of 4 is
//! 784-128-4-128-784. Adam 1e-3, batches of 128. The metric is the test loss in the loss the
//! model was trained on. 50 models: the defaults are 1 run of 10 epochs per model.

use super::data;
use super::figures::{self, Heatmap};
use super::runner::{self, Outcome, Plan, Setting};
use super::summary::{table, Metric, Report, Summary};
use super::Context;
use std::time::Instant;
use tapegrad::nn::optim::Adam;
use tapegrad::nn::{mix_seed, Activation, Autoencoder};
use tapegrad::train::{evaluate, fit, Data, FitConfig, Loss};
use tapegrad::{rng, Result};

/// The code sizes compared.
pub const LATENTS: [usize; 5] = [4, 8, 16, 32, 64];
/// The depths compared (hidden layers of the encoder).
pub const DEPTHS: [usize; 5] = [1, 2, 3, 4, 5];
/// The width of every hidden layer.
pub const WIDTH: usize = 128;
/// Rows per step.
pub const BATCH: usize = 128;
/// The losses, each with its own heatmap.
pub const LOSSES: [(&str, Loss); 2] = [("MSE", Loss::Mse), ("BCE", Loss::Bce)];
/// Default runs per model.
pub const RUNS: usize = 1;
/// Default epochs (`--quick`: 1 on 6,000 MNIST images, 10 on the digits).
pub const EPOCHS: usize = 10;

/// The settings in order: for each loss, for each depth, for each latent size.
fn grid() -> Vec<(Loss, &'static str, usize, usize)> {
    let mut v = Vec::new();
    for (name, loss) in LOSSES {
        for depth in DEPTHS {
            for latent in LATENTS {
                v.push((loss, name, depth, latent));
            }
        }
    }
    v
}

/// Runs the study.
///
/// # Errors
/// As [`runner::execute`] and [`data::load`]; an I/O error naming the figure.
pub fn run(ctx: &Context) -> Result<Report> {
    let data = data::load(ctx)?;
    let quick_epochs = if data.mnist { 1 } else { 10 };
    let (runs, epochs) = (ctx.runs(RUNS, RUNS), ctx.epochs(EPOCHS, quick_epochs));
    let features = data.features();
    let grid = grid();
    let plan = Plan {
        study: "latent",
        settings: grid
            .iter()
            .map(|&(_, name, depth, latent)| Setting {
                label: format!("{name} latent {latent} depth {depth}"),
                batch: BATCH,
                config: format!(
                    "{features}-{WIDTH}x{depth}-{latent}-{WIDTH}x{depth}-{features} ReLU sigmoid \
                     Adam 0.001 {name}"
                ),
            })
            .collect(),
        runs,
        epochs,
        dataset: data.name.clone(),
    };
    let csv = ctx.file("latent", "csv");
    let job = |s: usize, seed: u64| -> Result<Outcome> {
        let (loss, _, depth, latent) = grid[s];
        let mut model = Autoencoder::<f32>::new(
            features,
            &vec![WIDTH; depth],
            latent,
            Activation::Relu,
            Activation::Sigmoid,
            &mut rng(seed),
        )?;
        let config = FitConfig::new(loss)
            .epochs(epochs)
            .batch_size(BATCH)
            .seed(mix_seed(seed, 1));
        let start = Instant::now();
        let history = fit(
            &mut model,
            &mut Adam::new(1e-3),
            Data::autoencoder(&data.train.x),
            None,
            &config,
            &mut (),
        )?;
        let train_seconds = start.elapsed().as_secs_f64();
        let test = evaluate(&mut model, Data::autoencoder(&data.test.x), &config)?;
        Ok(Outcome {
            metric: test.loss,
            train_seconds,
            train_curve: history.epochs.iter().map(|e| e.train_loss).collect(),
            val_curve: Vec::new(),
        })
    };
    let results = runner::execute(&plan, &csv, ctx.progress, &job)?;
    let summaries: Vec<Summary> = plan
        .settings
        .iter()
        .zip(&results.rows)
        .map(|(s, rows)| Summary::of(&s.label, rows))
        .collect();
    let maps: Vec<Heatmap> = LOSSES
        .iter()
        .enumerate()
        .map(|(k, (name, _))| {
            let per = DEPTHS.len() * LATENTS.len();
            Heatmap {
                title: format!("{name}: test loss"),
                rows: DEPTHS.iter().map(|d| format!("depth {d}")).collect(),
                cols: LATENTS.iter().map(|l| l.to_string()).collect(),
                values: summaries[k * per..(k + 1) * per]
                    .chunks(LATENTS.len())
                    .map(|row| row.iter().map(|s| s.median).collect())
                    .collect(),
            }
        })
        .collect();
    let figure = figures::heatmaps(
        &ctx.file("latent", "png"),
        &format!(
            "autoencoder test reconstruction loss ({}, {runs} run(s) x {epochs} epochs; \
             x = latent size, y = hidden layers of {WIDTH})",
            data.name
        ),
        &maps,
    )?;
    let secs: f64 = results.rows.iter().flatten().map(|r| r.seconds).sum();
    Ok(Report {
        heading: format!(
            "study latent: autoencoders on {}, latent {LATENTS:?} x depth {DEPTHS:?} \
             (hidden layers of {WIDTH}, mirrored), MSE and BCE, Adam 1e-3, batch {BATCH}; \
             {runs} run(s) x {epochs} epochs; {} workers x {} thread(s)",
            data.name, results.workers.0, results.workers.1
        ),
        table: table(&summaries, Metric::Loss, "test reconstruction loss"),
        summaries,
        reused: results.reused,
        computed: results.computed,
        ignored: results.ignored,
        recovered_torn_line: results.recovered_torn_line,
        notes: vec![format!(
            "total seconds over all runs: {secs:.1} (wall clock is about this / workers)"
        )],
        files: vec![csv, figure],
    })
}
