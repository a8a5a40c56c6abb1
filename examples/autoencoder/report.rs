//! What a run measured and wrote: [`Report`], and its Display, the table the program prints.

use super::common;
use super::denoise::DenoiseRow;
use super::model::LossKind;
use std::fmt;
use std::path::PathBuf;
use tapegrad::train::History;

/// What a run measured and wrote.
#[derive(Clone, Debug)]
pub struct Report {
    /// The data set used.
    pub dataset: String,
    /// Training, validation and test rows.
    pub rows: (usize, usize, usize),
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
        let (ntr, nva, nte) = self.rows;
        let dec: Vec<usize> = self.encoder.iter().rev().copied().collect();
        writeln!(
            f,
            "autoencoder on {} ({ntr} training / {nva} validation / {nte} test images)",
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
