//! [`Images`]: MNIST when it is asked for (`--data-dir` or `$TAPEGRAD_DATA`), else the bundled
//! 8x8 digits, split into training and test rows ([`load`]); and how figures draw them
//! ([`row_of`], [`Images::picture`], [`Images::save_grid`]).

use super::plot::{self, GridImage};
use clap::Args as ClapArgs;
use std::path::{Path, PathBuf};
use tapegrad::data::{self, mnist, train_test_split, Dataset};
use tapegrad::{Array, Result};

/// Where an image example's pictures come from: `--data-dir` (MNIST) or `--digits`, shared by
/// the examples that fall back to the bundled digits (flatten it into their flags).
#[derive(ClapArgs, Clone, Debug, Default)]
pub struct ImageSource {
    /// Folder with the four MNIST IDX files: train-images-idx3-ubyte, train-labels-idx1-ubyte,
    /// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each may be gzipped, .gz)
    /// [default: $TAPEGRAD_DATA; without either, the bundled 8x8 digits are used]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Use the bundled 8x8 digits even when MNIST is available
    #[arg(long, conflicts_with = "data_dir")]
    pub digits: bool,
}

impl ImageSource {
    /// The images, as [`load`] reads them (the digits split by `seed`).
    ///
    /// # Errors
    /// As [`load`].
    pub fn load(&self, seed: u64) -> Result<Images> {
        load(self.data_dir.as_deref(), self.digits, seed)
    }
}

/// Images with labels, split into training and test rows.
#[derive(Clone, Debug)]
pub struct Images {
    /// What the set is, for the report (`MNIST`, `digits (8x8, bundled)`).
    pub name: String,
    /// The training rows, pixels in [0, 1].
    pub train: Dataset<f32>,
    /// The test rows, pixels in [0, 1].
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

/// The data: MNIST when asked for ([`mnist_requested`]; an error if it cannot be read), else
/// the bundled digits scaled to [0, 1] and split 80/20 (stratified, by `seed`).
///
/// # Errors
/// MNIST's reading errors (a missing file names the folder and the files expected).
pub fn load(data_dir: Option<&Path>, digits: bool, seed: u64) -> Result<Images> {
    if mnist_requested(data_dir, digits) {
        let m = super::mnist_data::load(data_dir.map(Path::to_path_buf))?;
        return Ok(Images {
            name: MNIST.into(),
            train: m.train,
            test: m.test,
            width: m.image_cols,
            height: m.image_rows,
        });
    }
    let mut ds = data::digits();
    ds.x = ds.x.map(|v| v / 16.0);
    let (train, test) = train_test_split(&ds, 0.2, seed, true)?;
    Ok(Images {
        name: "digits (8x8, bundled)".into(),
        train,
        test,
        width: 8,
        height: 8,
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

    /// Prints `EXAMPLE on NAME (... training / ... test images of WxH)`, and how to use MNIST
    /// when it was not asked for (`data_dir` and `digits` as given to [`load`]).
    pub fn announce(&self, example: &str, data_dir: Option<&Path>, digits: bool) {
        println!(
            "{example} on {} ({} training / {} test images of {}x{})",
            self.name,
            self.train.len(),
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
