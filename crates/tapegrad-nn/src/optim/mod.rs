//! Optimizers: [`Sgd`] (momentum, Nesterov, weight decay), [`Adam`], [`AdamW`] (decoupled
//! weight decay), [`RmsProp`] and [`Adagrad`], with PyTorch's update rules and defaults.
//!
//! Each is one driver, [`Optim`], with one [`UpdateRule`]: a settings struct with PyTorch's
//! defaults ([`SgdSettings`], [`AdamSettings`], [`AdamWSettings`], [`RmsPropSettings`],
//! [`AdagradSettings`]) that validates itself and updates one parameter from its gradient and
//! its per-parameter state (a momentum buffer, moments). The driver walks the parameters,
//! keeps that state and each parameter's step count by parameter id, applies the weight decay
//! the rule names ([`WeightDecay`]: an L2 term in the gradient, or AdamW's decoupled shrink)
//! and exports and imports the state for a checkpoint, the same for every rule. `Sgd::new(0.1).momentum(0.9)` and
//! `Sgd::with(SgdSettings { lr: 0.1, momentum: 0.9, ..Default::default() })` are the same
//! optimizer; a rule of one's own gets [`Optimizer`] and checkpoints from [`Optim`] too.
//!
//! An optimizer updates a module's parameters in place from gradients keyed by parameter id
//! ([`Gradients`]: from one backward pass, or several added up with
//! [`Gradients::accumulate`], clipped or not). It keeps its state (momentum buffers, moment
//! estimates) per parameter id, allocated at a parameter's first update and updated in place
//! afterwards. A parameter without a gradient is skipped: its value and its
//! state stay as they are. Parameters outside a model are stepped as one too: a
//! `Vec<Param<T>>` is a module (torch's `ParameterList`), and [`Optimizer::step_params`] steps
//! parameters kept in separate variables (`opt.step_params(&mut [&mut w, &mut b], &grads)`).
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
//! use tapegrad_nn::{clip_grad_norm, loss, Activation, Mlp, Module};
//! # fn main() -> tapegrad_core::Result<()> {
//! let mut model = Mlp::<f32>::new(&[1, 8, 1], Activation::Tanh, Activation::Identity, &mut rng(0))?;
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

/// In an `impl<T: Element> UpdateRule<T>` of a settings struct whose fields are all settings
/// (an `lr` among them), exported under their own names: `kind`, `lr`, `set_lr`,
/// `export_settings` and `import_settings`.
macro_rules! settings_io {
    ($kind:literal: $($field:ident),* $(,)?) => {
        fn kind(&self) -> &'static str {
            $kind
        }

        fn lr(&self) -> f64 {
            self.lr
        }

        fn set_lr(&mut self, lr: f64) {
            self.lr = lr;
        }

        fn export_settings(&self) -> Vec<(&'static str, f64)> {
            vec![$((stringify!($field), $crate::optim::Setting::to_f64(self.$field))),*]
        }

        #[track_caller]
        fn import_settings(state: &$crate::optim::OptimizerState<T>) -> tapegrad_core::Result<Self> {
            Ok(Self {
                $($field: $crate::optim::Setting::from_f64(state.setting(stringify!($field))?)),*
            })
        }
    };
}

