//! The shared training loop: [`fit`], [`evaluate`] and [`predict`] for any
//! [`Module`], so that a program does not rewrite the loop.
//!
//! [`fit`] runs epochs of shuffled mini-batches (seeded, through [`Batches`]); each step records
//! the forward pass and the loss on one reused [`Tape`], takes the gradients, resets the tape and
//! steps the optimizer. After each epoch it measures the validation set (if given) and records an
//! [`EpochStats`] in the [`History`]. [`EarlyStopping`] stops when the monitored quantity has not
//! improved for `patience` epochs and can put the best weights back. A [`Callback`] hears about
//! every step and epoch (the examples draw a progress bar with it).
//!
//! Guarantees:
//! - A NaN or infinite training loss, or a parameter that an optimizer step leaves NaN or
//!   infinite, stops training with [`Error::NonFinite`] naming the epoch and the step
//!   (`training loss at epoch 3, step 17: value is NaN (not finite)`, `sgd: parameter
//!   `0.weight` after the update at epoch 1, step 3: ...`).
//! - No rows (in the training or validation set, for [`evaluate`] or [`predict`]), a batch size
//!   that leaves no batch, or an optimizer whose learning rate is not positive and finite is an
//!   [`Error::InvalidArgument`] before anything is trained.
//! - Errors name the line that called [`fit`] (or [`evaluate`], [`predict`]), and an error in
//!   the model's forward pass also the module where it arose (`(in module `2`: Dense(in=16,
//!   out=2, bias))`).
//! - [`FitConfig::checkpoint`] writes a [`Checkpoint`] after every epoch and
//!   [`FitConfig::resume`] continues from one: training 6 epochs in one go gives bit-identical
//!   weights (and history) to 3 epochs, a checkpoint, and 3 more in a fresh process. Every
//!   random draw of training is derived from `(seed, epoch, step)` (shuffling, input noise,
//!   dropout masks through [`Module::reseed`]), so the checkpoint needs no generator state.
//!
//! What is learned is described by a [`FitConfig`]: the [`Loss`] (softmax cross-entropy on class
//! labels, or MSE / BCE / BCE-with-logits on value targets), the epochs, the batch size, the seed,
//! early stopping, gradient clipping, Gaussian input noise (a denoising autoencoder), and which
//! [`Accuracy`] to report. The data is a [`Data`]: inputs plus [`Targets`] (class labels, values,
//! or the inputs themselves for an autoencoder).
//!
//! Epochs and steps are counted from 1 everywhere in this module (in [`EpochStats::epoch`], in the
//! callback arguments and in error messages).
//!
//! ```
//! use tapegrad::nn::optim::Adam;
//! use tapegrad::nn::{Act, Mlp, OutputAct};
//! use tapegrad::train::{fit, predict, Data, FitConfig, Loss};
//! use tapegrad::{data, rng};
//! # fn main() -> tapegrad::Result<()> {
//! let ds = data::synthetic::two_moons(400, 0.1, 0)?;
//! let (train, val) = data::train_test_split(&ds, 0.25, 0, true)?;
//! let mut model = Mlp::<f32>::new(&[2, 16, 16, 2], Act::Relu, OutputAct::None, &mut rng(0))?;
//! let mut opt = Adam::new(0.01);
//! let config = FitConfig::new(Loss::CrossEntropy).epochs(60).batch_size(32).seed(1);
//! let history = fit(
//!     &mut model,
//!     &mut opt,
//!     Data::classes(&train.x, &train.y),
//!     Some(Data::classes(&val.x, &val.y)),
//!     &config,
//!     &mut (), // no callback
//! )?;
//! let last = history.last().unwrap();
//! assert!(last.val_accuracy.unwrap() > 0.95, "{last:?}");
//! let logits = predict(&mut model, &val.x, 256)?; // [100, 2]
//! assert_eq!(logits.dims(), &[100, 2]);
//! # Ok(()) }
//! ```

use crate::nn::optim::Optimizer;
use crate::nn::ParamPath;
use crate::nn::{
    clip_grad_norm, loss, mix_seed as mix, write_file_atomic, Checkpoint, Module, Progress,
    Reduction,
};
use crate::{rng, Array, Element, Error, Gradients, Result, Tape, Tensor};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tapegrad_data::Batches;

/// What [`fit`] minimizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// Softmax cross-entropy of the model's logits `[N, C]` with class labels
    /// ([`Targets::Classes`]); [`loss::cross_entropy_with_logits`]. The model outputs raw
    /// scores ([`OutputAct::None`](crate::nn::OutputAct::None)).
    CrossEntropy,
    /// Mean squared error with value targets of the output's shape; [`loss::mse`].
    Mse,
    /// Binary cross-entropy on probabilities (a sigmoid output) with targets in `[0, 1]`;
    /// [`loss::bce`].
    Bce,
    /// Binary cross-entropy on logits (no output activation) with targets in `[0, 1]`; stable
    /// for any logit; [`loss::bce_with_logits`].
    BceWithLogits,
}

impl Loss {
    /// Whether this loss takes class labels ([`Loss::CrossEntropy`]) rather than values.
    pub fn takes_classes(self) -> bool {
        self == Loss::CrossEntropy
    }

