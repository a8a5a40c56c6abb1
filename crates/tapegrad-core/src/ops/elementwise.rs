//! The second wave of elementwise functions of one tensor (trigonometry, `log1p`/`expm1`,
//! reciprocals, erf, the smooth activations silu, elu, softplus, gelu), each with PyTorch's meaning
//! and PyTorch's derivative at every point (at a branch point, the branch PyTorch takes). None
//! can fail: outside a function's domain IEEE arithmetic decides (`log1p(-2)` is NaN,
//! `reciprocal(0)` is `+inf`), as in PyTorch.

use crate::derivatives::{GELU_K, GELU_KAPPA};
use crate::element::Element;
use crate::op::Op;
use crate::tape::Tensor;
use std::ops;

impl<'t, T: Element> Tensor<'t, T> {
    /// `sin x` elementwise (as `torch.sin`).
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::scalar(std::f64::consts::FRAC_PI_2));
    /// let y = x.sin();
    /// assert_eq!(y.item()?, 1.0);
    /// let grads = y.backward()?; // d sin x/dx = cos x, 0 at π/2
    /// assert!(grads.get(x).unwrap().data()[0].abs() < 1e-15);
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn sin(self) -> Tensor<'t, T> {
        self.unary_costly(Op::Sin(self.id), T::sin)
    }

    /// `cos x` elementwise (as `torch.cos`).
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::scalar(0.0));
    /// let y = x.cos();
    /// assert_eq!(y.item()?, 1.0);
    /// assert_eq!(y.backward()?.get(x).unwrap().data(), &[0.0]); // -sin 0
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn cos(self) -> Tensor<'t, T> {
        self.unary_costly(Op::Cos(self.id), T::cos)
    }

    /// `ln(1 + x)` elementwise (as `torch.log1p`), accurate where `x` is tiny and `1 + x`
    /// would round to 1. `-inf` at `x = -1`, NaN below.
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::from_vec(vec![1e-20, 1.0], [2])?);
    /// let y = x.log1p();
    /// assert_eq!(y.to_array().data(), &[1e-20, std::f64::consts::LN_2]);
    /// // d ln(1 + x)/dx = 1/(1 + x)
    /// assert_eq!(y.sum().backward()?.get(x).unwrap().data(), &[1.0, 0.5]);
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn log1p(self) -> Tensor<'t, T> {
        self.unary_costly(Op::Log1p(self.id), T::ln_1p)
    }

    /// `e^x - 1` elementwise (as `torch.expm1`), accurate where `x` is tiny.
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::from_vec(vec![1e-20, 0.0], [2])?);
    /// let y = x.expm1();
    /// assert_eq!(y.to_array().data(), &[1e-20, 0.0]);
    /// // d (e^x - 1)/dx = e^x
    /// assert_eq!(y.sum().backward()?.get(x).unwrap().data(), &[1.0, 1.0]);
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn expm1(self) -> Tensor<'t, T> {
        self.unary_costly(Op::Expm1(self.id), T::exp_m1)
    }

    /// `1 / x` elementwise (as `torch.reciprocal`); `±inf` at `±0`. A scalar divided by a
    /// tensor, `c / x`, is `reciprocal(x) · c`.
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::from_vec(vec![2.0, -0.5], [2])?);
    /// let y = x.reciprocal();
    /// assert_eq!(y.to_array().data(), &[0.5, -2.0]);
    /// // d (1/x)/dx = -1/x²
    /// assert_eq!(y.sum().backward()?.get(x).unwrap().data(), &[-0.25, -4.0]);
    /// // scalars on either side of an operator
    /// let z = 1.0 / x + 2.0 * x - (1.0 - x) * 3.0;
    /// assert_eq!(z.to_array().data(), &[7.5, -7.5]);
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn reciprocal(self) -> Tensor<'t, T> {
        self.unary(Op::Reciprocal(self.id), |x| T::one() / x)
    }

    /// `1 / √x` elementwise (as `torch.rsqrt`); `+inf` at 0, NaN for negative numbers.
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::from_vec(vec![4.0, 0.25], [2])?);
    /// let y = x.rsqrt();
    /// assert_eq!(y.to_array().data(), &[0.5, 2.0]);
    /// // d x^(-1/2)/dx = -x^(-3/2)/2
    /// assert_eq!(y.sum().backward()?.get(x).unwrap().data(), &[-0.0625, -4.0]);
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn rsqrt(self) -> Tensor<'t, T> {
        self.unary_costly(Op::Rsqrt(self.id), |x| T::one() / x.sqrt())
    }

    /// SiLU (swish), `x · σ(x)` elementwise (as `F.silu`).
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::from_vec(vec![0.0, 1.0], [2])?);
    /// let y = x.silu();
    /// assert_eq!(y.to_array().data(), &[0.0, 0.7310585786300049]); // 1·σ(1)
    /// // d x·σ(x)/dx = σ(x)(1 + x(1 - σ(x))): 1/2 at 0
    /// assert_eq!(y.sum().backward()?.get(x).unwrap().data()[0], 0.5);
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn silu(self) -> Tensor<'t, T> {
        self.unary_costly(Op::Silu(self.id), |x| x * x.sigmoid())
    }

    /// ELU: `x` for `x > 0`, else `alpha · (e^x - 1)` elementwise (as `F.elu(x, alpha)`;
    /// PyTorch's default `alpha` is 1). The gradient is 1 for `x > 0`, else `alpha · e^x`
    /// (at 0 too, as PyTorch).
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::from_vec(vec![-1.0, 0.0, 2.0], [3])?);
    /// let y = x.elu(1.0);
    /// assert_eq!(y.to_array().data(), &[-0.6321205588285577, 0.0, 2.0]); // e^-1 - 1
    /// // 1·e^x for x <= 0, 1 above
    /// assert_eq!(
    ///     y.sum().backward()?.get(x).unwrap().data(),
    ///     &[0.36787944117144233, 1.0, 1.0]
    /// );
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn elu(self, alpha: f64) -> Tensor<'t, T> {
        let a = T::of(alpha);
        self.unary_costly(Op::Elu(self.id, alpha), move |x| {
            if x > T::zero() {
                x
            } else {
                a * x.exp_m1()
            }
        })
    }

    /// Softplus with PyTorch's defaults, `ln(1 + e^x)` (`beta` 1), and `x` itself where
    /// `x > 20` (`threshold` 20): [`Tensor::softplus_with`]`(1.0, 20.0)`, as `F.softplus(x)`.
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::scalar(1.0));
    /// let y = x.softplus();
    /// assert_eq!(y.item()?, 1.3132616875182228); // ln(1 + e)
    /// // d softplus/dx = σ(x)
    /// assert_eq!(y.backward()?.get(x).unwrap().data(), &[0.7310585786300049]);
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn softplus(self) -> Tensor<'t, T> {
        self.softplus_with(1.0, 20.0)
    }

    /// Softplus `ln(1 + e^(beta·x)) / beta` elementwise, and `x` itself where
    /// `beta·x > threshold` (as `F.softplus(x, beta, threshold)`, whose defaults are 1 and
    /// 20: [`Tensor::softplus`]). Computed without overflow (as
    /// `(max(z, 0) + ln(1 + e^-|z|)) / beta`, `z = beta·x`). The gradient is `σ(beta·x)`,
    /// and 1 where `beta·x > threshold`. `beta = 0` gives what IEEE gives (inf or NaN).
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::from_vec(vec![0.0, 1.0], [2])?);
    /// let y = x.softplus_with(2.0, 1.0); // 2·1 > 1: the identity there
    /// assert_eq!(y.to_array().data(), &[std::f64::consts::LN_2 / 2.0, 1.0]);
    /// // σ(2·0) = 1/2, then 1 above the threshold
    /// assert_eq!(y.sum().backward()?.get(x).unwrap().data(), &[0.5, 1.0]);
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn softplus_with(self, beta: f64, threshold: f64) -> Tensor<'t, T> {
        let (b, t) = (T::of(beta), T::of(threshold));
        let op = Op::Softplus {
            x: self.id,
            beta,
            threshold,
        };
        self.unary_costly(op, move |x| {
            let z = b * x;
            if z > t {
                x
            } else {
                (z.max(T::zero()) + (-z.abs()).exp_fast().ln_1p()) / b
            }
        })
    }

    /// The error function `erf x = 2/√π ∫₀ˣ e^(-t²) dt` elementwise (as `torch.erf`).
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::scalar(0.0));
    /// let y = x.erf();
    /// assert_eq!(y.item()?, 0.0);
    /// // d erf x/dx = 2/√π · e^(-x²)
    /// assert_eq!(y.backward()?.get(x).unwrap().data(), &[std::f64::consts::FRAC_2_SQRT_PI]);
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn erf(self) -> Tensor<'t, T> {
        self.unary_costly(Op::Erf(self.id), T::erf)
    }

    /// GELU, exact: `x · Φ(x)` elementwise, `Φ(x) = (1 + erf(x/√2))/2` the standard normal
    /// CDF (as `F.gelu(x)`); its gradient is `Φ(x) + x·φ(x)`. [`Tensor::gelu_tanh`] is the
    /// tanh approximation.
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::scalar(1.0));
    /// let y = x.gelu();
    /// assert!((y.item()? - 0.8413447460685429).abs() < 1e-15); // Φ(1)
    /// let dy = y.backward()?.get(x).unwrap().data()[0]; // Φ(1) + φ(1)
    /// assert!((dy - 1.0833154705876864).abs() < 1e-15);
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn gelu(self) -> Tensor<'t, T> {
        let (half, r) = (T::of(0.5), T::of(std::f64::consts::FRAC_1_SQRT_2));
        self.unary_costly(Op::Gelu(self.id), move |x| {
            x * half * (T::one() + (x * r).erf())
        })
    }

    /// GELU, tanh approximation: `x/2 · (1 + tanh(√(2/π)·(x + 0.044715·x³)))` elementwise
    /// (as `F.gelu(x, approximate="tanh")`), with that formula's exact derivative.
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::scalar(1.0));
    /// let y = x.gelu_tanh();
    /// assert!((y.item()? - 0.8411919906082768).abs() < 1e-15);
    /// let dy = y.backward()?.get(x).unwrap().data()[0];
    /// assert!((dy - 1.0829640838457826).abs() < 1e-15);
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn gelu_tanh(self) -> Tensor<'t, T> {
        let (half, k, kappa) = (T::of(0.5), T::of(GELU_K), T::of(GELU_KAPPA));
        self.unary_costly(Op::GeluTanh(self.id), move |x| {
            let inner = k * (x + kappa * x * x * x);
            half * x * (T::one() + inner.tanh_fast())
        })
    }
}

