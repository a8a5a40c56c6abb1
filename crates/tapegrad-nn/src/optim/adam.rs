//! Adam, and AdamW with decoupled weight decay.

use super::{
    as_array, buffer, check_settings, Imported, Optim, ParamState, UpdateRule, WeightDecay,
};
use smallvec::SmallVec;
use tapegrad_core::{Element, Result};

/// Parameters with at least this many elements are updated by several threads (a piece
/// of 16 K elements takes a few microseconds; handing it over costs about one).
const PARALLEL_GRAIN: usize = 16_384;

/// One parameter's state under Adam and AdamW: the two moments (exported as `exp_avg` and
/// `exp_avg_sq`, PyTorch's names, with the step count [`Optim`] keeps as `step`).
#[derive(Clone, Debug)]
pub struct Moments<T> {
    m: Vec<T>,
    v: Vec<T>,
}

/// Adam (`torch.optim.Adam`, Kingma & Ba 2015): the [`Optim`] driver with the rule
/// [`AdamSettings`]; defaults `betas = (0.9, 0.999)`, `eps = 1e-8`, no weight decay. Per
/// parameter, at its step `t` with gradient `g`:
///
/// ```text
/// g = g + weight_decay · p          (L2 penalty, as torch's Adam)
/// m = β1·m + (1 - β1)·g
/// v = β2·v + (1 - β2)·g²
/// p = p - lr/(1 - β1^t) · m / (√v / √(1 - β2^t) + eps)
/// ```
pub type Adam<T> = Optim<T, AdamSettings>;

/// AdamW (`torch.optim.AdamW`, Loshchilov & Hutter 2019): the [`Optim`] driver with the rule
/// [`AdamWSettings`], Adam with decoupled weight decay, `p = p · (1 - lr · weight_decay)`
/// before the Adam update, instead of an L2 term in the gradient. Defaults
/// `betas = (0.9, 0.999)`, `eps = 1e-8`, `weight_decay = 0.01` (torch's).
pub type AdamW<T> = Optim<T, AdamWSettings>;

/// The update of one parameter by Adam or AdamW at its update number `step` (weight decay
/// already applied by the driver).
fn adam_update<T: Element>(
    (lr, b1, b2, eps): (f64, f64, f64, f64),
    step: u64,
    s: &mut Moments<T>,
    p: &mut [T],
    g: &[T],
) -> bool {
    let t = step as f64;
    let bc1 = 1.0 - b1.powf(t);
    let bc2_sqrt = (1.0 - b2.powf(t)).sqrt();
    let step_size = T::of(lr / bc1);
    let (tb1, tb2, teps) = (T::of(b1), T::of(b2), T::of(eps));
    let (one_b1, one_b2) = (T::of(1.0 - b1), T::of(1.0 - b2));
    let inv_bc2 = T::of(1.0 / bc2_sqrt);
    // Big parameters are cut into pieces, one per thread (the update is memory-bound,
    // and each core brings its own cache and bandwidth); each piece's loop is compiled
    // for the CPU's vector width (AVX-512/AVX2), chosen at run time.
    let parts = tapegrad_core::parallel_parts(p.len(), PARALLEL_GRAIN);
    let chunk = p.len().div_ceil(parts).max(1);
    // Each piece also says whether its updated values are all finite (an `and` over
    // the values just computed, which vectorizes with the update).
    let mut pieces: SmallVec<[_; 8]> = p
        .chunks_mut(chunk)
        .zip(g.chunks(chunk))
        .zip(s.m.chunks_mut(chunk).zip(s.v.chunks_mut(chunk)))
        .map(|piece| (piece, true))
        .collect();
    tapegrad_core::parallel_for_each(&mut pieces, |(((p, g), (m, v)), finite)| {
        *finite = tapegrad_core::vectorized(|| {
            let mut ok = true;
            let moments = m.iter_mut().zip(v.iter_mut());
            for ((p, &g), (m, v)) in p.iter_mut().zip(g.iter()).zip(moments) {
                *m = tb1 * *m + one_b1 * g;
                *v = tb2 * *v + one_b2 * g * g;
                let denom = v.sqrt() * inv_bc2 + teps;
                *p -= step_size * *m / denom;
                ok &= p.is_finite();
            }
            ok
        })
    });
    pieces.iter().all(|(_, finite)| *finite)
}

