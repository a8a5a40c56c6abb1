//! [`FitConfig`] (how [`fit`](super::fit) trains, with its chainable setters),
//! [`Accuracy`] (what is reported next to the loss) and [`Schedule`] (the learning rate as
//! `fit` sets it, [`Every`] step or epoch).

use super::{EarlyStopping, Loss, Monitor};
use crate::nn::schedule::LrSchedule;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// When [`fit`](super::fit) advances a [`Schedule`], as where torch's `scheduler.step()`
/// stands in the loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Every {
    /// Before every optimizer step, the rate is `lr_at(global step)`, the steps counted from 0
    /// over the whole run (`scheduler.step()` after every `optimizer.step()`: warm-up, cosine
    /// over steps).
    Step,
    /// Before each epoch's first step, the rate is `lr_at(epoch - 1)` (`scheduler.step()` after
    /// every epoch: `StepLR(step_size=30)` in epochs).
    Epoch,
}

/// A learning-rate schedule that [`fit`](super::fit) applies with the optimizer's `set_lr`
/// ([`FitConfig::schedule`]). Schedules are pure functions of the step (or epoch) count, so
/// a run resumed from a checkpoint continues its schedule where it stood. Two `Schedule`s are
/// equal when they share the same schedule (the same `Arc`) and [`Every`].
#[derive(Clone)]
pub struct Schedule {
    /// The learning rate for each step (or epoch) number, counted from 0.
    pub schedule: Arc<dyn LrSchedule + Send + Sync>,
    /// Whether it advances every step or every epoch.
    pub every: Every,
}

impl Schedule {
    /// The rate to set before step `step` of `epoch` (both from 1), which `global_step` steps
    /// precede: every step's with [`Every::Step`], the epoch's before its first step only with
    /// [`Every::Epoch`] (so a rate a callback sets holds to the end of the epoch).
    pub(super) fn lr(&self, epoch: usize, step: usize, global_step: u64) -> Option<f64> {
        match self.every {
            Every::Step => Some(self.schedule.lr_at(global_step as usize)),
            Every::Epoch => (step == 1).then(|| self.schedule.lr_at(epoch - 1)),
        }
    }
}

impl fmt::Debug for Schedule {
    /// `Schedule { every: Step, .. }` (a schedule need not be `Debug`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schedule")
            .field("every", &self.every)
            .finish_non_exhaustive()
    }
}

impl PartialEq for Schedule {
    /// The same schedule (by pointer) advanced alike.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.schedule, &other.schedule) && self.every == other.every
    }
}

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
///
/// The optimizer's own settings stay the optimizer's: weight decay is one of them
/// (`Sgd::new(0.1).weight_decay(1e-4)` and `Adam::new(1e-3).weight_decay(1e-4)` add the L2
/// term `λ·p` to the gradient, as torch's; `AdamW::new(1e-3).weight_decay(0.01)` decays the
/// weights decoupled from the gradient; `RmsProp` and `Adagrad` take it too), so `fit` needs
/// no setting for it. The learning rate can follow a [`schedule`](FitConfig::schedule):
///
/// ```
/// use tapegrad::nn::optim::{AdamW, Optimizer};
/// use tapegrad::nn::schedule::{Cosine, WarmUp};
/// use tapegrad::nn::{Activation, Mlp};
/// use tapegrad::train::{fit, Data, Every, FitConfig, Loss};
/// use tapegrad::{data, rng};
/// # fn main() -> tapegrad::Result<()> {
/// let ds = data::synthetic::two_moons(128, 0.1, 0)?;
/// let mut model = Mlp::<f32>::new(&[2, 16, 2], Activation::Relu, Activation::Identity, &mut rng(0))?;
/// let mut opt = AdamW::new(0.01).weight_decay(1e-2); // decoupled weight decay
/// // 4 steps of warm-up, then a cosine over the remaining 4 epochs · 4 steps - 4
/// let schedule = WarmUp::new(4, Cosine::new(0.01, 1e-4, 12)?)?;
/// let config = FitConfig::new(Loss::CrossEntropy).epochs(4).batch_size(32)
///     .schedule(schedule, Every::Step);
/// let h = fit(&mut model, &mut opt, Data::classes(&ds.x, &ds.y), None, &config, &mut ())?;
/// let lrs: Vec<f64> = h.epochs.iter().map(|e| e.lr).collect(); // each epoch's first step's
/// assert!((lrs[0] - 0.01 / 4.0).abs() < 1e-12 && (lrs[1] - 0.01).abs() < 1e-12);
/// assert!(lrs[2] < lrs[1] && lrs[3] < lrs[2]);
/// assert!(opt.lr() < lrs[3]); // the last step's rate stays on the optimizer
/// # Ok(()) }
/// ```
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
    /// The learning-rate schedule (default none: the optimizer's rate, as set by the program
    /// or a [`Callback`](super::Callback)). `fit` sets the optimizer's rate from it before every
    /// step (or each epoch's first, see [`Every`]), before the callback's
    /// [`on_step_begin`](super::Callback::on_step_begin); a resumed run continues it at the
    /// checkpoint's step and epoch (resume with the same schedule: it is not checked).
    pub schedule: Option<Schedule>,
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
    /// the accuracy that suits the loss, evaluation in batches of 1024, no checkpoints, no
    /// learning-rate schedule.
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
            schedule: None,
        }
    }

    /// Sets [`FitConfig::schedule`]: the learning rate follows `schedule`, advanced every
    /// step or every epoch (see [`Every`]).
    pub fn schedule(
        mut self,
        schedule: impl LrSchedule + Send + Sync + 'static,
        every: Every,
    ) -> Self {
        self.schedule = Some(Schedule {
            schedule: Arc::new(schedule),
            every,
        });
        self
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
