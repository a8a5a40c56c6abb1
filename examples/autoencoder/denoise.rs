//! Denoising: [`add_noise`], and [`train_and_judge`], which trains a second autoencoder on noisy
//! inputs with clean targets, judges it (and the plain autoencoder) on the test images at each
//! noise level of [`SIGMAS`] ([`DenoiseRow`]), and draws `denoising.png`.

use super::common;
use super::common::plot::GridImage;
use super::images::Images;
use super::model::Model;
use super::Args;
use std::path::{Path, PathBuf};
use tapegrad::data;
use tapegrad::train::{Data, FitConfig, History};
use tapegrad::{rng, Array, Result};

/// The noise levels the denoising autoencoder is judged at.
pub const SIGMAS: [f64; 3] = [0.2, 0.4, 0.6];

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

/// What the denoising stage measured.
#[derive(Clone, Debug)]
pub struct Denoising {
    /// The results at each level of [`SIGMAS`].
    pub rows: Vec<DenoiseRow>,
    /// The denoising autoencoder's training history.
    pub history: History,
    /// Seconds training it.
    pub seconds: f64,
}

/// Trains a denoising autoencoder (hidden sizes `hidden`, code size `latent`, seeded
/// `--seed` + 1) as `config` says
/// with `--denoise-epochs` and Gaussian input noise `--noise` clipped to [0, 1], validated on
/// the validation images (carved from the training set) at the first of [`SIGMAS`]; then
/// judges it and `plain` on the test images at each level and
/// writes `out/denoise_history.csv` and `out/denoising.png` (rows: ten clean test images,
/// then noisy and denoised at each level), pushing their paths on `files`.
///
/// # Errors
/// Those of training; an I/O error naming a file.
pub fn train_and_judge(
    plain: &mut Model,
    images: &Images,
    args: &Args,
    config: &FitConfig,
    (hidden, latent): (&[usize], usize),
    out: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<Denoising> {
    let (train, val, test) = (&images.train, &images.val, &images.test);
    // The validation images at the first noise level validate training; the test images at
    // each level judge the trained models.
    let noisy_val = add_noise(&val.x, SIGMAS[0], args.seed.wrapping_add(99));
    let noisy_sets: Vec<(f64, Array<f32>)> = SIGMAS
        .iter()
        .enumerate()
        .map(|(i, &sigma)| {
            let seed = args.seed.wrapping_add(100 + i as u64);
            (sigma, add_noise(&test.x, sigma, seed))
        })
        .collect();
    if !args.common.quiet {
        println!(
            "training the denoising autoencoder (input noise sigma {}, clipped to [0, 1]; \
             validation: validation images at sigma {})",
            args.noise, SIGMAS[0]
        );
    }
    let mut den = Model::new(
        train.features(),
        hidden,
        latent,
        args,
        args.seed.wrapping_add(1),
    )?;
    let epochs = args.denoise_epochs.unwrap_or(config.epochs);
    let config = config.clone().epochs(epochs).input_noise(args.noise);
    // the schedule over this run's own steps
    let config = args.schedule.apply(
        config,
        args.lr,
        super::steps(epochs, train.len(), args.batch_size),
    )?;
    // `fit` has added the noise; keep the pixels in [0, 1] as a real image would be.
    let mut clip = |xb: &mut Array<f32>, _epoch: usize, _step: usize| {
        xb.data_mut()
            .iter_mut()
            .for_each(|v| *v = v.clamp(0.0, 1.0));
        Ok(())
    };
    let (history, seconds) = den.train(
        args,
        &config,
        Data::autoencoder(&train.x),
        Data::values(&noisy_val, &val.x),
        &mut clip,
    )?;
    files.push(common::save_history(out, "denoise_history.csv", &history)?);

    // Rows of the figure: the clean images, then noisy and denoised at each level.
    let cols = 10.min(test.len());
    let caption = |c: usize, s: &str| if c == 0 { s.to_string() } else { String::new() };
    let mut grid: Vec<GridImage> = (0..cols)
        .map(|c| images.picture(&test.x, c, caption(c, "clean")))
        .collect();
    let mut rows = Vec::new();
    for (sigma, noisy) in &noisy_sets {
        let cleaned = den.reconstruct(noisy)?;
        let plain_out = plain.reconstruct(noisy)?;
        rows.push(DenoiseRow {
            sigma: *sigma,
            noisy_mse: data::mse(noisy, &test.x)?,
            denoised_mse: data::mse(&cleaned, &test.x)?,
            plain_mse: data::mse(&plain_out, &test.x)?,
        });
        for (src, name) in [
            (noisy, format!("noisy \u{3c3} {sigma}")),
            (&cleaned, "denoised".to_string()),
        ] {
            grid.extend((0..cols).map(|c| images.picture(src, c, caption(c, &name))));
        }
    }
    files.push(images.save_grid(
        out,
        "denoising.png",
        &format!(
            "denoising autoencoder (trained at \u{3c3} {}, latent {latent})",
            args.noise
        ),
        &grid,
        cols,
    )?);
    Ok(Denoising {
        rows,
        history,
        seconds,
    })
}
