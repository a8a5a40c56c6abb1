//! Shape ops: reshape, transpose/permute, broadcast_to, concat, index_select.

use crate::array::{check_permutation, check_rows};
use crate::element::Element;
use crate::error::{Error, Result};
use crate::kernels;
use crate::op::Op;
use crate::shape::Shape;
use crate::tape::Tensor;
use std::panic::Location;

impl<'t, T: Element> Tensor<'t, T> {
    /// The same elements (row-major order) in another shape.
    ///
    /// # Errors
    /// [`Error::DataLength`] when the element counts differ.
    #[track_caller]
    pub fn reshape(self, shape: impl Into<Shape>) -> Result<Tensor<'t, T>> {
        let v = self.value_ref().reshape(shape)?;
        Ok(self.record(Op::Reshape(self.id), v))
    }

    /// Reorders the axes: `out.dims[i] = self.dims[perm[i]]` (as `torch.permute`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `perm` is not a permutation of the axes.
    #[track_caller]
    pub fn permute(self, perm: &[usize]) -> Result<Tensor<'t, T>> {
        let v = {
            let x = self.value_ref();
            check_permutation("permute", x.shape(), perm)?;
            kernels::permute(&x, perm)
        };
        Ok(self.record(Op::Permute(self.id, perm.into()), v))
    }

    /// Swaps two axes (as `torch.transpose(x, dim0, dim1)`).
    ///
    /// # Errors
    /// [`Error::AxisOutOfRange`] for an axis the tensor lacks.
    #[track_caller]
    pub fn transpose(self, dim0: isize, dim1: isize) -> Result<Tensor<'t, T>> {
        let shape = self.shape();
        let (a, b) = (
            shape.check_axis("transpose", dim0)?,
            shape.check_axis("transpose", dim1)?,
        );
        let mut perm: Vec<usize> = (0..shape.rank()).collect();
        perm.swap(a, b);
        self.permute(&perm)
    }

    /// The transpose of a 2-D tensor (`x.T`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the tensor is not 2-D.
    #[track_caller]
    pub fn t(self) -> Result<Tensor<'t, T>> {
        let shape = self.shape();
        if shape.rank() != 2 {
            return Err(Error::invalid(
                "transpose",
                format!("t() expects a 2-D tensor, got shape {shape}"),
            ));
        }
        self.permute(&[1, 0])
    }

    /// Stretches size-1 and missing leading axes to `shape` (as `torch.broadcast_to`).
    ///
    /// # Errors
    /// [`Error::Shape`] when the tensor does not broadcast to `shape`.
    #[track_caller]
    pub fn broadcast_to(self, shape: impl Into<Shape>) -> Result<Tensor<'t, T>> {
        let target = shape.into();
        let v = {
            let x = self.value_ref();
            let out = Shape::broadcast("broadcast_to", x.shape(), &target)?;
            if out != target {
                return Err(Error::shape(
                    "broadcast_to",
                    x.shape(),
                    &target,
                    "the target must be the broadcast shape",
                ));
            }
            let zero = crate::Array::zeros(Shape::scalar());
            kernels::binary(&x, &zero, &target, |a, _| a)
        };
        Ok(self.record(Op::BroadcastTo(self.id), v))
    }

    /// Joins tensors along `axis` (as `torch.cat`); the same tensor may appear several times.
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape, Tensor};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f32>::new();
    /// let a = tape.constant(Array::ones([2, 3]));
    /// let b = tape.constant(Array::zeros([2, 1]));
    /// assert_eq!(Tensor::concat(&[a, b, a], 1)?.shape().dims(), &[2, 7]);
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty list; [`Error::AxisOutOfRange`];
    /// [`Error::Shape`] when the other axes differ; [`Error::TapeMismatch`].
    #[track_caller]
    pub fn concat(xs: &[Tensor<'t, T>], axis: isize) -> Result<Tensor<'t, T>> {
        let Some(first) = xs.first() else {
            return Err(Error::invalid("concat", "needs at least one tensor"));
        };
        for x in xs {
            first.check_tape(x, "concat")?;
        }
        let (v, axis) = {
            let nodes = first.tape.nodes.borrow();
            let arrays: Vec<_> = xs.iter().map(|x| &*nodes[x.id].value).collect();
            let s0 = arrays[0].shape();
            let axis = s0.check_axis("concat", axis)?;
            for a in &arrays[1..] {
                let s = a.shape();
                let same = s.rank() == s0.rank()
                    && (0..s.rank()).all(|i| i == axis || s.dim(i) == s0.dim(i));
                if !same {
                    return Err(Error::Shape {
                        op: "concat",
                        lhs: s0.clone(),
                        rhs: s.clone(),
                        reason: format!("all axes but {axis} must match"),
                        location: Location::caller(),
                    });
                }
            }
            let mut dims = s0.dims().to_vec();
            dims[axis] = arrays
                .iter()
                .try_fold(0usize, |n, a| n.checked_add(a.shape().dim(axis)))
                .unwrap_or(usize::MAX);
            Shape::new(&dims).check_size("concat")?;
            (kernels::concat(&arrays, axis), axis)
        };
        let op = Op::Concat {
            xs: first.tape.index_vec(xs.iter().map(|x| x.id)),
            axis,
        };
        Ok(first.record(op, v))
    }

    /// The rows of axis 0 at `indices` (as `torch.index_select(x, 0, idx)`); repeated rows
    /// add up their gradients, rows not picked get 0.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an index out of range or a rank-0 tensor.
    #[track_caller]
    pub fn index_select(self, indices: &[usize]) -> Result<Tensor<'t, T>> {
        let v = {
            let x = self.value_ref();
            check_rows("index_select", x.shape(), indices)?;
            kernels::gather_rows(&x, indices)
        };
        Ok(self.record(
            Op::IndexSelect {
                x: self.id,
                indices: self.tape.index_vec(indices.iter().copied()),
            },
            v,
        ))
    }
}
