//! Applying a [`Loss`] (defined with the losses, in [`crate::nn::loss`]) to one batch, and the
//! error for targets that do not suit it.

use super::data::BatchTarget;
use crate::nn::{loss, Loss, Reduction};
use crate::{Element, Error, Result, Tape, Tensor};

/// The loss `l` of `pred` against `target`, averaged over the batch, as a tape scalar.
#[track_caller]
pub(super) fn apply<'t, T: Element>(
    l: Loss,
    tape: &'t Tape<T>,
    pred: Tensor<'t, T>,
    target: BatchTarget<T>,
) -> Result<Tensor<'t, T>> {
    let red = Reduction::Mean;
    match (l, target) {
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

#[track_caller]
pub(super) fn mismatch(l: Loss) -> Error {
    let msg = if l.takes_classes() {
        format!("the {l} loss needs class labels (Targets::Classes / Data::classes)")
    } else {
        format!(
            "the {l} loss needs value targets (Targets::Values / Data::values / Data::autoencoder)"
        )
    };
    Error::invalid("train", msg)
}
