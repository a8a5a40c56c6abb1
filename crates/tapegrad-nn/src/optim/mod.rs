//! Optimizers: [`Sgd`] (momentum, Nesterov, weight decay), [`Adam`], [`AdamW`] (decoupled
//! weight decay), [`RmsProp`] and [`Adagrad`], with PyTorch's update rules and defaults.
//!
//! An optimizer updates a module's parameters in place from gradients keyed by parameter id
//! ([`Gradients`](tapegrad_core::Gradients): from one backward pass, or several added up
//! with [`Gradients::accumulate`](tapegrad_core::Gradients::accumulate), clipped or not). It keeps its state (momentum
//! buffers, moment estimates) per parameter id, allocated at a parameter's first update and
//! updated in place afterwards. A parameter without a gradient is skipped: its value and its
//! state stay as they are.
//!
//! Guarantees of every optimizer here:
//! - A learning rate that is 0, negative, NaN or infinite (set at construction, by
//!   [`Optimizer::set_lr`] or by a [schedule](crate::schedule)) is refused by
//!   [`Optimizer::step`] with [`Error::InvalidArgument`] naming the optimizer, the value and
//!   the line of the code that called `step`; nothing is updated then.
//! - An update that leaves a parameter NaN or infinite (a NaN gradient, an overflow) is
//!   reported by `step` as [`Error::NonFinite`] naming the parameter (the check is fused into
//!   the update loop, so it costs no extra pass over memory).
//! - The state can be taken out by name ([`Optimizer::export_state`]) and put back
//!   ([`Optimizer::import_state`]), so a [`Checkpoint`](crate::Checkpoint) resumes training
//!   exactly.
//!
//! The training step: record the forward pass and the loss on a tape, take the gradients,
//! **reset the tape** (so the parameters are no longer shared with it and are updated in
//! place rather than copied), then step. [`train_step`](crate::train_step) does the four as
//! one call; [`Tape::value_and_grad`](tapegrad_core::Tape::value_and_grad) the first three,
//! for a loop that works on the gradients before the step:
//!
//! ```
//! use tapegrad_core::{rng, Array, Tape};
//! use tapegrad_nn::optim::{Adam, Optimizer};
//! use tapegrad_nn::{clip_grad_norm, loss, Act, Mlp, Module, OutputAct};
//! # fn main() -> tapegrad_core::Result<()> {
//! let mut model = Mlp::<f32>::new(&[1, 8, 1], Act::Tanh, OutputAct::None, &mut rng(0))?;
//! let mut opt = Adam::new(0.01);
//! let x = Array::from_fn([16, 1], |i| i as f32 / 16.0);
//! let y = x.map(|v| 2.0 * v - 1.0);
//! let mut tape = Tape::new();
//! let mut losses = Vec::new();
//! for _ in 0..300 {
//!     let (l, mut grads) = tape.value_and_grad(|tape| {
//!         let pred = model.forward(tape.constant(x.clone()))?;
//!         loss::mse(pred, tape.constant(y.clone()), Default::default())
//!     })?;
//!     losses.push(l);
//!     clip_grad_norm(&mut grads, 1.0)?;
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

use crate::module::Module;
use crate::ParamPath;
use std::collections::hash_map::{Entry, HashMap};
use std::collections::BTreeMap;
use std::panic::Location;
use tapegrad_core::{Array, Element, Error, Gradients, ParamId, Result};

