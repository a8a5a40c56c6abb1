//! MNIST from a folder of IDX files (not shipped with tapegrad: 11 MB compressed).
//!
//! [`load`] reads the four files from a folder (or its `mnist/` subfolder), each under any of
//! the usual names: `train-images-idx3-ubyte` or `train-images.idx3-ubyte`, either optionally
//! gzipped with a `.gz` suffix; likewise `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`
//! and `t10k-labels-idx1-ubyte`. [`data_dir`] finds the folder the way the examples do: an
//! explicit path (their `--data-dir`), else the `TAPEGRAD_DATA` environment variable.
//! Fashion-MNIST ships in the same format and loads the same way.
//!
//! A gzip file is inflated only as far as its IDX header promises, and at most 1 GiB
//! ([`read::DEFAULT_LIMIT`]): a corrupt or hostile `.gz` gives a
//! one-line [`Error::Format`] naming the file, never a gigabyte allocation.
//!
//! ```no_run
//! # fn main() -> tapegrad_core::Result<()> {
//! let dir = tapegrad_data::mnist::data_dir(None)?; // $TAPEGRAD_DATA
//! let mnist = tapegrad_data::mnist::load(&dir)?;
//! assert_eq!(mnist.train.x.dims(), &[60000, 784]); // pixels scaled to [0, 1]
//! assert_eq!(mnist.test.len(), 10000);
//! # Ok(()) }
//! ```

use crate::dataset::Dataset;
use crate::idx::{parse_header, read_content, Header, IdxType};
use crate::read::{self, View};
use std::path::{Path, PathBuf};
use tapegrad_core::{Array, Error, Result};

/// The environment variable naming the data folder when no path is given.
pub const ENV_VAR: &str = "TAPEGRAD_DATA";

/// The number of classes (digits 0 to 9).
pub const CLASSES: usize = 10;

/// The four MNIST files by their canonical names (the alternatives put a `.` before `idx`,
/// and any of them may end in `.gz`).
pub const FILE_NAMES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// MNIST: 60,000 training and 10,000 test images of handwritten digits.
#[derive(Clone, Debug)]
pub struct Mnist {
    /// The training set: `x` `[60000, 784]` with pixels scaled to `[0, 1]`, labels 0..=9.
    pub train: Dataset<f32>,
    /// The test set: `x` `[10000, 784]`, labels 0..=9.
    pub test: Dataset<f32>,
    /// Image height in pixels (28); the rows of `x` are images flattened row by row.
    pub image_rows: usize,
    /// Image width in pixels (28).
    pub image_cols: usize,
}

/// The paths of the four files found in a folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MnistFiles {
    /// The training images (`train-images-idx3-ubyte` or an alternative name).
    pub train_images: PathBuf,
    /// The training labels.
    pub train_labels: PathBuf,
    /// The test images.
    pub test_images: PathBuf,
    /// The test labels.
    pub test_labels: PathBuf,
}

/// The data folder: `explicit` when given (e.g. from `--data-dir`), else the value of the
/// `TAPEGRAD_DATA` environment variable.
///
/// # Errors
/// [`Error::InvalidArgument`] when neither is set; the message says how to set them and which
/// files the folder must hold.
#[track_caller]
pub fn data_dir(explicit: Option<PathBuf>) -> Result<PathBuf> {
    resolve_dir(explicit, std::env::var_os(ENV_VAR).map(PathBuf::from))
}

#[track_caller]
fn resolve_dir(explicit: Option<PathBuf>, env: Option<PathBuf>) -> Result<PathBuf> {
    match explicit.or(env).filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => Ok(dir),
        None => Err(Error::invalid(
            "mnist",
            format!(
                "no MNIST folder given: pass --data-dir DIR or set {ENV_VAR}=DIR, where DIR \
                 (or DIR/mnist) holds {}",
                expected_list()
            ),
        )),
    }
}

fn expected_list() -> String {
    format!(
        "{} (a '.' before 'idx' is also accepted, e.g. train-images.idx3-ubyte, and each file \
         may be gzipped with a .gz suffix)",
        FILE_NAMES.join(", ")
    )
}

/// The names a canonical file name may appear under, in the order they are tried.
fn candidates(canonical: &str) -> [String; 4] {
    let dotted = canonical.replacen("-idx", ".idx", 1);
    [
        canonical.to_string(),
        dotted.clone(),
        format!("{canonical}.gz"),
        format!("{dotted}.gz"),
    ]
}

