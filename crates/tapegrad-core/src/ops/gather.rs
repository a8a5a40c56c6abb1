//! Selecting ops: `narrow` (a slice along one axis), `stack`, `gather` along an axis; and the
//! adjoints their gradients are recorded with (`narrow_backward`, `scatter_add`), each of
//! which has the forward op as its own gradient.

use crate::element::Element;
use crate::error::{Error, Result};
use crate::kernels;
use crate::op::Op;
use crate::shape::Shape;
use crate::tape::Tensor;
use std::panic::Location;
use std::sync::Arc;

impl<'t, T: Element> Tensor<'t, T> {
    /// Positions `start..start + len` of `axis` (as PyTorch's `x.narrow(dim, start, length)`),
    /// copied. A negative `axis` counts from the end, a negative `start` from the end of the
    /// axis (`start = -size` is 0). The gradient goes back to the narrowed positions, 0
    /// elsewhere.
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::from_vec(vec![1., 2., 3., 4., 5., 6.], [2, 3])?);
    /// let y = x.narrow(1, 1, 2)?; // columns 1 and 2
    /// assert_eq!(y.to_array().data(), &[2., 3., 5., 6.]);
    /// let g = y.sum().backward()?;
    /// assert_eq!(g.get(x).unwrap().data(), &[0., 1., 1., 0., 1., 1.]);
    /// assert_eq!(x.narrow(-1, -1, 1)?.to_array().data(), &[3., 6.]); // the last column
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// [`Error::AxisOutOfRange`]; [`Error::InvalidArgument`] naming the shape, axis, start
    /// and len when `start` is outside `-size..=size` or `start + len > size`.
    #[track_caller]
    pub fn narrow(self, axis: isize, start: isize, len: usize) -> Result<Tensor<'t, T>> {
        let shape = self.shape();
        let a = shape.check_axis("narrow", axis)?;
        let size = shape.dim(a);
        let from = if start < 0 {
            start.checked_add_unsigned(size)
        } else {
            Some(start)
        };
        let from = from
            .and_then(|s| usize::try_from(s).ok())
            .filter(|&s| s <= size);
        match from {
            Some(s) if len <= size - s => Ok(self.narrow_at(a, s, len)),
            _ => Err(Error::invalid(
                "narrow",
                format!(
                    "start {start} and len {len} do not fit axis {axis} of shape {shape} \
                     (size {size}): start must be in -{size}..={size} and start + len <= {size}"
                ),
            )),
        }
    }

    /// [`Tensor::narrow`] with a checked axis and range (also `narrow_backward`'s gradient).
    #[track_caller]
    pub(crate) fn narrow_at(self, axis: usize, start: usize, len: usize) -> Tensor<'t, T> {
        let v = kernels::slice_axis(&self.value_ref(), axis, start, len);
        let op = Op::Narrow {
            x: self.id,
            axis,
            start,
            len,
        };
        self.record(op, v)
    }

    /// The adjoint of [`Tensor::narrow`], `narrow`'s gradient as a tensor: this tensor
    /// written at `start..` of `axis` in zeros whose `axis` has `size` positions.
    #[track_caller]
    pub(crate) fn narrow_backward(self, axis: usize, start: usize, size: usize) -> Tensor<'t, T> {
        let v = kernels::pad_axis(&self.value_ref(), axis, start, size);
        let op = Op::NarrowBackward {
            g: self.id,
            axis,
            start,
            size,
        };
        self.record(op, v)
    }

    /// Joins tensors of one shape along a new axis (as `torch.stack(xs, dim)`): the result has
    /// `xs.len()` at `axis`, which may be `0..=rank` (negative counts from the end, `-1` being
    /// a new last axis). The same tensor may appear several times (its gradients add up).
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape, Tensor};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let a = tape.constant(Array::from_vec(vec![1., 2.], [2])?);
    /// let b = tape.constant(Array::from_vec(vec![3., 4.], [2])?);
    /// let rows = Tensor::stack(&[a, b], 0)?;
    /// assert_eq!((rows.shape().dims(), rows.to_array().data()), (&[2, 2][..], &[1., 2., 3., 4.][..]));
    /// let cols = Tensor::stack(&[a, b], -1)?;
    /// assert_eq!(cols.to_array().data(), &[1., 3., 2., 4.]);
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty list; [`Error::AxisOutOfRange`] for an axis
    /// outside `-(rank + 1)..=rank`; [`Error::Shape`] when the shapes differ;
    /// [`Error::TapeMismatch`].
    #[track_caller]
    pub fn stack(xs: &[Tensor<'t, T>], axis: isize) -> Result<Tensor<'t, T>> {
        let Some(first) = xs.first() else {
            return Err(Error::invalid("stack", "needs at least one tensor"));
        };
        let s0 = first.shape();
        for x in xs {
            first.check_tape(x, "stack")?;
            let s = x.shape();
            if s != s0 {
                return Err(Error::shape(
                    "stack",
                    &s0,
                    &s,
                    "every tensor must have the same shape",
                ));
            }
        }
        let rank = s0.rank();
        let a = if axis < 0 {
            axis.checked_add_unsigned(rank + 1)
        } else {
            Some(axis)
        };
        let Some(a) = a
            .and_then(|a| usize::try_from(a).ok())
            .filter(|&a| a <= rank)
        else {
            return Err(Error::AxisOutOfRange {
                op: "stack",
                axis,
                shape: s0,
                location: Location::caller(),
            });
        };
        let mut dims = s0.dims().to_vec();
        dims.insert(a, 1);
        let parts = xs
            .iter()
            .map(|x| x.reshape(dims.as_slice()))
            .collect::<Result<Vec<_>>>()?;
        Tensor::concat(&parts, a as isize)
    }

    /// The elements picked along `axis` by an index of shape `index_shape` (as
    /// `torch.gather(x, dim, index)`), `index` holding its elements in row-major order:
    /// for a 3-D `x` and `axis = 0`, `out[i][j][k] = x[index[i][j][k]][j][k]`. The index has
    /// `x`'s rank, is no larger than `x` on the other axes, and gives the result its shape.
    /// Gradients add up where an element is picked several times (scatter-add).
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::from_vec(vec![1., 2., 3., 4.], [2, 2])?);
    /// // per row, the columns [0, 0] and [1, 0]: torch.gather(x, 1, [[0, 0], [1, 0]])
    /// let y = x.gather(1, &[0, 0, 1, 0], [2, 2])?;
    /// assert_eq!(y.to_array().data(), &[1., 1., 4., 3.]);
    /// let g = y.sum().backward()?;
    /// assert_eq!(g.get(x).unwrap().data(), &[2., 0., 1., 1.]); // x[0][0] picked twice
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// [`Error::AxisOutOfRange`]; [`Error::DataLength`] when `index` does not fill
    /// `index_shape`; [`Error::Shape`] when the index's rank differs from `x`'s or it is
    /// larger than `x` on an axis other than `axis`; [`Error::InvalidArgument`] for an index
    /// `>= x.dims[axis]`.
    #[track_caller]
    pub fn gather(
        self,
        axis: isize,
        index: &[usize],
        index_shape: impl Into<Shape>,
    ) -> Result<Tensor<'t, T>> {
        let ishape = index_shape.into();
        let a = {
            let x = self.value_ref();
            let xs = x.shape();
            let a = xs.check_axis("gather", axis)?;
            if ishape.rank() != xs.rank() {
                return Err(Error::shape(
                    "gather",
                    xs,
                    &ishape,
                    "the index must have the input's rank",
                ));
            }
            if let Some(d) = (0..xs.rank()).find(|&d| d != a && ishape.dim(d) > xs.dim(d)) {
                return Err(Error::shape(
                    "gather",
                    xs,
                    &ishape,
                    format!(
                        "the index is larger than the input on axis {d} (only axis {a}, \
                         the one gathered along, may be)"
                    ),
                ));
            }
            ishape.check_size("gather")?;
            if index.len() != ishape.numel() {
                return Err(Error::DataLength {
                    op: "gather",
                    len: index.len(),
                    shape: ishape,
                    location: Location::caller(),
                });
            }
            let n = xs.dim(a);
            if let Some((k, &bad)) = index.iter().enumerate().find(|(_, &i)| i >= n) {
                return Err(Error::invalid(
                    "gather",
                    format!(
                        "index {bad} (element {k} of the index of shape {ishape}) is out of \
                         range for axis {a} of shape {xs}, of size {n}"
                    ),
                ));
            }
            a
        };
        Ok(self.gather_at(a, index.into(), &ishape))
    }

    /// [`Tensor::gather`] with checked arguments (also `scatter_add`'s gradient).
    #[track_caller]
    pub(crate) fn gather_at(
        self,
        axis: usize,
        index: Arc<[usize]>,
        index_shape: &Shape,
    ) -> Tensor<'t, T> {
        let v = kernels::gather(&self.value_ref(), index_shape, axis, &index);
        let op = Op::Gather {
            x: self.id,
            axis,
            index,
        };
        self.record(op, v)
    }

    /// The adjoint of [`Tensor::gather`], its gradient as a tensor: zeros of shape `target`
    /// into which each element of this tensor (of the index's shape) is added where gather
    /// would have read it.
    #[track_caller]
    pub(crate) fn scatter_add(
        self,
        axis: usize,
        index: Arc<[usize]>,
        target: &Shape,
    ) -> Tensor<'t, T> {
        let v = kernels::scatter_add(&self.value_ref(), target, axis, &index);
        let op = Op::ScatterAdd {
            g: self.id,
            axis,
            index,
        };
        self.record(op, v)
    }
}
