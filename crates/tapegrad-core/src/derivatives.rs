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
//! | sin | `sin x` | `g · cos x` |
//! | cos | `cos x` | `-g · sin x` |
//! | log1p | `ln(1 + x)` | `g / (1 + x)` |
//! | expm1 | `e^x - 1` | `g · (y + 1)` |
//! | reciprocal | `1 / x` | `-g · y²` |
//! | rsqrt | `1 / √x` | `-g · y³ / 2` |
//! | silu | `x · σ(x)` | `g · σ(x) · (1 + x · (1 - σ(x)))` |
//! | elu(α) | `x` if `x > 0`, else `α(e^x - 1)` | `g` if `x > 0`, else `g · (y + α)` (`= g·α·e^x`) |
//! | softplus(β, t) | `ln(1 + e^(βx))/β`, `x` if `βx > t` | `g · σ(βx)`, `g` if `βx > t` |
//! | erf | `erf x` | `g · 2/√π · e^(-x²)` |
//! | gelu | `x·Φ(x)`, `Φ(x) = (1 + erf(x/√2))/2` | `g · (Φ(x) + x·φ(x))`, `φ(x) = e^(-x²/2)/√(2π)` |
//! | gelu_tanh | `x(1 + t)/2`, `t = tanh(k(x + κx³))` | `g · ((1 + t)/2 + x(1 - t²)·k(1 + 3κx²)/2)` |
//!
//! elu and softplus pick their branch by a 0/1 mask of `x` ([`Calc::step`]): a constant on
//! the tape, so only the smooth branch is differentiated again (PyTorch's second derivatives:
//! `α·e^x` for elu at `x <= 0`, `β·σ(βx)(1 - σ(βx))` for softplus at `βx <= t`, else 0).
//!
//! The piecewise-linear ops (relu, leaky_relu, abs, max) have derivatives that are masks
//! (constants on the tape: second derivative 0), written in each path's rule; the structural
//! rules (broadcasting, matmul, reductions, layout, softmax, the fused losses, `linear`) have
//! an array form in `backward.rs` on fused kernels and a tensor form in `grad.rs`, kept equal
//! by the property tests of `tests/grad_of_grad.rs`.

