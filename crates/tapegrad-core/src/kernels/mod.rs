//! Numeric kernels on [`Array`](crate::Array)s: where speed is made. They assume shapes that
//! `shape.rs` already checked (and only `debug_assert!` them).

mod broadcast;
mod gemm;
mod layout;
mod matmul;
mod parallel;
pub use parallel::{parallel_for_each, parallel_parts};
pub(crate) mod pool;
mod reduce;
pub(crate) mod simd;
mod softmax;

pub(crate) use broadcast::{binary, sum_to_shape};
pub(crate) use layout::{concat, gather_rows, permute, scatter_add_rows, slice_axis};
pub(crate) use matmul::{gemm, MatRef};
pub use matmul::{
    num_threads, parallel_threshold, set_num_threads, set_parallel_threshold, MAX_THREADS,
};
pub(crate) use reduce::{broadcast_back, max_axis, max_backward, sum_axis};
pub use simd::vectorized;
pub(crate) use softmax::{log_softmax, log_softmax_backward, softmax, softmax_backward};
