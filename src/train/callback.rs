//! [`Callback`]: hears about the progress of [`fit`](super::fit), and can read and set the
//! learning rate through [`LrControl`].

use super::{EpochStats, History};
use crate::nn::optim::Optimizer;
use crate::Element;

/// Hears about the progress of [`fit`](super::fit). Every method has an empty default, so implement only
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

    /// Before each optimizer step (after [`FitConfig::schedule`](super::FitConfig::schedule)
    /// has set the step's rate): the epoch and the step (both from 1) and the optimizer's
    /// learning rate, to read or set. A rate set here holds until it is set again (by this
    /// callback or by the schedule's next setting); a rate that is not positive and finite
    /// stops training with the optimizer's error.
    ///
    /// ```
    /// use tapegrad::train::{Callback, LrControl};
    /// /// Halves the learning rate at the start of epoch 2 (torch's `MultiStepLR` at one epoch).
    /// struct HalveAt2;
    /// impl Callback for HalveAt2 {
    ///     fn on_step_begin(&mut self, epoch: usize, step: usize, lr: &mut dyn LrControl) {
    ///         if (epoch, step) == (2, 1) {
    ///             lr.set_lr(lr.lr() / 2.0);
    ///         }
    ///     }
    /// }
    /// ```
    fn on_step_begin(&mut self, epoch: usize, step: usize, lr: &mut dyn LrControl) {
        let _ = (epoch, step, lr);
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

/// The learning rate of the optimizer [`fit`](super::fit) steps, as a
/// [`Callback`] sees it (whatever the optimizer's element type).
pub trait LrControl {
    /// The learning rate.
    fn lr(&self) -> f64;

    /// Sets the learning rate (checked by the optimizer's next step).
    fn set_lr(&mut self, lr: f64);
}

/// The [`LrControl`] of an optimizer.
pub(super) struct OptimizerLr<'a, 'o, T: Element>(pub(super) &'a mut (dyn Optimizer<T> + 'o));

impl<T: Element> LrControl for OptimizerLr<'_, '_, T> {
    fn lr(&self) -> f64 {
        self.0.lr()
    }

    fn set_lr(&mut self, lr: f64) {
        self.0.set_lr(lr);
    }
}

/// The callback that does nothing.
impl Callback for () {}
