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
    Float + NumAssign + Sum + Debug + Display + Default + Send + Sync + 'static
{
    /// The dtype's name as safetensors and PyTorch spell it (`"F32"`, `"F64"`).
    const DTYPE: &'static str;

    /// Converts an `f64` (rounding for `f32`).
    fn of(v: f64) -> Self;

    /// Converts to `f64` (exact for both types).
    fn as_f64(self) -> f64;
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
}
