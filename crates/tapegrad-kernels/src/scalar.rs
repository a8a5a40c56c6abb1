//! The element types the kernels work on: `f32` and `f64`.

use num_traits::{Float, NumAssign};
use std::fmt::Debug;
use std::iter::Sum;

/// A floating-point scalar the kernels work on: implemented for `f32` and `f64` only (the
/// trait is sealed). tapegrad-core's `Element` extends it.
///
/// The GEMM runs its SIMD micro-kernels for these two types (chosen by `TypeId`), and the
/// buffer pool keeps one free list for each.
pub trait Scalar:
    Float + NumAssign + Sum + Debug + Default + Send + Sync + 'static + sealed::Sealed
{
}

impl Scalar for f32 {}
impl Scalar for f64 {}

mod sealed {
    /// Only this crate implements [`Scalar`](super::Scalar).
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}
