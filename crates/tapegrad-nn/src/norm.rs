//! Normalization layers: [`BatchNorm1d`] and [`BatchNorm2d`] (one type,
//! [`BatchNorm`], over 1 or 2 spatial axes), recorded as the core's [`Tensor::batch_norm`],
//! with torch's parameters (`weight`, `bias`) and buffers (`running_mean`, `running_var`,
//! `num_batches_tracked`); [`LayerNorm`], recorded as the core's [`Tensor::layer_norm`].

use crate::module::{visit_weight_bias, visit_weight_bias_mut, Module};
use crate::onnx::{Attr, OnnxGraph};
use crate::path::ParamPath;
use crate::torch::TorchLayout;
use std::cell::RefCell;
use tapegrad_core::{Array, BatchNormOptions, Element, Error, Param, Result, Tensor};

/// A float as Python prints it: scientific with a two-digit exponent below `1e-4`
/// (`1e-05`), plain otherwise (`0.1`).
fn py_float(v: f64) -> String {
    if v != 0.0 && v.abs() < 1e-4 {
        let s = format!("{v:e}");
        match s.split_once('e') {
            Some((m, e)) => {
                let e: i32 = e.parse().unwrap_or(0);
                format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
            }
            None => s,
        }
    } else {
        v.to_string()
    }
}

/// A bool as Python prints it.
fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// The running statistics of a batch normalization (its buffers).
#[derive(Clone, Debug)]
struct Running<T: Element> {
    mean: Array<T>,
    var: Array<T>,
    /// A scalar (shape `[]`) counting the training batches seen.
    batches: Array<T>,
}

impl<T: Element> Running<T> {
    /// torch's initial statistics: mean 0, variance 1, no batch seen.
    fn new(num_features: usize) -> Self {
        Running {
            mean: Array::zeros([num_features]),
            var: Array::ones([num_features]),
            batches: Array::scalar(T::zero()),
        }
    }
}

/// Batch normalization per channel (as torch's `BatchNorm1d` / `BatchNorm2d`), over
/// `SPATIAL` spatial axes: use the aliases [`BatchNorm1d`] (`SPATIAL = 1`: inputs `[N, C]`
/// or `[N, C, L]`) and [`BatchNorm2d`] (`SPATIAL = 2`: inputs `[N, C, H, W]`).
///
/// `y = (x - mean) / √(var + eps) · weight + bias` per channel:
/// - in training mode (a new layer's mode, as in torch), `mean` and `var` are the batch's
///   (the biased variance), recorded on the tape so gradients flow through them, and the
///   running statistics are updated in place: `running = (1 - momentum)·running +
///   momentum·batch` (the unbiased variance for `running_var`), `num_batches_tracked + 1`;
/// - in evaluation mode ([`Module::eval`]), `mean` and `var` are the running statistics.
///
/// torch's two other options: [`BatchNorm::momentum`]`(None)` (torch's `momentum=None`)
/// makes the running statistics the plain mean over every training batch seen (the update's
/// factor is `1 / num_batches_tracked`, the count including the batch);
/// [`BatchNorm::track_running_stats`]`(false)` keeps no running statistics (no buffers) and
/// normalizes with the batch's statistics in evaluation mode too.
///
/// `weight` (ones) and `bias` (zeros), `[C]`, are parameters (absent with `affine = false`);
/// `running_mean` (zeros), `running_var` (ones) and `num_batches_tracked` (0, a scalar) are
/// buffers ([`Module::visit_buffers`]): saved and loaded with the model
/// ([`save`](crate::save), [`Checkpoint`](crate::Checkpoint)), never touched by an optimizer.
/// `num_batches_tracked` is stored in the model's dtype (torch's is int64), exact up to 2^24
/// batches in f32.
///
/// ```
/// use tapegrad_core::{Array, Tape};
/// use tapegrad_nn::{BatchNorm1d, Module};
/// # fn main() -> tapegrad_core::Result<()> {
/// let mut bn = BatchNorm1d::<f64>::new(2);
/// assert_eq!(
///     bn.to_string(),
///     "BatchNorm1d(2, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
/// );
/// let tape = Tape::new();
/// let x = tape.constant(Array::from_vec(vec![1.0, 10.0, 3.0, 30.0], [2, 2])?);
/// let y = bn.forward(x)?; // training: the batch's statistics
/// assert!(y.to_array().approx_eq(&Array::from_vec(vec![-1.0, -1.0, 1.0, 1.0], [2, 2])?, 1e-4, 0.0));
/// // the running mean moved 10% of the way to the batch's means (2, 20)
/// assert_eq!(bn.running_mean().unwrap().data(), &[0.2, 2.0]);
/// assert_eq!(bn.num_batches_tracked(), Some(1));
/// let names: Vec<String> = bn.named_buffers().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["running_mean", "running_var", "num_batches_tracked"]);
/// bn.eval(); // evaluation: the running statistics
/// let y = bn.forward(x)?;
/// assert!((y.to_array().data()[0] - (1.0 - 0.2) / (1.1f64 + 1e-5).sqrt()).abs() < 1e-12);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct BatchNorm<T: Element, const SPATIAL: usize> {
    weight: Option<Param<T>>,
    bias: Option<Param<T>>,
    num_features: usize,
    /// `None` without `track_running_stats`
    running: Option<RefCell<Running<T>>>,
    eps: f64,
    /// `None`: the cumulative average (factor `1 / num_batches_tracked`)
    momentum: Option<f64>,
    training: bool,
}

