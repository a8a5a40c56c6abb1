//! [`Data`] and [`Targets`]: what is trained on and measured, and a batch's owned targets.

use super::loss::mismatch;
use super::{Accuracy, Loss};
use crate::{Array, Element, Error, Result};

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

/// Inputs (rows on the first axis) and their [`Targets`]: what [`fit`](super::fit) trains on and
/// [`evaluate`](super::evaluate) measures.
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
    pub(super) fn check(&self, what: &str, l: Loss) -> Result<()> {
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
    pub(super) fn batch_targets(
        &self,
        idx: &[usize],
        x_clean: Option<&Array<T>>,
    ) -> Result<BatchTarget<T>> {
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
pub(super) enum BatchTarget<T: Element> {
    Classes(Vec<usize>),
    Values(Array<T>),
}

impl<T: Element> BatchTarget<T> {
    /// The number of correct predictions in the batch and the number of judged items.
    pub(super) fn correct(
        &self,
        pred: &Array<T>,
        acc: Accuracy,
        l: Loss,
    ) -> Result<Option<(usize, usize)>> {
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
pub(super) fn argmax_rows<T: Element>(a: &Array<T>) -> Result<Vec<usize>> {
    let n = a.dims().first().copied().unwrap_or(1);
    let cols = a.numel() / n.max(1);
    a.reshape([n, cols])?.argmax_rows()
}
