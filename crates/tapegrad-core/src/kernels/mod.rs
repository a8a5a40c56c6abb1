//! Numeric kernels on [`Array`](crate::Array)s: where speed is made. They assume shapes that
//! the ops already checked at forward time (and do not check them again).
//!
//! The ones here are safe code on arrays and shapes (broadcasting, reductions, softmax,
//! layout); the GEMM, the thread and buffer pools, SIMD dispatch and the batch gather (all
//! the `unsafe` code) live in the `tapegrad-kernels` crate, reached through the same paths
//! (`kernels::pool`, `kernels::simd`, `kernels::gemm`, ...).

mod broadcast;
mod conv;
mod gather;
mod layout;
mod pooling;
mod reduce;
mod select;
mod softmax;

pub(crate) use tapegrad_kernels::{gemm, pool, simd, MatRef};
pub use tapegrad_kernels::{
    kernel_path, num_threads, parallel_for_each, parallel_parts, parallel_threshold,
    set_kernel_path, set_num_threads, set_parallel_threshold, vectorized, KernelPath,
    UnknownKernelPath, MAX_THREADS,
};

/// The pool's run splitting, as `kernels::parallel::for_each_run`.
pub(crate) mod parallel {
    pub(crate) use tapegrad_kernels::for_each_run;
}

pub(crate) use broadcast::{binary, sum_to_shape};
pub(crate) use conv::{conv2d, conv2d_input_grad, conv2d_weight_grad};
pub(crate) use gather::{gather, pad_axis, scatter_add};
pub(crate) use layout::{concat, gather_rows, permute, scatter_add_rows, slice_axis};
pub(crate) use pooling::{
    avg_pool2d, avg_pool2d_backward, max_pool2d, max_pool2d_argmax, max_pool2d_backward, Pool2d,
};
pub(crate) use reduce::{broadcast_back, max_axis, max_backward, sum_axis};
pub(crate) use select::{
    lane_means, logsumexp, logsumexp_backward, min_axis, pair_share, std_backward, var_axis,
    var_backward, where_cond,
};
pub(crate) use softmax::{log_softmax, log_softmax_backward, softmax, softmax_backward};