/// Batch normalization of `[N, C]` or `[N, C, L]` inputs (as `torch.nn.BatchNorm1d`); see
/// [`BatchNorm`].
pub type BatchNorm1d<T> = BatchNorm<T, 1>;

/// Batch normalization of `[N, C, H, W]` inputs (as `torch.nn.BatchNorm2d`); see
/// [`BatchNorm`].
pub type BatchNorm2d<T> = BatchNorm<T, 2>;

impl<T: Element, const SPATIAL: usize> BatchNorm<T, SPATIAL> {
    /// A layer over `num_features` channels with torch's defaults: `eps = 1e-5`,
    /// `momentum = 0.1`, affine (`weight` ones, `bias` zeros), in training mode.
    pub fn new(num_features: usize) -> Self {
        BatchNorm {
            weight: Some(Param::new(Array::ones([num_features]))),
            bias: Some(Param::new(Array::zeros([num_features]))),
            num_features,
            running: Some(RefCell::new(Running::new(num_features))),
            eps: 1e-5,
            momentum: Some(0.1),
            training: true,
        }
    }

    /// A layer with the given `eps`, `momentum` and `affine` (with `false`, no `weight` and
    /// no `bias`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless `eps >= 0` and `0 <= momentum <= 1` (finite).
    /// See [`BatchNorm::momentum`] for torch's `momentum=None`.
    #[track_caller]
    pub fn with_options(
        num_features: usize,
        eps: f64,
        momentum: f64,
        affine: bool,
    ) -> Result<Self> {
        if !(eps >= 0.0 && eps.is_finite()) {
            return Err(Error::invalid(
                Self::name(),
                format!("eps must be >= 0 and finite, got eps={eps}"),
            ));
        }
        let mut bn = Self::new(num_features).momentum(Some(momentum))?;
        bn.eps = eps;
        if !affine {
            bn.weight = None;
            bn.bias = None;
        }
        Ok(bn)
    }

    /// Sets the momentum of the running statistics' update: `Some(m)` gives
    /// `running = (1 - m)·running + m·batch`; `None` (torch's `momentum=None`) the cumulative
    /// moving average, `running = running + (batch - running) / num_batches_tracked` (the
    /// count including this batch), i.e. the plain mean of every training batch's statistics.
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// use tapegrad_nn::{BatchNorm1d, Module};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let bn = BatchNorm1d::<f64>::new(1).momentum(None)?;
    /// let tape = Tape::new();
    /// for batch in [[1.0, 3.0], [5.0, 7.0], [0.0, 0.0]] {
    ///     bn.forward(tape.constant(Array::from_vec(batch.to_vec(), [2, 1])?))?;
    /// }
    /// // the batch means 2, 6 and 0: their mean; the unbiased variances 2, 2 and 0
    /// assert!((bn.running_mean().unwrap().data()[0] - 8.0 / 3.0).abs() < 1e-15);
    /// assert!((bn.running_var().unwrap().data()[0] - 4.0 / 3.0).abs() < 1e-15);
    /// assert_eq!(bn.num_batches_tracked(), Some(3));
    /// assert_eq!(bn.to_string(),
    ///     "BatchNorm1d(1, eps=1e-05, momentum=None, affine=True, track_running_stats=True)");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a momentum outside `[0, 1]` or not finite.
    #[track_caller]
    pub fn momentum(mut self, momentum: Option<f64>) -> Result<Self> {
        if let Some(m) = momentum.filter(|m| !(0.0..=1.0).contains(m)) {
            return Err(Error::invalid(
                Self::name(),
                format!("momentum must be in [0, 1] (or None), got {m}"),
            ));
        }
        self.momentum = momentum;
        Ok(self)
    }

