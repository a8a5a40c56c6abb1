//! Adam, and AdamW with decoupled weight decay.

use super::{
    as_array, buffer, check_lr, check_range, export_params, import_params, state, step_of,
    update_params, Optimizer, OptimizerState, ParamState,
};
use crate::module::Module;
use smallvec::SmallVec;
use std::collections::HashMap;
use tapegrad_core::{Element, Gradients, ParamId, Result};

/// Parameters with at least this many elements are updated by several threads (a piece
/// of 16 K elements takes a few microseconds; handing it over costs about one).
const PARALLEL_GRAIN: usize = 16_384;

#[derive(Clone, Debug)]
struct Moments<T> {
    step: u64,
    m: Vec<T>,
    v: Vec<T>,
}

/// The shared settings and state of Adam and AdamW.
#[derive(Clone, Debug)]
struct AdamCore<T: Element> {
    lr: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    decoupled: bool,
    state: HashMap<ParamId, Moments<T>>,
}

impl<T: Element> AdamCore<T> {
    fn new(lr: f64, weight_decay: f64, decoupled: bool) -> Self {
        AdamCore {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
            decoupled,
            state: HashMap::new(),
        }
    }

    #[track_caller]
    fn step(
        &mut self,
        op: &'static str,
        model: &mut dyn Module<T>,
        grads: &Gradients<T>,
    ) -> Result<()> {
        check_lr(op, self.lr)?;
        check_range(op, "beta1", self.beta1, 0.0, 1.0, false)?;
        check_range(op, "beta2", self.beta2, 0.0, 1.0, false)?;
        check_range(op, "eps", self.eps, 0.0, f64::INFINITY, false)?;
        check_range(
            op,
            "weight_decay",
            self.weight_decay,
            0.0,
            f64::INFINITY,
            false,
        )?;
        let (lr, b1, b2, eps, wd) = (self.lr, self.beta1, self.beta2, self.eps, self.weight_decay);
        let decoupled = self.decoupled;
        let st = &mut self.state;
        update_params(op, model, grads, |id, p, g| {
            let (s, _) = state(st, id, || Moments {
                step: 0,
                m: vec![T::zero(); p.len()],
                v: vec![T::zero(); p.len()],
            });
            s.step += 1;
            let t = s.step as f64;
            let bc1 = 1.0 - b1.powf(t);
            let bc2_sqrt = (1.0 - b2.powf(t)).sqrt();
            let step_size = T::of(lr / bc1);
            let (tb1, tb2, teps) = (T::of(b1), T::of(b2), T::of(eps));
            let (one_b1, one_b2) = (T::of(1.0 - b1), T::of(1.0 - b2));
            let inv_bc2 = T::of(1.0 / bc2_sqrt);
            let (l2, shrink) = if decoupled {
                (T::zero(), T::of(1.0 - lr * wd))
            } else {
                (T::of(wd), T::one())
            };
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
                        *p *= shrink;
                        let g = g + l2 * *p;
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
        })
    }
}

impl<T: Element> AdamCore<T> {
    fn export_state(&self, op: &'static str, model: &dyn Module<T>) -> Result<OptimizerState<T>> {
        let mut s = OptimizerState::new(op);
        for (k, v) in [
            ("lr", self.lr),
            ("beta1", self.beta1),
            ("beta2", self.beta2),
            ("eps", self.eps),
            ("weight_decay", self.weight_decay),
        ] {
            s.settings.insert(k.to_string(), v);
        }
        export_params(model, &self.state, &mut s, |st, dims| {
            let mut ps = ParamState {
                step: Some(st.step),
                ..ParamState::default()
            };
            ps.buffers.insert("exp_avg".into(), as_array(&st.m, dims)?);
            ps.buffers
                .insert("exp_avg_sq".into(), as_array(&st.v, dims)?);
            Ok(ps)
        })?;
        Ok(s)
    }

