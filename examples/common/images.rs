//! [`Images`]: MNIST when it is asked for (`--data-dir` or `$TAPEGRAD_DATA`), else the bundled
//! 8x8 digits, split into training, validation and test rows ([`load`]); and how figures draw
//! them ([`row_of`], [`Images::picture`], [`Images::save_grid`]).
//!
//! The validation rows are carved from the training rows ([`carve_validation`]: stratified,
//! seeded, [`VAL_FRACTION`] of them unless `--val-fraction` says otherwise; 6,000 of MNIST's
//! 60,000). An example's curves, early stopping and any "best epoch" use them; the test rows
//! are touched once, at the end.

use super::plot::{self, GridImage};
use clap::Args as ClapArgs;
use std::path::{Path, PathBuf};
use tapegrad::data::{self, mnist, train_test_split, Dataset};
use tapegrad::{Array, Error, Result};

/// The share of the training rows held out for validation unless `--val-fraction` says
/// otherwise (MNIST: 6,000 of 60,000 rows, leaving 54,000 to train on).
pub const VAL_FRACTION: f64 = 0.1;

/// Where an image example's pictures come from: `--data-dir` (MNIST) or `--digits`, shared by
/// the examples that fall back to the bundled digits (flatten it into their flags).
#[derive(ClapArgs, Clone, Debug)]
pub struct ImageSource {
    /// Folder with the four MNIST IDX files: train-images-idx3-ubyte, train-labels-idx1-ubyte,
    /// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each may be gzipped, .gz)
    /// [default: $TAPEGRAD_DATA; without either, the bundled 8x8 digits are used]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Use the bundled 8x8 digits even when MNIST is available
    #[arg(long, conflicts_with = "data_dir")]
    pub digits: bool,
    /// Fraction of the training rows held out as validation data (stratified, seeded): the
    /// curves and any choice made during training use them, the test rows only the final
    /// judgement
    #[arg(long, default_value_t = VAL_FRACTION, value_name = "F")]
    pub val_fraction: f64,
}

impl Default for ImageSource {
    /// No folder, not `--digits`, [`VAL_FRACTION`] held out.
    fn default() -> Self {
        ImageSource {
            data_dir: None,
            digits: false,
            val_fraction: VAL_FRACTION,
        }
    }
}

impl ImageSource {
    /// The images, as [`load`] reads them (the splits drawn by `seed`).
    ///
    /// # Errors
    /// As [`load`].
    pub fn load(&self, seed: u64) -> Result<Images> {
        load(
            self.data_dir.as_deref(),
            self.digits,
            self.val_fraction,
            seed,
        )
    }
}

/// Images with labels, split into training, validation and test rows.
#[derive(Clone, Debug)]
pub struct Images {
    /// What the set is, for the report (`MNIST`, `digits (8x8, bundled)`).
    pub name: String,
    /// The training rows (without the validation rows), pixels in [0, 1].
    pub train: Dataset<f32>,
    /// The validation rows, carved from the training set ([`carve_validation`]), pixels in
    /// [0, 1].
    pub val: Dataset<f32>,
    /// The test rows, pixels in [0, 1]: touched once, after training.
    pub test: Dataset<f32>,
    /// Image width in pixels.
    pub width: usize,
    /// Image height in pixels.
    pub height: usize,
}

/// The name of the MNIST set in [`Images::name`].
pub const MNIST: &str = "MNIST";

/// Whether MNIST was asked for: not `digits` (the `--digits` flag), and a `data_dir`
/// (`--data-dir`) or a non-empty `$TAPEGRAD_DATA`.
pub fn mnist_requested(data_dir: Option<&Path>, digits: bool) -> bool {
    !digits
        && (data_dir.is_some() || std::env::var_os(mnist::ENV_VAR).is_some_and(|v| !v.is_empty()))
}