/// Updates a module's parameters from their gradients.
///
/// `step` is `#[track_caller]`: its argument errors name the line that called it (through
/// `dyn Optimizer` too, and through `tapegrad::train::fit`, which is itself
/// `#[track_caller]`).
pub trait Optimizer<T: Element> {
    /// One update of every parameter of `model` that has a gradient in `grads`.
    ///
    /// # Errors
    /// - [`Error::InvalidArgument`] for a bad setting: a learning rate that is not positive and
    ///   finite (`sgd: lr must be positive and finite, got 0 (at src/main.rs:9:9)`), a momentum
    ///   outside `[0, 1)`, ... (nothing is updated then).
    /// - [`Error::Shape`] when a gradient's shape differs from its parameter's (naming the
    ///   parameter; nothing is updated then).
    /// - [`Error::NonFinite`] when the update left a parameter NaN or infinite, naming it (the
    ///   update has been applied then; for the optimizers of this crate, see
    ///   [`Optimizer::checks_finite`]).
    #[track_caller]
    fn step(&mut self, model: &mut dyn Module<T>, grads: &Gradients<T>) -> Result<()>;

    /// The learning rate.
    fn lr(&self) -> f64;

    /// Sets the learning rate (e.g. from an [`LrSchedule`](crate::schedule::LrSchedule)). A rate
    /// that is not positive and finite is refused by the next [`Optimizer::step`].
    fn set_lr(&mut self, lr: f64);

    /// Whether [`Optimizer::step`] reports a parameter that became NaN or infinite as
    /// [`Error::NonFinite`]. Every optimizer of this crate does (the check is fused into its
    /// update loop); the default is `false`, and then
    /// `tapegrad::train::fit` checks the parameters itself after each step.
    fn checks_finite(&self) -> bool {
        false
    }

    /// The optimizer's settings and per-parameter state, by parameter name (the names of
    /// `model`'s [`Module::visit`]), for a checkpoint. Only parameters of `model` that
    /// have state are included.
    ///
    /// # Errors
    /// The default: [`Error::InvalidArgument`], this optimizer cannot be checkpointed
    /// (implement this and [`Optimizer::import_state`] to allow it).
    #[track_caller]
    fn export_state(&self, model: &dyn Module<T>) -> Result<OptimizerState<T>> {
        let _ = model;
        Err(Error::invalid(
            "Optimizer::export_state",
            "this optimizer does not support checkpoints (it implements no export_state)",
        ))
    }

    /// Replaces the optimizer's settings and state with `state` (from
    /// [`Optimizer::export_state`], possibly through a file), matching parameters of `model`
    /// by name. On error the optimizer is left as it was.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `state` is of another optimizer kind, lacks a setting,
    /// names a parameter that `model` does not have, or holds a buffer whose length differs
    /// from its parameter's. The default: this optimizer cannot be checkpointed.
    #[track_caller]
    fn import_state(&mut self, model: &dyn Module<T>, state: &OptimizerState<T>) -> Result<()> {
        let _ = (model, state);
        Err(Error::invalid(
            "Optimizer::import_state",
            "this optimizer does not support checkpoints (it implements no import_state)",
        ))
    }
}

impl<T: Element, O: Optimizer<T> + ?Sized> Optimizer<T> for Box<O> {
    #[track_caller]
    fn step(&mut self, model: &mut dyn Module<T>, grads: &Gradients<T>) -> Result<()> {
        (**self).step(model, grads)
    }
    fn lr(&self) -> f64 {
        (**self).lr()
    }
    fn set_lr(&mut self, lr: f64) {
        (**self).set_lr(lr);
    }
    fn checks_finite(&self) -> bool {
        (**self).checks_finite()
    }
    #[track_caller]
    fn export_state(&self, model: &dyn Module<T>) -> Result<OptimizerState<T>> {
        (**self).export_state(model)
    }
    #[track_caller]
    fn import_state(&mut self, model: &dyn Module<T>, state: &OptimizerState<T>) -> Result<()> {
        (**self).import_state(model, state)
    }
}

/// One parameter's optimizer state: a step counter (Adam, Adagrad) and named buffers of the
/// parameter's length (PyTorch's names: `exp_avg`, `exp_avg_sq`, `momentum_buffer`,
/// `square_avg`, `grad_avg`, `sum`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParamState<T: Element> {
    /// The number of updates this parameter has had, for optimizers that count them.
    pub step: Option<u64>,
    /// The buffers, by name; each has the parameter's shape.
    pub buffers: BTreeMap<String, Array<T>>,
}