    /// The loss of `pred` against `target`, averaged over the batch, as a tape scalar.
    #[track_caller]
    fn apply<'t, T: Element>(
        self,
        tape: &'t Tape<T>,
        pred: Tensor<'t, T>,
        target: BatchTarget<T>,
    ) -> Result<Tensor<'t, T>> {
        let red = Reduction::Mean;
        match (self, target) {
            (Loss::CrossEntropy, BatchTarget::Classes(y)) => {
                loss::cross_entropy_with_logits(pred, &y, red)
            }
            (Loss::Mse, BatchTarget::Values(y)) => loss::mse(pred, tape.constant(y), red),
            (Loss::Bce, BatchTarget::Values(y)) => loss::bce(pred, tape.constant(y), red),
            (Loss::BceWithLogits, BatchTarget::Values(y)) => {
                loss::bce_with_logits(pred, tape.constant(y), red)
            }
            (l, _) => Err(mismatch(l)),
        }
    }
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Loss::CrossEntropy => "cross-entropy",
            Loss::Mse => "mse",
            Loss::Bce => "bce",
            Loss::BceWithLogits => "bce-with-logits",
        })
    }
}

#[track_caller]
fn mismatch(l: Loss) -> Error {
    let msg = if l.takes_classes() {
        format!("the {l} loss needs class labels (Targets::Classes / Data::classes)")
    } else {
        format!(
            "the {l} loss needs value targets (Targets::Values / Data::values / Data::autoencoder)"
        )
    };
    Error::invalid("train", msg)
}

/// The targets of a data set, one per input row.
#[derive(Clone, Copy, Debug)]
pub enum Targets<'a, T: Element> {
    /// A class label per row (for [`Loss::CrossEntropy`]).
    Classes(&'a [usize]),
    /// A target array whose first axis is the rows (for MSE and BCE); a batch's targets must
    /// have the model output's shape.
    Values(&'a Array<T>),
    /// The inputs themselves (an autoencoder reconstructs its input). With input noise or an
    /// input transform, the target is the clean input.
    Input,
}

/// Inputs (rows on the first axis) and their [`Targets`]: what [`fit`] trains on and
/// [`evaluate`] measures.
#[derive(Clone, Copy, Debug)]
pub struct Data<'a, T: Element> {
    /// The inputs, one row per example on the first axis.
    pub x: &'a Array<T>,
    /// The targets.
    pub targets: Targets<'a, T>,
}

impl<'a, T: Element> Data<'a, T> {
    /// Inputs with one class label per row.
    pub fn classes(x: &'a Array<T>, labels: &'a [usize]) -> Self {
        Data {
            x,
            targets: Targets::Classes(labels),
        }
    }

    /// Inputs with target values (rows on the first axis).
    pub fn values(x: &'a Array<T>, y: &'a Array<T>) -> Self {
        Data {
            x,
            targets: Targets::Values(y),
        }
    }

    /// Inputs that are their own targets (an autoencoder).
    pub fn autoencoder(x: &'a Array<T>) -> Self {
        Data {
            x,
            targets: Targets::Input,
        }
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.x.dims().first().copied().unwrap_or(0)
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks that the inputs have rows and the targets match them.
    #[track_caller]
    fn check(&self, what: &str, l: Loss) -> Result<()> {
        if self.x.rank() == 0 {
            return Err(Error::invalid(
                "train",
                format!("the {what} inputs must have a first (row) axis, got a scalar"),
            ));
        }
        let n = self.len();
        if n == 0 {
            return Err(Error::invalid(
                "train",
                format!(
                    "the {what} set has no rows (inputs of shape {})",
                    self.x.shape()
                ),
            ));
        }
        let m = match self.targets {
            Targets::Classes(y) => y.len(),
            Targets::Values(y) => y.dims().first().copied().unwrap_or(0),
            Targets::Input => n,
        };
        if m != n {
            return Err(Error::invalid(
                "train",
                format!("the {what} set has {n} input rows but {m} targets"),
            ));
        }
        match (l.takes_classes(), self.targets) {
            (true, Targets::Classes(_)) | (false, Targets::Values(_) | Targets::Input) => Ok(()),
            _ => Err(mismatch(l)),
        }
    }

    /// The targets of the rows `idx` (`x_clean` is the batch's untransformed input).
    #[track_caller]
    fn batch_targets(&self, idx: &[usize], x_clean: Option<&Array<T>>) -> Result<BatchTarget<T>> {
        Ok(match self.targets {
            Targets::Classes(y) => {
                let mut v = Vec::with_capacity(idx.len());
                for &i in idx {
                    match y.get(i) {
                        Some(&c) => v.push(c),
                        None => {
                            return Err(Error::invalid("train", format!("row {i} has no label")))
                        }
                    }
                }
                BatchTarget::Classes(v)
            }
            Targets::Values(y) => BatchTarget::Values(y.select_rows(idx)?),
            Targets::Input => BatchTarget::Values(match x_clean {
                Some(x) => x.clone(),
                None => self.x.select_rows(idx)?,
            }),
        })
    }
}

/// One batch's targets, owned (the tape takes its constants by value).
enum BatchTarget<T: Element> {
    Classes(Vec<usize>),
    Values(Array<T>),
}

impl<T: Element> BatchTarget<T> {
    /// The number of correct predictions in the batch and the number of judged items.
    fn correct(&self, pred: &Array<T>, acc: Accuracy, l: Loss) -> Result<Option<(usize, usize)>> {
        let acc = acc.resolve(l);
        Ok(match (acc, self) {
            (Accuracy::None | Accuracy::Auto, _) => None,
            (Accuracy::Argmax, BatchTarget::Classes(y)) => {
                let p = argmax_rows(pred)?;
                Some((p.iter().zip(y).filter(|(a, b)| a == b).count(), y.len()))
            }
            (Accuracy::Argmax, BatchTarget::Values(y)) => {
                let (p, t) = (argmax_rows(pred)?, argmax_rows(y)?);
                Some((p.iter().zip(&t).filter(|(a, b)| a == b).count(), t.len()))
            }
            (Accuracy::Threshold(th), BatchTarget::Values(y)) => {
                let hits = pred
                    .data()
                    .iter()
                    .zip(y.data())
                    .filter(|(&p, &t)| (p.as_f64() > th) == (t.as_f64() > th))
                    .count();
                Some((hits, y.numel()))
            }
            (Accuracy::Threshold(_), BatchTarget::Classes(_)) => {
                return Err(Error::invalid(
                    "train",
                    "Accuracy::Threshold needs value targets; use Accuracy::Argmax with labels",
                ))
            }
        })
    }
}

/// Predicted classes: the argmax of each row, with the trailing axes flattened.
fn argmax_rows<T: Element>(a: &Array<T>) -> Result<Vec<usize>> {
    let n = a.dims().first().copied().unwrap_or(1);
    let cols = a.numel() / n.max(1);
    a.reshape([n, cols])?.argmax_rows()
}

/// Which accuracy [`fit`] and [`evaluate`] report next to the loss.
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
    fn resolve(self, l: Loss) -> Accuracy {
        match (self, l) {
            (Accuracy::Auto, Loss::CrossEntropy) => Accuracy::Argmax,
            (Accuracy::Auto, _) => Accuracy::None,
            (a, _) => a,
        }
    }
}

