//! Adagrad (Duchi, Hazan & Singer 2011).

use super::{
    as_array, buffer, check_lr, check_range, export_params, import_params, state, step_of,
    update_params, Optimizer, OptimizerState, ParamState,
};
use crate::module::Module;
use std::collections::HashMap;
use tapegrad_core::{Element, Gradients, ParamId, Result};

#[derive(Clone, Debug)]
struct AdagradState<T> {
    step: u64,
    sum: Vec<T>,
}

/// Adagrad with PyTorch's update rule (`torch.optim.Adagrad`), defaults `lr_decay = 0`,
/// `eps = 1e-10`, accumulators starting at 0. Per parameter, at its step `t` with gradient
/// `g`:
///
/// ```text
/// g = g + weight_decay · p
/// s = s + g²
/// p = p - lr / (1 + (t - 1)·lr_decay) · g / (√s + eps)
/// ```
#[derive(Clone, Debug)]
pub struct Adagrad<T: Element> {
    lr: f64,
    lr_decay: f64,
    eps: f64,
    weight_decay: f64,
    initial_accumulator: f64,
    state: HashMap<ParamId, AdagradState<T>>,
}

impl<T: Element> Adagrad<T> {
    /// Adagrad with learning rate `lr` (torch's default is 1e-2) and the default settings.
    pub fn new(lr: f64) -> Self {
        Adagrad {
            lr,
            lr_decay: 0.0,
            eps: 1e-10,
            weight_decay: 0.0,
            initial_accumulator: 0.0,
            state: HashMap::new(),
        }
    }

    /// Sets the learning-rate decay per step.
    pub fn lr_decay(mut self, d: f64) -> Self {
        self.lr_decay = d;
        self
    }

    /// Sets the term added to the denominator for stability.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Sets the L2 weight decay.
    pub fn weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
    }

    /// Sets the accumulators' starting value.
    pub fn initial_accumulator(mut self, v: f64) -> Self {
        self.initial_accumulator = v;
        self
    }
}

impl<T: Element> Optimizer<T> for Adagrad<T> {
    #[track_caller]
    fn step(&mut self, model: &mut dyn Module<T>, grads: &Gradients<T>) -> Result<()> {
        let op = "adagrad";
        check_lr(op, self.lr)?;
        check_range(op, "lr_decay", self.lr_decay, 0.0, f64::INFINITY, false)?;
        check_range(op, "eps", self.eps, 0.0, f64::INFINITY, false)?;
        check_range(
            op,
            "weight_decay",
            self.weight_decay,
            0.0,
            f64::INFINITY,
            false,
        )?;
        check_range(
            op,
            "initial_accumulator",
            self.initial_accumulator,
            0.0,
            f64::INFINITY,
            false,
        )?;
        let (lr, decay) = (self.lr, self.lr_decay);
        let (eps, wd) = (T::of(self.eps), T::of(self.weight_decay));
        let init = T::of(self.initial_accumulator);
        let st = &mut self.state;
        update_params(op, model, grads, |id, p, g| {
            let (s, _) = state(st, id, || AdagradState {
                step: 0,
                sum: vec![init; p.len()],
            });
            s.step += 1;
            let clr = T::of(lr / (1.0 + (s.step - 1) as f64 * decay));
            let mut finite = true;
            for ((p, &g), s) in p.iter_mut().zip(g).zip(s.sum.iter_mut()) {
                let g = g + wd * *p;
                *s += g * g;
                *p -= clr * g / (s.sqrt() + eps);
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

    /// Settings `lr`, `lr_decay`, `eps`, `weight_decay`, `initial_accumulator`; per parameter
    /// its `step` count and `sum`.
    fn export_state(&self, model: &dyn Module<T>) -> Result<OptimizerState<T>> {
        let mut s = OptimizerState::new("adagrad");
        for (k, v) in [
            ("lr", self.lr),
            ("lr_decay", self.lr_decay),
            ("eps", self.eps),
            ("weight_decay", self.weight_decay),
            ("initial_accumulator", self.initial_accumulator),
        ] {
            s.settings.insert(k.to_string(), v);
        }
        export_params(model, &self.state, &mut s, |st, dims| {
            let mut ps = ParamState {
                step: Some(st.step),
                ..ParamState::default()
            };
            ps.buffers.insert("sum".into(), as_array(&st.sum, dims)?);
            Ok(ps)
        })?;
        Ok(s)
    }

    #[track_caller]
    fn import_state(&mut self, model: &dyn Module<T>, state: &OptimizerState<T>) -> Result<()> {
        let map = import_params("adagrad", model, state, |name, ps, n| {
            Ok(AdagradState {
                step: step_of(name, ps)?,
                sum: buffer(name, ps, "sum", n)?,
            })
        })?;
        let (lr, lr_decay, eps) = (
            state.setting("lr")?,
            state.setting("lr_decay")?,
            state.setting("eps")?,
        );
        let (weight_decay, initial_accumulator) = (
            state.setting("weight_decay")?,
            state.setting("initial_accumulator")?,
        );
        *self = Adagrad {
            lr,
            lr_decay,
            eps,
            weight_decay,
            initial_accumulator,
            state: map,
        };
        Ok(())
    }
}