    #[track_caller]
    fn import_state(
        &mut self,
        op: &'static str,
        model: &dyn Module<T>,
        state: &OptimizerState<T>,
    ) -> Result<()> {
        let map = import_params(op, model, state, |name, ps, n| {
            Ok(Moments {
                step: step_of(name, ps)?,
                m: buffer(name, ps, "exp_avg", n)?,
                v: buffer(name, ps, "exp_avg_sq", n)?,
            })
        })?;
        let (lr, beta1, beta2) = (
            state.setting("lr")?,
            state.setting("beta1")?,
            state.setting("beta2")?,
        );
        let (eps, weight_decay) = (state.setting("eps")?, state.setting("weight_decay")?);
        *self = AdamCore {
            lr,
            beta1,
            beta2,
            eps,
            weight_decay,
            decoupled: self.decoupled,
            state: map,
        };
        Ok(())
    }
}

/// Adam (`torch.optim.Adam`, Kingma & Ba 2015), defaults `betas = (0.9, 0.999)`,
/// `eps = 1e-8`, no weight decay. Per parameter, at its step `t` with gradient `g`:
///
/// ```text
/// g = g + weight_decay · p          (L2 penalty, as torch's Adam)
/// m = β1·m + (1 - β1)·g
/// v = β2·v + (1 - β2)·g²
/// p = p - lr/(1 - β1^t) · m / (√v / √(1 - β2^t) + eps)
/// ```
#[derive(Clone, Debug)]
pub struct Adam<T: Element>(AdamCore<T>);

/// AdamW (`torch.optim.AdamW`, Loshchilov & Hutter 2019): Adam with decoupled weight decay,
/// `p = p · (1 - lr · weight_decay)` before the Adam update, instead of an L2 term in the
/// gradient. Defaults `betas = (0.9, 0.999)`, `eps = 1e-8`, `weight_decay = 0.01` (torch's).
#[derive(Clone, Debug)]
pub struct AdamW<T: Element>(AdamCore<T>);

macro_rules! adam_api {
    ($ty:ident, $op:literal) => {
        impl<T: Element> $ty<T> {
            /// Sets `(β1, β2)`, each in `[0, 1)`.
            pub fn betas(mut self, beta1: f64, beta2: f64) -> Self {
                self.0.beta1 = beta1;
                self.0.beta2 = beta2;
                self
            }

            /// Sets the term added to the denominator for stability.
            pub fn eps(mut self, eps: f64) -> Self {
                self.0.eps = eps;
                self
            }

            /// Sets the weight decay.
            pub fn weight_decay(mut self, wd: f64) -> Self {
                self.0.weight_decay = wd;
                self
            }
        }

        impl<T: Element> Optimizer<T> for $ty<T> {
            #[track_caller]
            fn step(&mut self, model: &mut dyn Module<T>, grads: &Gradients<T>) -> Result<()> {
                self.0.step($op, model, grads)
            }

            fn lr(&self) -> f64 {
                self.0.lr
            }

            fn set_lr(&mut self, lr: f64) {
                self.0.lr = lr;
            }

            fn checks_finite(&self) -> bool {
                true
            }

            /// Settings `lr`, `beta1`, `beta2`, `eps`, `weight_decay`; per parameter its
            /// `step` count and the moments `exp_avg` and `exp_avg_sq` (PyTorch's names).
            fn export_state(&self, model: &dyn Module<T>) -> Result<OptimizerState<T>> {
                self.0.export_state($op, model)
            }

            #[track_caller]
            fn import_state(
                &mut self,
                model: &dyn Module<T>,
                state: &OptimizerState<T>,
            ) -> Result<()> {
                self.0.import_state($op, model, state)
            }
        }
    };
}

adam_api!(Adam, "adam");
adam_api!(AdamW, "adamw");

impl<T: Element> Adam<T> {
    /// Adam with learning rate `lr` (torch's default is 1e-3) and the default settings.
    pub fn new(lr: f64) -> Self {
        Adam(AdamCore::new(lr, 0.0, false))
    }
}

impl<T: Element> AdamW<T> {
    /// AdamW with learning rate `lr` and the default settings (weight decay 0.01).
    pub fn new(lr: f64) -> Self {
        AdamW(AdamCore::new(lr, 0.01, true))
    }
}
