//! RMSProp (Hinton's lecture 6e), optionally centered and with momentum.

use super::{
    as_array, buffer, check_settings, Imported, Optim, ParamState, UpdateRule, WeightDecay,
};
use tapegrad_core::{Element, Result};

/// One parameter's state under RMSProp: the running average of the squared gradient, and
/// (when used) of the gradient (centered) and the momentum buffer (exported as `square_avg`,
/// `grad_avg`, `momentum_buffer`).
#[derive(Clone, Debug)]
pub struct RmsState<T> {
    square_avg: Vec<T>,
    grad_avg: Vec<T>,
    buf: Vec<T>,
}

/// RMSProp with PyTorch's update rule (`torch.optim.RMSprop`): the [`Optim`] driver with the
/// rule [`RmsPropSettings`]; defaults `alpha = 0.99`, `eps = 1e-8`, no momentum, not
/// centered. Per parameter, with gradient `g`:
///
/// ```text
/// g = g + weight_decay · p
/// v = α·v + (1 - α)·g²
/// a = √(v - ḡ²) + eps  with ḡ = α·ḡ + (1 - α)·g   (centered)
/// a = √v + eps                                      (otherwise)
/// b = momentum·b + g/a;  p = p - lr·b               (momentum > 0)
/// p = p - lr · g/a                                  (otherwise)
/// ```
pub type RmsProp<T> = Optim<T, RmsPropSettings>;

/// The settings of [`RmsProp`], with PyTorch's defaults (`Default`: `lr = 1e-2`,
/// `alpha = 0.99`, `eps = 1e-8`, the rest 0 or off). Exported as `lr`, `alpha`, `eps`,
/// `momentum`, `centered` (0 or 1), `weight_decay`; the per-parameter state is `square_avg`,
/// and `grad_avg` (centered) and `momentum_buffer` (with momentum) when they exist.
#[derive(Clone, Debug, PartialEq)]
pub struct RmsPropSettings {
    /// The learning rate (positive).
    pub lr: f64,
    /// The smoothing constant α, in `[0, 1)`.
    pub alpha: f64,
    /// The term added to the denominator for stability (non-negative).
    pub eps: f64,
    /// The momentum factor, in `[0, 1)`; 0 turns momentum off.
    pub momentum: f64,
    /// Normalizes by the estimated variance instead of the second moment.
    pub centered: bool,
    /// The L2 weight decay (non-negative).
    pub weight_decay: f64,
}

impl Default for RmsPropSettings {
    fn default() -> Self {
        RmsPropSettings {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            momentum: 0.0,
            centered: false,
            weight_decay: 0.0,
        }
    }
}

setters!(RmsProp:
    /// Sets the smoothing constant α (in `[0, 1)`).
    alpha: f64,
    /// Sets the term added to the denominator for stability.
    eps: f64,
    /// Sets the momentum factor (in `[0, 1)`).
    momentum: f64,
    /// Normalizes by the estimated variance instead of the second moment.
    centered: bool,
    /// Sets the L2 weight decay.
    weight_decay: f64,
);

impl<T: Element> UpdateRule<T> for RmsPropSettings {
    type State = RmsState<T>;

    settings_io!("rmsprop": lr, alpha, eps, momentum, centered, weight_decay);

    #[track_caller]
    fn check(&self) -> Result<()> {
        let fractions = [("alpha", self.alpha), ("momentum", self.momentum)];
        let nonneg = [("eps", self.eps), ("weight_decay", self.weight_decay)];
        check_settings("rmsprop", self.lr, &fractions, &nonneg)
    }

    fn init(&self, n: usize) -> RmsState<T> {
        let optional = |on: bool| if on { vec![T::zero(); n] } else { Vec::new() };
        RmsState {
            square_avg: vec![T::zero(); n],
            grad_avg: optional(self.centered),
            buf: optional(self.momentum != 0.0),
        }
    }

    fn weight_decay(&self) -> WeightDecay {
        WeightDecay::L2(self.weight_decay)
    }

    fn update(&self, _step: u64, s: &mut RmsState<T>, p: &mut [T], g: &[T]) -> bool {
        let (lr, alpha, one_alpha) = (T::of(self.lr), T::of(self.alpha), T::of(1.0 - self.alpha));
        let (eps, mom) = (T::of(self.eps), T::of(self.momentum));
        let (centered, use_mom) = (self.centered, self.momentum != 0.0);
        let n = p.len();
        if centered && s.grad_avg.len() != n {
            s.grad_avg = vec![T::zero(); n];
        }
        if use_mom && s.buf.len() != n {
            s.buf = vec![T::zero(); n];
        }
        let mut finite = true;
        for i in 0..n {
            let g = g[i];
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
    }

    fn export_param(s: &RmsState<T>, dims: &[usize]) -> Result<Option<ParamState<T>>> {
        let mut ps = ParamState::default();
        for (key, b) in [
            ("square_avg", &s.square_avg),
            ("grad_avg", &s.grad_avg),
            ("momentum_buffer", &s.buf),
        ] {
            if key == "square_avg" || !b.is_empty() {
                ps.buffers.insert(key.into(), as_array(b, dims)?);
            }
        }
        Ok(Some(ps))
    }

    fn import_param(name: &str, ps: &ParamState<T>, n: usize) -> Imported<RmsState<T>> {
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
    }
}
