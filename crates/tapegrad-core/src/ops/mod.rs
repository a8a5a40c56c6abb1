//! The tensor ops: methods on [`Tensor`](crate::Tensor) that compute a value with the kernels
//! and record a node on the tape. Shape rules are checked here (at forward time), with the
//! shared helpers of `shape.rs` where they apply; their backward rules are in `backward.rs`.
//!
//! Methods that can meet bad input (shapes, axes, indices) return [`Result`](crate::Result)
//! and are `#[track_caller]`, so the error names the line of your code that called them.

mod arith;
mod conv;
mod elementwise;
mod gather;
mod layout;
mod linalg;
mod loss;
mod norm;
mod pooling;
mod reduce;
mod select;
mod softmax;
mod unary;

pub use conv::{Conv2dGeometry, Conv2dOptions};
pub(crate) use linalg::{product_t, view, MatmulDims};
pub use norm::BatchNormOptions;