/// An optimizer's settings and state in a portable form, keyed by parameter name: what
/// [`Optimizer::export_state`] gives and [`Optimizer::import_state`] takes, and what a
/// [`Checkpoint`](crate::Checkpoint) stores.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OptimizerState<T: Element> {
    /// The optimizer's kind (`sgd`, `adam`, `adamw`, `rmsprop`, `adagrad`).
    pub kind: String,
    /// The settings (`lr`, `momentum`, `beta1`, ...) as numbers (flags as 0 or 1).
    pub settings: BTreeMap<String, f64>,
    /// The per-parameter state, by dotted parameter name.
    pub params: BTreeMap<String, ParamState<T>>,
}

impl<T: Element> OptimizerState<T> {
    /// An empty state of kind `kind`.
    pub fn new(kind: &str) -> Self {
        OptimizerState {
            kind: kind.to_string(),
            settings: BTreeMap::new(),
            params: BTreeMap::new(),
        }
    }

    /// The setting `name`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when it is missing.
    #[track_caller]
    pub fn setting(&self, name: &str) -> Result<f64> {
        self.settings.get(name).copied().ok_or_else(|| {
            Error::invalid(
                "OptimizerState",
                format!("the {} state lacks the setting `{name}`", self.kind),
            )
        })
    }
}

/// The names of `model`'s parameters by id.
fn names_by_id<T: Element>(model: &dyn Module<T>) -> HashMap<ParamId, (String, usize)> {
    let mut names = HashMap::new();
    model.visit(&mut ParamPath::new(), &mut |name, p| {
        names.insert(p.id(), (name.to_string(), p.value().numel()));
    });
    names
}

/// Exports `state` (by parameter id) by name, `f` turning one entry into a [`ParamState`].
pub(crate) fn export_params<T: Element, S>(
    model: &dyn Module<T>,
    state: &HashMap<ParamId, S>,
    out: &mut OptimizerState<T>,
    mut f: impl FnMut(&S, &[usize]) -> Result<ParamState<T>>,
) -> Result<()> {
    let mut err = None;
    model.visit(&mut ParamPath::new(), &mut |name, p| {
        if err.is_some() {
            return;
        }
        if let Some(s) = state.get(&p.id()) {
            match f(s, p.value().dims()) {
                Ok(ps) => {
                    out.params.insert(name.to_string(), ps);
                }
                Err(e) => err = Some(e),
            }
        }
    });
    err.map_or(Ok(()), Err)
}

/// Imports the per-parameter state of `state` into a new map by parameter id; `f` turns one
/// [`ParamState`] (and the parameter's length) into an entry.
#[track_caller]
pub(crate) fn import_params<T: Element, S>(
    op: &'static str,
    model: &dyn Module<T>,
    state: &OptimizerState<T>,
    mut f: impl FnMut(&str, &ParamState<T>, usize) -> std::result::Result<S, String>,
) -> Result<HashMap<ParamId, S>> {
    if state.kind != op {
        return Err(Error::invalid(
            op,
            format!("cannot take the state of a {} optimizer", state.kind),
        ));
    }
    let loc = Location::caller();
    let invalid = |message: String| Error::InvalidArgument {
        op,
        message,
        location: loc,
    };
    let by_name: HashMap<String, (ParamId, usize)> = names_by_id(model)
        .into_iter()
        .map(|(id, (name, n))| (name, (id, n)))
        .collect();
    let mut out = HashMap::new();
    for (name, ps) in &state.params {
        let &(id, n) = by_name.get(name).ok_or_else(|| {
            invalid(format!(
                "the state names parameter `{name}`, which the model does not have"
            ))
        })?;
        out.insert(id, f(name, ps, n).map_err(invalid)?);
    }
    Ok(out)
}