    /// Whether to keep running statistics (torch's `track_running_stats`, default `true`).
    /// Without them the layer has no buffers and normalizes with the batch's statistics in
    /// evaluation mode too; turning them on again starts fresh ones (mean 0, variance 1, no
    /// batch seen).
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// use tapegrad_nn::{BatchNorm1d, Module};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let mut bn = BatchNorm1d::<f64>::new(1).track_running_stats(false);
    /// bn.eval();
    /// let tape = Tape::new();
    /// let y = bn.forward(tape.constant(Array::from_vec(vec![1.0, 3.0], [2, 1])?))?;
    /// let s = 1.0 / (1.0f64 + 1e-5).sqrt(); // the batch's mean 2 and biased variance 1
    /// assert!(y.to_array().approx_eq(&Array::from_vec(vec![-s, s], [2, 1])?, 1e-12, 0.0));
    /// assert!(bn.running_mean().is_none() && bn.named_buffers().is_empty());
    /// # Ok(()) }
    /// ```
    pub fn track_running_stats(mut self, track: bool) -> Self {
        if track != self.running.is_some() {
            self.running = track.then(|| RefCell::new(Running::new(self.num_features)));
        }
        self
    }

    fn name() -> &'static str {
        if SPATIAL == 1 {
            "BatchNorm1d"
        } else {
            "BatchNorm2d"
        }
    }

    /// The number of channels, `C`.
    pub fn num_features(&self) -> usize {
        self.num_features
    }

    /// The weight `[C]` (`None` without affine).
    pub fn weight(&self) -> Option<&Param<T>> {
        self.weight.as_ref()
    }

    /// The bias `[C]` (`None` without affine).
    pub fn bias(&self) -> Option<&Param<T>> {
        self.bias.as_ref()
    }

    /// The running mean `[C]` (a copy; `None` without
    /// [`track_running_stats`](BatchNorm::track_running_stats)).
    pub fn running_mean(&self) -> Option<Array<T>> {
        self.running.as_ref().map(|r| r.borrow().mean.clone())
    }

    /// The running (unbiased) variance `[C]` (a copy; `None` without
    /// [`track_running_stats`](BatchNorm::track_running_stats)).
    pub fn running_var(&self) -> Option<Array<T>> {
        self.running.as_ref().map(|r| r.borrow().var.clone())
    }

    /// The number of training batches seen (`None` without
    /// [`track_running_stats`](BatchNorm::track_running_stats)).
    pub fn num_batches_tracked(&self) -> Option<u64> {
        let r = self.running.as_ref()?;
        Some(r.borrow().batches.data()[0].as_f64() as u64)
    }

    /// Whether the layer is in training mode.
    pub fn is_training(&self) -> bool {
        self.training
    }
}