/// The builder methods of an optimizer alias (`Sgd`, ...): one per listed setting, with its
/// doc, each setting the field of the same name.
macro_rules! setters {
    ($alias:ident: $($(#[$doc:meta])* $field:ident: $ty:ty),* $(,)?) => {
        impl<T: tapegrad_core::Element> $alias<T> {
            $(
                $(#[$doc])*
                pub fn $field(mut self, $field: $ty) -> Self {
                    self.settings_mut().$field = $field;
                    self
                }
            )*
        }
    };
}

mod adagrad;
mod adam;
mod rmsprop;
mod sgd;

pub use adagrad::{Adagrad, AdagradSettings, AdagradState};
pub use adam::{Adam, AdamSettings, AdamW, AdamWSettings, Moments};
pub use rmsprop::{RmsProp, RmsPropSettings, RmsState};
pub use sgd::{Sgd, SgdSettings};

use crate::module::Module;
use crate::{ParamPath, ParamRefs};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::panic::Location;
use tapegrad_core::{Array, Element, Error, Gradients, Param, ParamId, Result};

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

    /// One update of parameters that live in separate variables, not in a module (torch's
    /// `Adam([w, b])`): `opt.step_params(&mut [&mut w, &mut b], &grads)` is
    /// [`Optimizer::step`] of the [`ParamRefs`] of the slice, which names
    /// them `0`, `1`, ... in order, as a `Vec<Param<T>>` does. The state is kept by parameter
    /// id, so stepping the same parameters through a module, a `Vec` or this method updates
    /// them identically.
    ///
    /// ```
    /// use tapegrad_core::{Array, Param, Tape};
    /// use tapegrad_nn::optim::{Optimizer, Sgd};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let mut w = Param::new(Array::<f64>::from_vec(vec![1.0, 2.0], [2])?);
    /// let mut b = Param::new(Array::from_vec(vec![0.5], [1])?);
    /// let mut opt = Sgd::new(0.25);
    /// let mut tape = Tape::new();
    /// // loss = Σw² + b²: gradients 2w and 2b
    /// let (_, grads) = tape.value_and_grad(|tape| {
    ///     Ok(tape.param(&w).square().sum().add(tape.param(&b).square().sum())?)
    /// })?;
    /// opt.step_params(&mut [&mut w, &mut b], &grads)?;
    /// assert_eq!(w.value().data(), &[0.5, 1.0]); // w - 0.25·2w
    /// assert_eq!(b.value().data(), &[0.25]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Optimizer::step`].
    #[track_caller]
    fn step_params(&mut self, params: &mut [&mut Param<T>], grads: &Gradients<T>) -> Result<()> {
        self.step(&mut ParamRefs(params), grads)
    }

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

/// How weight decay enters an update, applied by [`Optim`] before the rule's own update.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WeightDecay {
    /// No weight decay.
    None,
    /// An L2 penalty: the rule sees the gradient `g + λ·p` (SGD, Adam, RMSProp, Adagrad).
    L2(f64),
    /// Decoupled weight decay: the parameter shrinks to `p·(1 - lr·λ)` before the rule's
    /// update, which sees the plain gradient (AdamW).
    Decoupled(f64),
}

/// One optimizer's update rule: its settings (the implementing struct, e.g. [`SgdSettings`]),
/// its per-parameter state and the update of one parameter. [`Optim`] drives it: it walks the
/// parameters, keeps the state and the step count by parameter id, applies the weight decay
/// the rule asks for, checks the settings before each step and exports and imports the state
/// for a checkpoint.
///
/// A rule of one's own:
///
/// ```
/// use tapegrad_core::{Array, Element, Param, Result};
/// use tapegrad_nn::optim::{Optim, Optimizer, OptimizerState, ParamState, UpdateRule};
/// use tapegrad_nn::{Dense, Module};
///
/// /// Sign descent: `p = p - lr · sign(g)`, without state.
/// #[derive(Clone, Debug)]
/// struct SignSettings {
///     lr: f64,
/// }
///
/// impl<T: Element> UpdateRule<T> for SignSettings {
///     type State = ();
///     fn kind(&self) -> &'static str {
///         "sign"
///     }
///     fn lr(&self) -> f64 {
///         self.lr
///     }
///     fn set_lr(&mut self, lr: f64) {
///         self.lr = lr;
///     }
///     fn check(&self) -> Result<()> {
///         Ok(())
///     }
///     fn init(&self, _len: usize) {}
///     fn update(&self, _step: u64, _state: &mut (), p: &mut [T], g: &[T]) -> bool {
///         let lr = T::of(self.lr);
///         let mut finite = true;
///         for (p, &g) in p.iter_mut().zip(g) {
///             *p -= lr * g.signum();
///             finite &= p.is_finite();
///         }
///         finite
///     }
///     fn export_settings(&self) -> Vec<(&'static str, f64)> {
///         vec![("lr", self.lr)]
///     }
///     fn import_settings(state: &OptimizerState<T>) -> Result<Self> {
///         Ok(SignSettings { lr: state.setting("lr")? })
///     }
///     fn export_param(_state: &(), _dims: &[usize]) -> Result<Option<ParamState<T>>> {
///         Ok(None)
///     }
///     fn import_param(_: &str, _: &ParamState<T>, _: usize) -> Result<(), String> {
///         Ok(())
///     }
/// }
///
/// # fn main() -> tapegrad_core::Result<()> {
/// let mut layer = Dense::<f64>::from_arrays(Array::from_vec(vec![1.0], [1, 1])?, None)?;
/// let mut opt = Optim::with(SignSettings { lr: 0.25 });
/// let mut tape = tapegrad_core::Tape::new();
/// let grads = {
///     let y = layer.forward(tape.constant(Array::ones([1, 1])))?;
///     y.square().sum().backward()?
/// };
/// tape.reset();
/// opt.step(&mut layer, &grads)?;
/// assert_eq!(layer.weight().value().data()[0], 0.75);
/// # Ok(()) }
/// ```
pub trait UpdateRule<T: Element>: Clone + Debug {
    /// The per-parameter state (buffers, a step count), made by [`UpdateRule::init`] at a
    /// parameter's first update and updated in place afterwards.
    type State: Clone + Debug;

    /// The optimizer's kind (`sgd`, `adam`, ...): the name of its errors and of its exported
    /// state ([`OptimizerState::kind`]).
    fn kind(&self) -> &'static str;

    /// The learning rate.
    fn lr(&self) -> f64;

    /// Sets the learning rate.
    fn set_lr(&mut self, lr: f64);

    /// Validates the settings, called before every step.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the kind and the bad setting, located at the caller.
    #[track_caller]
    fn check(&self) -> Result<()>;

    /// Whether the rule's per-parameter state includes its step count: then [`Optim`]
    /// exports and imports the count it keeps ([`ParamState::step`], PyTorch's `step`) with
    /// the state. The count is kept, and passed to [`UpdateRule::update`], either way.
    const COUNTS_STEPS: bool = false;

    /// The weight decay [`Optim`] applies before [`UpdateRule::update`] (the default: none).
    fn weight_decay(&self) -> WeightDecay {
        WeightDecay::None
    }

    /// The state of a parameter of `len` values before its first update.
    fn init(&self, len: usize) -> Self::State;

    /// Updates the parameter values `p` in place from their gradient `g` (of the same length,
    /// weight decay already applied by the driver) and the parameter's `state`, at the
    /// parameter's update number `step` (1 at its first update); returns whether every updated
    /// value is finite.
    fn update(&self, step: u64, state: &mut Self::State, p: &mut [T], g: &[T]) -> bool;

    /// The settings as named numbers (flags as 0 or 1), for [`OptimizerState::settings`].
    fn export_settings(&self) -> Vec<(&'static str, f64)>;

    /// The settings from an exported state (the inverse of
    /// [`UpdateRule::export_settings`]).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when a setting is missing ([`OptimizerState::setting`]).
    #[track_caller]
    fn import_settings(state: &OptimizerState<T>) -> Result<Self>;

    /// One parameter's state in the portable form (its buffers: [`Optim`] adds the step count
    /// when [`UpdateRule::COUNTS_STEPS`]), `dims` being the parameter's shape; `None`
    /// for a state with nothing to save (then the parameter is left out of the export).
    ///
    /// # Errors
    /// Those of building the arrays.
    fn export_param(state: &Self::State, dims: &[usize]) -> Result<Option<ParamState<T>>>;

    /// One parameter's state from the portable form (the inverse of
    /// [`UpdateRule::export_param`]), for the parameter `name` of `len` values.
    ///
    /// # Errors
    /// A message when a buffer is missing or its length is not `len`.
    fn import_param(
        name: &str,
        ps: &ParamState<T>,
        len: usize,
    ) -> std::result::Result<Self::State, String>;
}

/// The optimizer that drives an [`UpdateRule`]: it keeps the rule's state per parameter id and
/// implements [`Optimizer`] once for every rule. [`Sgd`], [`Adam`], [`AdamW`], [`RmsProp`] and
/// [`Adagrad`] are this type with the rules of this crate; [`Optim::with`] makes one from the
/// settings.
///
/// ```
/// use tapegrad_nn::optim::{Optimizer, Sgd, SgdSettings};
/// let opt = Sgd::<f32>::with(SgdSettings { lr: 0.1, momentum: 0.9, ..Default::default() });
/// assert_eq!(opt.lr(), 0.1);
/// assert_eq!(opt.settings().momentum, 0.9);
/// ```
#[derive(Clone, Debug)]
pub struct Optim<T: Element, R: UpdateRule<T>> {
    rule: R,
    /// per parameter: its number of updates so far and the rule's state
    state: HashMap<ParamId, (u64, R::State)>,
    /// the gradient plus its L2 term, reused from step to step
    scratch: Vec<T>,
}

impl<T: Element, R: UpdateRule<T>> Optim<T, R> {
    /// An optimizer with the settings `rule` and no state yet.
    pub fn with(rule: R) -> Self {
        Optim {
            rule,
            state: HashMap::new(),
            scratch: Vec::new(),
        }
    }

    /// An optimizer with the default settings (PyTorch's, see each settings struct) but the
    /// learning rate `lr`: `Sgd::new(0.1)`, `Adam::new(1e-3)`, ...
    pub fn new(lr: f64) -> Self
    where
        R: Default,
    {
        let mut rule = R::default();
        rule.set_lr(lr);
        Self::with(rule)
    }

    /// The settings.
    pub fn settings(&self) -> &R {
        &self.rule
    }

    /// The settings, to change (they are checked by the next [`Optimizer::step`]).
    pub fn settings_mut(&mut self) -> &mut R {
        &mut self.rule
    }
}

impl<T: Element, R: UpdateRule<T>> Optimizer<T> for Optim<T, R> {
    #[track_caller]
    fn step(&mut self, model: &mut dyn Module<T>, grads: &Gradients<T>) -> Result<()> {
        self.rule.check()?;
        let (rule, state, scratch) = (&self.rule, &mut self.state, &mut self.scratch);
        let decay = rule.weight_decay();
        update_params(rule.kind(), model, grads, |id, p, g| {
            let (step, s) = state.entry(id).or_insert_with(|| (0, rule.init(p.len())));
            *step += 1;
            let g = match decay {
                WeightDecay::L2(wd) if wd != 0.0 => {
                    let wd = T::of(wd);
                    scratch.clear();
                    scratch.extend(g.iter().zip(p.iter()).map(|(&g, &p)| g + wd * p));
                    &scratch[..]
                }
                WeightDecay::Decoupled(wd) if wd != 0.0 => {
                    let shrink = T::of(1.0 - rule.lr() * wd);
                    p.iter_mut().for_each(|p| *p *= shrink);
                    g
                }
                _ => g,
            };
            rule.update(*step, s, p, g)
        })
    }

    fn lr(&self) -> f64 {
        self.rule.lr()
    }

    fn set_lr(&mut self, lr: f64) {
        self.rule.set_lr(lr);
    }

    fn checks_finite(&self) -> bool {
        true
    }

    /// The rule's settings ([`UpdateRule::export_settings`]) and per parameter its state
    /// ([`UpdateRule::export_param`]).
    fn export_state(&self, model: &dyn Module<T>) -> Result<OptimizerState<T>> {
        let mut s = OptimizerState::new(self.rule.kind());
        for (k, v) in self.rule.export_settings() {
            s.settings.insert(k.to_string(), v);
        }
        export_params(model, &self.state, &mut s, |(step, state), dims| {
            let ps = R::export_param(state, dims)?;
            Ok(ps.map(|ps| ParamState {
                step: R::COUNTS_STEPS.then_some(*step),
                ..ps
            }))
        })?;
        Ok(s)
    }

    #[track_caller]
    fn import_state(&mut self, model: &dyn Module<T>, state: &OptimizerState<T>) -> Result<()> {
        let map = import_params(self.rule.kind(), model, state, |name, ps, n| {
            let step = if R::COUNTS_STEPS {
                step_of(name, ps)?
            } else {
                0
            };
            Ok((step, R::import_param(name, ps, n)?))
        })?;
        *self = Optim {
            rule: R::import_settings(state)?,
            state: map,
            scratch: Vec::new(),
        };
        Ok(())
    }
}

/// A setting's value as the number it is exported as (flags as 0 or 1).
pub(crate) trait Setting {
    /// The exported number.
    fn to_f64(self) -> f64;
    /// The value from its exported number.
    fn from_f64(v: f64) -> Self;
}

impl Setting for f64 {
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(v: f64) -> Self {
        v
    }
}

impl Setting for bool {
    fn to_f64(self) -> f64 {
        f64::from(u8::from(self))
    }
    fn from_f64(v: f64) -> Self {
        v != 0.0
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

/// Exports `state` (by parameter id) by name, `f` turning one entry into a [`ParamState`] (or
/// `None`: nothing to export).
pub(crate) fn export_params<T: Element, S>(
    model: &dyn Module<T>,
    state: &HashMap<ParamId, S>,
    out: &mut OptimizerState<T>,
    mut f: impl FnMut(&S, &[usize]) -> Result<Option<ParamState<T>>>,
) -> Result<()> {
    let mut err = None;
    model.visit(&mut ParamPath::new(), &mut |name, p| {
        if err.is_some() {
            return;
        }
        if let Some(s) = state.get(&p.id()) {
            match f(s, p.value().dims()) {
                Ok(Some(ps)) => {
                    out.params.insert(name.to_string(), ps);
                }
                Ok(None) => {}
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
    mut f: impl FnMut(&str, &ParamState<T>, usize) -> Imported<S>,
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
fn step_of<T: Element>(name: &str, ps: &ParamState<T>) -> std::result::Result<u64, String> {
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

/// An error unless `0 <= v < 1` (a decay or momentum factor).
#[track_caller]
pub(crate) fn check_fraction(op: &'static str, what: &str, v: f64) -> Result<()> {
    check_range(op, what, v, 0.0, 1.0, false)
}

/// An error unless `v` is non-negative and finite.
#[track_caller]
pub(crate) fn check_nonneg(op: &'static str, what: &str, v: f64) -> Result<()> {
    check_range(op, what, v, 0.0, f64::INFINITY, false)
}

/// [`check_lr`], then [`check_fraction`] on each `(name, value)` of `fractions` and
/// [`check_nonneg`] on each of `nonneg`: an optimizer's usual settings check.
#[track_caller]
pub(crate) fn check_settings(
    op: &'static str,
    lr: f64,
    fractions: &[(&str, f64)],
    nonneg: &[(&str, f64)],
) -> Result<()> {
    check_lr(op, lr)?;
    for &(what, v) in fractions {
        check_fraction(op, what, v)?;
    }
    for &(what, v) in nonneg {
        check_nonneg(op, what, v)?;
    }
    Ok(())
}

/// What [`UpdateRule::import_param`] returns: the state, or what is wrong with it.
pub(crate) type Imported<S> = std::result::Result<S, String>;

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
