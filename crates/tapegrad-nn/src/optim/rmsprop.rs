//! RMSProp (Hinton's lecture 6e), optionally centered and with momentum.

use super::{
    as_array, buffer, check_lr, check_range, export_params, import_params, state, update_params,
    Optimizer, OptimizerState, ParamState,
};
use crate::module::Module;
use std::collections::HashMap;
use tapegrad_core::{Element, Gradients, ParamId, Result};

#[derive(Clone, Debug)]
struct RmsState<T> {
    square_avg: Vec<T>,
    grad_avg: Vec<T>,
    buf: Vec<T>,
}

/// RMSProp with PyTorch's update rule (`torch.optim.RMSprop`), defaults `alpha = 0.99`,
/// `eps = 1e-8`, no momentum, not centered. Per parameter, with gradient `g`:
///
/// ```text
/// g = g + weight_decay · p
/// v = α·v + (1 - α)·g²
/// a = √(v - ḡ²) + eps  with ḡ = α·ḡ + (1 - α)·g   (centered)
/// a = √v + eps                                      (otherwise)
/// b = momentum·b + g/a;  p = p - lr·b               (momentum > 0)
/// p = p - lr · g/a                                  (otherwise)
/// ```
#[derive(Clone, Debug)]
pub struct RmsProp<T: Element> {
    lr: f64,
    alpha: f64,
    eps: f64,
    momentum: f64,
    centered: bool,
    weight_decay: f64,
    state: HashMap<ParamId, RmsState<T>>,
}

impl<T: Element> RmsProp<T> {
    /// RMSProp with learning rate `lr` (torch's default is 1e-2) and the default settings.
    pub fn new(lr: f64) -> Self {
        RmsProp {
            lr,
            alpha: 0.99,
            eps: 1e-8,
            momentum: 0.0,
            centered: false,
            weight_decay: 0.0,
            state: HashMap::new(),
        }
    }

    /// Sets the smoothing constant α (in `[0, 1)`).
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// Sets the term added to the denominator for stability.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Sets the momentum factor (in `[0, 1)`).
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Normalizes by the estimated variance instead of the second moment.
    pub fn centered(mut self, on: bool) -> Self {
        self.centered = on;
        self
    }

    /// Sets the L2 weight decay.
    pub fn weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
    }
}

impl<T: Element> Optimizer<T> for RmsProp<T> {
    #[track_caller]
    fn step(&mut self, model: &mut dyn Module<T>, grads: &Gradients<T>) -> Result<()> {
        let op = "rmsprop";
        check_lr(op, self.lr)?;
        check_range(op, "alpha", self.alpha, 0.0, 1.0, false)?;
        check_range(op, "eps", self.eps, 0.0, f64::INFINITY, false)?;
        check_range(op, "momentum", self.momentum, 0.0, 1.0, false)?;
        check_range(
            op,
            "weight_decay",
            self.weight_decay,
            0.0,
            f64::INFINITY,
            false,
        )?;
        let (lr, alpha, one_alpha) = (T::of(self.lr), T::of(self.alpha), T::of(1.0 - self.alpha));
        let (eps, mom, wd) = (
            T::of(self.eps),
            T::of(self.momentum),
            T::of(self.weight_decay),
        );
        let (centered, use_mom) = (self.centered, self.momentum != 0.0);
        let st = &mut self.state;
        update_params(op, model, grads, |id, p, g| {
            let n = p.len();
            let (s, _) = state(st, id, || RmsState {
                square_avg: vec![T::zero(); n],
                grad_avg: if centered {
                    vec![T::zero(); n]
                } else {
                    Vec::new()
                },
                buf: if use_mom {
                    vec![T::zero(); n]
                } else {
                    Vec::new()
                },
            });
            if centered && s.grad_avg.len() != n {
                s.grad_avg = vec![T::zero(); n];
            }
            if use_mom && s.buf.len() != n {
                s.buf = vec![T::zero(); n];
            }
            let mut finite = true;
            for i in 0..n {
                let g = g[i] + wd * p[i];
                let v = alpha * s.square_avg[i] + one_alpha * g * g;
                s.square_avg[i] = v;
                let avg = if centered {
                    let ga = alpha * s.grad_avg[i] + one_alpha * g;
                    s.grad_avg[i] = ga;
                    (v - ga * ga).sqrt() + eps
                } else {
                    v.sqrt() + eps
                };
                if use_mom {
                    s.buf[i] = mom * s.buf[i] + g / avg;
                    p[i] -= lr * s.buf[i];
                } else {
                    p[i] -= lr * g / avg;
                }
                finite &= p[i].is_finite();
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

    /// Settings `lr`, `alpha`, `eps`, `momentum`, `centered` (0 or 1), `weight_decay`; per
    /// parameter `square_avg`, and `grad_avg` (centered) and `momentum_buffer` (with momentum)
    /// when they exist.
    fn export_state(&self, model: &dyn Module<T>) -> Result<OptimizerState<T>> {
        let mut s = OptimizerState::new("rmsprop");
        for (k, v) in [
            ("lr", self.lr),
            ("alpha", self.alpha),
            ("eps", self.eps),
            ("momentum", self.momentum),
            ("centered", f64::from(u8::from(self.centered))),
            ("weight_decay", self.weight_decay),
        ] {
            s.settings.insert(k.to_string(), v);
        }
        export_params(model, &self.state, &mut s, |st, dims| {
            let mut ps = ParamState::default();
            ps.buffers
                .insert("square_avg".into(), as_array(&st.square_avg, dims)?);
            if !st.grad_avg.is_empty() {
                ps.buffers
                    .insert("grad_avg".into(), as_array(&st.grad_avg, dims)?);
            }
            if !st.buf.is_empty() {
                ps.buffers
                    .insert("momentum_buffer".into(), as_array(&st.buf, dims)?);
            }
            Ok(ps)
        })?;
        Ok(s)
    }

    #[track_caller]
    fn import_state(&mut self, model: &dyn Module<T>, state: &OptimizerState<T>) -> Result<()> {
        let map = import_params("rmsprop", model, state, |name, ps, n| {
            let optional = |key: &str| {
                if ps.buffers.contains_key(key) {
                    buffer(name, ps, key, n)
                } else {
                    Ok(Vec::new())
                }
            };
            Ok(RmsState {
                square_avg: buffer(name, ps, "square_avg", n)?,
                grad_avg: optional("grad_avg")?,
                buf: optional("momentum_buffer")?,
            })
        })?;
        let (lr, alpha, eps) = (
            state.setting("lr")?,
            state.setting("alpha")?,
            state.setting("eps")?,
        );
        let (momentum, centered, weight_decay) = (
            state.setting("momentum")?,
            state.setting("centered")?,
            state.setting("weight_decay")?,
        );
        *self = RmsProp {
            lr,
            alpha,
            eps,
            momentum,
            centered: centered != 0.0,
            weight_decay,
            state: map,
        };
        Ok(())
    }
}
