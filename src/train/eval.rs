//! Measuring and using a model without training it: [`evaluate`], [`predict`] and
//! [`predict_classes`].

use super::data::argmax_rows;
use super::loss;
use super::{at_caller, Data, FitConfig};
use crate::nn::Module;
use crate::{Array, Element, Error, Result, Tape, Tensor};
use std::panic::Location;
use tapegrad_data::Batches;

/// What [`evaluate`] measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// The mean loss over every row.
    pub loss: f64,
    /// The accuracy (see [`Accuracy`](super::Accuracy)), when the configuration reports one.
    pub accuracy: Option<f64>,
}

/// The mean loss (and the accuracy, as `config.accuracy` says) of `model` on `data`, in
/// evaluation mode (the model is left in evaluation mode), in batches of
/// `config.eval_batch_size` rows. Only `loss`, `accuracy` and `eval_batch_size` of `config` are
/// read.
///
/// # Errors
/// As [`fit`](super::fit) for targets that do not suit the loss or the model, and for a set with no rows;
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
    let (mut loss_sum, mut rows) = (0.0, 0usize);
    let (mut hits, mut judged, mut has_acc) = (0usize, 0usize, false);
    for_each_output(model, data.x, config.eval_batch_size, |tape, idx, pred| {
        // the targets of `Targets::Input` are the batch's inputs, gathered again
        let target = data.batch_targets(idx, None)?;
        if let Some((c, n)) = target.correct(&pred.value(), config.accuracy, config.loss)? {
            hits += c;
            judged += n;
            has_acc = true;
        }
        let l = loss::apply(config.loss, tape, pred, target)?;
        loss_sum += l.item()?.as_f64() * idx.len() as f64;
        rows += idx.len();
        Ok(())
    })?;
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
    let mut out: Vec<T> = Vec::new();
    let mut row_dims: Option<Vec<usize>> = None;
    for_each_output(model, x, batch_size, |_, idx, y| {
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
        Ok(())
    })?;
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

/// The forward pass of evaluation, written once for [`evaluate`] and [`predict`]: puts `model`
/// in evaluation mode, then for each batch of `batch_size` rows of `x`, in order, records the
/// forward pass on one reused tape with gradient recording off ([`Tape::no_grad_guard`]),
/// hands `read` the tape, the batch's row indices and the model's output, and empties the
/// tape.
///
/// # Errors
/// [`Error::InvalidArgument`] for a batch size of 0; the model's errors; `read`'s. Each names
/// the line that called `evaluate` or `predict` (see [`at_caller`]).
#[track_caller]
fn for_each_output<T: Element>(
    model: &mut dyn Module<T>,
    x: &Array<T>,
    batch_size: usize,
    mut read: impl for<'t> FnMut(&'t Tape<T>, &[usize], Tensor<'t, T>) -> Result<()>,
) -> Result<()> {
    let caller = Location::caller();
    let rows = x.dims().first().copied().unwrap_or(0);
    let mut batches = Batches::new(rows, batch_size, None, false)?;
    model.eval();
    let mut tape = Tape::new();
    for idx in batches.epoch(0) {
        let xb = x.select_rows(idx)?;
        {
            let _no_grad = tape.no_grad_guard();
            let pred = model.forward(tape.constant(xb))?;
            read(&tape, idx, pred).map_err(|e| at_caller(e, caller))?;
        }
        tape.reset();
    }
    Ok(())
}
