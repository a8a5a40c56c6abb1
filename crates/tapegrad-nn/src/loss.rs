//! Losses: functions of tensors that return a rank-0 tensor on the same tape, built from tape
//! ops only (the core's fused, numerically stable `mse`, `bce_with_logits` and
//! `cross_entropy_with_logits` where they fit), so their gradients come from the tape.
//!
//! Every loss takes a [`Reduction`]: [`Reduction::Mean`] (the default, as in PyTorch) averages
//! over all elements (over rows for the class-index losses), [`Reduction::Sum`] adds them up.
//! A prediction and a target of different shapes are an error naming both shapes (no
//! broadcasting, as PyTorch warns).
//!
//! ```
//! use tapegrad_core::{Array, Tape};
//! use tapegrad_nn::loss::{self, Reduction};
//! # fn main() -> tapegrad_core::Result<()> {
//! let tape = Tape::<f64>::new();
//! let pred = tape.var(Array::from_vec(vec![0.5, 2.0], [2])?);
//! let target = tape.constant(Array::from_vec(vec![0.0, 0.0], [2])?);
//! let l = loss::mse(pred, target, Reduction::Mean)?; // (0.25 + 4) / 2
//! assert_eq!(l.item()?, 2.125);
//! let l = loss::huber(pred, target, 1.0, Reduction::Sum)?; // 0.5·0.25 + (2 - 0.5)
//! assert_eq!(l.item()?, 1.625);
//! let bad = tape.constant(Array::zeros([3]));
//! let err = loss::mae(pred, bad, Reduction::Mean).unwrap_err();
//! assert!(err.to_string().starts_with("mae: [2] and [3]:"), "{err}");
//! # Ok(()) }
//! ```

use std::fmt;
use tapegrad_core::{Element, Error, Result, Shape, Tensor};

/// How a loss combines its per-element (or per-row) terms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reduction {
    /// The mean (PyTorch's default).
    #[default]
    Mean,
    /// The sum.
    Sum,
}

/// Which loss a training loop minimizes (what `tapegrad::train::fit` takes in its
/// configuration): the losses of this module that a classifier, a regressor or an autoencoder
/// is trained with, as a value that can be stored, compared and printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// Softmax cross-entropy of the model's logits `[N, C]` with class labels
    /// (`tapegrad::train::Targets::Classes`); [`cross_entropy_with_logits`]. The model outputs
    /// raw scores ([`Activation::Identity`](crate::Activation::Identity)).
    CrossEntropy,
    /// Mean squared error with value targets of the output's shape; [`mse`].
    Mse,
    /// Binary cross-entropy on probabilities (a sigmoid output) with targets in `[0, 1]`;
    /// [`bce`].
    Bce,
    /// Binary cross-entropy on logits (no output activation) with targets in `[0, 1]`; stable
    /// for any logit; [`bce_with_logits`].
    BceWithLogits,
}

impl Loss {
    /// Whether this loss takes class labels ([`Loss::CrossEntropy`]) rather than values.
    pub fn takes_classes(self) -> bool {
        self == Loss::CrossEntropy
    }
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Loss::CrossEntropy => "cross-entropy",
            Loss::Mse => "mse",
            Loss::Bce => "bce",
            Loss::BceWithLogits => "bce-with-logits",
        })
    }
}

/// Applies the reduction to per-element terms (any shape).
fn reduce<'t, T: Element>(terms: Tensor<'t, T>, red: Reduction) -> Tensor<'t, T> {
    match red {
        Reduction::Mean => terms.mean(),
        Reduction::Sum => terms.sum(),
    }
}

/// Turns a fused loss's mean over `n` terms into the requested reduction (on the tape).
fn from_mean<'t, T: Element>(mean: Tensor<'t, T>, n: usize, red: Reduction) -> Tensor<'t, T> {
    match red {
        Reduction::Mean => mean,
        Reduction::Sum => mean.mul_scalar(n as f64),
    }
}

#[track_caller]
fn same_shape<T: Element>(
    op: &'static str,
    pred: &Tensor<'_, T>,
    target: &Tensor<'_, T>,
) -> Result<Shape> {
    let (p, t) = (pred.shape(), target.shape());
    if p != t {
        return Err(Error::shape(
            op,
            &p,
            &t,
            "prediction and target must have the same shape (no broadcasting)",
        ));
    }
    Ok(p)
}

