//! Stochastic gradient descent with momentum, Nesterov momentum and weight decay.

use super::{
    as_array, buffer, check_lr, check_range, export_params, import_params, state, update_params,
    Optimizer, OptimizerState, ParamState,
};
use crate::module::Module;
use std::collections::HashMap;
use tapegrad_core::{Element, Error, Gradients, ParamId, Result};

/// SGD with PyTorch's update rule (`torch.optim.SGD`). Per parameter, with gradient `g`:
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
#[derive(Clone, Debug)]
pub struct Sgd<T: Element> {
    lr: f64,
    momentum: f64,
    dampening: f64,
    nesterov: bool,
    weight_decay: f64,
    bufs: HashMap<ParamId, Vec<T>>,
}

impl<T: Element> Sgd<T> {
    /// Plain SGD with learning rate `lr`: no momentum, no weight decay.
    pub fn new(lr: f64) -> Self {
        Sgd {
            lr,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            bufs: HashMap::new(),
        }
    }

    /// Sets the momentum factor (in `[0, 1)`; 0 turns it off).
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Sets the dampening of the momentum buffer's new term (in `[0, 1]`).
    pub fn dampening(mut self, dampening: f64) -> Self {
        self.dampening = dampening;
        self
    }

    /// Uses Nesterov momentum (needs a positive momentum and no dampening).
    pub fn nesterov(mut self, on: bool) -> Self {
        self.nesterov = on;
        self
    }

    /// Sets the L2 weight decay (added to the gradient as `weight_decay · p`).
    pub fn weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
    }

    #[track_caller]
    fn validate(&self) -> Result<()> {
        check_lr("sgd", self.lr)?;
        check_range("sgd", "momentum", self.momentum, 0.0, 1.0, false)?;
        check_range("sgd", "dampening", self.dampening, 0.0, 1.0, true)?;
        check_range(
            "sgd",
            "weight_decay",
            self.weight_decay,
            0.0,
            f64::INFINITY,
            false,
        )?;
        if self.nesterov && (self.momentum == 0.0 || self.dampening != 0.0) {
            return Err(Error::invalid(
                "sgd",
                "Nesterov momentum needs a positive momentum and zero dampening",
            ));
        }
        Ok(())
    }
}

impl<T: Element> Optimizer<T> for Sgd<T> {
    #[track_caller]
    fn step(&mut self, model: &mut dyn Module<T>, grads: &Gradients<T>) -> Result<()> {
        self.validate()?;
        let lr = T::of(self.lr);
        let wd = T::of(self.weight_decay);
        let mom = T::of(self.momentum);
        let keep = T::of(1.0 - self.dampening);
        let (use_mom, nesterov) = (self.momentum != 0.0, self.nesterov);
        let bufs = &mut self.bufs;
        update_params("sgd", model, grads, |id, p, g| {
            let mut finite = true;
            if !use_mom {
                for (p, &g) in p.iter_mut().zip(g) {
                    *p -= lr * (g + wd * *p);
                    finite &= p.is_finite();
                }
                return finite;
            }
            let (buf, first) = state(bufs, id, || vec![T::zero(); p.len()]);
            for ((p, &g), b) in p.iter_mut().zip(g).zip(buf.iter_mut()) {
                let d = g + wd * *p;
                *b = if first { d } else { mom * *b + keep * d };
                let d = if nesterov { d + mom * *b } else { *b };
                *p -= lr * d;
                finite &= p.is_finite();
            }
            finite
        })
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn checks_finite(&self) -> bool {
        true
    }

    /// Settings `lr`, `momentum`, `dampening`, `nesterov` (0 or 1), `weight_decay`; per
    /// parameter a `momentum_buffer` (with momentum only).
    fn export_state(&self, model: &dyn Module<T>) -> Result<OptimizerState<T>> {
        let mut s = OptimizerState::new("sgd");
        for (k, v) in [
            ("lr", self.lr),
            ("momentum", self.momentum),
            ("dampening", self.dampening),
            ("nesterov", f64::from(u8::from(self.nesterov))),
            ("weight_decay", self.weight_decay),
        ] {
            s.settings.insert(k.to_string(), v);
        }
        export_params(model, &self.bufs, &mut s, |b, dims| {
            let mut ps = ParamState::default();
            ps.buffers
                .insert("momentum_buffer".into(), as_array(b, dims)?);
            Ok(ps)
        })?;
        Ok(s)
    }

    #[track_caller]
    fn import_state(&mut self, model: &dyn Module<T>, state: &OptimizerState<T>) -> Result<()> {
        let bufs = import_params("sgd", model, state, |name, ps, n| {
            buffer(name, ps, "momentum_buffer", n)
        })?;
        let (lr, momentum, dampening) = (
            state.setting("lr")?,
            state.setting("momentum")?,
            state.setting("dampening")?,
        );
        let (nesterov, weight_decay) = (state.setting("nesterov")?, state.setting("weight_decay")?);
        *self = Sgd {
            lr,
            momentum,
            dampening,
            nesterov: nesterov != 0.0,
            weight_decay,
            bufs,
        };
        Ok(())
    }
}
