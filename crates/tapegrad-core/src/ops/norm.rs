//! Normalization: `layer_norm` and `batch_norm` (PyTorch's `F.layer_norm`, `F.batch_norm`),
//! composites of recorded ops, so their gradients of any order are exact.

use crate::array::Array;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::shape::Shape;
use crate::tape::Tensor;
use std::panic::Location;

/// The settings of [`Tensor::batch_norm`], with the defaults of PyTorch's `F.batch_norm`:
/// evaluation mode, momentum 0.1, eps 1e-5.
///
/// ```
/// use tapegrad_core::BatchNormOptions;
/// let o = BatchNormOptions::training();
/// assert_eq!((o.training, o.momentum, o.eps), (true, 0.1, 1e-5));
/// assert!(!BatchNormOptions::default().training);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BatchNormOptions {
    /// Normalize with the batch's statistics and update the running ones (`true`), or
    /// normalize with the running ones (`false`, evaluation).
    pub training: bool,
    /// The weight of the batch's statistics in the running update:
    /// `running = (1 - momentum)·running + momentum·batch`.
    pub momentum: f64,
    /// Added to the variance before its square root.
    pub eps: f64,
}

impl Default for BatchNormOptions {
    fn default() -> Self {
        BatchNormOptions {
            training: false,
            momentum: 0.1,
            eps: 1e-5,
        }
    }
}

impl BatchNormOptions {
    /// The defaults in training mode.
    pub fn training() -> Self {
        BatchNormOptions {
            training: true,
            ..Self::default()
        }
    }
}

