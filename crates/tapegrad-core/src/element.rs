//! The scalar types tensors hold: `f32` (for training) and `f64` (for tight gradient checks).

use num_traits::{Float, NumAssign};
use std::fmt::{Debug, Display};
use std::iter::Sum;

/// A floating-point scalar a tensor can hold. Implemented for `f32` and `f64`.
///
/// Everything a kernel needs is here: float arithmetic (`num_traits::Float`), in-place
/// operators, conversions to and from `f64` (scalars in ops are given as `f64`), and a name
/// used in error messages and saved files.
pub trait Element:
    tapegrad_kernels::Scalar
    + Float
    + NumAssign
    + Sum
    + Debug
    + Display
    + Default
    + Send
    + Sync
    + 'static
{
    /// The dtype's name as safetensors and PyTorch spell it (`"F32"`, `"F64"`).
    const DTYPE: &'static str;

    /// Converts an `f64` (rounding for `f32`).
    fn of(v: f64) -> Self;

    /// Converts to `f64` (exact for both types).
    fn as_f64(self) -> f64;

    /// `e^x` in a form the compiler can vectorize. For `f32` a polynomial with about 1 ulp of
    /// error (`+inf` above 88.72 as the library's, 0 below -87, where the library gives
    /// subnormals); for `f64` the library `exp` (gradient checks need every digit).
    fn exp_fast(self) -> Self;

    /// The logistic sigmoid `1 / (1 + e^-x)`, never overflowing; for `f32` branch-free and
    /// vectorizable through [`Element::exp_fast`].
    fn sigmoid(self) -> Self;

    /// The hyperbolic tangent; for `f32` branch-free and vectorizable (within 3 ulp, tested,
    /// ±1 beyond ±9, NaN stays NaN), for `f64` the library `tanh`.
    fn tanh_fast(self) -> Self;

    /// The error function `erf x = 2/√π ∫₀ˣ e^(-t²) dt` (musl's, through the `libm` crate:
    /// within 1 ulp).
    fn erf(self) -> Self;
}

/// `e^x` for f32 by range reduction and a degree-6 polynomial (Cephes' `expf`): plain
/// arithmetic, no branches, no calls, so loops over it vectorize.
#[inline(always)]
#[allow(clippy::excessive_precision)] // Cephes' coefficients, as published
fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer
    let xc = x.clamp(-87.0, 88.0);
    let n = (xc * LOG2E + ROUND) - ROUND;
    let r = xc - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let mut p = 1.987_569_1e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 5.000_000_1e-1;
    let y = p * r * r + r + 1.0;
    let e = y * f32::from_bits(((n as i32 + 127) << 23) as u32);
    // outside the range: +inf above (as libm), 0 below (libm's subnormals are dropped); both
    // are selects, not branches, so the loop still vectorizes. NaN stays NaN.
    let e = if x > 88.72 { f32::INFINITY } else { e };
    let e = if x < -87.0 { 0.0 } else { e };
    if x.is_nan() {
        x
    } else {
        e
    }
}

/// `tanh` for f32 as Cephes' `tanhf`: an odd polynomial for `|x| < 0.625`, else
/// `1 - 2 / (e^{2|x|} + 1)` with [`exp_f32`] (no cancellation there: `e^{2|x|} > 3.4`), the
/// sign put back. Both are computed and one selected, so loops over it vectorize.
#[inline(always)]
#[allow(clippy::excessive_precision)] // Cephes' coefficients, as published
fn tanh_f32(x: f32) -> f32 {
    let a = x.abs();
    let z = x * x;
    let mut p = -5.704_988_727_45e-3_f32;
    p = p * z + 2.063_908_879_54e-2;
    p = p * z - 5.373_971_555_31e-2;
    p = p * z + 1.333_144_220_36e-1;
    p = p * z - 3.333_328_194_22e-1;
    let small = a + a * z * p;
    // e^{2|x|} is +inf beyond 44: 2 / inf = 0, so the large form gives exactly 1
    let large = 1.0 - 2.0 / (exp_f32(a + a) + 1.0);
    let t = if a < 0.625 { small } else { large };
    // tanh is odd: |tanh x| with the sign of x (so tanh(-0) = -0)
    let t = f32::from_bits(t.to_bits() | (x.to_bits() & 0x8000_0000));
    if x.is_nan() {
        x
    } else {
        t
    }
}

/// `erf` for f32, written so that loops over it vectorize (libm's `erff` branches per
/// element and runs one at a time): the Maclaurin series `2/√π · Σ (-1)ⁿ x²ⁿ⁺¹ / (n!(2n+1))`
/// to n = 9 for `|x| < 0.75` (the first dropped term is below 1e-10), else `1 - erfc(|x|)` with
/// the Chebyshev fit of `erfc` of Numerical Recipes (`erfcc`: fractional error below 1.2e-7)
/// on [`exp_f32`]; both computed and one selected, the sign put back. Within 2.3 ulp of the
/// exact value (the test sweeps -6..6 and small arguments).
#[inline(always)]
#[allow(clippy::excessive_precision)] // the published coefficients
fn erf_f32(x: f32) -> f32 {
    let a = x.abs();
    let z = x * x;
    // the series in z = x², innermost term first: 2/√π · (-1)ⁿ / (n!(2n+1))
    let mut p = -1.636_584_469_123_492_4e-7_f32;
    p = p * z + 1.646_211_436_588_924_6e-6;
    p = p * z - 1.492_565_035_840_625_2e-5;
    p = p * z + 1.205_533_298_178_966_4e-4;
    p = p * z - 8.548_327_023_450_852e-4;
    p = p * z + 5.223_977_625_442_187e-3;
    p = p * z - 2.686_617_064_513_125e-2;
    p = p * z + 1.128_379_167_095_512_6e-1;
    p = p * z - 3.761_263_890_318_375e-1;
    p = p * z + std::f32::consts::FRAC_2_SQRT_PI;
    let small = a * p;
    let t = 1.0 / (1.0 + 0.5 * a);
    let mut q = 0.170_872_77_f32;
    q = q * t - 0.822_152_23;
    q = q * t + 1.488_515_87;
    q = q * t - 1.135_203_98;
    q = q * t + 0.278_868_07;
    q = q * t - 0.186_288_06;
    q = q * t + 0.096_784_18;
    q = q * t + 0.374_091_96;
    q = q * t + 1.000_023_68;
    q = q * t - 1.265_512_23;
    // beyond |x| = 9.4, -a² is below exp_f32's range and erfc is 0: erf is exactly 1
    let large = 1.0 - t * exp_f32(q - z);
    let e = if a < 0.75 { small } else { large };
    let e = f32::from_bits(e.to_bits() | (x.to_bits() & 0x8000_0000));
    if x.is_nan() {
        x
    } else {
        e
    }
}

