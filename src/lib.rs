//! tapegrad: a reverse-mode autograd tensor engine. Every tensor op is recorded on a tape;
//! `backward` replays it in reverse and gives exact gradients.
//!
//! This facade re-exports the engine ([`tapegrad_core`]) at the top level, the layers and
//! optimizers as [`nn`], and datasets and metrics as [`data`].
//!
//! The rest of this page is the project's README.
//!
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub use tapegrad_core::*;
pub use tapegrad_data as data;
pub use tapegrad_nn as nn;

pub mod train;

/// The code blocks of `docs/tutorial.md`, compiled and run as doctests by `cargo test`
/// (this item exists only while rustdoc collects doctests).
#[cfg(doctest)]
#[doc = include_str!("../docs/tutorial.md")]
pub struct TutorialDoctests;
