//! [`FitConfig`] (how [`fit`](super::fit) trains, with its chainable setters) and
//! [`Accuracy`] (what is reported next to the loss).

use super::{EarlyStopping, Loss, Monitor};
use std::path::PathBuf;

/// Which accuracy [`fit`](super::fit) and [`evaluate`](super::evaluate) report next to the loss.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Accuracy {
    /// [`Accuracy::Argmax`] for [`Loss::CrossEntropy`], none for the other losses.
    #[default]
    Auto,
    /// No accuracy.
    None,
    /// The fraction of rows whose largest output is the target class (or, with value targets,
    /// the target's largest entry, e.g. one-hot rows).
    Argmax,
    /// The fraction of output elements on the same side of the threshold as their target
    /// (binary targets: `0.5` for probabilities, `0.0` for logits).
    Threshold(f64),
}

impl Accuracy {
    pub(super) fn resolve(self, l: Loss) -> Accuracy {
        match (self, l) {
            (Accuracy::Auto, Loss::CrossEntropy) => Accuracy::Argmax,
            (Accuracy::Auto, _) => Accuracy::None,
            (a, _) => a,
        }
    }
}

/// How [`fit`](super::fit) trains. Build it with [`FitConfig::new`] and the chainable setters, or with
/// struct-update syntax: `FitConfig { epochs: 5, ..FitConfig::new(Loss::Mse) }`.
#[derive(Clone, Debug, PartialEq)]
pub struct FitConfig {
    /// What is minimized.
    pub loss: Loss,
    /// The number of passes over the training set (default 10).
    pub epochs: usize,
    /// Rows per training step (default 32). A batch size at least the number of rows gives one
    /// full-batch step per epoch.
    pub batch_size: usize,
    /// The seed of the per-epoch shuffling and of the input noise (default 0). The same seed
    /// gives the same history.
    pub seed: u64,
    /// Whether to visit the training rows in a new order each epoch (default true).
    pub shuffle: bool,
    /// Whether to skip a last batch smaller than `batch_size` (default false).
    pub drop_last: bool,
    /// Early stopping (default none).
    pub early_stopping: Option<EarlyStopping>,
    /// Rescale the gradients so that their global L2 norm is at most this (default none).
    pub clip_grad_norm: Option<f64>,
    /// Add Gaussian noise of this standard deviation to each training batch's inputs, drawn
    /// from `(seed, epoch, step)`; the targets stay clean, so with [`Targets::Input`](super::Targets::Input) this trains
    /// a denoising autoencoder (default none). Validation and [`evaluate`](super::evaluate) use clean inputs.
    pub input_noise: Option<f64>,
    /// The accuracy reported next to the loss (default [`Accuracy::Auto`]).
    pub accuracy: Accuracy,
    /// Rows per forward pass when evaluating the validation set (default 1024; no gradients are
    /// kept then, so larger batches are cheap).
    pub eval_batch_size: usize,
    /// Write a [`Checkpoint`](crate::nn::Checkpoint) to this file after every epoch (default none): the model, the
    /// optimizer's state, the epoch, the history and the early-stopping state, written
    /// atomically (a crash leaves the previous epoch's checkpoint).
    pub checkpoint: Option<PathBuf>,
    /// Resume from this checkpoint (default none): the model's weights, the optimizer's
    /// settings and state, the history and the early-stopping state are loaded from it, and
    /// training continues with the epoch after the checkpoint's, up to
    /// [`FitConfig::epochs`] in all. The checkpoint must come from `fit` with the same loss,
    /// batch size, seed, shuffling, clipping, noise, accuracy and early stopping, on as many
    /// training rows (checked).
    pub resume: Option<PathBuf>,
}