impl<'t, T: Element> Tensor<'t, T> {
    /// Layer normalization over the last `normalized_shape.len()` axes, as PyTorch's
    /// `F.layer_norm(x, normalized_shape, w, b, eps)`: each slice over those axes becomes
    /// `(x - mean) / sqrt(var + eps)` with the biased variance (divided by the slice's size),
    /// then `· w + b` elementwise, `w` and `b` of shape `normalized_shape` (PyTorch's default
    /// eps is 1e-5). Recorded as mean, subtraction, square, mean, square root and division,
    /// so its gradients (of any order) are theirs.
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::from_vec(vec![1.0, 3.0, 0.0, 4.0], [2, 2])?);
    /// let y = x.layer_norm(&[2], None, None, 0.0)?;
    /// assert_eq!(y.to_array().data(), &[-1.0, 1.0, -1.0, 1.0]);
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// [`Error::Shape`] when `normalized_shape` is empty or not the input's trailing dims,
    /// or `w` or `b` does not have that shape; [`Error::TapeMismatch`].
    #[track_caller]
    pub fn layer_norm(
        self,
        normalized_shape: &[usize],
        w: Option<Tensor<'t, T>>,
        b: Option<Tensor<'t, T>>,
        eps: f64,
    ) -> Result<Tensor<'t, T>> {
        let location = Location::caller();
        for p in w.iter().chain(&b) {
            self.check_tape(p, "layer_norm")?;
        }
        let xs = self.shape();
        let ns = Shape::new(normalized_shape);
        let k = normalized_shape.len();
        if k == 0 || k > xs.rank() || xs.dims()[xs.rank() - k..] != *normalized_shape {
            return Err(Error::Shape {
                op: "layer_norm",
                lhs: xs,
                rhs: ns,
                reason: "normalized_shape must be 1 or more trailing dims of the input".into(),
                location,
            });
        }
        for (what, p) in [("weight", w), ("bias", b)] {
            if let Some(p) = p {
                let ps = p.shape();
                if ps != ns {
                    return Err(Error::Shape {
                        op: "layer_norm",
                        lhs: ps,
                        rhs: ns,
                        reason: format!("the {what} must have the normalized shape"),
                        location,
                    });
                }
            }
        }
        let inner = ns.numel();
        let outer = xs.numel() / inner.max(1);
        // [outer, inner]: mean and biased variance of each row
        let x2 = self.reshape([outer, inner])?;
        let xc = x2.sub(x2.mean_axis(1, true)?)?;
        let var = xc.square().mean_axis(1, true)?;
        let mut y = xc.div(var.add_scalar(eps).sqrt())?.reshape(xs)?;
        // w and b broadcast over the leading axes
        if let Some(w) = w {
            y = y.mul(w)?;
        }
        if let Some(b) = b {
            y = y.add(b)?;
        }
        Ok(y)
    }

    /// Batch normalization of an input `[N, C, ...]` (`[N, C]`, `[N, C, L]`, `[N, C, H, W]`)
    /// per channel `C`, as PyTorch's
    /// `F.batch_norm(x, running_mean, running_var, w, b, training, momentum, eps)`:
    /// `(x - mean) / sqrt(var + eps) · w + b`, `w` and `b` of shape `[C]`.
    ///
    /// - Training ([`BatchNormOptions::training`]): `mean` and `var` are the batch's, over
    ///   every axis but the channels', the variance biased (divided by the count `n`); these
    ///   are recorded ops, so gradients flow through them. The running statistics, when given,
    ///   are updated in place, not recorded: `running_mean = (1 - momentum)·running_mean +
    ///   momentum·mean` and `running_var` alike with the unbiased variance `var·n/(n - 1)`.
    /// - Evaluation: `mean` and `var` are the running statistics (constants).
    ///
    /// The running statistics are plain arrays, so a layer may keep them anywhere (a field,
    /// or a [`Param`](crate::Param)'s value through `value_mut()`).
    ///
    /// ```
    /// use tapegrad_core::{Array, BatchNormOptions, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::from_vec(vec![1.0, 10.0, 3.0, 30.0], [2, 2])?);
    /// let (mut mean, mut var) = (Array::zeros([2]), Array::ones([2]));
    /// let opts = BatchNormOptions { eps: 0.0, ..BatchNormOptions::training() };
    /// let y = x.batch_norm(Some(&mut mean), Some(&mut var), None, None, opts)?;
    /// assert_eq!(y.to_array().data(), &[-1.0, -1.0, 1.0, 1.0]);
    /// // batch means 2 and 20, unbiased variances 2 and 200
    /// assert_eq!(mean.data(), &[0.2, 2.0]);
    /// assert_eq!(var.data(), &[0.9 + 0.2, 0.9 + 20.0]);
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// [`Error::Shape`] when the input has fewer than 2 axes, a weight, bias or running
    /// statistic is not `[C]`, or (training) a channel has a single value;
    /// [`Error::InvalidArgument`] in evaluation without running statistics;
    /// [`Error::TapeMismatch`].
    #[track_caller]
    pub fn batch_norm(
        self,
        running_mean: Option<&mut Array<T>>,
        running_var: Option<&mut Array<T>>,
        w: Option<Tensor<'t, T>>,
        b: Option<Tensor<'t, T>>,
        opts: BatchNormOptions,
    ) -> Result<Tensor<'t, T>> {
        let location = Location::caller();
        for p in w.iter().chain(&b) {
            self.check_tape(p, "batch_norm")?;
        }
        let xs = self.shape();
        if xs.rank() < 2 {
            return Err(Error::Shape {
                op: "batch_norm",
                lhs: xs.clone(),
                rhs: Shape::scalar(),
                reason: "expects an input [N, C, ...] of 2 or more axes".into(),
                location,
            });
        }
        let c = xs.dim(1);
        let cs = Shape::new(&[c]);
        let check = |what: &str, s: &Shape| {
            if *s == cs {
                Ok(())
            } else {
                Err(Error::Shape {
                    op: "batch_norm",
                    lhs: xs.clone(),
                    rhs: s.clone(),
                    reason: format!("the {what} must be [{c}] (the channels)"),
                    location,
                })
            }
        };
        if let Some(w) = &w {
            check("weight", &w.shape())?;
        }
        if let Some(b) = &b {
            check("bias", &b.shape())?;
        }
        if let Some(m) = &running_mean {
            check("running mean", m.shape())?;
        }
        if let Some(v) = &running_var {
            check("running var", v.shape())?;
        }
        let n = xs.numel() / c.max(1);
        // the statistics' shape: [1, C, 1, ...], broadcasting against the input
        let mut stat_dims = vec![1; xs.rank()];
        stat_dims[1] = c;
        let (mean, var) = if opts.training {
            if n <= 1 {
                return Err(Error::Shape {
                    op: "batch_norm",
                    lhs: xs.clone(),
                    rhs: cs,
                    reason: "training needs more than 1 value per channel".into(),
                    location,
                });
            }
            // the mean over every axis but 1, as nested means (equal counts: exact)
            let over = |t: Tensor<'t, T>| -> Result<Tensor<'t, T>> {
                let mut t = t;
                for axis in (0..xs.rank()).filter(|&a| a != 1) {
                    t = t.mean_axis(axis as isize, true)?;
                }
                Ok(t)
            };
            let mean = over(self)?;
            let var = over(self.sub(mean)?.square())?;
            let (m, v) = (opts.momentum, n as f64 / (n - 1) as f64);
            if let Some(rm) = running_mean {
                let bm = mean.value_ref();
                for (r, &x) in rm.data_mut().iter_mut().zip(bm.data()) {
                    *r = T::of((1.0 - m) * r.as_f64() + m * x.as_f64());
                }
            }
            if let Some(rv) = running_var {
                let bv = var.value_ref();
                for (r, &x) in rv.data_mut().iter_mut().zip(bv.data()) {
                    *r = T::of((1.0 - m) * r.as_f64() + m * v * x.as_f64());
                }
            }
            (mean, var)
        } else {
            let (Some(rm), Some(rv)) = (running_mean, running_var) else {
                return Err(Error::InvalidArgument {
                    op: "batch_norm",
                    message: "evaluation (training = false) needs the running mean and var".into(),
                    location,
                });
            };
            let tape = self.tape;
            (
                tape.constant(rm.reshape(stat_dims.clone())?),
                tape.constant(rv.reshape(stat_dims.clone())?),
            )
        };
        let mut y = self.sub(mean)?.div(var.add_scalar(opts.eps).sqrt())?;
        if let Some(w) = w {
            y = y.mul(w.reshape(stat_dims.clone())?)?;
        }
        if let Some(b) = b {
            y = y.add(b.reshape(stat_dims)?)?;
        }
        Ok(y)
    }
}