/// Stops training when the monitored quantity (the validation loss, or the training loss when
/// there is no validation set) has not improved by more than `min_delta` for `patience` epochs
/// in a row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlyStopping {
    /// How many epochs without improvement are tolerated before stopping (at least 1).
    pub patience: usize,
    /// The smallest decrease of the monitored loss (or increase of the monitored accuracy)
    /// that counts as an improvement.
    pub min_delta: f64,
    /// Put back the weights of the best epoch when training ends (whether it stopped early
    /// or ran all its epochs).
    pub restore_best: bool,
    /// What is watched.
    pub monitor: Monitor,
}

impl EarlyStopping {
    /// Patience `patience`, `min_delta` 0, restoring the best weights, watching the
    /// validation loss.
    pub fn new(patience: usize) -> Self {
        EarlyStopping {
            patience,
            min_delta: 0.0,
            restore_best: true,
            monitor: Monitor::ValLoss,
        }
    }
}

/// The quantity that [`EarlyStopping`] watches (and [`History::best_epoch`] reports on).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Monitor {
    /// The validation loss (lower is better); the training loss when there is no validation set.
    #[default]
    ValLoss,
    /// The validation accuracy (higher is better); the training accuracy without a validation
    /// set. Needs an [`Accuracy`] other than none.
    ValAccuracy,
}

/// How [`fit`] trains. Build it with [`FitConfig::new`] and the chainable setters, or with
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
    /// from `(seed, epoch, step)`; the targets stay clean, so with [`Targets::Input`] this trains
    /// a denoising autoencoder (default none). Validation and [`evaluate`] use clean inputs.
    pub input_noise: Option<f64>,
    /// The accuracy reported next to the loss (default [`Accuracy::Auto`]).
    pub accuracy: Accuracy,
    /// Rows per forward pass when evaluating the validation set (default 1024; no gradients are
    /// kept then, so larger batches are cheap).
    pub eval_batch_size: usize,
    /// Write a [`Checkpoint`] to this file after every epoch (default none): the model, the
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

    /// Sets [`FitConfig::epochs`].
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// Sets [`FitConfig::batch_size`].
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Sets [`FitConfig::seed`].
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets [`FitConfig::shuffle`].
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        self.shuffle = shuffle;
        self
    }

    /// Sets [`FitConfig::drop_last`].
    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// Sets [`FitConfig::early_stopping`].
    pub fn early_stopping(mut self, es: EarlyStopping) -> Self {
        self.early_stopping = Some(es);
        self
    }

    /// Sets [`FitConfig::clip_grad_norm`].
    pub fn clip_grad_norm(mut self, max_norm: f64) -> Self {
        self.clip_grad_norm = Some(max_norm);
        self
    }

    /// Sets [`FitConfig::input_noise`] (Gaussian, standard deviation `sigma`).
    pub fn input_noise(mut self, sigma: f64) -> Self {
        self.input_noise = Some(sigma);
        self
    }

    /// Sets [`FitConfig::accuracy`].
    pub fn accuracy(mut self, accuracy: Accuracy) -> Self {
        self.accuracy = accuracy;
        self
    }

    /// Sets [`FitConfig::eval_batch_size`].
    pub fn eval_batch_size(mut self, n: usize) -> Self {
        self.eval_batch_size = n;
        self
    }

    /// Sets [`FitConfig::checkpoint`]: a checkpoint after every epoch, at `path`.
    pub fn checkpoint(mut self, path: impl Into<PathBuf>) -> Self {
        self.checkpoint = Some(path.into());
        self
    }

    /// Sets [`FitConfig::resume`]: continue from the checkpoint at `path`.
    pub fn resume(mut self, path: impl Into<PathBuf>) -> Self {
        self.resume = Some(path.into());
        self
    }

    /// What a resumed run must share with the run that wrote the checkpoint.
    fn fingerprint(&self, rows: usize) -> String {
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
    fn problem(&self) -> std::result::Result<(), String> {
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

/// What one epoch measured.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochStats {
    /// The epoch, counted from 1.
    pub epoch: usize,
    /// The mean training loss over the epoch's steps (weighted by batch size), measured while
    /// the weights changed (as Keras reports it).
    pub train_loss: f64,
    /// The training accuracy over the epoch's batches, measured as the loss is.
    pub train_accuracy: Option<f64>,
    /// The validation loss after the epoch.
    pub val_loss: Option<f64>,
    /// The validation accuracy after the epoch.
    pub val_accuracy: Option<f64>,
    /// The learning rate during the epoch.
    pub lr: f64,
    /// Wall-clock seconds of the epoch (training and validation).
    pub seconds: f64,
}

/// Every epoch's [`EpochStats`], and how training ended.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// One entry per epoch run, in order.
    pub epochs: Vec<EpochStats>,
    /// The epoch (from 1) with the best monitored quantity: the validation loss (or accuracy, as
    /// [`EarlyStopping::monitor`] says; the training figure without a validation set).
    pub best_epoch: Option<usize>,
    /// Whether early stopping ended training before the last epoch.
    pub stopped_early: bool,
    /// Whether the best epoch's weights were put back at the end.
    pub restored_best: bool,
}