/// Mean squared error `(pred - target)²` (as `F.mse_loss`), the core's fused op.
///
/// # Errors
/// [`Error::Shape`] when the shapes differ; [`Error::TapeMismatch`].
#[track_caller]
pub fn mse<'t, T: Element>(
    pred: Tensor<'t, T>,
    target: Tensor<'t, T>,
    red: Reduction,
) -> Result<Tensor<'t, T>> {
    let s = same_shape("mse", &pred, &target)?;
    Ok(from_mean(pred.mse(target)?, s.numel(), red))
}

/// Mean absolute error `|pred - target|` (as `F.l1_loss`; the gradient at a zero difference
/// is 0, as PyTorch's).
///
/// # Errors
/// [`Error::Shape`] when the shapes differ; [`Error::TapeMismatch`].
#[track_caller]
pub fn mae<'t, T: Element>(
    pred: Tensor<'t, T>,
    target: Tensor<'t, T>,
    red: Reduction,
) -> Result<Tensor<'t, T>> {
    same_shape("mae", &pred, &target)?;
    Ok(reduce(pred.sub(target)?.abs(), red))
}

/// Huber loss (as `F.huber_loss(pred, target, delta=delta)`): with `a = |pred - target|`,
/// `0.5·a²` where `a < delta`, else `delta·(a - 0.5·delta)`.
///
/// Built as `0.5·q² + delta·(a - q)` with `q = min(a, delta) = delta - relu(delta - a)`,
/// which is both branches at once and has the right gradient on each side.
///
/// # Errors
/// [`Error::Shape`] when the shapes differ; [`Error::InvalidArgument`] unless `delta > 0`.
#[track_caller]
pub fn huber<'t, T: Element>(
    pred: Tensor<'t, T>,
    target: Tensor<'t, T>,
    delta: f64,
    red: Reduction,
) -> Result<Tensor<'t, T>> {
    if !delta.is_finite() || delta <= 0.0 {
        return Err(Error::invalid(
            "huber",
            format!("delta must be positive and finite, got {delta}"),
        ));
    }
    same_shape("huber", &pred, &target)?;
    let a = pred.sub(target)?.abs();
    let q = a.neg().add_scalar(delta).relu().neg().add_scalar(delta);
    let quad = q.square().mul_scalar(0.5);
    let lin = a.sub(q)?.mul_scalar(delta);
    Ok(reduce(quad.add(lin)?, red))
}

/// Binary cross-entropy on probabilities (as `F.binary_cross_entropy`):
/// `-(t·log p + (1 - t)·log(1 - p))`. The probabilities are clamped to `[ε, 1 - ε]` (ε is the
/// element type's machine epsilon) so a saturated prediction gives a large finite loss, not
/// infinity; outside that range the gradient is 0. Prefer [`bce_with_logits`] on logits: it is
/// stable without clamping.
///
/// # Errors
/// [`Error::Shape`] when the shapes differ; [`Error::TapeMismatch`];
/// [`Error::InvalidArgument`] when a prediction or a target is not a probability in `[0, 1]`
/// (NaN included), as PyTorch refuses such inputs.
#[track_caller]
pub fn bce<'t, T: Element>(
    prob: Tensor<'t, T>,
    target: Tensor<'t, T>,
    red: Reduction,
) -> Result<Tensor<'t, T>> {
    same_shape("bce", &prob, &target)?;
    // as F.binary_cross_entropy: inputs must be probabilities (and so must the targets)
    prob.value().check_probabilities("bce", "predictions")?;
    target.value().check_probabilities("bce", "targets")?;
    let eps = T::epsilon().as_f64();
    // max(p, ε) = relu(p - ε) + ε, then min(·, 1 - ε) = (1 - ε) - relu((1 - ε) - ·)
    let lo = prob.sub_scalar(eps).relu().add_scalar(eps);
    let p = lo
        .neg()
        .add_scalar(1.0 - eps)
        .relu()
        .neg()
        .add_scalar(1.0 - eps);
    let log_p = p.log();
    let log_1mp = p.neg().add_scalar(1.0).log();
    let one_minus_t = target.neg().add_scalar(1.0);
    let terms = target.mul(log_p)?.add(one_minus_t.mul(log_1mp)?)?.neg();
    Ok(reduce(terms, red))
}

/// Binary cross-entropy on logits (as `F.binary_cross_entropy_with_logits`), the core's fused
/// stable op: finite for any logit.
///
/// # Errors
/// [`Error::Shape`] when the shapes differ; [`Error::TapeMismatch`];
/// [`Error::InvalidArgument`] when a target is not a probability in `[0, 1]`.
#[track_caller]
pub fn bce_with_logits<'t, T: Element>(
    logits: Tensor<'t, T>,
    target: Tensor<'t, T>,
    red: Reduction,
) -> Result<Tensor<'t, T>> {
    let s = same_shape("bce_with_logits", &logits, &target)?;
    Ok(from_mean(logits.bce_with_logits(target)?, s.numel(), red))
}