/// The operators with a scalar on the left, for `f32` and `f64` tensors (with a scalar on the
/// right they are generic, in `arith.rs`): `c + x`, `c - x = -x + c`, `c * x`,
/// `c / x = reciprocal(x) · c`, each recorded with its gradient.
macro_rules! scalar_on_the_left {
    ($t:ty) => {
        impl<'t> ops::Add<Tensor<'t, $t>> for $t {
            type Output = Tensor<'t, $t>;
            /// `c + x`, as [`Tensor::add_scalar`].
            fn add(self, x: Tensor<'t, $t>) -> Tensor<'t, $t> {
                x.add_scalar(self.as_f64())
            }
        }

        impl<'t> ops::Sub<Tensor<'t, $t>> for $t {
            type Output = Tensor<'t, $t>;
            /// `c - x`, recorded as `-x + c`.
            fn sub(self, x: Tensor<'t, $t>) -> Tensor<'t, $t> {
                x.neg().add_scalar(self.as_f64())
            }
        }

        impl<'t> ops::Mul<Tensor<'t, $t>> for $t {
            type Output = Tensor<'t, $t>;
            /// `c * x`, as [`Tensor::mul_scalar`].
            fn mul(self, x: Tensor<'t, $t>) -> Tensor<'t, $t> {
                x.mul_scalar(self.as_f64())
            }
        }

        impl<'t> ops::Div<Tensor<'t, $t>> for $t {
            type Output = Tensor<'t, $t>;
            /// `c / x`, recorded as `reciprocal(x) · c`.
            fn div(self, x: Tensor<'t, $t>) -> Tensor<'t, $t> {
                x.reciprocal().mul_scalar(self.as_f64())
            }
        }
    };
}

scalar_on_the_left!(f32);
scalar_on_the_left!(f64);
