//! tapegrad: a reverse-mode autograd tensor engine. Every tensor op is recorded on a tape;
//! `backward` replays it in reverse and gives exact gradients.
//!
//! This facade re-exports the engine ([`tapegrad_core`]).
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

pub use tapegrad_core::*;