impl<T: Element, const SPATIAL: usize> Module<T> for BatchNorm<T, SPATIAL> {
    /// Normalizes `x` per channel (axis 1); in training mode, updates the running statistics.
    ///
    /// # Errors
    /// [`Error::Shape`] when `x` is not `[N, C]` / `[N, C, L]` (1d) or `[N, C, H, W]` (2d)
    /// with `C` the layer's channels, or (training) a channel has a single value.
    fn forward<'t>(&self, x: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        let s = x.shape();
        let c = self.num_features();
        let rank_ok = if SPATIAL == 1 {
            s.rank() == 2 || s.rank() == 3
        } else {
            s.rank() == 2 + SPATIAL
        };
        if !rank_ok || s.dim(1) != c {
            let want = if SPATIAL == 1 {
                format!("[N, {c}] or [N, {c}, L]")
            } else {
                format!("[N, {c}, H, W]")
            };
            return Err(Error::shape(
                Self::name(),
                &s,
                &tapegrad_core::Shape::new(&[c]),
                format!("expects an input {want}"),
            ));
        }
        let tape = x.tape();
        let w = self.weight.as_ref().map(|p| tape.param(p));
        let b = self.bias.as_ref().map(|p| tape.param(p));
        let Some(running) = &self.running else {
            // no running statistics: the batch's, in evaluation mode too
            let opts = BatchNormOptions {
                training: true,
                momentum: 0.0,
                eps: self.eps,
            };
            return x.batch_norm(None, None, w, b, opts);
        };
        let mut r = running.borrow_mut();
        let Running { mean, var, batches } = &mut *r;
        let seen = batches.data()[0].as_f64() + 1.0;
        let opts = BatchNormOptions {
            training: self.training,
            momentum: self.momentum.unwrap_or(1.0 / seen),
            eps: self.eps,
        };
        let y = x.batch_norm(Some(mean), Some(var), w, b, opts)?;
        if self.training {
            batches.data_mut()[0] = T::of(seen);
        }
        Ok(y)
    }

    /// `BatchNormalization` with the running statistics (the evaluation, whatever the mode);
    /// without running statistics, the batch's own, by `ReduceMean`, `Sub`, `Mul`, `Sqrt` and
    /// `Div` over the batch and spatial axes (as `forward` does then). Without `affine`, the
    /// scale is ones and the shift zeros.
    fn export_onnx(&self, g: &mut OnnxGraph, input: &str) -> Result<String> {
        let d = g.dims(input)?.to_vec();
        let c = self.num_features();
        let rank_ok = if SPATIAL == 1 {
            d.len() == 2 || d.len() == 3
        } else {
            d.len() == 2 + SPATIAL
        };
        if !rank_ok || d[1] != Some(c) {
            let want = if SPATIAL == 1 {
                format!("[N, {c}] or [N, {c}, L]")
            } else {
                format!("[N, {c}, H, W]")
            };
            return Err(g.input_error(&self.describe(), input, format!("expects an input {want}")));
        }
        // the scale and shift, [C] for BatchNormalization, [C, 1, ..] to broadcast over
        // [N, C, ..] in the batch-statistics form
        let shape: Vec<usize> = match &self.running {
            Some(_) => vec![c],
            None => std::iter::once(c)
                .chain(std::iter::repeat_n(1, d.len() - 2))
                .collect(),
        };
        let scale_arr = match &self.weight {
            Some(p) => p.value().reshape(shape.as_slice())?,
            None => Array::ones(shape.as_slice()),
        };
        let shift_arr = match &self.bias {
            Some(p) => p.value().reshape(shape.as_slice())?,
            None => Array::zeros(shape.as_slice()),
        };
        let scale = g.initializer(
            if self.weight.is_some() {
                "weight"
            } else {
                "ones"
            },
            &scale_arr,
        );
        let shift = g.initializer(
            if self.bias.is_some() { "bias" } else { "zeros" },
            &shift_arr,
        );
        if let Some(r) = &self.running {
            let r = r.borrow();
            let mean = g.initializer("running_mean", &r.mean);
            let var = g.initializer("running_var", &r.var);
            let eps = vec![Attr::Float("epsilon", self.eps as f32)];
            return g.node(
                "BatchNormalization",
                &[input, &scale, &shift, &mean, &var],
                eps,
                d,
            );
        }
        let axes: Vec<i64> = std::iter::once(0).chain(2..d.len() as i64).collect();
        let mut stat = vec![Some(1), Some(c)];
        stat.resize(d.len(), Some(1));
        let reduce = || vec![Attr::Ints("axes", axes.clone()), Attr::Int("keepdims", 1)];
        let mean = g.node("ReduceMean", &[input], reduce(), stat.clone())?;
        let diff = g.node("Sub", &[input, &mean], vec![], d.clone())?;
        let sq = g.node("Mul", &[&diff, &diff], vec![], d.clone())?;
        let var = g.node("ReduceMean", &[&sq], reduce(), stat.clone())?;
        let eps = g.constant("eps", &[self.eps as f32], &[])?;
        let ve = g.node("Add", &[&var, &eps], vec![], stat.clone())?;
        let sd = g.node("Sqrt", &[&ve], vec![], stat)?;
        let n = g.node("Div", &[&diff, &sd], vec![], d.clone())?;
        let y = g.node("Mul", &[&n, &scale], vec![], d.clone())?;
        g.node("Add", &[&y, &shift], vec![], d)
    }

    fn visit<'a>(&'a self, path: &mut ParamPath, f: &mut dyn FnMut(&ParamPath, &'a Param<T>)) {
        visit_weight_bias(path, f, self.weight.as_ref(), self.bias.as_ref());
    }

    fn visit_mut<'a>(
        &'a mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, &'a mut Param<T>),
    ) {
        visit_weight_bias_mut(path, f, self.weight.as_mut(), self.bias.as_mut());
    }

    fn visit_buffers(&self, path: &mut ParamPath, f: &mut dyn FnMut(&ParamPath, &Array<T>)) {
        let Some(r) = &self.running else { return };
        let r = r.borrow();
        path.child("running_mean", |p| f(p, &r.mean));
        path.child("running_var", |p| f(p, &r.var));
        path.child("num_batches_tracked", |p| f(p, &r.batches));
    }

    fn visit_buffers_mut(
        &mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, &mut Array<T>),
    ) {
        let Some(r) = self.running.as_mut().map(RefCell::get_mut) else {
            return;
        };
        path.child("running_mean", |p| f(p, &mut r.mean));
        path.child("running_var", |p| f(p, &mut r.var));
        path.child("num_batches_tracked", |p| f(p, &mut r.batches));
    }

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    /// As torch prints it:
    /// `BatchNorm2d(6, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)`.
    fn describe(&self) -> String {
        format!(
            "{}({}, eps={}, momentum={}, affine={}, track_running_stats={})",
            Self::name(),
            self.num_features(),
            py_float(self.eps),
            self.momentum.map_or("None".to_string(), py_float),
            py_bool(self.weight.is_some()),
            py_bool(self.running.is_some()),
        )
    }

    /// As torch's `state_dict()`: `weight`, `bias`, then `running_mean`, `running_var` and
    /// `num_batches_tracked`, the last an `int64` scalar ([`TorchLayout::Int64`]).
    fn visit_torch(
        &self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, &Array<T>, TorchLayout),
    ) {
        self.visit(path, &mut |p, param| f(p, param.value(), TorchLayout::Same));
        let Some(r) = &self.running else { return };
        let r = r.borrow();
        path.child("running_mean", |p| f(p, &r.mean, TorchLayout::Same));
        path.child("running_var", |p| f(p, &r.var, TorchLayout::Same));
        path.child("num_batches_tracked", |p| {
            f(p, &r.batches, TorchLayout::Int64)
        });
    }
}