impl History {
    /// The last epoch's stats.
    pub fn last(&self) -> Option<&EpochStats> {
        self.epochs.last()
    }

    /// The best epoch's stats (see [`History::best_epoch`]).
    pub fn best(&self) -> Option<&EpochStats> {
        self.best_epoch
            .and_then(|e| self.epochs.iter().find(|s| s.epoch == e))
    }

    /// The number of epochs run.
    pub fn len(&self) -> usize {
        self.epochs.len()
    }

    /// Whether no epoch ran.
    pub fn is_empty(&self) -> bool {
        self.epochs.is_empty()
    }

    /// The history as CSV: a header
    /// `epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds` and one line per
    /// epoch; a missing figure is an empty field.
    pub fn to_csv_string(&self) -> String {
        let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        let mut s =
            String::from("epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds\n");
        for e in &self.epochs {
            s += &format!(
                "{},{},{},{},{},{},{:.6}\n",
                e.epoch,
                e.train_loss,
                opt(e.train_accuracy),
                opt(e.val_loss),
                opt(e.val_accuracy),
                e.lr,
                e.seconds
            );
        }
        s
    }

    /// Writes [`History::to_csv_string`] to `path` atomically
    /// ([`write_file_atomic`]: a unique temporary file in the
    /// same folder, flushed and renamed over `path`), so a reader never sees half a file.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file when it cannot be written.
    pub fn to_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        write_file_atomic(path.as_ref(), self.to_csv_string().as_bytes())
    }

    /// Parses [`History::to_csv_string`]'s output (the epochs only).
    fn from_csv(s: &str) -> std::result::Result<Vec<EpochStats>, String> {
        let mut out = Vec::new();
        for (i, line) in s.lines().enumerate().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let bad = || format!("history line {}: `{line}`", i + 1);
            if f.len() != 7 {
                return Err(bad());
            }
            let num = |v: &str| v.parse::<f64>().map_err(|_| bad());
            let opt = |v: &str| {
                if v.is_empty() {
                    Ok(None)
                } else {
                    num(v).map(Some)
                }
            };
            out.push(EpochStats {
                epoch: f[0].parse().map_err(|_| bad())?,
                train_loss: num(f[1])?,
                train_accuracy: opt(f[2])?,
                val_loss: opt(f[3])?,
                val_accuracy: opt(f[4])?,
                lr: num(f[5])?,
                seconds: num(f[6])?,
            });
        }
        Ok(out)
    }
}

/// Hears about the progress of [`fit`]. Every method has an empty default, so implement only
/// what you need; `&mut ()` is the callback that does nothing.
pub trait Callback {
    /// Before the first epoch: the number of epochs and of steps per epoch.
    fn on_train_begin(&mut self, epochs: usize, steps_per_epoch: usize) {
        let _ = (epochs, steps_per_epoch);
    }

    /// Before each epoch (counted from 1).
    fn on_epoch_begin(&mut self, epoch: usize) {
        let _ = epoch;
    }

    /// After each optimizer step: the epoch and the step (both from 1), the number of steps per
    /// epoch, and the step's loss.
    fn on_batch_end(&mut self, epoch: usize, step: usize, steps_per_epoch: usize, loss: f64) {
        let _ = (epoch, step, steps_per_epoch, loss);
    }

    /// After each epoch, with its stats (validation included).
    fn on_epoch_end(&mut self, stats: &EpochStats) {
        let _ = stats;
    }

    /// After training (also after early stopping; not after an error).
    fn on_train_end(&mut self, history: &History) {
        let _ = history;
    }
}

/// The callback that does nothing.
impl Callback for () {}

/// What [`evaluate`] measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// The mean loss over every row.
    pub loss: f64,
    /// The accuracy (see [`Accuracy`]), when the configuration reports one.
    pub accuracy: Option<f64>,
}