/// Finds the four files in `dir`, or else in `dir/mnist`.
///
/// # Errors
/// [`Error::Io`] (kind `NotFound`) naming the folder when a file is missing; the message lists
/// the expected names, the folders searched, and which files are missing.
pub fn find_files(dir: impl AsRef<Path>) -> Result<MnistFiles> {
    let dir = dir.as_ref();
    let find_in = |d: &Path| -> Vec<Option<PathBuf>> {
        FILE_NAMES
            .iter()
            .map(|name| {
                candidates(name)
                    .into_iter()
                    .map(|c| d.join(c))
                    .find(|p| p.is_file())
            })
            .collect()
    };
    let mut found = find_in(dir);
    if found.iter().any(Option::is_none) {
        let sub = find_in(&dir.join("mnist"));
        if sub.iter().all(Option::is_some) {
            found = sub;
        }
    }
    if let [Some(a), Some(b), Some(c), Some(d)] = &found[..] {
        return Ok(MnistFiles {
            train_images: a.clone(),
            train_labels: b.clone(),
            test_images: c.clone(),
            test_labels: d.clone(),
        });
    }
    let missing: Vec<&str> = FILE_NAMES
        .iter()
        .zip(&found)
        .filter(|(_, f)| f.is_none())
        .map(|(n, _)| *n)
        .collect();
    let state = if dir.is_dir() {
        format!("missing {}", missing.join(", "))
    } else {
        "the folder does not exist".to_string()
    };
    Err(Error::Io {
        path: dir.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "MNIST files not found ({state}). Expected in {} or {}: {}",
                dir.display(),
                dir.join("mnist").display(),
                expected_list()
            ),
        ),
    })
}

/// Loads MNIST from `dir` (or `dir/mnist`): images as `f32` scaled to `[0, 1]` and flattened
/// to `[N, rows * cols]`, labels 0..=9. Train and test are read in parallel.
///
/// # Errors
/// [`Error::Io`] when a file is missing (see [`find_files`]) or unreadable; [`Error::Format`]
/// naming the file and byte offset when a file is broken: bad IDX content (see
/// [`crate::idx::decode_idx`]), not `u8` data, images that are not 3-D or labels that are not
/// 1-D, a label above 9, image and label counts that differ, or train and test image sizes
/// that differ.
pub fn load(dir: impl AsRef<Path>) -> Result<Mnist> {
    let files = find_files(dir)?;
    load_files(&files)
}

/// Loads MNIST from the folder named by `explicit` or else `TAPEGRAD_DATA`: [`data_dir`] then
/// [`load`].
///
/// # Errors
/// As [`data_dir`] and [`load`].
#[track_caller]
pub fn load_from(explicit: Option<PathBuf>) -> Result<Mnist> {
    let dir = data_dir(explicit)?;
    load(dir)
}

/// Loads MNIST from four given files (any names, raw or gzip).
///
/// # Errors
/// As [`load`].
pub fn load_files(files: &MnistFiles) -> Result<Mnist> {
    let (train, test) = std::thread::scope(|s| {
        let test = s.spawn(|| load_split(&files.test_images, &files.test_labels));
        let train = load_split(&files.train_images, &files.train_labels);
        let test = test
            .join()
            .expect("internal: the MNIST reader thread panicked");
        (train, test)
    });
    let (train, (rows, cols), _) = train?;
    let (test, test_dims, test_gz) = test?;
    if test_dims != (rows, cols) {
        return Err(header_error(
            &files.test_images,
            8,
            test_gz,
            format!(
                "test images are {}x{} but the training images ({}) are {rows}x{cols}",
                test_dims.0,
                test_dims.1,
                files.train_images.display()
            ),
        ));
    }
    Ok(Mnist {
        train,
        test,
        image_rows: rows,
        image_cols: cols,
    })
}

/// A [`Error::Format`] about a header field of a file read earlier.
fn header_error(path: &Path, offset: usize, gzipped: bool, message: String) -> Error {
    View {
        bytes: &[],
        gzipped,
    }
    .error(path, offset, message)
}

