//! The images: [`Images`] (MNIST, or the bundled 8x8 digits when no MNIST is given, split into
//! training and test rows), [`load_images`], [`Images::announce`], and how every figure draws
//! them ([`row_of`], [`Images::picture`], [`Images::save_grid`]).

use super::common::{self, plot, plot::GridImage};
use super::Args;
use std::path::{Path, PathBuf};
use tapegrad::data::{self, mnist, train_test_split, Dataset};
use tapegrad::{Array, Result};

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

/// Whether MNIST was asked for: `--data-dir` or a non-empty `$TAPEGRAD_DATA`.
pub fn mnist_requested(args: &Args) -> bool {
    !args.digits
        && (args.data_dir.is_some()
            || std::env::var_os(mnist::ENV_VAR).is_some_and(|v| !v.is_empty()))
}

/// The data: MNIST when asked for (an error if it cannot be read), else the bundled digits
/// scaled to [0, 1] and split 80/20 (stratified, seeded).
///
/// # Errors
/// MNIST's reading errors (a missing file names the folder and the files expected).
pub fn load_images(args: &Args) -> Result<Images> {
    if mnist_requested(args) {
        let m = common::mnist_data::load(args.data_dir.clone())?;
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
    let (train, test) = train_test_split(&ds, 0.2, args.seed, true)?;
    Ok(Images {
        name: "digits (8x8, bundled)".into(),
        train,
        test,
        width: 8,
        height: 8,
    })
}

/// The pixels of row `i` of `x`.
pub fn row_of(x: &Array<f32>, i: usize) -> Vec<f32> {
    let d = x.dims()[1];
    x.data()[i * d..(i + 1) * d].to_vec()
}

impl Images {
    /// Prints what the set is, and how to use MNIST when it was not asked for.
    pub fn announce(&self, args: &Args) {
        println!(
            "autoencoder on {} ({} training / {} test images of {}x{})",
            self.name,
            self.train.len(),
            self.test.len(),
            self.width,
            self.height
        );
        if !mnist_requested(args) && !args.digits {
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