/// Trains `model` with `opt` on `train` as `config` says, measuring `val` after each epoch;
/// returns the [`History`]. See [`fit_with`] to transform each training batch's inputs.
///
/// The model is put in training mode before each epoch's steps and in evaluation mode for
/// the validation pass (so it is in evaluation mode on return when there is a validation set).
///
/// Each step, before the forward pass, calls [`Module::reseed`] with a number derived from
/// `(seed, epoch, step)`, so dropout masks depend only on where training stands (and a run
/// resumed from a checkpoint draws what an uninterrupted one draws).
///
/// # Errors
/// - [`Error::NonFinite`] when a training loss is NaN or infinite: `training loss at epoch 3,
///   step 17: value is NaN (not finite)` (the weights are those after the previous step); when
///   an optimizer step leaves a parameter NaN or infinite: `sgd: parameter `0.weight` after
///   the update at epoch 3, step 17: value is NaN (not finite)` (the weights are those after
///   that step); when the gradients' norm is not finite while clipping; or when the
///   validation loss is not finite.
/// - [`Error::InvalidArgument`] for a bad configuration (a batch size of 0, a patience of 0, ...),
///   an optimizer whose learning rate is not positive and finite, a training or validation set
///   with no rows (or no batch, with `drop_last`), targets that do not suit the loss (labels for
///   MSE, values for cross-entropy), or inputs and targets with different numbers of rows.
///   Each names the line that called `fit`.
/// - The model's shape errors when the inputs or targets do not fit it (naming the module and
///   the line that called `fit`), the optimizer's errors.
/// - With [`FitConfig::resume`]: [`Checkpoint::load_all`]'s errors, and
///   [`Error::InvalidArgument`] when the checkpoint was written with another configuration or
///   not at the end of an epoch (the model may hold the checkpoint's weights then). With
///   [`FitConfig::checkpoint`]: [`Error::Io`] when it cannot be written, and the optimizer's
///   [`Optimizer::export_state`] error when it cannot be checkpointed.
#[track_caller]
pub fn fit<T: Element>(
    model: &mut dyn Module<T>,
    opt: &mut dyn Optimizer<T>,
    train: Data<'_, T>,
    val: Option<Data<'_, T>>,
    config: &FitConfig,
    callback: &mut dyn Callback,
) -> Result<History> {
    fit_with(model, opt, train, val, config, callback, &mut |_, _, _| {
        Ok(())
    })
}

/// A change made to each training batch's inputs by [`fit_with`]: called as
/// `transform(inputs, epoch, step)` (epoch and step from 1); an error stops training.
pub type InputTransform<'a, T> = dyn FnMut(&mut Array<T>, usize, usize) -> Result<()> + 'a;