/// Softmax cross-entropy of logits `[N, C]` with class indices (as `F.cross_entropy`), the
/// core's fused op: per row `logsumexp(row) - row[target]`, reduced over rows.
///
/// # Errors
/// [`Error::Shape`] when the logits are not `[N, C]` with `N = targets.len()`;
/// [`Error::InvalidArgument`] for a class index `>= C`.
#[track_caller]
pub fn cross_entropy_with_logits<'t, T: Element>(
    logits: Tensor<'t, T>,
    targets: &[usize],
    red: Reduction,
) -> Result<Tensor<'t, T>> {
    Ok(from_mean(
        logits.cross_entropy_with_logits(targets)?,
        targets.len(),
        red,
    ))
}

/// Softmax cross-entropy of logits `[N, C]` with one-hot or probability targets `[N, C]` (as
/// `F.cross_entropy` with probability targets): per row `-Σ_c t_c · log_softmax(row)_c`,
/// reduced over rows. With one-hot targets it equals [`cross_entropy_with_logits`].
///
/// # Errors
/// [`Error::Shape`] when the shapes differ or are not 2-D; [`Error::TapeMismatch`].
#[track_caller]
pub fn cross_entropy_with_probs<'t, T: Element>(
    logits: Tensor<'t, T>,
    target: Tensor<'t, T>,
    red: Reduction,
) -> Result<Tensor<'t, T>> {
    let s = same_shape("cross_entropy_with_probs", &logits, &target)?;
    if s.rank() != 2 {
        return Err(Error::shape(
            "cross_entropy_with_probs",
            &s,
            &target.shape(),
            "expects logits and targets [N, C]",
        ));
    }
    let rows = target
        .mul(logits.log_softmax(1)?)?
        .sum_axis(1, false)?
        .neg();
    Ok(reduce(rows, red))
}

