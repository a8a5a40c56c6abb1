//! Optimizers: [`Sgd`] (momentum, Nesterov, weight decay), [`Adam`], [`AdamW`] (decoupled
//! weight decay), [`RmsProp`] and [`Adagrad`], with PyTorch's update rules and defaults.
//!
//! An optimizer updates a module's parameters in place from gradients keyed by parameter id
//! ([`Gradients`](tapegrad_core::Gradients) from one backward pass, or an owned
//! [`ParamGrads`](crate::ParamGrads) after accumulation or clipping). It keeps its state (momentum
//! buffers, moment estimates) per parameter id, allocated at a parameter's first update and
//! updated in place afterwards. A parameter without a gradient is skipped: its value and its
//! state stay as they are.
//!
//! The training step: record the forward pass and the loss on a tape, take the gradients,
//! **reset the tape** (so the parameters are no longer shared with it and are updated in
//! place rather than copied), then step.
//!
//! ```
//! use tapegrad_core::{rng, Array, Tape};
//! use tapegrad_nn::optim::{Adam, Optimizer};
//! use tapegrad_nn::{loss, Act, Mlp, Module, OutputAct};
//! # fn main() -> tapegrad_core::Result<()> {
//! let mut model = Mlp::<f32>::new(&[1, 8, 1], Act::Tanh, OutputAct::None, &mut rng(0))?;
//! let mut opt = Adam::new(0.01);
//! let x = Array::from_fn([16, 1], |i| i as f32 / 16.0);
//! let y = x.map(|v| 2.0 * v - 1.0);
//! let mut tape = Tape::new();
//! let mut losses = Vec::new();
//! for _ in 0..300 {
//!     let grads = {
//!         let pred = model.forward(&tape, tape.constant(x.clone()))?;
//!         let l = loss::mse(pred, tape.constant(y.clone()), Default::default())?;
//!         losses.push(l.item()?);
//!         l.backward()?
//!     };
//!     tape.reset();
//!     opt.step(&mut model, &grads)?;
//! }
//! assert!(losses[299] < 0.01 * losses[0]);
//! # Ok(()) }
//! ```

mod adagrad;
mod adam;
mod rmsprop;
mod sgd;

pub use adagrad::Adagrad;
pub use adam::{Adam, AdamW};
pub use rmsprop::RmsProp;
pub use sgd::Sgd;

use crate::grads::GradSource;
use crate::module::Module;
use std::collections::hash_map::{Entry, HashMap};
use tapegrad_core::{Element, Error, ParamId, Result};

/// Updates a module's parameters from their gradients.
pub trait Optimizer<T: Element> {
    /// One update of every parameter of `model` that has a gradient in `grads`.
    ///
    /// # Errors
    /// [`Error::Shape`] when a gradient's shape differs from its parameter's (naming the
    /// parameter; nothing is updated then); [`Error::InvalidArgument`] for a bad setting (a
    /// negative learning rate, a momentum outside `[0, 1)`, ...).
    fn step(&mut self, model: &mut dyn Module<T>, grads: &dyn GradSource<T>) -> Result<()>;

    /// The learning rate.
    fn lr(&self) -> f64;

    /// Sets the learning rate (e.g. from an [`LrSchedule`](crate::schedule::LrSchedule)).
    fn set_lr(&mut self, lr: f64);
}

/// Checks every gradient's shape against its parameter's, then calls `f(id, value, grad)`
/// for every parameter with a gradient, with the value borrowed mutably.
pub(crate) fn update_params<T: Element>(
    op: &'static str,
    model: &mut dyn Module<T>,
    grads: &dyn GradSource<T>,
    mut f: impl FnMut(ParamId, &mut [T], &[T]),
) -> Result<()> {
    let mut mismatch = false;
    model.for_each_param(&mut |p| {
        mismatch |= grads
            .grad(p.id())
            .is_some_and(|g| g.shape() != p.value().shape());
    });
    if mismatch {
        // the slow path, with names, only to say which parameter is wrong
        let mut bad: Option<Error> = None;
        model.visit_params("", &mut |name, p| match grads.grad(p.id()) {
            Some(g) if bad.is_none() && g.shape() != p.value().shape() => {
                bad = Some(Error::shape(
                    op,
                    p.value().shape(),
                    g.shape(),
                    format!("the gradient of parameter `{name}` must have its shape"),
                ));
            }
            _ => {}
        });
        return Err(bad.expect("internal: a mismatch was seen"));
    }
    model.for_each_param_mut(&mut |p| {
        if let Some(g) = grads.grad(p.id()) {
            f(p.id(), p.value_mut().data_mut(), g.data());
        }
    });
    Ok(())
}

/// A parameter's state, created by `init` on its first update (then the flag is `true`).
pub(crate) fn state<S>(
    map: &mut HashMap<ParamId, S>,
    id: ParamId,
    init: impl FnOnce() -> S,
) -> (&mut S, bool) {
    match map.entry(id) {
        Entry::Occupied(e) => (e.into_mut(), false),
        Entry::Vacant(v) => (v.insert(init()), true),
    }
}

/// An error unless `lo <= v` (and `v < hi` or `v <= hi`), finite.
#[track_caller]
pub(crate) fn check_range(
    op: &'static str,
    what: &str,
    v: f64,
    lo: f64,
    hi: f64,
    hi_inclusive: bool,
) -> Result<()> {
    let ok = v.is_finite() && v >= lo && (v < hi || (hi_inclusive && v <= hi));
    if ok {
        Ok(())
    } else {
        let close = if hi_inclusive { ']' } else { ')' };
        Err(Error::invalid(
            op,
            format!("{what} must be in [{lo}, {hi}{close}, got {v}"),
        ))
    }
}