/// As [`fit`], calling `transform(inputs, epoch, step)` on each training batch's inputs before
/// the forward pass (after [`FitConfig::input_noise`], if set). The targets are taken before the
/// transform, so with [`Targets::Input`] the model learns to undo it (a denoising or inpainting
/// autoencoder). Validation uses the untransformed inputs.
///
/// ```
/// use tapegrad::nn::optim::Adam;
/// use tapegrad::nn::{Act, Autoencoder, OutputAct};
/// use tapegrad::train::{fit_with, Data, FitConfig, Loss};
/// use tapegrad::{rng, Array};
/// # fn main() -> tapegrad::Result<()> {
/// let x = Array::<f32>::rand_uniform([64, 8], 0.0, 1.0, &mut rng(0));
/// let mut ae = Autoencoder::new(8, &[4], 2, Act::Relu, OutputAct::Sigmoid, &mut rng(1))?;
/// let config = FitConfig::new(Loss::Mse).epochs(3).batch_size(16);
/// // masking: zero the first feature of every input, keep the clean target
/// let mut mask = |xb: &mut Array<f32>, _epoch: usize, _step: usize| {
///     for row in xb.data_mut().chunks_mut(8) {
///         row[0] = 0.0;
///     }
///     Ok(())
/// };
/// let h = fit_with(&mut ae, &mut Adam::new(1e-3), Data::autoencoder(&x), None, &config,
///                  &mut (), &mut mask)?;
/// assert_eq!(h.len(), 3);
/// # Ok(()) }
/// ```
///
/// # Errors
/// As [`fit`], and whatever `transform` returns (training stops then).
#[track_caller]
pub fn fit_with<T: Element>(
    model: &mut dyn Module<T>,
    opt: &mut dyn Optimizer<T>,
    train: Data<'_, T>,
    val: Option<Data<'_, T>>,
    config: &FitConfig,
    callback: &mut dyn Callback,
    transform: &mut InputTransform<'_, T>,
) -> Result<History> {
    if let Err(m) = config.problem() {
        return Err(Error::invalid("FitConfig", m));
    }
    let lr = opt.lr();
    if !(lr > 0.0 && lr.is_finite()) {
        return Err(Error::invalid(
            "fit",
            format!("the optimizer's learning rate must be positive and finite, got {lr}"),
        ));
    }
    train.check("training", config.loss)?;
    if let Some(v) = &val {
        v.check("validation", config.loss)?;
    }
    let mut batches = Batches::new(
        train.len(),
        config.batch_size,
        config.shuffle.then_some(config.seed),
        config.drop_last,
    )?;
    let steps = batches.len();
    if steps == 0 {
        return Err(Error::invalid(
            "fit",
            format!(
                "drop_last with a batch size of {} leaves no batch of the {} training rows",
                config.batch_size,
                train.len()
            ),
        ));
    }
    let mut tape = Tape::new();
    let mut history = History::default();
    let mut tracker = Tracker::new(config.early_stopping);
    let fingerprint = config.fingerprint(train.len());
    let (mut first_epoch, mut global_step) = (1, 0u64);
    if let Some(path) = &config.resume {
        let ckpt = Checkpoint::load_all(path, model, opt)?;
        let p = ckpt.progress;
        let shown = path.display();
        if p.step != 0 {
            return Err(Error::invalid(
                "fit",
                format!(
                    "{shown}: fit resumes at the end of an epoch, the checkpoint is at step {} \
                     of epoch {}",
                    p.step,
                    p.epoch + 1
                ),
            ));
        }
        let theirs = ckpt.extra.get(FINGERPRINT).map_or("(none)", String::as_str);
        if theirs != fingerprint {
            return Err(Error::invalid(
                "fit",
                format!(
                    "{shown}: the checkpoint was written by another configuration, so resuming \
                     would not continue that run: it has `{theirs}`, this run `{fingerprint}`"
                ),
            ));
        }
        let previous = ckpt.extra.get(HISTORY).map(String::as_str).unwrap_or("");
        history.epochs = History::from_csv(previous).map_err(|m| {
            Error::invalid("fit", format!("{shown}: the checkpoint's history: {m}"))
        })?;
        tracker.load(&ckpt, &*model).map_err(|m| {
            Error::invalid(
                "fit",
                format!("{shown}: the checkpoint's early stopping: {m}"),
            )
        })?;
        history.best_epoch = tracker.best_epoch;
        first_epoch = p.epoch + 1;
        global_step = p.global_step;
    }
    let transforms = config.input_noise.is_some_and(|s| s > 0.0);
    callback.on_train_begin(config.epochs, steps);

    // a run resumed after early stopping has stopped: nothing more to train
    let mut stopped = tracker.should_stop();
    if stopped {
        history.stopped_early = history.last().is_some_and(|e| e.epoch < config.epochs);
    }
    let mut epoch = first_epoch;
    while epoch <= config.epochs && !stopped {
        let start = Instant::now();
        callback.on_epoch_begin(epoch);
        model.train();
        let lr = opt.lr();
        let (mut loss_sum, mut rows) = (0.0, 0usize);
        let (mut hits, mut judged, mut has_acc) = (0usize, 0usize, false);
        for (s, idx) in batches.epoch(epoch as u64 - 1).enumerate() {
            let step = s + 1;
            let mut xb = train.x.select_rows(idx)?;
            let clean = (transforms || matches!(train.targets, Targets::Input)).then(|| xb.clone());
            let stream = mix(mix(config.seed, epoch as u64), step as u64);
            if let Some(sigma) = config.input_noise.filter(|&s| s > 0.0) {
                let noise = Array::<T>::randn(xb.shape().clone(), 0.0, sigma, &mut rng(stream));
                for (a, &n) in xb.data_mut().iter_mut().zip(noise.data()) {
                    *a += n;
                }
            }
            transform(&mut xb, epoch, step)?;
            model.reseed(mix(stream, DROPOUT_STREAM));
            let target = train.batch_targets(idx, clean.as_ref())?;
            let (value, correct, grads): (f64, _, Gradients<T>) = {
                let pred = model.forward(tape.constant(xb))?;
                let correct = target.correct(&pred.value(), config.accuracy, config.loss)?;
                let l = config.loss.apply(&tape, pred, target)?;
                let value = l.item()?.as_f64();
                if !value.is_finite() {
                    return Err(Error::NonFinite {
                        what: format!("training loss at epoch {epoch}, step {step}"),
                        value,
                    });
                }
                (value, correct, l.backward()?)
            };
            tape.reset();
            let mut grads = grads;
            let stepped = match config
                .clip_grad_norm
                .map(|max| clip_grad_norm(&mut grads, max))
            {
                Some(Err(e)) => Err(e),
                _ => opt.step(model, &grads),
            };
            if let Err(e) = stepped {
                return Err(at_step(e, epoch, step));
            }
            if !opt.checks_finite() {
                check_params(&*model, epoch, step)?;
            }
            global_step += 1;
            loss_sum += value * idx.len() as f64;
            rows += idx.len();
            if let Some((c, n)) = correct {
                hits += c;
                judged += n;
                has_acc = true;
            }
            callback.on_batch_end(epoch, step, steps, value);
        }
        let (val_loss, val_accuracy) = match &val {
            Some(v) => {
                let e = evaluate(model, *v, config)?;
                if !e.loss.is_finite() {
                    return Err(Error::NonFinite {
                        what: format!("validation loss at epoch {epoch}"),
                        value: e.loss,
                    });
                }
                (Some(e.loss), e.accuracy)
            }
            None => (None, None),
        };
        let stats = EpochStats {
            epoch,
            train_loss: loss_sum / rows.max(1) as f64,
            train_accuracy: (has_acc && judged > 0).then(|| hits as f64 / judged as f64),
            val_loss,
            val_accuracy,
            lr,
            seconds: start.elapsed().as_secs_f64(),
        };
        stopped = tracker.update(&stats, &*model);
        history.best_epoch = tracker.best_epoch;
        callback.on_epoch_end(&stats);
        history.epochs.push(stats);
        if let Some(path) = &config.checkpoint {
            let progress = Progress {
                epoch,
                step: 0,
                global_step,
                seed: config.seed,
            };
            let mut ckpt = Checkpoint::capture(&*model, &*opt, progress)?;
            ckpt.extra
                .insert(FINGERPRINT.to_string(), fingerprint.clone());
            ckpt.extra
                .insert(HISTORY.to_string(), history.to_csv_string());
            tracker.save(&mut ckpt, &*model);
            ckpt.write(path, &*model)?;
        }
        if stopped {
            history.stopped_early = epoch < config.epochs;
        }
        epoch += 1;
    }
    history.restored_best = tracker.restore(model)?;
    callback.on_train_end(&history);
    Ok(history)
}

/// The checkpoint entries `fit` adds: the configuration's fingerprint, the history (CSV), the
/// early-stopping state.
const FINGERPRINT: &str = "fit.config";
const HISTORY: &str = "fit.history";
const TRACKER: &str = "fit.early_stopping";
const BEST: &str = "best.";
/// Mixed into a step's stream for the modules' random draws (so that they differ from the
/// input noise's).
const DROPOUT_STREAM: u64 = 0xD0_0D;

/// Adds the epoch and step to a non-finite error.
fn at_step(e: Error, epoch: usize, step: usize) -> Error {
    match e {
        Error::NonFinite { what, value } => Error::NonFinite {
            what: format!("{what} at epoch {epoch}, step {step}"),
            value,
        },
        e => e,
    }
}

