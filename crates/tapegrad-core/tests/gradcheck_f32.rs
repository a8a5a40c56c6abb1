//! The gradient-check properties of `gradcheck_props.rs` (its table lists every op and the
//! shapes drawn), in f32: the same strategies (every value `|x| <= 3`, kinks and domain edges
//! kept away), 64 cases per op, at `GradcheckOptions::f32()`: eps 1e-2 (relative to
//! `max(|x|, 1)`), and `|tape - numeric| <= 1e-2 + 2e-2·|numeric|`.
//!
//! Why that bound suits f32: a central difference with step `h` has a truncation error of
//! about `h²·|f'''|/6` and a rounding error of about `u·|f|/h`, with f32's unit roundoff
//! `u ≈ 6e-8`. The step that balances them is about `u^(1/3) ≈ 4e-3`, hence eps 1e-2
//! (the steps `h <= 0.03` at `|x| <= 3` keep the kink margin of `common::KINK` = 0.1). With
//! `|f|` up to a few hundred (64 elements of `exp(3)·r`), `|f'''| <= 20`, the expected error is
//! a few 1e-4 absolute and well under 1% relative: the bound leaves a margin of 10-100x
//! for cancellations inside sums, without letting a wrong rule (an error of order
//! `|numeric|`) through.
//!
//! Measured (all f32 properties here and in `composite.rs`): the worst element used 6% of
//! this bound (`powf` with `p` near -2.5 at `x` near 0.25, where `|f'''|` is largest); the
//! f64 properties used at most 0.2% of theirs.

#[macro_use]
mod common;

gradient_properties!(f32, 64, GradcheckOptions::f32());
