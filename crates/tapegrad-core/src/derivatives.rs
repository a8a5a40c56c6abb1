//! The derivatives of the smooth elementwise ops, each written once as the chain-rule product
//! `g · f′`, generic over [`Calc`]: the values it reads are scalars when `backward`'s array
//! path evaluates it inside one fused loop over the elements (`map2(&g, y, tanh)`), and
//! tensors when `grad` records it on the tape (so it can be differentiated again).
//!
//! | op | forward `y = f(x)` | `g · f′`, from `x` or from `y` |
//! |---|---|---|
//! | exp | `e^x` | `g · y` |
//! | log | `ln x` | `g / x` |
//! | sqrt | `√x` | `g / (2y)` |
//! | square | `x²` | `g · 2x` |
//! | powf(p) | `x^p` | `g·p · x^(p-1)` (0 for p = 0) |
//! | sigmoid | `1 / (1 + e^-x)` | `g · y · (1 - y)` |
//! | tanh | `tanh x` | `g · (1 - y²)` |
//!
//! The piecewise-linear ops (relu, leaky_relu, abs, max) have derivatives that are masks
//! (constants on the tape: second derivative 0), written in each path's rule; the structural
//! rules (broadcasting, matmul, reductions, layout, softmax, the fused losses, `linear`) have
//! an array form in `backward.rs` on fused kernels and a tensor form in `grad.rs`, kept equal
//! by the property tests of `tests/grad_of_grad.rs`.

use crate::element::Element;
use crate::tape::Tensor;

/// The arithmetic a derivative formula needs: implemented by every [`Element`] (one element
/// at a time) and by [`Tensor`] (recorded, elementwise on operands of one shape).
pub(crate) trait Calc: Copy {
    /// `self · o`.
    fn mul(self, o: Self) -> Self;
    /// `self / o`.
    fn div(self, o: Self) -> Self;
    /// `self · c`.
    fn scale(self, c: f64) -> Self;
    /// `1 - self`.
    fn one_minus(self) -> Self;
    /// `self ^ p`.
    fn pow(self, p: f64) -> Self;
}

impl<T: Element> Calc for T {
    #[inline(always)]
    fn mul(self, o: T) -> T {
        self * o
    }
    #[inline(always)]
    fn div(self, o: T) -> T {
        self / o
    }
    #[inline(always)]
    fn scale(self, c: f64) -> T {
        self * T::of(c)
    }
    #[inline(always)]
    fn one_minus(self) -> T {
        T::one() - self
    }
    #[inline(always)]
    fn pow(self, p: f64) -> T {
        self.powf(T::of(p))
    }
}

const SAME: &str = "internal: a derivative combines tensors of one shape and one tape";

impl<T: Element> Calc for Tensor<'_, T> {
    fn mul(self, o: Self) -> Self {
        Tensor::mul(self, o).expect(SAME)
    }
    fn div(self, o: Self) -> Self {
        Tensor::div(self, o).expect(SAME)
    }
    fn scale(self, c: f64) -> Self {
        self.mul_scalar(c)
    }
    fn one_minus(self) -> Self {
        self.neg().add_scalar(1.0)
    }
    fn pow(self, p: f64) -> Self {
        self.powf(p)
    }
}

/// exp: `d e^x/dx = e^x = y`.
#[inline(always)]
pub(crate) fn exp<C: Calc>(g: C, y: C) -> C {
    g.mul(y)
}

/// log: `d ln x/dx = 1/x`.
#[inline(always)]
pub(crate) fn log<C: Calc>(g: C, x: C) -> C {
    g.div(x)
}

/// sqrt: `d √x/dx = 1/(2√x) = 1/(2y)`.
#[inline(always)]
pub(crate) fn sqrt<C: Calc>(g: C, y: C) -> C {
    g.div(y.scale(2.0))
}

/// square: `d x²/dx = 2x`.
#[inline(always)]
pub(crate) fn square<C: Calc>(g: C, x: C) -> C {
    g.mul(x.scale(2.0))
}

/// powf: `d x^p/dx = p·x^(p-1)`, for `p != 0` (for `p = 0` the rule gives 0 everywhere,
/// `x = 0` included, as PyTorch, where the formula would give `0·inf = NaN`).
#[inline(always)]
pub(crate) fn powf<C: Calc>(g: C, x: C, p: f64) -> C {
    g.scale(p).mul(x.pow(p - 1.0))
}

/// sigmoid: `d σ(x)/dx = σ(x)(1 - σ(x)) = y(1 - y)`.
#[inline(always)]
pub(crate) fn sigmoid<C: Calc>(g: C, y: C) -> C {
    g.mul(y).mul(y.one_minus())
}

/// tanh: `d tanh x/dx = 1 - tanh² x = 1 - y²`.
#[inline(always)]
pub(crate) fn tanh<C: Calc>(g: C, y: C) -> C {
    g.mul(y.mul(y).one_minus())
}