/// After the step of an optimizer that does not check its own updates: an error naming the
/// first parameter that is not finite.
fn check_params<T: Element>(model: &dyn Module<T>, epoch: usize, step: usize) -> Result<()> {
    let mut finite = true;
    model.visit(&mut ParamPath::new(), &mut |_, p| {
        finite &= crate::vectorized(|| {
            p.value()
                .data()
                .iter()
                .fold(true, |ok, v| ok & v.is_finite())
        });
    });
    if finite {
        return Ok(());
    }
    let mut bad = None;
    model.visit(&mut ParamPath::new(), &mut |name, p| {
        if bad.is_none() {
            if let Some(v) = p.value().data().iter().find(|v| !v.is_finite()) {
                bad = Some(Error::NonFinite {
                    what: format!(
                        "parameter `{name}` after the optimizer step at epoch {epoch}, step {step}"
                    ),
                    value: v.as_f64(),
                });
            }
        }
    });
    Err(bad.expect("internal: a parameter is not finite"))
}

/// Watches the monitored quantity, remembers the best epoch (and its weights when asked).
struct Tracker<T: Element> {
    es: Option<EarlyStopping>,
    monitor: Monitor,
    best: Option<f64>,
    best_epoch: Option<usize>,
    wait: usize,
    weights: Option<Vec<Array<T>>>,
    best_is_last: bool,
}

impl<T: Element> Tracker<T> {
    fn new(es: Option<EarlyStopping>) -> Self {
        Tracker {
            es,
            monitor: es.map(|e| e.monitor).unwrap_or_default(),
            best: None,
            best_epoch: None,
            wait: 0,
            weights: None,
            best_is_last: true,
        }
    }

    /// Records an epoch; returns whether to stop.
    fn update(&mut self, s: &EpochStats, model: &dyn Module<T>) -> bool {
        // Score: lower is better (accuracy negated).
        let score = match self.monitor {
            Monitor::ValLoss => Some(s.val_loss.unwrap_or(s.train_loss)),
            Monitor::ValAccuracy => s.val_accuracy.or(s.train_accuracy).map(|a| -a),
        };
        let Some(score) = score.filter(|v| v.is_finite()) else {
            return false;
        };
        let min_delta = self.es.map_or(0.0, |e| e.min_delta);
        let improved = self.best.is_none_or(|b| score < b - min_delta);
        if improved {
            self.best = Some(score);
            self.best_epoch = Some(s.epoch);
            self.wait = 0;
            self.best_is_last = true;
            if self.es.is_some_and(|e| e.restore_best) {
                let mut w = self.weights.take().unwrap_or_default();
                w.clear();
                model.visit(&mut ParamPath::new(), &mut |_, p| w.push(p.value().clone()));
                self.weights = Some(w);
            }
        } else {
            self.wait += 1;
            self.best_is_last = false;
        }
        self.es.is_some_and(|e| self.wait >= e.patience)
    }

    /// Whether early stopping has already decided to stop (a resumed run).
    fn should_stop(&self) -> bool {
        self.es.is_some_and(|e| self.wait >= e.patience)
    }

    /// Puts the state into a checkpoint: the counters as a value, the best weights as arrays
    /// (`best.<parameter name>`).
    fn save(&self, ckpt: &mut Checkpoint<T>, model: &dyn Module<T>) {
        let opt = |v: Option<String>| v.unwrap_or_else(|| "none".into());
        ckpt.extra.insert(
            TRACKER.to_string(),
            format!(
                "best={} best_epoch={} wait={} best_is_last={}",
                opt(self.best.map(|b| b.to_string())),
                opt(self.best_epoch.map(|b| b.to_string())),
                self.wait,
                self.best_is_last
            ),
        );
        if let Some(w) = &self.weights {
            let mut it = w.iter();
            model.visit(&mut ParamPath::new(), &mut |name, _| {
                if let Some(a) = it.next() {
                    ckpt.extra_tensors
                        .insert(format!("{BEST}{name}"), a.clone());
                }
            });
        }
    }

    /// Takes the state from a checkpoint written by [`Tracker::save`].
    fn load(
        &mut self,
        ckpt: &Checkpoint<T>,
        model: &dyn Module<T>,
    ) -> std::result::Result<(), String> {
        let text = ckpt
            .extra
            .get(TRACKER)
            .ok_or_else(|| format!("`{TRACKER}` is missing"))?;
        let mut fields = BTreeMap::new();
        for kv in text.split(' ') {
            let (k, v) = kv.split_once('=').ok_or_else(|| format!("`{text}`"))?;
            fields.insert(k, v);
        }
        let get = |k: &str| {
            fields
                .get(k)
                .copied()
                .ok_or_else(|| format!("`{text}` lacks {k}"))
        };
        let bad = |k: &str| format!("`{text}`: a bad {k}");
        self.best = match get("best")? {
            "none" => None,
            v => Some(v.parse::<f64>().map_err(|_| bad("best"))?),
        };
        self.best_epoch = match get("best_epoch")? {
            "none" => None,
            v => Some(v.parse::<usize>().map_err(|_| bad("best_epoch"))?),
        };
        self.wait = get("wait")?.parse().map_err(|_| bad("wait"))?;
        self.best_is_last = get("best_is_last")?
            .parse()
            .map_err(|_| bad("best_is_last"))?;
        let mut w = Vec::new();
        let mut missing = None;
        model.visit(&mut ParamPath::new(), &mut |name, p| match ckpt
            .extra_tensors
            .get(&format!("{BEST}{name}"))
        {
            Some(a) if a.shape() == p.value().shape() => w.push(a.clone()),
            _ => missing = missing.take().or(Some(name.to_string())),
        });
        self.weights = match missing {
            None if !w.is_empty() => Some(w),
            None => None,
            Some(name) if w.is_empty() => {
                let _ = name;
                None
            }
            Some(name) => {
                return Err(format!(
                    "the best value of `{name}` is missing or misshapen"
                ))
            }
        };
        Ok(())
    }

