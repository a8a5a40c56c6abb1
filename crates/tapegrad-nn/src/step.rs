//! [`train_step`]: one training step as one call — record the loss, run backward, reset the
//! tape, update the parameters — so the sequence cannot be done out of order or half done.

use crate::module::Module;
use crate::optim::Optimizer;
use tapegrad_core::{Element, Error, Result, Tape, Tensor};

/// One training step: records `loss(tape, model)` on the emptied `tape`, runs backward,
/// empties the tape again, and lets `opt` update `model`'s parameters from the gradients
/// (in place: the tape no longer holds them). Returns the loss value.
///
/// The step is one straight line: the tape is empty before the loss is recorded and after
/// the gradients are taken (on errors too), no tensor of the step can outlive it, and the
/// update comes last, so the next step reads the updated parameters. The closure gets the
/// model by shared reference (the update needs it mutably after the closure is done). It is
/// [`Tape::value_and_grad`] followed by [`Optimizer::step`]; call those two yourself to work
/// on the gradients in between (accumulation, clipping).
///
/// ```
/// use tapegrad_core::{rng, Array, Tape};
/// use tapegrad_nn::optim::Sgd;
/// use tapegrad_nn::{loss, train_step, Dense, Init, Module, Reduction};
/// # fn main() -> tapegrad_core::Result<()> {
/// // one weight, y = 3x: least squares by gradient descent
/// let x = Array::<f64>::from_vec(vec![-1.0, 0.5, 1.0, 2.0], [4, 1])?;
/// let y = x.map(|v| 3.0 * v);
/// let mut model = Dense::new_without_bias(1, 1, Init::Zeros, &mut rng(0));
/// let mut opt = Sgd::new(0.1);
/// let mut tape = Tape::new();
/// let mut losses = Vec::new();
/// for _ in 0..100 {
///     let l = train_step(&mut tape, &mut model, &mut opt, |tape, model| {
///         let pred = model.forward(tape.constant(x.clone()))?;
///         loss::mse(pred, tape.constant(y.clone()), Reduction::Mean)
///     })?;
///     losses.push(l);
/// }
/// assert!(losses[99] < 1e-10 * losses[0]); // the loss went down
/// assert!((model.weight().value().data()[0] - 3.0).abs() < 1e-6); // to the known answer
/// assert!(tape.is_empty()); // every step leaves the tape empty
/// # Ok(()) }
/// ```
///
/// # Errors
/// - Those of `loss` (e.g. a shape error in the forward pass) and of backward
///   ([`Error::NotScalar`] when the loss has more than one element).
/// - [`Error::NonFinite`] (`train_step: the loss: value is NaN (not finite)`) when the loss is
///   NaN or infinite: the parameters are not updated then.
/// - Those of [`Optimizer::step`] (a bad learning rate, an update that left a parameter NaN
///   or infinite).
///
/// In every case the tape is left empty.
#[track_caller]
pub fn train_step<T, M, O, F>(tape: &mut Tape<T>, model: &mut M, opt: &mut O, loss: F) -> Result<T>
where
    T: Element,
    M: Module<T>,
    O: Optimizer<T> + ?Sized,
    F: for<'t> FnOnce(&'t Tape<T>, &M) -> Result<Tensor<'t, T>>,
{
    let (value, grads) = tape.value_and_grad(|tape| loss(tape, &*model))?;
    if !value.is_finite() {
        return Err(Error::NonFinite {
            what: "train_step: the loss".to_string(),
            value: value.as_f64(),
        });
    }
    opt.step(model, &grads)?;
    Ok(value)
}