impl<T: Element, const SPATIAL: usize> std::fmt::Display for BatchNorm<T, SPATIAL> {
    /// As [`Module::describe`].
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Layer normalization (as `torch.nn.LayerNorm(normalized_shape, eps, elementwise_affine)`):
/// each slice over the last `normalized_shape.len()` axes becomes
/// `(x - mean) / √(var + eps) · weight + bias` (the biased variance), with `weight` (ones) and
/// `bias` (zeros) of shape `normalized_shape` (absent without `elementwise_affine`). The
/// gradients are those of the recorded ops. No running statistics: it behaves the same in
/// training and evaluation.
///
/// ```
/// use tapegrad_core::{Array, Tape};
/// use tapegrad_nn::{LayerNorm, Module};
/// # fn main() -> tapegrad_core::Result<()> {
/// let ln = LayerNorm::<f64>::new(&[2]);
/// assert_eq!(ln.to_string(), "LayerNorm((2,), eps=1e-05, elementwise_affine=True)");
/// let tape = Tape::new();
/// let x = tape.constant(Array::from_vec(vec![1.0, 3.0, 0.0, 4.0], [2, 2])?);
/// let y = ln.forward(x)?.to_array();
/// assert!(y.approx_eq(&Array::from_vec(vec![-1.0, 1.0, -1.0, 1.0], [2, 2])?, 1e-5, 0.0));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct LayerNorm<T: Element> {
    normalized_shape: Vec<usize>,
    weight: Option<Param<T>>,
    bias: Option<Param<T>>,
    eps: f64,
}

impl<T: Element> LayerNorm<T> {
    /// A layer over the trailing axes `normalized_shape`, with torch's defaults: `eps = 1e-5`,
    /// `weight` ones and `bias` zeros.
    pub fn new(normalized_shape: &[usize]) -> Self {
        LayerNorm {
            normalized_shape: normalized_shape.to_vec(),
            weight: Some(Param::new(Array::ones(normalized_shape))),
            bias: Some(Param::new(Array::zeros(normalized_shape))),
            eps: 1e-5,
        }
    }

