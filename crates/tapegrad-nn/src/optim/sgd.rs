//! Stochastic gradient descent with momentum, Nesterov momentum and weight decay.

use super::{
    as_array, buffer, check_fraction, check_lr, check_nonneg, check_range, Imported, Optim,
    ParamState, UpdateRule, WeightDecay,
};
use tapegrad_core::{Element, Error, Result};

/// SGD with PyTorch's update rule (`torch.optim.SGD`): the [`Optim`] driver with the rule
/// [`SgdSettings`]. Per parameter, with gradient `g`:
///
/// ```text
/// d = g + weight_decay · p
/// if momentum > 0:
///     b = d                                    (first step)
///     b = momentum · b + (1 - dampening) · d   (later steps)
///     d = d + momentum · b   if nesterov, else   d = b
/// p = p - lr · d
/// ```
///
/// Without momentum it keeps no state.
///
/// ```
/// use tapegrad_core::{Array, Param, Tape};
/// use tapegrad_nn::{optim::{Optimizer, Sgd}, Dense, Module};
/// # fn main() -> tapegrad_core::Result<()> {
/// let mut layer = Dense::<f64>::from_arrays(Array::from_vec(vec![1.0], [1, 1])?, None)?;
/// let mut opt = Sgd::new(0.1).momentum(0.9);
/// let mut tape = Tape::new();
/// for _ in 0..2 {
///     let grads = {
///         let y = layer.forward(tape.constant(Array::ones([1, 1])))?;
///         y.square().sum().backward()? // loss w², gradient 2w
///     };
///     tape.reset();
///     opt.step(&mut layer, &grads)?;
/// }
/// // w: 1 → 1 - 0.1·2 = 0.8 → 0.8 - 0.1·(0.9·2 + 1.6) = 0.46
/// assert!((layer.weight().value().data()[0] - 0.46).abs() < 1e-12);
/// # Ok(()) }
/// ```
pub type Sgd<T> = Optim<T, SgdSettings>;

/// The settings of [`Sgd`], with PyTorch's defaults (`Default`: `lr = 1e-3`, the rest 0 or
/// off). Exported as `lr`, `momentum`, `dampening`, `nesterov` (0 or 1), `weight_decay`; the
/// per-parameter state is a `momentum_buffer` (with momentum only).
#[derive(Clone, Debug, PartialEq)]
pub struct SgdSettings {
    /// The learning rate (positive).
    pub lr: f64,
    /// The momentum factor, in `[0, 1)`; 0 turns momentum off.
    pub momentum: f64,
    /// The dampening of the momentum buffer's new term, in `[0, 1]`.
    pub dampening: f64,
    /// Nesterov momentum (needs a positive momentum and no dampening).
    pub nesterov: bool,
    /// The L2 weight decay (added to the gradient as `weight_decay · p`).
    pub weight_decay: f64,
}

impl Default for SgdSettings {
    fn default() -> Self {
        SgdSettings {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        }
    }
}

setters!(Sgd:
    /// Sets the momentum factor (in `[0, 1)`; 0 turns it off).
    momentum: f64,
    /// Sets the dampening of the momentum buffer's new term (in `[0, 1]`).
    dampening: f64,
    /// Uses Nesterov momentum (needs a positive momentum and no dampening).
    nesterov: bool,
    /// Sets the L2 weight decay (added to the gradient as `weight_decay · p`).
    weight_decay: f64,
);

impl<T: Element> UpdateRule<T> for SgdSettings {
    /// The momentum buffer, made at the first step with momentum (`None` before, and always
    /// without momentum).
    type State = Option<Vec<T>>;

    settings_io!("sgd": lr, momentum, dampening, nesterov, weight_decay);

    #[track_caller]
    fn check(&self) -> Result<()> {
        check_lr("sgd", self.lr)?;
        check_fraction("sgd", "momentum", self.momentum)?;
        check_range("sgd", "dampening", self.dampening, 0.0, 1.0, true)?;
        check_nonneg("sgd", "weight_decay", self.weight_decay)?;
        if self.nesterov && (self.momentum == 0.0 || self.dampening != 0.0) {
            return Err(Error::invalid(
                "sgd",
                "Nesterov momentum needs a positive momentum and zero dampening",
            ));
        }
        Ok(())
    }

    fn init(&self, _len: usize) -> Option<Vec<T>> {
        None
    }

    fn weight_decay(&self) -> WeightDecay {
        WeightDecay::L2(self.weight_decay)
    }

    fn update(&self, _step: u64, buf: &mut Option<Vec<T>>, p: &mut [T], g: &[T]) -> bool {
        let lr = T::of(self.lr);
        let mut finite = true;
        if self.momentum == 0.0 {
            for (p, &g) in p.iter_mut().zip(g) {
                *p -= lr * g;
                finite &= p.is_finite();
            }
            return finite;
        }
        let (mom, keep) = (T::of(self.momentum), T::of(1.0 - self.dampening));
        let (first, nesterov) = (buf.is_none(), self.nesterov);
        let buf = buf.get_or_insert_with(|| vec![T::zero(); p.len()]);
        for ((p, &g), b) in p.iter_mut().zip(g).zip(buf.iter_mut()) {
            *b = if first { g } else { mom * *b + keep * g };
            let d = if nesterov { g + mom * *b } else { *b };
            *p -= lr * d;
            finite &= p.is_finite();
        }
        finite
    }

    fn export_param(buf: &Option<Vec<T>>, dims: &[usize]) -> Result<Option<ParamState<T>>> {
        let Some(b) = buf else { return Ok(None) };
        let mut ps = ParamState::default();
        ps.buffers
            .insert("momentum_buffer".into(), as_array(b, dims)?);
        Ok(Some(ps))
    }

    fn import_param(name: &str, ps: &ParamState<T>, len: usize) -> Imported<Option<Vec<T>>> {
        buffer(name, ps, "momentum_buffer", len).map(Some)
    }
}