use crate::element::Element;
use crate::tape::Tensor;
use num_traits::Float;
use std::f64::consts::{FRAC_1_SQRT_2, FRAC_2_SQRT_PI};

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
    /// `self + c`.
    fn plus(self, c: f64) -> Self;
    /// `sin self`.
    fn sin(self) -> Self;
    /// `cos self`.
    fn cos(self) -> Self;
    /// `self + o`.
    fn add(self, o: Self) -> Self;
    /// The logistic sigmoid `1 / (1 + e^-self)`.
    fn sigmoid(self) -> Self;
    /// 1 where `self > at`, else 0 (NaN gives 0); a constant on the tape (no gradient).
    fn step(self, at: f64) -> Self;
    /// `e^self`.
    fn exp(self) -> Self;
    /// `tanh self`.
    fn tanh(self) -> Self;
    /// `erf self`.
    fn erf(self) -> Self;
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
    #[inline(always)]
    fn plus(self, c: f64) -> T {
        self + T::of(c)
    }
    #[inline(always)]
    fn sin(self) -> T {
        Float::sin(self)
    }
    #[inline(always)]
    fn cos(self) -> T {
        Float::cos(self)
    }
    #[inline(always)]
    fn add(self, o: T) -> T {
        self + o
    }
    #[inline(always)]
    fn sigmoid(self) -> T {
        Element::sigmoid(self)
    }
    #[inline(always)]
    fn step(self, at: f64) -> T {
        if self > T::of(at) {
            T::one()
        } else {
            T::zero()
        }
    }
    #[inline(always)]
    fn exp(self) -> T {
        self.exp_fast()
    }
    #[inline(always)]
    fn tanh(self) -> T {
        self.tanh_fast()
    }
    #[inline(always)]
    fn erf(self) -> T {
        Element::erf(self)
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
    fn plus(self, c: f64) -> Self {
        self.add_scalar(c)
    }
    fn sin(self) -> Self {
        Tensor::sin(self)
    }
    fn cos(self) -> Self {
        Tensor::cos(self)
    }
    fn add(self, o: Self) -> Self {
        Tensor::add(self, o).expect(SAME)
    }
    fn sigmoid(self) -> Self {
        Tensor::sigmoid(self)
    }
    fn step(self, at: f64) -> Self {
        let at = T::of(at);
        let m = self
            .value_ref()
            .map(|v| if v > at { T::one() } else { T::zero() });
        self.tape.constant(m)
    }
    fn exp(self) -> Self {
        Tensor::exp(self)
    }
    fn tanh(self) -> Self {
        Tensor::tanh(self)
    }
    fn erf(self) -> Self {
        Tensor::erf(self)
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

/// sin: `d sin x/dx = cos x`.
#[inline(always)]
pub(crate) fn sin<C: Calc>(g: C, x: C) -> C {
    g.mul(x.cos())
}

/// cos: `d cos x/dx = -sin x`.
#[inline(always)]
pub(crate) fn cos<C: Calc>(g: C, x: C) -> C {
    g.mul(x.sin()).scale(-1.0)
}

/// log1p: `d ln(1 + x)/dx = 1/(1 + x)`.
#[inline(always)]
pub(crate) fn log1p<C: Calc>(g: C, x: C) -> C {
    g.div(x.plus(1.0))
}

/// expm1: `d (e^x - 1)/dx = e^x = y + 1`.
#[inline(always)]
pub(crate) fn expm1<C: Calc>(g: C, y: C) -> C {
    g.mul(y.plus(1.0))
}

/// reciprocal: `d (1/x)/dx = -1/x² = -y²`.
#[inline(always)]
pub(crate) fn reciprocal<C: Calc>(g: C, y: C) -> C {
    g.mul(y.mul(y)).scale(-1.0)
}

/// rsqrt: `d x^(-1/2)/dx = -x^(-3/2)/2 = -y³/2`.
#[inline(always)]
pub(crate) fn rsqrt<C: Calc>(g: C, y: C) -> C {
    g.mul(y.mul(y).mul(y)).scale(-0.5)
}

/// silu: `d x·σ(x)/dx = σ(x) + x·σ(x)(1 - σ(x)) = σ(x)(1 + x(1 - σ(x)))`.
#[inline(always)]
pub(crate) fn silu<C: Calc>(g: C, x: C) -> C {
    let s = x.sigmoid();
    g.mul(s.mul(x.mul(s.one_minus()).plus(1.0)))
}

/// elu: `1` for `x > 0`, else `α·e^x = y + α` (PyTorch's: the `x <= 0` branch at 0). Written
/// as `m + (1 - m)(y + α)` with the mask `m = [x > 0]`: `y + α = x + α` stays finite where
/// `m = 1`, where `α·e^x` could overflow.
#[inline(always)]
pub(crate) fn elu<C: Calc>(g: C, x: C, y: C, alpha: f64) -> C {
    let m = x.step(0.0);
    g.mul(m.add(m.one_minus().mul(y.plus(alpha))))
}

/// softplus: `σ(βx)` where `βx <= threshold`, else `1` (the op is `x` there). Written as
/// `σ + m(1 - σ)` with the mask `m = [βx > threshold]`.
#[inline(always)]
pub(crate) fn softplus<C: Calc>(g: C, x: C, beta: f64, threshold: f64) -> C {
    let bx = x.scale(beta);
    let s = bx.sigmoid();
    g.mul(s.add(bx.step(threshold).mul(s.one_minus())))
}

/// `√(2/π)`, the scale inside gelu_tanh's `tanh`.
pub(crate) const GELU_K: f64 = FRAC_2_SQRT_PI * FRAC_1_SQRT_2;

/// `0.044715`, the cubic coefficient inside gelu_tanh's `tanh`.
pub(crate) const GELU_KAPPA: f64 = 0.044715;

/// erf: `d erf x/dx = 2/√π · e^(-x²)`.
#[inline(always)]
pub(crate) fn erf<C: Calc>(g: C, x: C) -> C {
    g.mul(x.mul(x).scale(-1.0).exp()).scale(FRAC_2_SQRT_PI)
}

/// gelu: `d x·Φ(x)/dx = Φ(x) + x·φ(x)`, with `Φ(x) = (1 + erf(x/√2))/2` and
/// `φ(x) = e^(-x²/2)/√(2π)` (as PyTorch's `gelu_backward`).
#[inline(always)]
pub(crate) fn gelu<C: Calc>(g: C, x: C) -> C {
    let cdf = x.scale(FRAC_1_SQRT_2).erf().plus(1.0).scale(0.5);
    // 1/√(2π) = (2/√π)·(1/√2)/2
    let pdf = x.mul(x).scale(-0.5).exp().scale(GELU_K * 0.5);
    g.mul(cdf.add(x.mul(pdf)))
}

/// gelu_tanh: with `t = tanh(k(x + κx³))`, `y = x(1 + t)/2` and
/// `dy/dx = (1 + t)/2 + x/2 · (1 - t²) · k(1 + 3κx²)` (as PyTorch's `gelu_backward` with
/// `approximate="tanh"`).
#[inline(always)]
pub(crate) fn gelu_tanh<C: Calc>(g: C, x: C) -> C {
    let x2 = x.mul(x);
    let t = x.mul(x2.scale(GELU_KAPPA).plus(1.0)).scale(GELU_K).tanh();
    let left = t.plus(1.0).scale(0.5);
    let inner = x2.scale(3.0 * GELU_KAPPA * GELU_K).plus(GELU_K);
    let right = x.scale(0.5).mul(t.mul(t).one_minus()).mul(inner);
    g.mul(left.add(right))
}
