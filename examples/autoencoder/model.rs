//! The network: [`LossKind`] (the reconstruction loss), and [`Model`], an autoencoder that
//! knows whether its decoder ends in logits, trains through `tapegrad::train::fit_with`, and
//! encodes, decodes and reconstructs whole arrays with `tapegrad::train::predict`.

use super::common::Progress;
use super::Args;
use clap::ValueEnum;
use std::fmt;
use std::time::Instant;
use tapegrad::nn::{Activation, Autoencoder};
use tapegrad::train::{fit_with, predict, Data, FitConfig, History, InputTransform, Loss};
use tapegrad::{rng, Array, Result};

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

/// An autoencoder and whether its decoder ends in raw logits (BCE training) that still need
/// the sigmoid.
pub struct Model {
    /// The network.
    pub ae: Autoencoder<f32>,
    /// The decoder's output is a logit (the sigmoid is applied by [`Model::reconstruct`] and
    /// [`Model::decode`]).
    pub logits: bool,
}

/// Rows per forward pass outside training.
const EVAL_BATCH: usize = 1024;

fn sigmoid(v: f32) -> f32 {
    1.0 / (1.0 + (-v).exp())
}

/// Print a summary line every few epochs: about ten lines per run.
fn epoch_lines(epochs: usize) -> usize {
    epochs.div_ceil(10).max(1)
}

impl Model {
    /// A new autoencoder `[input, hidden..., latent]` and its mirror, ReLU between layers,
    /// seeded; the output and loss as `args.loss` says.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](tapegrad::Error::InvalidArgument) for a zero size.
    pub fn new(
        input: usize,
        hidden: &[usize],
        latent: usize,
        args: &Args,
        seed: u64,
    ) -> Result<Self> {
        let logits = args.loss == LossKind::Bce;
        let out = if logits {
            Activation::Identity
        } else {
            Activation::Sigmoid
        };
        let ae = Autoencoder::new(input, hidden, latent, Activation::Relu, out, &mut rng(seed))?;
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

    /// Trains the network on `train` as `config` says, validating on `val`, with a fresh
    /// `--optimizer` at `--lr` and a progress bar; `transform` changes each training batch's
    /// inputs (see `fit_with`). Returns the history and the seconds it took.
    ///
    /// # Errors
    /// Those of `fit_with` (bad settings, a diverging loss).
    pub fn train(
        &mut self,
        args: &Args,
        config: &FitConfig,
        train: Data<'_, f32>,
        val: Data<'_, f32>,
        transform: &mut InputTransform<'_, f32>,
    ) -> Result<(History, f64)> {
        let mut opt = args.optimizer.build(args.lr);
        let mut progress = Progress::new(args.common.quiet).epoch_lines(epoch_lines(config.epochs));
        let start = Instant::now();
        let history = fit_with(
            &mut self.ae,
            opt.as_mut(),
            train,
            Some(val),
            config,
            &mut progress,
            transform,
        )?;
        Ok((history, start.elapsed().as_secs_f64()))
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
    pub fn encode(&mut self, x: &Array<f32>) -> Result<Array<f32>> {
        predict(self.ae.encoder_mut(), x, EVAL_BATCH)
    }

    /// The images (in [0, 1]) decoded from the codes `z`.
    ///
    /// # Errors
    /// Shape errors when `z` does not fit the decoder.
    pub fn decode(&mut self, z: &Array<f32>) -> Result<Array<f32>> {
        let y = predict(self.ae.decoder_mut(), z, EVAL_BATCH)?;
        Ok(self.squash(y))
    }

    /// The reconstructions (in [0, 1]) of the rows of `x`: `decode(encode(x))`.
    ///
    /// # Errors
    /// Shape errors when `x` does not fit the autoencoder.
    pub fn reconstruct(&mut self, x: &Array<f32>) -> Result<Array<f32>> {
        let y = predict(&mut self.ae, x, EVAL_BATCH)?;
        Ok(self.squash(y))
    }
}
