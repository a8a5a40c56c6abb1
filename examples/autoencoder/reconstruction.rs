//! How well the autoencoder rebuilds the test images: [`Reconstruction`] (MSE and PSNR against
//! the mean-image baseline) and the figure of originals beside their reconstructions
//! (`reconstructions.png`), written by [`measure`].

use super::common::plot;
use super::images::{row_of, Images};
use super::latent::class_centroids;
use super::model::Model;
use std::path::{Path, PathBuf};
use tapegrad::data;
use tapegrad::{Array, Result};

/// The test reconstruction error.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reconstruction {
    /// Test reconstruction MSE (pixels in [0, 1]).
    pub test_mse: f64,
    /// Test reconstruction PSNR in dB (peak 1).
    pub test_psnr: f64,
    /// The MSE of predicting every test image by the mean training image.
    pub baseline_mse: f64,
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

/// Measures the test reconstruction error against predicting the mean training image, and
/// writes two test images of each class above their reconstructions (captions: the label,
/// the image's MSE) to `out/reconstructions.png`, pushing its path on `files`.
///
/// # Errors
/// Shape errors; an I/O error naming the figure.
pub fn measure(
    model: &mut Model,
    images: &Images,
    out: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<Reconstruction> {
    let (train, test) = (&images.train, &images.test);
    let input = train.features();
    let recon = model.reconstruct(&test.x)?;
    let test_mse = data::mse(&recon, &test.x)?;
    let test_psnr = data::psnr(&recon, &test.x, 1.0)?;
    let mean_image = class_centroids(&train.x, &vec![0; train.len()], 1)?;
    let baseline = Array::from_fn(test.x.shape().clone(), |i| mean_image.data()[i % input]);
    let baseline_mse = data::mse(&baseline, &test.x)?;

    let mut grid = Vec::new();
    let picks = examples_per_class(&test.y, train.classes, 2);
    for round in 0..2 {
        let idx: Vec<usize> = picks.iter().filter_map(|p| p.get(round).copied()).collect();
        for &i in &idx {
            grid.push(images.picture(&test.x, i, format!("{}", test.y[i])));
        }
        for &i in &idx {
            let e: f64 = row_of(&recon, i)
                .iter()
                .zip(&row_of(&test.x, i))
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum::<f64>()
                / input as f64;
            grid.push(
                images
                    .picture(&recon, i, format!("{e:.3}"))
                    .caption_color(plot::color(0)),
            );
        }
    }
    files.push(images.save_grid(
        out,
        "reconstructions.png",
        &format!(
            "test digits (label) and their reconstructions from {} numbers (MSE)",
            model.ae.latent()
        ),
        &grid,
        train.classes,
    )?);
    Ok(Reconstruction {
        test_mse,
        test_psnr,
        baseline_mse,
    })
}
