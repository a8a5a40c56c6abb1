//! Elementwise binary ops with NumPy broadcasting, ops with a scalar, and the operator sugar.

use crate::element::Element;
use crate::error::Result;
use crate::kernels;
use crate::op::{NodeId, Op};
use crate::shape::Shape;
use crate::tape::Tensor;
use std::ops;

impl<'t, T: Element> Tensor<'t, T> {
    #[track_caller]
    fn binary(
        self,
        rhs: Tensor<'t, T>,
        name: &'static str,
        op: fn(NodeId, NodeId) -> Op,
        f: impl Fn(T, T) -> T + Sync,
    ) -> Result<Tensor<'t, T>> {
        self.check_tape(&rhs, name)?;
        let value = {
            let nodes = self.tape.nodes.borrow();
            let (a, b) = (&*nodes[self.id].value, &*nodes[rhs.id].value);
            let out = Shape::broadcast(name, a.shape(), b.shape())?;
            kernels::binary(a, b, &out, f)
        };
        Ok(self.record(op(self.id, rhs.id), value))
    }

    /// `self + rhs`, broadcasting both sides (`[3, 1] + [4]` gives `[3, 4]`).
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f32>::new();
    /// let a = tape.constant(Array::from_vec(vec![1., 2.], [2, 1])?);
    /// let b = tape.constant(Array::from_vec(vec![10., 20., 30.], [3])?);
    /// assert_eq!(a.add(b)?.shape().dims(), &[2, 3]);
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// [`Error::Shape`](crate::Error::Shape) when the shapes cannot broadcast;
    /// [`Error::TapeMismatch`](crate::Error::TapeMismatch) for tensors of two tapes.
    #[track_caller]
    pub fn add(self, rhs: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        self.binary(rhs, "add", Op::Add, |a, b| a + b)
    }

    /// `self - rhs` with broadcasting. Errors as [`Tensor::add`].
    #[track_caller]
    pub fn sub(self, rhs: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        self.binary(rhs, "sub", Op::Sub, |a, b| a - b)
    }

    /// `self * rhs` elementwise with broadcasting. Errors as [`Tensor::add`].
    #[track_caller]
    pub fn mul(self, rhs: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        self.binary(rhs, "mul", Op::Mul, |a, b| a * b)
    }

    /// `self / rhs` elementwise with broadcasting (division by zero gives ±inf or NaN, as
    /// IEEE says). Errors as [`Tensor::add`].
    #[track_caller]
    pub fn div(self, rhs: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        self.binary(rhs, "div", Op::Div, |a, b| a / b)
    }

    /// `self + c` for a scalar `c`.
    pub fn add_scalar(self, c: f64) -> Tensor<'t, T> {
        let v = self.value_ref().map(|x| x + T::of(c));
        self.record(Op::AddScalar(self.id, c), v)
    }

    /// `self - c` for a scalar `c`.
    pub fn sub_scalar(self, c: f64) -> Tensor<'t, T> {
        self.add_scalar(-c)
    }

    /// `self * c` for a scalar `c`.
    pub fn mul_scalar(self, c: f64) -> Tensor<'t, T> {
        let v = self.value_ref().map(|x| x * T::of(c));
        self.record(Op::MulScalar(self.id, c), v)
    }

    /// `self / c` for a scalar `c`.
    pub fn div_scalar(self, c: f64) -> Tensor<'t, T> {
        self.mul_scalar(1.0 / c)
    }

    /// `self ^ p` elementwise for a scalar exponent (as `torch.pow(x, p)`); a negative base
    /// with a fractional `p` gives NaN.
    pub fn powf(self, p: f64) -> Tensor<'t, T> {
        let pt = T::of(p);
        let v = self.value_ref().map(|x| x.powf(pt));
        self.record(Op::Powf(self.id, p), v)
    }
}

macro_rules! operator {
    ($trait:ident, $method:ident, $scalar:ident) => {
        impl<'t, T: Element> ops::$trait for Tensor<'t, T> {
            type Output = Tensor<'t, T>;
            /// Operator sugar for the checked method of the same name.
            ///
            /// # Panics
            /// When the checked method returns an error (shapes that cannot broadcast,
            /// tensors of two tapes), with the same message.
            #[track_caller]
            fn $method(self, rhs: Tensor<'t, T>) -> Tensor<'t, T> {
                match Tensor::$method(self, rhs) {
                    Ok(t) => t,
                    Err(e) => panic!("{e}"),
                }
            }
        }

        impl<'t, T: Element> ops::$trait<T> for Tensor<'t, T> {
            type Output = Tensor<'t, T>;
            /// Operator sugar for the op with a scalar.
            fn $method(self, rhs: T) -> Tensor<'t, T> {
                self.$scalar(rhs.as_f64())
            }
        }
    };
}

operator!(Add, add, add_scalar);
operator!(Sub, sub, sub_scalar);
operator!(Mul, mul, mul_scalar);
operator!(Div, div, div_scalar);

impl<'t, T: Element> ops::Neg for Tensor<'t, T> {
    type Output = Tensor<'t, T>;
    /// `-x`.
    fn neg(self) -> Tensor<'t, T> {
        Tensor::neg(self)
    }
}
