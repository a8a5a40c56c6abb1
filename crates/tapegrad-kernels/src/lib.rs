//! tapegrad-kernels: every `unsafe` line of tapegrad, behind safe functions.
//!
//! - the GEMM (`gemm/`: packing, AVX-512, AVX2 and portable micro-kernels, thread-local
//!   packing buffers) and [`gemm()`], the strided matrix product split over threads;
//! - the fork-join thread pool ([`parallel_for_each`], [`set_num_threads`]);
//! - the per-thread buffer pool ([`pool`]);
//! - runtime SIMD dispatch for our own loops ([`vectorized`], [`simd`]);
//! - which CPU path both run ([`kernel_path`], [`set_kernel_path`], `TAPEGRAD_KERNEL`);
//! - [`gather_rows`], the batch gather.
//!
//! tapegrad-core (which forbids `unsafe`) builds on these and re-exports the public ones.
//! Every `unsafe` block here carries a `// SAFETY:` argument (enforced by clippy's
//! `undocumented_unsafe_blocks`), every `unsafe fn` a `# Safety` section, and the tests run
//! under Miri in CI (with small sizes under `cfg(miri)`).
//!
//! ```
//! use tapegrad_kernels::{gemm, MatRef};
//! let a = [1.0f64, 2.0, 3.0]; // a 1 x 3 row
//! let b = [4.0f64, 5.0, 6.0]; // a 3 x 1 column
//! let mut c = [0.0];
//! gemm(1, 1, 3, &mut c, false, MatRef::rows(&a, 3), MatRef::rows(&b, 1));
//! assert_eq!(c, [32.0]);
//! ```
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

mod cpu;
mod gather;
mod gemm;
mod matmul;
mod parallel;
pub mod pool;
mod scalar;
pub mod simd;

pub use cpu::{kernel_path, set_kernel_path, KernelPath, UnknownKernelPath, ENV_VAR};
pub use gather::gather_rows;
pub use matmul::{
    gemm, num_threads, parallel_threshold, set_num_threads, set_parallel_threshold, MatRef,
    MAX_THREADS,
};
pub use parallel::{for_each_run, parallel_for_each, parallel_parts};
pub use scalar::Scalar;
pub use simd::vectorized;