    /// Puts the best weights back if they were kept and are not the current ones.
    fn restore(&mut self, model: &mut dyn Module<T>) -> Result<bool> {
        let Some(w) = self.weights.take() else {
            return Ok(false);
        };
        if self.best_is_last {
            return Ok(false);
        }
        let mut it = w.into_iter();
        let mut err = None;
        model.visit_mut(&mut ParamPath::new(), &mut |name, p| {
            if err.is_some() {
                return;
            }
            match it.next() {
                Some(v) => {
                    if let Err(e) = p.set(v) {
                        err = Some(e);
                    }
                }
                None => {
                    err = Some(Error::invalid(
                        "fit",
                        format!("parameter `{name}` appeared during training"),
                    ))
                }
            }
        });
        match err {
            Some(e) => Err(e),
            None => Ok(true),
        }
    }
}

/// The mean loss (and the accuracy, as `config.accuracy` says) of `model` on `data`, in
/// evaluation mode (the model is left in evaluation mode), in batches of
/// `config.eval_batch_size` rows. Only `loss`, `accuracy` and `eval_batch_size` of `config` are
/// read.
///
/// # Errors
/// As [`fit`] for targets that do not suit the loss or the model, and for a set with no rows;
/// a NaN loss is returned as it is (not an error).
#[track_caller]
pub fn evaluate<T: Element>(
    model: &mut dyn Module<T>,
    data: Data<'_, T>,
    config: &FitConfig,
) -> Result<Evaluation> {
    if config.eval_batch_size == 0 {
        return Err(Error::invalid(
            "evaluate",
            "eval_batch_size must be at least 1",
        ));
    }
    data.check("evaluation", config.loss)?;
    model.eval();
    let mut batches = Batches::new(data.len(), config.eval_batch_size, None, false)?;
    let mut tape = Tape::new();
    let (mut loss_sum, mut rows) = (0.0, 0usize);
    let (mut hits, mut judged, mut has_acc) = (0usize, 0usize, false);
    for idx in batches.epoch(0) {
        let xb = data.x.select_rows(idx)?;
        let target = data.batch_targets(idx, Some(&xb))?;
        {
            let pred = model.forward(tape.constant(xb))?;
            if let Some((c, n)) = target.correct(&pred.value(), config.accuracy, config.loss)? {
                hits += c;
                judged += n;
                has_acc = true;
            }
            let l = config.loss.apply(&tape, pred, target)?;
            loss_sum += l.item()?.as_f64() * idx.len() as f64;
            rows += idx.len();
        }
        tape.reset();
    }
    Ok(Evaluation {
        loss: loss_sum / rows.max(1) as f64,
        accuracy: (has_acc && judged > 0).then(|| hits as f64 / judged as f64),
    })
}

/// The model's outputs for every row of `x`, computed in batches of `batch_size` rows in
/// evaluation mode (the model is left in evaluation mode), stacked along the first axis.
///
/// # Errors
/// [`Error::InvalidArgument`] for a batch size of 0, a rank-0 `x` or one with no rows; the
/// model's shape errors (naming the module and the line that called `predict`).
#[track_caller]
pub fn predict<T: Element>(
    model: &mut dyn Module<T>,
    x: &Array<T>,
    batch_size: usize,
) -> Result<Array<T>> {
    if x.rank() == 0 {
        return Err(Error::invalid(
            "predict",
            "the inputs must have a first (row) axis, got a scalar",
        ));
    }
    let n = x.dims()[0];
    if n == 0 {
        return Err(Error::invalid(
            "predict",
            format!("the inputs have no rows (shape {})", x.shape()),
        ));
    }
    let mut batches = Batches::new(n, batch_size, None, false)?;
    model.eval();
    let mut tape = Tape::new();
    let mut out: Vec<T> = Vec::new();
    let mut row_dims: Option<Vec<usize>> = None;
    for idx in batches.epoch(0) {
        let xb = x.select_rows(idx)?;
        {
            let y = model.forward(tape.constant(xb))?;
            let y = y.value();
            let dims = y.dims();
            if dims.first() != Some(&idx.len()) {
                return Err(Error::invalid(
                    "predict",
                    format!(
                        "the model's output has shape {} for a batch of {} rows; its first axis \
                         must be the rows",
                        y.shape(),
                        idx.len()
                    ),
                ));
            }
            if row_dims.is_none() {
                row_dims = Some(dims[1..].to_vec());
                out.reserve(n * y.numel() / idx.len().max(1));
            }
            out.extend_from_slice(y.data());
        }
        tape.reset();
    }
    let mut dims = vec![n];
    dims.extend(row_dims.expect("internal: at least one batch ran"));
    Array::from_vec(out, dims.as_slice())
}

/// The predicted class of every row of `x`: the argmax of the model's outputs (logits or
/// probabilities), in evaluation mode.
///
/// # Errors
/// As [`predict`].
#[track_caller]
pub fn predict_classes<T: Element>(
    model: &mut dyn Module<T>,
    x: &Array<T>,
    batch_size: usize,
) -> Result<Vec<usize>> {
    argmax_rows(&predict(model, x, batch_size)?)
}
