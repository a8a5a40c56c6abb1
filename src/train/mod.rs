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
//! early stopping, gradient clipping, Gaussian input noise (a denoising autoencoder), which
//! [`Accuracy`] to report, and a learning-rate [`Schedule`] applied [`Every`] step or epoch
//! (a [`Callback`] can also set the rate, through [`LrControl`]). Weight decay is a setting of
//! the optimizer (`AdamW::new(1e-3).weight_decay(0.01)`), not of `fit`. The data is a [`Data`]: inputs plus [`Targets`] (class labels, values,
//! or the inputs themselves for an autoencoder).
//!
//! Epochs and steps are counted from 1 everywhere in this module (in [`EpochStats::epoch`], in the
//! callback arguments and in error messages).
//!
//! ```
//! use tapegrad::nn::optim::Adam;
//! use tapegrad::nn::{Activation, Mlp};
//! use tapegrad::train::{fit, predict, Data, FitConfig, Loss};
//! use tapegrad::{data, rng};
//! # fn main() -> tapegrad::Result<()> {
//! let ds = data::synthetic::two_moons(400, 0.1, 0)?;
//! let (train, val) = data::train_test_split(&ds, 0.25, 0, true)?;
//! let mut model = Mlp::<f32>::new(&[2, 16, 16, 2], Activation::Relu, Activation::Identity, &mut rng(0))?;
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
//!
//! [`Module`]: crate::nn::Module
//! [`Module::reseed`]: crate::nn::Module::reseed
//! [`Tape`]: crate::Tape
//! [`Batches`]: crate::data::Batches
//! [`Error::NonFinite`]: crate::Error::NonFinite
//! [`Error::InvalidArgument`]: crate::Error::InvalidArgument
//! [`Checkpoint`]: crate::nn::Checkpoint

mod callback;
mod config;
mod data;
mod early_stop;
mod eval;
mod fit;
mod history;
mod loss;

pub use crate::nn::Loss;

use crate::Error;
use std::panic::Location;
use std::path::Path;

/// Puts an error that names a line of this module's own code at `caller` instead: the line
/// that called [`fit`], [`evaluate`] or [`predict`], where the module promises its errors.
///
/// The loop records each batch inside closures (the one it hands to [`Tape::value_and_grad`](crate::Tape::value_and_grad),
/// the ones `eval.rs` reads its batches with); a closure cannot be `#[track_caller]`, so the
/// errors of the model's forward pass and of the loss raised in one name the closure.
fn at_caller(mut e: Error, caller: &'static Location<'static>) -> Error {
    let here = Path::new(file!()).parent();
    match &mut e {
        Error::Shape { location, .. }
        | Error::AxisOutOfRange { location, .. }
        | Error::NotScalar { location, .. }
        | Error::TapeMismatch { location, .. }
        | Error::DataLength { location, .. }
        | Error::InvalidArgument { location, .. }
        | Error::Anomaly { location, .. }
            if Path::new(location.file()).parent() == here =>
        {
            *location = caller;
        }
        _ => {}
    }
    e
}
pub use callback::{Callback, LrControl};
pub use config::{Accuracy, Every, FitConfig, Schedule};
pub use data::{Data, Targets};
pub use early_stop::{EarlyStopping, Monitor};
pub use eval::{evaluate, predict, predict_classes, Evaluation};
pub use fit::{fit, fit_with, InputTransform};
pub use history::{EpochStats, History};
