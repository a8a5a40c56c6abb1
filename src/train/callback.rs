//! [`Callback`]: hears about the progress of [`fit`](super::fit).

use super::{EpochStats, History};

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
