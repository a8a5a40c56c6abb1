//! Reductions: sum, mean and max, over one axis (keepdim or not) or over all elements.

use crate::element::Element;
use crate::error::{Error, Result};
use crate::kernels;
use crate::op::Op;
use crate::tape::Tensor;

#[derive(Clone, Copy)]
enum Kind {
    Sum,
    Mean,
    Max,
}

impl<'t, T: Element> Tensor<'t, T> {
    fn reduce(self, kind: Kind, axis: Option<usize>, keepdim: bool) -> Tensor<'t, T> {
        let value = {
            let x = self.value_ref();
            let out = x.shape().reduced(axis, keepdim);
            match kind {
                Kind::Sum => kernels::sum_axis(&x, axis, &out),
                Kind::Mean => {
                    let n = match axis {
                        Some(a) => x.dims()[a],
                        None => x.numel(),
                    };
                    let inv = T::one() / T::of(n as f64);
                    let mut s = kernels::sum_axis(&x, axis, &out);
                    s.data_mut().iter_mut().for_each(|v| *v *= inv);
                    s
                }
                Kind::Max => kernels::max_axis(&x, axis, &out),
            }
        };
        let op = match kind {
            Kind::Sum => Op::Sum { x: self.id, axis },
            Kind::Mean => Op::Mean { x: self.id, axis },
            Kind::Max => Op::Max { x: self.id, axis },
        };
        self.record(op, value)
    }

    #[track_caller]
    fn reduce_axis(
        self,
        kind: Kind,
        name: &'static str,
        axis: isize,
        keepdim: bool,
    ) -> Result<Tensor<'t, T>> {
        let shape = self.shape();
        let a = shape.check_axis(name, axis)?;
        if matches!(kind, Kind::Max) && shape.dim(a) == 0 && shape.numel() == 0 {
            return Err(Error::invalid(
                name,
                format!("axis {axis} of shape {shape} is empty: a maximum needs an element"),
            ));
        }
        Ok(self.reduce(kind, Some(a), keepdim))
    }

    /// The sum of all elements, as a rank-0 tensor.
    pub fn sum(self) -> Tensor<'t, T> {
        self.reduce(Kind::Sum, None, false)
    }

    /// The mean of all elements, as a rank-0 tensor. The mean of no elements is NaN (0 / 0),
    /// as `torch.mean` of an empty tensor.
    pub fn mean(self) -> Tensor<'t, T> {
        self.reduce(Kind::Mean, None, false)
    }

    /// The largest element, as a rank-0 tensor. Its gradient is split evenly between tied
    /// maxima (as PyTorch's `amax`); a NaN anywhere makes the maximum NaN (as PyTorch).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a tensor with no element (as PyTorch, which has no
    /// maximum of nothing to give).
    #[track_caller]
    pub fn max(self) -> Result<Tensor<'t, T>> {
        let shape = self.shape();
        if shape.numel() == 0 {
            return Err(Error::invalid(
                "max",
                format!("the tensor of shape {shape} is empty: a maximum needs an element"),
            ));
        }
        Ok(self.reduce(Kind::Max, None, false))
    }

    /// Sums over `axis` (negative counts from the end); `keepdim` keeps it as size 1.
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f32>::new();
    /// let x = tape.constant(Array::from_vec(vec![1., 2., 3., 4., 5., 6.], [2, 3])?);
    /// assert_eq!(x.sum_axis(1, false)?.to_array().data(), &[6., 15.]);
    /// assert_eq!(x.sum_axis(0, true)?.shape().dims(), &[1, 3]);
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// [`Error::AxisOutOfRange`](crate::Error::AxisOutOfRange).
    #[track_caller]
    pub fn sum_axis(self, axis: isize, keepdim: bool) -> Result<Tensor<'t, T>> {
        self.reduce_axis(Kind::Sum, "sum", axis, keepdim)
    }

    /// The mean over `axis`. Errors as [`Tensor::sum_axis`].
    #[track_caller]
    pub fn mean_axis(self, axis: isize, keepdim: bool) -> Result<Tensor<'t, T>> {
        self.reduce_axis(Kind::Mean, "mean", axis, keepdim)
    }

    /// The maximum over `axis` (as `torch.amax`; ties share the gradient; NaN wins).
    ///
    /// # Errors
    /// As [`Tensor::sum_axis`], and [`Error::InvalidArgument`] when the axis has size 0 in a
    /// tensor with no element (as PyTorch).
    #[track_caller]
    pub fn max_axis(self, axis: isize, keepdim: bool) -> Result<Tensor<'t, T>> {
        self.reduce_axis(Kind::Max, "max", axis, keepdim)
    }
}
