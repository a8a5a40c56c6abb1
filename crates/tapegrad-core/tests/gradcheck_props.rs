//! Gradient-check properties of every op in f64: random shapes (ranks 0-3 where the op allows
//! them, size-1 axes and broadcasting), random values, 256 cases per op, each compared with
//! central differences by the public `gradcheck` (a non-scalar output is reduced with
//! `sum(y · r)`, `r` random per case) at `GradcheckOptions::f64()`: eps 1e-6,
//! `|tape - numeric| <= 1e-6 + 1e-4·|numeric|`.
//!
//! Kinks (relu, leaky_relu, abs at 0; max ties) are kept out by the strategies (values at
//! least `KINK` from 0, pairwise distinct values for max), and domain-limited ops (log, sqrt,
//! powf, div) get inputs inside their domain: see `common/mod.rs`.

#[macro_use]
mod common;

gradient_properties!(f64, 256, GradcheckOptions::f64());