/// The buffer `key` of parameter `name`'s state as a vector of `n` values.
pub(crate) fn buffer<T: Element>(
    name: &str,
    ps: &ParamState<T>,
    key: &str,
    n: usize,
) -> std::result::Result<Vec<T>, String> {
    let b = ps
        .buffers
        .get(key)
        .ok_or_else(|| format!("the state of parameter `{name}` lacks `{key}`"))?;
    if b.numel() != n {
        return Err(format!(
            "the `{key}` of parameter `{name}` holds {} values, the parameter {n}",
            b.numel()
        ));
    }
    Ok(b.data().to_vec())
}

/// The step counter of parameter `name`'s state.
pub(crate) fn step_of<T: Element>(
    name: &str,
    ps: &ParamState<T>,
) -> std::result::Result<u64, String> {
    ps.step
        .ok_or_else(|| format!("the state of parameter `{name}` lacks its step count"))
}

/// `v` as an array of the parameter's shape.
pub(crate) fn as_array<T: Element>(v: &[T], dims: &[usize]) -> Result<Array<T>> {
    Array::from_vec(v.to_vec(), dims)
}

/// Checks every gradient's shape against its parameter's, then calls `f(id, value, grad)`
/// for every parameter with a gradient, with the value borrowed mutably; `f` returns whether
/// every updated value is finite. Errors are located at the caller of `step`.
///
/// # Errors
/// [`Error::Shape`] for a gradient of the wrong shape (nothing updated); [`Error::NonFinite`]
/// naming the first parameter (in visiting order) that `f` left non-finite.
#[track_caller]
pub(crate) fn update_params<T: Element>(
    op: &'static str,
    model: &mut dyn Module<T>,
    grads: &Gradients<T>,
    mut f: impl FnMut(ParamId, &mut [T], &[T]) -> bool,
) -> Result<()> {
    let location = Location::caller();
    let mut mismatch = false;
    model.visit(&mut ParamPath::new(), &mut |_, p| {
        mismatch |= grads
            .by_id(p.id())
            .is_some_and(|g| g.shape() != p.value().shape());
    });
    if mismatch {
        // the slow path, with names, only to say which parameter is wrong
        let mut bad: Option<Error> = None;
        model.visit(
            &mut ParamPath::new(),
            &mut |name, p| match grads.by_id(p.id()) {
                Some(g) if bad.is_none() && g.shape() != p.value().shape() => {
                    bad = Some(Error::Shape {
                        op,
                        lhs: p.value().shape().clone(),
                        rhs: g.shape().clone(),
                        reason: format!("the gradient of parameter `{name}` must have its shape"),
                        location,
                    });
                }
                _ => {}
            },
        );
        return Err(bad.expect("internal: a mismatch was seen"));
    }
    let mut finite = true;
    model.visit_mut(&mut ParamPath::new(), &mut |_, p| {
        if let Some(g) = grads.by_id(p.id()) {
            finite &= f(p.id(), p.value_mut().data_mut(), g.data());
        }
    });
    if finite {
        return Ok(());
    }
    // the slow path again: name the first parameter that is not finite
    let mut bad: Option<Error> = None;
    model.visit(&mut ParamPath::new(), &mut |name, p| {
        if bad.is_none() {
            if let Some(v) = p.value().data().iter().find(|v| !v.is_finite()) {
                bad = Some(Error::NonFinite {
                    what: format!("{op}: parameter `{name}` after the update"),
                    value: v.as_f64(),
                });
            }
        }
    });
    Err(bad.unwrap_or_else(|| Error::NonFinite {
        what: format!("{op}: a parameter after the update"),
        value: f64::NAN,
    }))
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

/// An error unless the learning rate is positive and finite.
#[track_caller]
pub(crate) fn check_lr(op: &'static str, lr: f64) -> Result<()> {
    if lr > 0.0 && lr.is_finite() {
        Ok(())
    } else {
        Err(Error::invalid(
            op,
            format!("lr must be positive and finite, got {lr}"),
        ))
    }
}