/// Negative log-likelihood of log-probabilities `[N, C]` with class indices (as
/// `F.nll_loss`): per row `-log_probs[row, target]`, reduced over rows. Pair it with
/// `log_softmax(1)`; together they are [`cross_entropy_with_logits`].
///
/// # Errors
/// [`Error::Shape`] when the input is not `[N, C]` with `N = targets.len()`;
/// [`Error::InvalidArgument`] for a class index `>= C`.
#[track_caller]
pub fn nll<'t, T: Element>(
    log_probs: Tensor<'t, T>,
    targets: &[usize],
    red: Reduction,
) -> Result<Tensor<'t, T>> {
    let s = log_probs.shape();
    if s.rank() != 2 || s.dim(0) != targets.len() {
        return Err(Error::shape(
            "nll",
            &s,
            &Shape::new(&[targets.len()]),
            "expects log-probabilities [N, C] and N class indices",
        ));
    }
    let c = s.dim(1);
    if let Some((row, &bad)) = targets.iter().enumerate().find(|(_, &t)| t >= c) {
        return Err(Error::invalid(
            "nll",
            format!("target {bad} of row {row} is not a class index below {c}"),
        ));
    }
    // pick element (i, t_i) as row i·C + t_i of the flattened [N·C, 1] input
    let flat: Vec<usize> = targets
        .iter()
        .enumerate()
        .map(|(i, &t)| i * c + t)
        .collect();
    let picked = log_probs.reshape([s.numel(), 1])?.index_select(&flat)?;
    Ok(reduce(picked, red).neg())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tapegrad_core::{Array, Tape};

    fn arr(v: &[f64], shape: &[usize]) -> Array<f64> {
        Array::from_vec(v.to_vec(), shape).expect("test data")
    }

    #[test]
    fn a_loss_names_itself_and_says_whether_it_takes_classes() {
        let all = [
            Loss::CrossEntropy,
            Loss::Mse,
            Loss::Bce,
            Loss::BceWithLogits,
        ];
        let names: Vec<String> = all.iter().map(Loss::to_string).collect();
        assert_eq!(names, ["cross-entropy", "mse", "bce", "bce-with-logits"]);
        let classes: Vec<bool> = all.iter().map(|l| l.takes_classes()).collect();
        assert_eq!(classes, [true, false, false, false]);
    }

    #[test]
    fn bce_refuses_values_that_are_not_probabilities() {
        let tape = Tape::<f64>::new();
        let ok = tape.constant(arr(&[0.2, 0.9], &[2]));
        for bad in [1.5, -0.5, f64::NAN] {
            let t = tape.constant(arr(&[1.0, bad], &[2]));
            let e = bce(ok, t, Reduction::Mean).unwrap_err().to_string();
            assert!(e.starts_with("bce: targets must be probabilities"), "{e}");
            assert!(e.contains("src/loss.rs"), "the caller's line: {e}");
            let p = tape.constant(arr(&[0.5, bad], &[2]));
            let e = bce(p, ok, Reduction::Mean).unwrap_err().to_string();
            assert!(
                e.starts_with("bce: predictions must be probabilities"),
                "{e}"
            );
            let e = bce_with_logits(ok, t, Reduction::Sum)
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("bce_with_logits: targets must be"), "{e}");
        }
    }

    #[test]
    fn hand_computed_values() -> Result<()> {
        let tape = Tape::<f64>::new();
        let p = tape.constant(arr(&[0.5, -1.0, 3.0, 0.0], &[2, 2]));
        let t = tape.constant(arr(&[0.0, 1.0, 1.0, 0.0], &[2, 2]));
        // differences 0.5, -2, 2, 0
        assert_eq!(
            mse(p, t, Reduction::Mean)?.item()?,
            (0.25 + 4.0 + 4.0) / 4.0
        );
        assert_eq!(mse(p, t, Reduction::Sum)?.item()?, 8.25);
        assert_eq!(mae(p, t, Reduction::Mean)?.item()?, 4.5 / 4.0);
        assert_eq!(mae(p, t, Reduction::Sum)?.item()?, 4.5);
        // huber δ = 1: 0.125, 1.5, 1.5, 0
        assert_eq!(huber(p, t, 1.0, Reduction::Sum)?.item()?, 3.125);
        assert!(huber(p, t, 0.0, Reduction::Sum).is_err());
        Ok(())
    }

    #[test]
    fn bce_matches_bce_with_logits() -> Result<()> {
        let tape = Tape::<f64>::new();
        let z = tape.constant(arr(&[-2.0, 0.3, 1.7], &[3]));
        let t = tape.constant(arr(&[0.0, 1.0, 0.25], &[3]));
        for red in [Reduction::Mean, Reduction::Sum] {
            let a = bce(z.sigmoid(), t, red)?.item()?;
            let b = bce_with_logits(z, t, red)?.item()?;
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        // saturated probabilities: large but finite
        let p = tape.constant(arr(&[0.0, 1.0], &[2]));
        let t = tape.constant(arr(&[1.0, 0.0], &[2]));
        let l = bce(p, t, Reduction::Mean)?;
        assert!(l.item()?.is_finite() && l.item()? > 30.0, "{}", l.item()?);
        Ok(())
    }

    #[test]
    fn class_losses_agree() -> Result<()> {
        let tape = Tape::<f64>::new();
        let z = tape.constant(arr(&[1.0, 2.0, 0.5, -1.0, 0.0, 3.0], &[2, 3]));
        let idx = [1, 2];
        let onehot = tape.constant(arr(&[0., 1., 0., 0., 0., 1.], &[2, 3]));
        for red in [Reduction::Mean, Reduction::Sum] {
            let a = cross_entropy_with_logits(z, &idx, red)?.item()?;
            let b = cross_entropy_with_probs(z, onehot, red)?.item()?;
            let c = nll(z.log_softmax(1)?, &idx, red)?.item()?;
            assert!(
                (a - b).abs() < 1e-12 && (a - c).abs() < 1e-12,
                "{a} {b} {c}"
            );
        }
        // per row logsumexp(row) - row[target]
        let lse0 = (1f64.exp() + 2f64.exp() + 0.5f64.exp()).ln();
        let lse1 = ((-1f64).exp() + 1.0 + 3f64.exp()).ln();
        let want = (lse0 - 2.0) + (lse1 - 3.0);
        let got = nll(z.log_softmax(1)?, &idx, Reduction::Sum)?.item()?;
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        let err = nll(z, &[0, 3], Reduction::Mean).unwrap_err();
        assert!(err.to_string().contains("target 3 of row 1"), "{err}");
        let err = nll(z, &[0], Reduction::Mean).unwrap_err();
        assert!(err.to_string().starts_with("nll: [2, 3] and [1]:"), "{err}");
        let bad = tape.constant(arr(&[0.0; 4], &[2, 2]));
        let err = cross_entropy_with_probs(z, bad, Reduction::Mean).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cross_entropy_with_probs: [2, 3] and [2, 2]:"),
            "{err}"
        );
        Ok(())
    }
}
