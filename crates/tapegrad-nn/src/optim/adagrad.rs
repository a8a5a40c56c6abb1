//! Adagrad (Duchi, Hazan & Singer 2011).

use super::{
    as_array, buffer, check_settings, Imported, Optim, ParamState, UpdateRule, WeightDecay,
};
use tapegrad_core::{Element, Result};

/// One parameter's state under Adagrad: the sum of its squared gradients (exported as `sum`,
/// with the step count [`Optim`] keeps as `step`).
#[derive(Clone, Debug)]
pub struct AdagradState<T> {
    sum: Vec<T>,
}

/// Adagrad with PyTorch's update rule (`torch.optim.Adagrad`): the [`Optim`] driver with the
/// rule [`AdagradSettings`]; defaults `lr_decay = 0`, `eps = 1e-10`, accumulators starting
/// at 0. Per parameter, at its step `t` with gradient `g`:
///
/// ```text
/// g = g + weight_decay · p
/// s = s + g²
/// p = p - lr / (1 + (t - 1)·lr_decay) · g / (√s + eps)
/// ```
pub type Adagrad<T> = Optim<T, AdagradSettings>;

/// The settings of [`Adagrad`], with PyTorch's defaults (`Default`: `lr = 1e-2`,
/// `eps = 1e-10`, the rest 0). Exported as `lr`, `lr_decay`, `eps`, `weight_decay`,
/// `initial_accumulator`; the per-parameter state is its `step` count and `sum`.
#[derive(Clone, Debug, PartialEq)]
pub struct AdagradSettings {
    /// The learning rate (positive).
    pub lr: f64,
    /// The learning-rate decay per step (non-negative).
    pub lr_decay: f64,
    /// The term added to the denominator for stability (non-negative).
    pub eps: f64,
    /// The L2 weight decay (non-negative).
    pub weight_decay: f64,
    /// The accumulators' starting value (non-negative).
    pub initial_accumulator: f64,
}

impl Default for AdagradSettings {
    fn default() -> Self {
        AdagradSettings {
            lr: 1e-2,
            lr_decay: 0.0,
            eps: 1e-10,
            weight_decay: 0.0,
            initial_accumulator: 0.0,
        }
    }
}

setters!(Adagrad:
    /// Sets the learning-rate decay per step.
    lr_decay: f64,
    /// Sets the term added to the denominator for stability.
    eps: f64,
    /// Sets the L2 weight decay.
    weight_decay: f64,
    /// Sets the accumulators' starting value.
    initial_accumulator: f64,
);

impl<T: Element> UpdateRule<T> for AdagradSettings {
    type State = AdagradState<T>;

    settings_io!("adagrad": lr, lr_decay, eps, weight_decay, initial_accumulator);

    #[track_caller]
    fn check(&self) -> Result<()> {
        let nonneg = [
            ("lr_decay", self.lr_decay),
            ("eps", self.eps),
            ("weight_decay", self.weight_decay),
            ("initial_accumulator", self.initial_accumulator),
        ];
        check_settings("adagrad", self.lr, &[], &nonneg)
    }

    fn init(&self, len: usize) -> AdagradState<T> {
        AdagradState {
            sum: vec![T::of(self.initial_accumulator); len],
        }
    }

    const COUNTS_STEPS: bool = true;

    fn weight_decay(&self) -> WeightDecay {
        WeightDecay::L2(self.weight_decay)
    }

    fn update(&self, step: u64, s: &mut AdagradState<T>, p: &mut [T], g: &[T]) -> bool {
        let eps = T::of(self.eps);
        let clr = T::of(self.lr / (1.0 + (step - 1) as f64 * self.lr_decay));
        let mut finite = true;
        for ((p, &g), s) in p.iter_mut().zip(g).zip(s.sum.iter_mut()) {
            *s += g * g;
            *p -= clr * g / (s.sqrt() + eps);
            finite &= p.is_finite();
        }
        finite
    }

    fn export_param(s: &AdagradState<T>, dims: &[usize]) -> Result<Option<ParamState<T>>> {
        let mut ps = ParamState::default();
        ps.buffers.insert("sum".into(), as_array(&s.sum, dims)?);
        Ok(Some(ps))
    }

    fn import_param(name: &str, ps: &ParamState<T>, n: usize) -> Imported<AdagradState<T>> {
        Ok(AdagradState {
            sum: buffer(name, ps, "sum", n)?,
        })
    }
}
