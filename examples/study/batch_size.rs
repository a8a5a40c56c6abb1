//! `batch-size`: the reports' MLP trained with batches of 8 to 256 rows; a box plot of the
//! test accuracy next to the seconds per epoch of each batch size (each run on one thread
//! when the runs outnumber the cores).

use super::mlp::{self, Extras, MlpSpec};
use super::summary::Report;
use super::Context;
use tapegrad::Result;

/// The batch sizes compared.
pub const BATCHES: [usize; 6] = [8, 16, 32, 64, 128, 256];

/// Runs the study.
///
/// # Errors
/// As [`mlp::run_study`].
pub fn run(ctx: &Context) -> Result<Report> {
    let settings = BATCHES
        .iter()
        .map(|&batch| {
            let spec = MlpSpec {
                batch,
                ..MlpSpec::default()
            };
            (format!("batch {batch}"), spec)
        })
        .collect();
    let extras = Extras {
        validate: false,
        times: true,
    };
    Ok(mlp::run_study(ctx, "batch-size", "batch size", settings, extras)?.report)
}
