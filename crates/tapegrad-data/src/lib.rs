//! tapegrad-data: everything a training program needs besides the model: datasets, readers,
//! splitting, scaling, batching and metrics.
//!
//! - Datasets: [`Dataset`] (features plus one class label per row) and [`RegressionSet`]
//!   (features plus target values). The bundled [`digits()`] and [`iris()`] sets load without
//!   any file; [`mnist::load`] reads MNIST from a folder; [`synthetic`] makes seeded toy sets
//!   (XOR, two moons, spirals, linear regression).
//! - Readers: [`idx`] (the MNIST IDX format, raw or gzip), [`csv`] (numeric CSV: comma, tab or
//!   whitespace separated, headers of names or scikit-learn's counts line, raw or gzip; see
//!   [`csv::CsvOptions`]), [`npy`] (NumPy's `.npy` arrays and labels, `.npz` archives and
//!   datasets, read and written) and [`read`] (gzip with a bound on the inflated size). A broken file
//!   gives an [`Error::Io`](tapegrad_core::Error::Io) or
//!   [`Error::Format`](tapegrad_core::Error::Format) naming the file and where it is broken;
//!   no file makes a reader panic or allocate beyond a documented bound (the repository's
//!   `docs/data-formats.md`).
//! - Preparation: [`train_test_split`] (seeded, optionally stratified), [`StandardScaler`],
//!   [`MinMaxScaler`], [`one_hot`], and [`Batches`] (seeded shuffled mini-batches).
//! - Exploring: [`Pca`] (principal component analysis: fit, transform, explained variance).
//! - Judging: [`metrics`] (accuracy, confusion matrix, precision/recall/F1 report, MSE, PSNR)
//!   and [`knn`] (a k-nearest-neighbour classifier, e.g. for an autoencoder's latent space).
//!
//! Every random thing takes a seed: the same seed gives the same split, order and data.
//!
//! ```
//! use tapegrad_data::{digits, train_test_split, Batches, StandardScaler};
//! # fn main() -> tapegrad_core::Result<()> {
//! let ds = digits(); // 1,797 images of 8x8 pixels, labels 0..=9
//! let (train, test) = train_test_split(&ds, 0.2, 42, true)?;
//! assert_eq!((train.len(), test.len()), (1437, 360));
//! let scaler = StandardScaler::fit(&train.x)?; // fitted on the training rows only
//! let (x_train, x_test) = (scaler.transform(&train.x)?, scaler.transform(&test.x)?);
//! let mut batches = Batches::new(train.len(), 32, Some(7), false)?;
//! for epoch in 0..2 {
//!     for idx in batches.epoch(epoch) {
//!         let xb = x_train.select_rows(idx)?; // [<= 32, 64]
//!         let yb = train.labels_at(idx)?;
//!         assert_eq!(xb.dims()[0], yb.len());
//!     }
//! }
//! # let _ = x_test;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod batch;
pub mod csv;
mod dataset;
mod digits;
pub mod idx;
pub mod knn;
pub mod metrics;
pub mod mnist;
pub mod npy;
pub mod pca;
pub mod read;
pub mod scale;
pub mod split;
pub mod synthetic;

pub use batch::{Batches, Epoch};
pub use dataset::{Dataset, RegressionSet, Subset};
pub use digits::{digits, iris};
pub use knn::{knn_accuracy, knn_classify};
pub use metrics::{accuracy, mse, psnr, ClassMetrics, ClassificationReport, ConfusionMatrix};
pub use mnist::Mnist;
pub use pca::Pca;
pub use scale::{one_hot, MinMaxScaler, StandardScaler};
pub use split::{split_indices, train_test_split};