/// Splits `train` into (training, validation) rows: `val_fraction` of them (rounded up) for
/// validation, every class in the same proportion, drawn by `seed`. The validation rows are
/// rows of `train` and of no other set, so a test set stays untouched.
///
/// # Errors
/// [`Error::InvalidArgument`] naming `--val-fraction` when it is not strictly between 0 and 1
/// or leaves a part empty.
pub fn carve_validation(
    train: &Dataset<f32>,
    val_fraction: f64,
    seed: u64,
) -> Result<(Dataset<f32>, Dataset<f32>)> {
    if !(val_fraction > 0.0 && val_fraction < 1.0) {
        return Err(Error::invalid(
            "validation split",
            format!("--val-fraction must be strictly between 0 and 1, got {val_fraction}"),
        ));
    }
    train_test_split(train, val_fraction, seed, true).map_err(|e| {
        Error::invalid(
            "validation split",
            format!(
                "--val-fraction {val_fraction} of {} training rows: {e}",
                train.len()
            ),
        )
    })
}

/// The data: MNIST when asked for ([`mnist_requested`]; an error if it cannot be read), else
/// the bundled digits scaled to [0, 1] and split 80/20 into training and test rows
/// (stratified, by `seed`); then `val_fraction` of the training rows are carved out for
/// validation ([`carve_validation`], by `seed`).
///
/// # Errors
/// MNIST's reading errors (a missing file names the folder and the files expected); a bad
/// `val_fraction`, as [`carve_validation`].
pub fn load(data_dir: Option<&Path>, digits: bool, val_fraction: f64, seed: u64) -> Result<Images> {
    let (name, train, test, width, height) = if mnist_requested(data_dir, digits) {
        let m = super::mnist_data::load(data_dir.map(Path::to_path_buf))?;
        (MNIST.into(), m.train, m.test, m.image_cols, m.image_rows)
    } else {
        let mut ds = data::digits();
        ds.x = ds.x.map(|v| v / 16.0);
        let (train, test) = train_test_split(&ds, 0.2, seed, true)?;
        ("digits (8x8, bundled)".to_string(), train, test, 8, 8)
    };
    let (train, val) = carve_validation(&train, val_fraction, seed)?;
    Ok(Images {
        name,
        train,
        val,
        test,
        width,
        height,
    })
}

/// The pixels of row `i` of `x` (every axis after the first flattened).
pub fn row_of(x: &Array<f32>, i: usize) -> Vec<f32> {
    let d = x.numel() / x.dims()[0].max(1);
    x.data()[i * d..(i + 1) * d].to_vec()
}

impl Images {
    /// Whether these are MNIST's images (not the bundled digits).
    pub fn is_mnist(&self) -> bool {
        self.name == MNIST
    }

    /// Prints `EXAMPLE on NAME (... training / ... validation / ... test images of WxH)`, and
    /// how to use MNIST when it was not asked for (`data_dir` and `digits` as given to
    /// [`load`]).
    pub fn announce(&self, example: &str, data_dir: Option<&Path>, digits: bool) {
        println!(
            "{example} on {} ({} training / {} validation / {} test images of {}x{})",
            self.name,
            self.train.len(),
            self.val.len(),
            self.test.len(),
            self.width,
            self.height
        );
        if !mnist_requested(data_dir, digits) && !digits {
            println!(
                "  (no MNIST given: pass --data-dir DIR or set {}=DIR to use it)",
                mnist::ENV_VAR
            );
        }
    }

    /// Row `i` of `x` (pixels in [0, 1]) as a captioned image of a figure.
    pub fn picture(&self, x: &Array<f32>, i: usize, caption: impl Into<String>) -> GridImage {
        GridImage::new(row_of(x, i), self.width, self.height, caption).range(0.0, 1.0)
    }

    /// Writes `grid`, `cols` images a row, to `out/name` as a PNG figure titled `title`, at
    /// about 84 pixels an image side; returns its path.
    ///
    /// # Errors
    /// An I/O error naming the file.
    pub fn save_grid(
        &self,
        out: &Path,
        name: &str,
        title: &str,
        grid: &[GridImage],
        cols: usize,
    ) -> Result<PathBuf> {
        let scale = (84 / self.width.max(self.height).max(1)).max(1) as u32;
        plot::image_grid(&out.join(name), title, grid, cols, scale)
    }
}
