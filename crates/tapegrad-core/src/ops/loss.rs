//! Fused losses with numerically stable forward values and backward rules: `mse`,
//! `bce_with_logits`, `cross_entropy_with_logits`. Each returns a rank-0 mean.

use crate::array::Array;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::op::Op;
use crate::shape::Shape;
use crate::tape::Tensor;
use std::panic::Location;

impl<'t, T: Element> Tensor<'t, T> {
    #[track_caller]
    fn same_shape_loss(
        self,
        target: Tensor<'t, T>,
        name: &'static str,
        op: Op,
        targets_in_unit_range: bool,
        per_element: impl Fn(T, T) -> T,
    ) -> Result<Tensor<'t, T>> {
        self.check_tape(&target, name)?;
        let value = {
            let nodes = self.tape.nodes.borrow();
            let (x, t) = (&*nodes[self.id].value, &*nodes[target.id].value);
            if x.shape() != t.shape() {
                return Err(Error::Shape {
                    op: name,
                    lhs: x.shape().clone(),
                    rhs: t.shape().clone(),
                    reason: "prediction and target must have the same shape (no broadcasting)"
                        .into(),
                    location: Location::caller(),
                });
            }
            if targets_in_unit_range {
                t.check_probabilities(name, "targets")?;
            }
            let s = crate::kernels::simd::sum_zip(x.data(), t.data(), per_element);
            // the mean of no elements is NaN (0 / 0), as PyTorch's
            Array::scalar(s / T::of(x.numel() as f64))
        };
        Ok(self.record(op, value))
    }

    /// Mean squared error `mean((self - target)²)` (as `F.mse_loss`).
    ///
    /// # Errors
    /// [`Error::Shape`] when the shapes differ (no broadcasting, as PyTorch warns).
    #[track_caller]
    pub fn mse(self, target: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        self.same_shape_loss(target, "mse", Op::Mse(self.id, target.id), false, |p, t| {
            (p - t) * (p - t)
        })
    }

    /// Binary cross-entropy on logits, mean over all elements (as
    /// `F.binary_cross_entropy_with_logits`): per element
    /// `max(x, 0) - x·t + log(1 + e^-|x|)`, finite for any logit.
    ///
    /// # Errors
    /// [`Error::Shape`] when the shapes differ; [`Error::InvalidArgument`] when a target is
    /// not a probability in `[0, 1]` (NaN included), naming the first such element.
    #[track_caller]
    pub fn bce_with_logits(self, target: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        self.same_shape_loss(
            target,
            "bce_with_logits",
            Op::BceWithLogits(self.id, target.id),
            true,
            |x, t| x.max(T::zero()) - x * t + (-x.abs()).exp().ln_1p(),
        )
    }

    /// Softmax cross-entropy of logits `[N, C]` with class indices (as `F.cross_entropy`):
    /// the mean over rows of `logsumexp(row) - row[target]`.
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let logits = tape.var(Array::zeros([2, 4]));
    /// let loss = logits.cross_entropy_with_logits(&[1, 3])?;
    /// assert!((loss.item()? - 4f64.ln()).abs() < 1e-12); // uniform over 4 classes
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// [`Error::Shape`] when the logits are not 2-D or there is not one target per row;
    /// [`Error::InvalidArgument`] for a class index `>= C`.
    #[track_caller]
    pub fn cross_entropy_with_logits(self, targets: &[usize]) -> Result<Tensor<'t, T>> {
        let value = {
            let x = self.value_ref();
            if x.rank() != 2 || x.dims()[0] != targets.len() {
                return Err(Error::Shape {
                    op: "cross_entropy_with_logits",
                    lhs: x.shape().clone(),
                    rhs: Shape::new(&[targets.len()]),
                    reason: "expects logits [N, C] and N class indices".into(),
                    location: Location::caller(),
                });
            }
            let c = x.dims()[1];
            if let Some((row, &bad)) = targets.iter().enumerate().find(|(_, &t)| t >= c) {
                return Err(Error::invalid(
                    "cross_entropy_with_logits",
                    format!("target {bad} of row {row} is not a class index below {c}"),
                ));
            }
            let mut total = T::zero();
            for (row, &t) in x.data().chunks(c.max(1)).zip(targets) {
                let m = row.iter().copied().fold(T::neg_infinity(), T::max);
                let s = crate::kernels::simd::sum_zip(row, row, |v, _| (v - m).exp_fast());
                // (max - x_t) first: exact-ish, where m + ln s would round ln s away at 1e4
                total += (m - row[t]) + s.ln();
            }
            // a batch of no rows has a NaN mean, as PyTorch's
            Array::scalar(total / T::of(targets.len() as f64))
        };
        Ok(self.record(
            Op::CrossEntropy {
                logits: self.id,
                targets: self.tape.index_vec(targets.iter().copied()),
            },
            value,
        ))
    }
}