/// Chainable setters: `field(arg: Type) = value;` writes, with its doc comment,
/// `pub fn field(mut self, arg: Type) -> Self`, which sets `self.field = value`.
macro_rules! setters {
    ($($(#[$doc:meta])* $field:ident($arg:ident: $ty:ty) = $value:expr;)*) => {
        $(
            $(#[$doc])*
            pub fn $field(mut self, $arg: $ty) -> Self {
                self.$field = $value;
                self
            }
        )*
    };
}

impl FitConfig {
    /// A configuration for `loss` with the defaults: 10 epochs, batches of 32, seed 0,
    /// shuffled, the last partial batch kept, no early stopping, no clipping, no input noise,
    /// the accuracy that suits the loss, evaluation in batches of 1024, no checkpoints.
    pub fn new(loss: Loss) -> Self {
        FitConfig {
            loss,
            epochs: 10,
            batch_size: 32,
            seed: 0,
            shuffle: true,
            drop_last: false,
            early_stopping: None,
            clip_grad_norm: None,
            input_noise: None,
            accuracy: Accuracy::Auto,
            eval_batch_size: 1024,
            checkpoint: None,
            resume: None,
        }
    }

    setters! {
        /// Sets [`FitConfig::epochs`].
        epochs(epochs: usize) = epochs;
        /// Sets [`FitConfig::batch_size`].
        batch_size(batch_size: usize) = batch_size;
        /// Sets [`FitConfig::seed`].
        seed(seed: u64) = seed;
        /// Sets [`FitConfig::shuffle`].
        shuffle(shuffle: bool) = shuffle;
        /// Sets [`FitConfig::drop_last`].
        drop_last(drop_last: bool) = drop_last;
        /// Sets [`FitConfig::early_stopping`].
        early_stopping(es: EarlyStopping) = Some(es);
        /// Sets [`FitConfig::clip_grad_norm`].
        clip_grad_norm(max_norm: f64) = Some(max_norm);
        /// Sets [`FitConfig::input_noise`] (Gaussian, standard deviation `sigma`).
        input_noise(sigma: f64) = Some(sigma);
        /// Sets [`FitConfig::accuracy`].
        accuracy(accuracy: Accuracy) = accuracy;
        /// Sets [`FitConfig::eval_batch_size`].
        eval_batch_size(n: usize) = n;
        /// Sets [`FitConfig::checkpoint`]: a checkpoint after every epoch, at `path`.
        checkpoint(path: impl Into<PathBuf>) = Some(path.into());
        /// Sets [`FitConfig::resume`]: continue from the checkpoint at `path`.
        resume(path: impl Into<PathBuf>) = Some(path.into());
    }

    /// What a resumed run must share with the run that wrote the checkpoint.
    pub(super) fn fingerprint(&self, rows: usize) -> String {
        format!(
            "loss={} batch_size={} seed={} shuffle={} drop_last={} clip_grad_norm={:?} \
             input_noise={:?} accuracy={:?} eval_batch_size={} early_stopping={:?} rows={rows}",
            self.loss,
            self.batch_size,
            self.seed,
            self.shuffle,
            self.drop_last,
            self.clip_grad_norm,
            self.input_noise,
            self.accuracy,
            self.eval_batch_size,
            self.early_stopping,
        )
    }

    /// What is wrong with the settings, if anything.
    pub(super) fn problem(&self) -> std::result::Result<(), String> {
        let bad = Err;
        if self.batch_size == 0 || self.eval_batch_size == 0 {
            return bad("batch_size and eval_batch_size must be at least 1".into());
        }
        if let Some(es) = &self.early_stopping {
            if es.patience == 0 {
                return bad("early_stopping.patience must be at least 1".into());
            }
            if !(es.min_delta >= 0.0 && es.min_delta.is_finite()) {
                return bad(format!(
                    "early_stopping.min_delta must be finite and >= 0, got {}",
                    es.min_delta
                ));
            }
            if es.monitor == Monitor::ValAccuracy
                && self.accuracy.resolve(self.loss) == Accuracy::None
            {
                return bad(format!(
                    "early stopping on accuracy needs an accuracy; the {} loss reports none \
                     unless `accuracy` is set",
                    self.loss
                ));
            }
        }
        if let Some(c) = self.clip_grad_norm {
            if !(c > 0.0 && c.is_finite()) {
                return bad(format!(
                    "clip_grad_norm must be positive and finite, got {c}"
                ));
            }
        }
        if let Some(s) = self.input_noise {
            if !(s >= 0.0 && s.is_finite()) {
                return bad(format!("input_noise must be finite and >= 0, got {s}"));
            }
        }
        if let Accuracy::Threshold(t) = self.accuracy {
            if !t.is_finite() {
                return bad(format!("the accuracy threshold must be finite, got {t}"));
            }
        }
        Ok(())
    }
}