impl Element for f32 {
    const DTYPE: &'static str = "F32";
    #[inline]
    fn of(v: f64) -> Self {
        v as f32
    }
    #[inline]
    fn as_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn exp_fast(self) -> Self {
        exp_f32(self)
    }
    #[inline(always)]
    fn sigmoid(self) -> Self {
        1.0 / (1.0 + exp_f32(-self))
    }
    #[inline(always)]
    fn tanh_fast(self) -> Self {
        tanh_f32(self)
    }
    #[inline(always)]
    fn erf(self) -> Self {
        erf_f32(self)
    }
}

impl Element for f64 {
    const DTYPE: &'static str = "F64";
    #[inline]
    fn of(v: f64) -> Self {
        v
    }
    #[inline]
    fn as_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn exp_fast(self) -> Self {
        self.exp()
    }
    #[inline(always)]
    fn tanh_fast(self) -> Self {
        self.tanh()
    }
    #[inline]
    fn erf(self) -> Self {
        libm::erf(self)
    }
    #[inline(always)]
    fn sigmoid(self) -> Self {
        if self >= 0.0 {
            1.0 / (1.0 + (-self).exp())
        } else {
            let e = self.exp();
            e / (1.0 + e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_f32_is_within_two_ulp_of_libm() {
        let mut x = -87.0f32;
        while x < 88.0 {
            let (fast, exact) = (exp_f32(x), (x as f64).exp());
            let rel = ((fast as f64 - exact) / exact).abs();
            assert!(rel < 2.5e-7, "exp({x}) = {fast}, exact {exact}, rel {rel}");
            x += 0.0137;
        }
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!((exp_f32(1000.0), exp_f32(-1000.0)), (f32::INFINITY, 0.0));
        assert!(exp_f32(f32::NAN).is_nan());
    }

    #[test]
    fn erf_f32_is_within_three_ulp_of_the_exact_value() {
        let ulp = |v: f32| f32::from_bits(v.abs().to_bits() + 1) - v.abs();
        let mut worst = 0.0f64;
        let mut x = -6.0f32;
        while x < 6.0 {
            for x in [x, x * 1e-3, x * 1e-6, x * 1e-30] {
                let (fast, exact) = (erf_f32(x), libm::erf(x as f64));
                let err = (fast as f64 - exact).abs() / ulp(exact as f32) as f64;
                worst = worst.max(err);
                assert!(err <= 3.0, "erf({x}) = {fast}, exact {exact}: {err} ulp");
            }
            x += 0.000_613;
        }
        assert!(worst > 0.0, "the sweep compared something");
        assert_eq!(erf_f32(0.0).to_bits(), 0.0f32.to_bits());
        assert_eq!(erf_f32(-0.0).to_bits(), (-0.0f32).to_bits());
        assert_eq!(
            (erf_f32(f32::INFINITY), erf_f32(f32::NEG_INFINITY)),
            (1.0, -1.0)
        );
        assert_eq!((erf_f32(10.0), erf_f32(-1e30)), (1.0, -1.0));
        assert!(erf_f32(f32::NAN).is_nan());
    }

    #[test]
    fn tanh_f32_is_within_three_ulp_of_the_exact_value() {
        let ulp = |v: f32| f32::from_bits(v.abs().to_bits() + 1) - v.abs();
        let mut worst = 0.0f64;
        let mut x = -12.0f32;
        while x < 12.0 {
            for x in [x, x * 1e-3, x * 1e-6] {
                let (fast, exact) = (tanh_f32(x), (x as f64).tanh());
                let err = (fast as f64 - exact).abs() / ulp(exact as f32) as f64;
                worst = worst.max(err);
                assert!(err <= 3.0, "tanh({x}) = {fast}, exact {exact}: {err} ulp");
            }
            x += 0.000_731;
        }
        assert!(worst > 0.0, "the sweep compared something");
        assert_eq!(
            (tanh_f32(0.0), tanh_f32(-0.0).to_bits()),
            (0.0, (-0.0f32).to_bits())
        );
        assert_eq!((tanh_f32(100.0), tanh_f32(-100.0)), (1.0, -1.0));
        assert_eq!(
            (tanh_f32(f32::INFINITY), tanh_f32(f32::NEG_INFINITY)),
            (1.0, -1.0)
        );
        assert!(tanh_f32(f32::NAN).is_nan());
    }

    #[test]
    fn sigmoid_f32_saturates_without_nan() {
        assert_eq!(Element::sigmoid(100.0f32), 1.0);
        assert_eq!(Element::sigmoid(-100.0f32), 0.0);
        assert!((Element::sigmoid(0.5f32) - 0.622_459_3).abs() < 1e-7);
    }
}