    /// A layer with the given `eps` and, if `elementwise_affine`, a `weight` and a `bias`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `normalized_shape` is empty or `eps` is negative or
    /// not finite.
    #[track_caller]
    pub fn with_options(
        normalized_shape: &[usize],
        eps: f64,
        elementwise_affine: bool,
    ) -> Result<Self> {
        if normalized_shape.is_empty() || !(eps >= 0.0 && eps.is_finite()) {
            return Err(Error::invalid(
                "LayerNorm",
                format!(
                    "normalized_shape must be non-empty and eps >= 0, got {normalized_shape:?}, \
                     eps={eps}"
                ),
            ));
        }
        let mut ln = Self::new(normalized_shape);
        ln.eps = eps;
        if !elementwise_affine {
            ln.weight = None;
            ln.bias = None;
        }
        Ok(ln)
    }

    /// The normalized (trailing) shape.
    pub fn normalized_shape(&self) -> &[usize] {
        &self.normalized_shape
    }

    /// The weight (`None` without elementwise affine).
    pub fn weight(&self) -> Option<&Param<T>> {
        self.weight.as_ref()
    }

    /// The bias (`None` without elementwise affine).
    pub fn bias(&self) -> Option<&Param<T>> {
        self.bias.as_ref()
    }
}

impl<T: Element> Module<T> for LayerNorm<T> {
    /// Normalizes every slice of `x` over its trailing `normalized_shape` axes.
    ///
    /// # Errors
    /// [`Error::Shape`] when `x`'s trailing dimensions are not `normalized_shape`.
    fn forward<'t>(&self, x: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        let tape = x.tape();
        let w = self.weight.as_ref().map(|p| tape.param(p));
        let b = self.bias.as_ref().map(|p| tape.param(p));
        x.layer_norm(&self.normalized_shape, w, b, self.eps)
    }

    /// `LayerNormalization` over the last `normalized_shape.len()` axes (ones and zeros for
    /// the scale and shift without `elementwise_affine`).
    fn export_onnx(&self, g: &mut OnnxGraph, input: &str) -> Result<String> {
        let d = g.dims(input)?.to_vec();
        let ns = &self.normalized_shape;
        let tail = d.len().saturating_sub(ns.len());
        if d.len() <= ns.len() || d[tail..].iter().zip(ns).any(|(a, b)| *a != Some(*b)) {
            return Err(g.input_error(
                &self.describe(),
                input,
                format!(
                    "expects an input [N, ..., {}]",
                    ns.iter()
                        .map(usize::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let scale = match &self.weight {
            Some(p) => g.initializer("weight", p.value()),
            None => g.initializer("ones", &Array::<T>::ones(ns.as_slice())),
        };
        let shift = match &self.bias {
            Some(p) => g.initializer("bias", p.value()),
            None => g.initializer("zeros", &Array::<T>::zeros(ns.as_slice())),
        };
        let attrs = vec![
            Attr::Int("axis", -(ns.len() as i64)),
            Attr::Float("epsilon", self.eps as f32),
        ];
        g.node("LayerNormalization", &[input, &scale, &shift], attrs, d)
    }

    fn visit<'a>(&'a self, path: &mut ParamPath, f: &mut dyn FnMut(&ParamPath, &'a Param<T>)) {
        visit_weight_bias(path, f, self.weight.as_ref(), self.bias.as_ref());
    }

    fn visit_mut<'a>(
        &'a mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, &'a mut Param<T>),
    ) {
        visit_weight_bias_mut(path, f, self.weight.as_mut(), self.bias.as_mut());
    }

    /// As torch prints it: `LayerNorm((10,), eps=1e-05, elementwise_affine=True)`.
    fn describe(&self) -> String {
        let dims: Vec<String> = self
            .normalized_shape
            .iter()
            .map(|d| d.to_string())
            .collect();
        let shape = if dims.len() == 1 {
            format!("({},)", dims[0])
        } else {
            format!("({})", dims.join(", "))
        };
        format!(
            "LayerNorm({shape}, eps={}, elementwise_affine={})",
            py_float(self.eps),
            py_bool(self.weight.is_some())
        )
    }
}

impl<T: Element> std::fmt::Display for LayerNorm<T> {
    /// As [`Module::describe`].
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::py_float;

    #[test]
    fn floats_print_as_python() {
        assert_eq!(py_float(1e-5), "1e-05");
        assert_eq!(py_float(2.5e-7), "2.5e-07");
        assert_eq!(py_float(0.001), "0.001");
        assert_eq!(py_float(0.1), "0.1");
        assert_eq!(py_float(0.0), "0");
    }
}
