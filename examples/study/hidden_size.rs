//! `hidden-size`: the reports' MLP with both hidden layers 16, 32, 64 or 128 wide
//! (784-h-h-10); a box plot of the test accuracy.

use super::mlp::{self, Extras, MlpSpec};
use super::summary::Report;
use super::Context;
use tapegrad::Result;

/// The hidden widths compared.
pub const WIDTHS: [usize; 4] = [16, 32, 64, 128];

/// Runs the study.
///
/// # Errors
/// As [`mlp::run_study`].
pub fn run(ctx: &Context) -> Result<Report> {
    let settings = WIDTHS
        .iter()
        .map(|&h| {
            let spec = MlpSpec {
                hidden: vec![h, h],
                ..MlpSpec::default()
            };
            (format!("{h}-{h}"), spec)
        })
        .collect();
    Ok(mlp::run_study(
        ctx,
        "hidden-size",
        "hidden layer sizes",
        settings,
        Extras::default(),
    )?
    .report)
}
