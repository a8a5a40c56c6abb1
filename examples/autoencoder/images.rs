//! The images ([`Images`], shared with the other examples through `common::images`: MNIST, or
//! the bundled 8x8 digits when no MNIST is given) and [`load_images`], which reads them as the
//! autoencoder's flags say.

pub use super::common::images::{row_of, Images, MNIST};
use super::Args;
use tapegrad::Result;

/// The data as `args` asks: MNIST (`--data-dir`, `$TAPEGRAD_DATA`) unless `--digits`, else the
/// bundled digits split 80/20 by `--seed`; then `--val-fraction` of the training rows held out
/// for validation (see `common::images::load`).
///
/// # Errors
/// MNIST's reading errors (a missing file names the folder and the files expected).
pub fn load_images(args: &Args) -> Result<Images> {
    args.source.load(args.seed)
}
