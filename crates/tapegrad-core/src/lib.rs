//! tapegrad-core: arrays and kernels, the tape, tensor ops and their backward rules, and
//! gradient checking.
//!
//! Every op on a [`Tensor`] computes its value and appends a node to its [`Tape`];
//! [`Tensor::backward`] walks the tape in reverse and returns exact [`Gradients`].
//!
//! ```
//! use tapegrad_core::{Array, Tape};
//! # fn main() -> tapegrad_core::Result<()> {
//! let tape = Tape::<f64>::new();
//! let w = tape.var(Array::from_vec(vec![0.5, -0.25], [2, 1])?);
//! let x = tape.constant(Array::from_vec(vec![1.0, 2.0], [1, 2])?);
//! let loss = x.matmul(w)?.tanh().sum(); // tanh(x·w)
//! let grads = loss.backward()?;
//! // d tanh(x·w)/dw = (1 - tanh²(x·w)) · xᵀ, and x·w = 0 here
//! assert_eq!(grads.get(w).unwrap().data(), &[1.0, 2.0]);
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// `add`, `sub`, `mul`, `div`, `neg` are the checked forms of the operators, returning Result.
#![allow(clippy::should_implement_trait)]

mod array;
mod backward;
mod derivatives;
mod element;
mod error;
mod file;
mod grad;
mod gradcheck;
mod gradients;
mod kernels;
mod op;
mod ops;
mod param;
mod shape;
mod tape;

pub use array::Array;
pub use element::Element;
pub use error::{AnomalyPhase, Error, Result};
pub use file::write_file_atomic;
pub use grad::{grad, hessian, hvp, jacobian};
pub use gradcheck::{gradcheck, GradcheckOptions, GradcheckReport, InputReport};
pub use gradients::{Gradients, Trace, TraceStep};
pub use kernels::{
    kernel_path, num_threads, parallel_for_each, parallel_parts, parallel_threshold,
    set_kernel_path, set_num_threads, set_parallel_threshold, vectorized, KernelPath,
    UnknownKernelPath, MAX_THREADS,
};
pub use op::{Activation, NodeId, Op, ParamId};
pub use ops::{BatchNormOptions, Conv2dGeometry, Conv2dOptions};
pub use param::Param;
pub use shape::Shape;
pub use tape::{NoGradGuard, Tape, Tensor};

/// A seeded random generator: the same seed gives the same numbers.
pub fn rng(seed: u64) -> rand::rngs::StdRng {
    rand::SeedableRng::seed_from_u64(seed)
}
