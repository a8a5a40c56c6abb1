//! Elementwise functions of one tensor. None can fail: a value outside the function's domain
//! gives what IEEE arithmetic gives (`log` of a negative number is NaN, of 0 is -inf), as in
//! PyTorch.

use crate::array::Array;
use crate::element::Element;
use crate::error::Result;
use crate::kernels::simd;
use crate::op::{Activation, Op};
use crate::tape::Tensor;

impl<'t, T: Element> Tensor<'t, T> {
    /// A cheap function of each element (split over threads only for huge tensors).
    #[track_caller]
    pub(super) fn unary(self, op: Op, f: impl Fn(T) -> T + Sync) -> Tensor<'t, T> {
        self.unary_with(op, simd::CHEAP_GRAIN, f)
    }

    /// A costly function of each element (`exp`, `log`, ...: split over threads sooner).
    #[track_caller]
    pub(super) fn unary_costly(self, op: Op, f: impl Fn(T) -> T + Sync) -> Tensor<'t, T> {
        self.unary_with(op, simd::COSTLY_GRAIN, f)
    }

    #[track_caller]
    fn unary_with(self, op: Op, grain: usize, f: impl Fn(T) -> T + Sync) -> Tensor<'t, T> {
        let v = {
            let x = self.value_ref();
            Array::from_parts(simd::map(x.data(), grain, f), x.shape().clone())
        };
        self.record(op, v)
    }

    /// `-x`.
    #[track_caller]
    pub fn neg(self) -> Tensor<'t, T> {
        self.unary(Op::Neg(self.id), |x| -x)
    }

    /// `e^x`.
    #[track_caller]
    pub fn exp(self) -> Tensor<'t, T> {
        self.unary_costly(Op::Exp(self.id), T::exp_fast)
    }

    /// The natural logarithm. Not an error for `x <= 0`: `log(0) = -inf`, `log(x < 0) = NaN`.
    #[track_caller]
    pub fn log(self) -> Tensor<'t, T> {
        self.unary_costly(Op::Log(self.id), T::ln)
    }

    /// The square root (NaN for negative numbers).
    #[track_caller]
    pub fn sqrt(self) -> Tensor<'t, T> {
        self.unary_costly(Op::Sqrt(self.id), T::sqrt)
    }

    /// `x²`.
    #[track_caller]
    pub fn square(self) -> Tensor<'t, T> {
        self.unary(Op::Square(self.id), |x| x * x)
    }

    /// `|x|` (its gradient at 0 is 0, as PyTorch's).
    #[track_caller]
    pub fn abs(self) -> Tensor<'t, T> {
        self.unary(Op::Abs(self.id), T::abs)
    }

    /// `max(x, 0)` (its gradient at 0 is 0, as PyTorch's). NaN stays NaN, as in
    /// `torch.relu`, so a NaN in the data cannot vanish silently.
    #[track_caller]
    pub fn relu(self) -> Tensor<'t, T> {
        self.unary(Op::Relu(self.id), |x| {
            if x <= T::zero() {
                T::zero()
            } else {
                x
            }
        })
    }

    /// `x` for `x > 0`, else `slope · x` (as `F.leaky_relu(x, slope)`).
    #[track_caller]
    pub fn leaky_relu(self, slope: f64) -> Tensor<'t, T> {
        let s = T::of(slope);
        self.unary(Op::LeakyRelu(self.id, slope), move |x| {
            if x > T::zero() {
                x
            } else {
                s * x
            }
        })
    }

    /// The logistic sigmoid `1 / (1 + e^-x)`, computed without overflow.
    #[track_caller]
    pub fn sigmoid(self) -> Tensor<'t, T> {
        self.unary_costly(Op::Sigmoid(self.id), T::sigmoid)
    }

    /// The hyperbolic tangent.
    #[track_caller]
    pub fn tanh(self) -> Tensor<'t, T> {
        self.unary_costly(Op::Tanh(self.id), T::tanh_fast)
    }

    /// Applies an activation: one op (`Identity` records nothing).
    ///
    /// ```
    /// use tapegrad_core::{Activation, Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::from_vec(vec![-2.0, 3.0], [2])?);
    /// assert_eq!(x.activate(Activation::Relu)?.to_array().data(), &[0.0, 3.0]);
    /// assert_eq!(x.activate(Activation::LeakyRelu(0.5))?.to_array().data(), &[-1.0, 3.0]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::AxisOutOfRange`](crate::Error::AxisOutOfRange) for a softmax axis the tensor
    /// does not have; the others cannot fail.
    #[track_caller]
    pub fn activate(self, act: Activation) -> Result<Tensor<'t, T>> {
        Ok(match act {
            Activation::Identity => self,
            Activation::Relu => self.relu(),
            Activation::LeakyRelu(slope) => self.leaky_relu(slope),
            Activation::Sigmoid => self.sigmoid(),
            Activation::Tanh => self.tanh(),
            Activation::Softmax(axis) => return self.softmax(axis),
            Activation::Gelu => self.gelu(),
            Activation::GeluTanh => self.gelu_tanh(),
            Activation::Silu => self.silu(),
            Activation::Elu(alpha) => self.elu(alpha),
            Activation::Softplus { beta, threshold } => self.softplus_with(beta, threshold),
        })
    }
}
