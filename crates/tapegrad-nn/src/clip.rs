//! Gradient clipping, by global norm and by value (as `torch.nn.utils.clip_grad_norm_` and
//! `clip_grad_value_`), on the parameter [`Gradients`] in place.

use tapegrad_core::{Element, Error, Gradients, Result};

/// Scales all gradients together so that their global L2 norm is at most `max_norm` (as
/// `torch.nn.utils.clip_grad_norm_`: the factor is `max_norm / (norm + 1e-6)`, applied only
/// when it is below 1). Returns the norm before clipping.
///
/// ```
/// use tapegrad_core::{Array, Param, Tape};
/// use tapegrad_nn::clip_grad_norm;
/// # fn main() -> tapegrad_core::Result<()> {
/// let p = Param::new(Array::<f64>::from_vec(vec![3.0, 4.0], [2])?);
/// let tape = Tape::new();
/// let mut g = tape.param(&p).square().sum().mul_scalar(0.5).backward()?; // gradient = p
/// let before = clip_grad_norm(&mut g, 1.0)?;
/// assert_eq!(before, 5.0);
/// assert!((g.global_norm() - 1.0).abs() < 1e-6);
/// # Ok(()) }
/// ```
/// # Errors
/// [`Error::InvalidArgument`] unless `max_norm > 0`; [`Error::NonFinite`] when the norm is
/// NaN or infinite (the gradients are left as they are).
#[track_caller]
pub fn clip_grad_norm<T: Element>(grads: &mut Gradients<T>, max_norm: f64) -> Result<f64> {
    if max_norm.is_nan() || max_norm <= 0.0 {
        return Err(Error::invalid(
            "clip_grad_norm",
            format!("max_norm must be positive, got {max_norm}"),
        ));
    }
    let norm = grads.global_norm();
    if !norm.is_finite() {
        return Err(Error::NonFinite {
            what: "clip_grad_norm: the gradients' global norm".into(),
            value: norm,
        });
    }
    let coef = max_norm / (norm + 1e-6);
    if coef < 1.0 {
        grads.scale(coef);
    }
    Ok(norm)
}

/// Clamps every gradient element into `[-clip, clip]` (as
/// `torch.nn.utils.clip_grad_value_`).
///
/// # Errors
/// [`Error::InvalidArgument`] unless `clip > 0`.
#[track_caller]
pub fn clip_grad_value<T: Element>(grads: &mut Gradients<T>, clip: f64) -> Result<()> {
    if clip.is_nan() || clip <= 0.0 {
        return Err(Error::invalid(
            "clip_grad_value",
            format!("clip must be positive, got {clip}"),
        ));
    }
    let (lo, hi) = (T::of(-clip), T::of(clip));
    for (_, g) in grads.params_mut() {
        g.data_mut().iter_mut().for_each(|v| *v = v.max(lo).min(hi));
    }
    Ok(())
}