/// Reads one images file and its labels file: the set, the image size, and whether the
/// images file was gzip.
fn load_split(images: &Path, labels: &Path) -> Result<(Dataset<f32>, (usize, usize), bool)> {
    let (x, dims, images_gz) = read_images(images)?;
    let (y, labels_gz) = read_labels(labels)?;
    if y.len() != dims[0] {
        return Err(header_error(
            labels,
            4,
            labels_gz,
            format!(
                "holds {} labels but {} holds {} images",
                y.len(),
                images.display(),
                dims[0]
            ),
        ));
    }
    let ds = Dataset::new(x, y, CLASSES).expect("internal: rows and labels checked");
    Ok((ds, (dims[1], dims[2]), images_gz))
}

/// Reads the IDX header of an MNIST `what` file (images or labels) and checks that it holds
/// u8 values with the dimensions `dims` names (`[count, rows, cols]` or `[count]`); `other`
/// is the file it may have been confused with, for the message.
fn read_u8_header(c: View<'_>, path: &Path, what: &str, dims: &str, other: &str) -> Result<Header> {
    let h = parse_header(c, path)?;
    if h.dtype != IdxType::U8 {
        return Err(c.error(
            path,
            2,
            format!(
                "MNIST {what} must be u8 (type code 0x08), found {}",
                h.dtype
            ),
        ));
    }
    let rank = dims.split(',').count();
    if h.dims.len() != rank {
        let plural = if rank == 1 { "" } else { "s" };
        return Err(c.error(
            path,
            3,
            format!(
                "MNIST {what} must have {rank} dimension{plural} [{dims}], found {} {:?} \
                 ({other}?)",
                h.dims.len(),
                h.dims
            ),
        ));
    }
    Ok(h)
}

/// Images: u8 `[N, rows, cols]` to f32 `[N, rows * cols]` in `[0, 1]`.
fn read_images(path: &Path) -> Result<(Array<f32>, Vec<usize>, bool)> {
    let content = read_content(path, read::DEFAULT_LIMIT)?;
    let c = content.view();
    let h = read_u8_header(c, path, "images", "count, rows, cols", "a labels file")?;
    let pixels: Vec<f32> = c.bytes[h.data_start..]
        .iter()
        .map(|&p| f32::from(p) / 255.0)
        .collect();
    let x = Array::from_vec(pixels, [h.dims[0], h.dims[1] * h.dims[2]])
        .expect("internal: IDX length checked");
    Ok((x, h.dims, c.gzipped))
}

/// Labels: u8 `[N]`, each below 10.
fn read_labels(path: &Path) -> Result<(Vec<usize>, bool)> {
    let content = read_content(path, read::DEFAULT_LIMIT)?;
    let c = content.view();
    let h = read_u8_header(c, path, "labels", "count", "an images file")?;
    let data = &c.bytes[h.data_start..];
    if let Some(i) = data.iter().position(|&l| usize::from(l) >= CLASSES) {
        return Err(c.error(
            path,
            h.data_start + i,
            format!(
                "label {} of item {i} is out of range (MNIST labels are 0 to 9)",
                data[i]
            ),
        ));
    }
    Ok((data.iter().map(|&l| usize::from(l)).collect(), c.gzipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidate_names() {
        let c = candidates("t10k-labels-idx1-ubyte");
        assert_eq!(
            c,
            [
                "t10k-labels-idx1-ubyte",
                "t10k-labels.idx1-ubyte",
                "t10k-labels-idx1-ubyte.gz",
                "t10k-labels.idx1-ubyte.gz"
            ]
        );
    }

    #[test]
    fn resolve_dir_prefers_explicit_then_env() {
        let a = PathBuf::from("/a");
        let b = PathBuf::from("/b");
        assert_eq!(resolve_dir(Some(a.clone()), Some(b.clone())).unwrap(), a);
        assert_eq!(resolve_dir(None, Some(b.clone())).unwrap(), b);
        let line = line!() + 1;
        let msg = resolve_dir(None, None).unwrap_err().to_string();
        // Located at the caller, not inside this crate's helpers.
        assert!(
            msg.ends_with(&format!("(at {}:{line}:19)", file!())),
            "{msg}"
        );
        assert!(
            msg.contains("--data-dir DIR or set TAPEGRAD_DATA=DIR"),
            "{msg}"
        );
        assert!(msg.contains("train-images-idx3-ubyte"), "{msg}");
        assert!(msg.contains(".gz"), "{msg}");
        assert!(resolve_dir(None, Some(PathBuf::new())).is_err());
    }
}