/// The settings struct, its rule and its builder methods, for Adam and AdamW.
macro_rules! adam_rule {
    ($settings:ident, $alias:ident, $kind:literal, $decoupled:literal, $wd:literal, $doc:literal) => {
        #[doc = $doc]
        ///
        /// Exported as `lr`, `beta1`, `beta2`, `eps`, `weight_decay`; the per-parameter state
        /// is its `step` count and the moments `exp_avg` and `exp_avg_sq` (PyTorch's names).
        #[derive(Clone, Debug, PartialEq)]
        pub struct $settings {
            /// The learning rate (positive).
            pub lr: f64,
            /// The first moment's decay β1, in `[0, 1)`.
            pub beta1: f64,
            /// The second moment's decay β2, in `[0, 1)`.
            pub beta2: f64,
            /// The term added to the denominator for stability (non-negative).
            pub eps: f64,
            /// The weight decay (non-negative).
            pub weight_decay: f64,
        }

        impl Default for $settings {
            fn default() -> Self {
                $settings {
                    lr: 1e-3,
                    beta1: 0.9,
                    beta2: 0.999,
                    eps: 1e-8,
                    weight_decay: $wd,
                }
            }
        }

        impl<T: Element> $alias<T> {
            /// Sets `(β1, β2)`, each in `[0, 1)`.
            pub fn betas(mut self, beta1: f64, beta2: f64) -> Self {
                self.settings_mut().beta1 = beta1;
                self.settings_mut().beta2 = beta2;
                self
            }

        }

        setters!($alias:
            /// Sets the term added to the denominator for stability.
            eps: f64,
            /// Sets the weight decay.
            weight_decay: f64,
        );

        impl<T: Element> UpdateRule<T> for $settings {
            type State = Moments<T>;

            settings_io!($kind: lr, beta1, beta2, eps, weight_decay);

            #[track_caller]
            fn check(&self) -> Result<()> {
                let fractions = [("beta1", self.beta1), ("beta2", self.beta2)];
                let nonneg = [("eps", self.eps), ("weight_decay", self.weight_decay)];
                check_settings($kind, self.lr, &fractions, &nonneg)
            }

            const COUNTS_STEPS: bool = true;

            fn weight_decay(&self) -> WeightDecay {
                if $decoupled {
                    WeightDecay::Decoupled(self.weight_decay)
                } else {
                    WeightDecay::L2(self.weight_decay)
                }
            }

            fn init(&self, len: usize) -> Moments<T> {
                Moments {
                    m: vec![T::zero(); len],
                    v: vec![T::zero(); len],
                }
            }

            fn update(&self, step: u64, s: &mut Moments<T>, p: &mut [T], g: &[T]) -> bool {
                adam_update((self.lr, self.beta1, self.beta2, self.eps), step, s, p, g)
            }

            fn export_param(s: &Moments<T>, dims: &[usize]) -> Result<Option<ParamState<T>>> {
                export_moments(s, dims)
            }

            fn import_param(name: &str, ps: &ParamState<T>, len: usize) -> Imported<Moments<T>> {
                import_moments(name, ps, len)
            }
        }
    };
}

adam_rule!(
    AdamSettings,
    Adam,
    "adam",
    false,
    0.0,
    "The settings of [`Adam`], with PyTorch's defaults (`Default`: `lr = 1e-3`, \
     `betas = (0.9, 0.999)`, `eps = 1e-8`, no weight decay)."
);
adam_rule!(
    AdamWSettings,
    AdamW,
    "adamw",
    true,
    0.01,
    "The settings of [`AdamW`], with PyTorch's defaults (`Default`: `lr = 1e-3`, \
     `betas = (0.9, 0.999)`, `eps = 1e-8`, `weight_decay = 0.01`)."
);

/// A parameter's moments in the portable form.
fn export_moments<T: Element>(s: &Moments<T>, dims: &[usize]) -> Result<Option<ParamState<T>>> {
    let mut ps = ParamState::default();
    ps.buffers.insert("exp_avg".into(), as_array(&s.m, dims)?);
    ps.buffers
        .insert("exp_avg_sq".into(), as_array(&s.v, dims)?);
    Ok(Some(ps))
}

/// A parameter's moments from the portable form.
fn import_moments<T: Element>(name: &str, ps: &ParamState<T>, n: usize) -> Imported<Moments<T>> {
    Ok(Moments {
        m: buffer(name, ps, "exp_avg", n)?,
        v: buffer(name, ps, "exp_avg_sq", n)?,
    })
}
