//! [`StudyData`]: the images every run of a study shares (by reference): the training rows
//! the models learn from, the validation rows carved from the training set (`--val-fraction`,
//! 10% by default, stratified, seed 0: `common::images::carve_validation`), and the test rows,
//! touched once at the end of each run.

use super::common::images;
use super::Context;
use tapegrad::data::{train_test_split, Dataset};
use tapegrad::Result;

/// The most training images `--quick` keeps from MNIST.
pub const QUICK_MNIST_ROWS: usize = 6_000;

/// A study's data, split three ways.
pub struct StudyData {
    /// `MNIST`, `MNIST 6000 rows` (`--quick`) or `digits`: the CSV's `dataset` column.
    pub name: String,
    /// The rows the models train on (the training set less the validation rows).
    pub train: Dataset<f32>,
    /// The validation rows (from the training set).
    pub val: Dataset<f32>,
    /// The test rows.
    pub test: Dataset<f32>,
    /// Whether these are MNIST's images (not the bundled digits).
    pub mnist: bool,
}

impl StudyData {
    /// The inputs per image.
    pub fn features(&self) -> usize {
        self.train.features()
    }
}

/// Loads MNIST (when `--data-dir` or `$TAPEGRAD_DATA` names it) or the bundled digits, with
/// the validation rows split off; with `--quick` on MNIST, a stratified
/// [`QUICK_MNIST_ROWS`] of the training and validation rows together, in the same shares.
///
/// # Errors
/// MNIST's reading errors; the split's errors.
pub fn load(ctx: &Context) -> Result<StudyData> {
    let source = &ctx.args.source;
    let images = source.load(0)?;
    let mnist = images.is_mnist();
    let mut name = if mnist { "MNIST" } else { "digits" }.to_string();
    let (mut train, mut val) = (images.train, images.val);
    let rows = train.len() + val.len();
    if ctx.args.quick && mnist && rows > QUICK_MNIST_ROWS {
        let drop = 1.0 - QUICK_MNIST_ROWS as f64 / rows as f64;
        train = train_test_split(&train, drop, 0, true)?.0;
        val = train_test_split(&val, drop, 0, true)?.0;
        name = format!("MNIST {} rows", train.len() + val.len());
    }
    if ctx.progress {
        println!(
            "data: {} ({} training, {} validation (from the training set), {} test images)",
            images.name,
            train.len(),
            val.len(),
            images.test.len()
        );
        if !images::mnist_requested(source.data_dir.as_deref(), source.digits) && !source.digits {
            println!(
                "  (no MNIST given: pass --data-dir DIR or set {}=DIR to use it)",
                tapegrad::data::mnist::ENV_VAR
            );
        }
    }
    Ok(StudyData {
        name,
        train,
        val,
        test: images.test,
        mnist,
    })
}
