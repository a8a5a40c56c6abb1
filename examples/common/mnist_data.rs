//! [`load`]: MNIST for the examples, from `--data-dir` or `$TAPEGRAD_DATA`, with a hint on
//! where to get the files when they are missing.

use std::io::ErrorKind;
use std::path::PathBuf;
use tapegrad::data::mnist::{self, Mnist};
use tapegrad::{Error, Result};

/// Where the four files can be downloaded (the mirror torchvision uses).
pub const DOWNLOAD: &str = "https://ossci-datasets.s3.amazonaws.com/mnist/";

/// Loads MNIST from `dir` (the example's `--data-dir`) or else `$TAPEGRAD_DATA`
/// ([`mnist::load_from`]); when no folder is given or files are missing, the message also
/// says where to download them.
///
/// # Errors
/// As [`mnist::load_from`]: no folder given, a missing file (naming the folder and the four
/// expected names, which may be gzipped), or a broken file.
#[track_caller]
pub fn load(dir: Option<PathBuf>) -> Result<Mnist> {
    let hint = format!("Download them, e.g. from {DOWNLOAD}");
    mnist::load_from(dir).map_err(|e| match e {
        Error::Io { path, source } if source.kind() == ErrorKind::NotFound => Error::Io {
            path,
            source: std::io::Error::new(ErrorKind::NotFound, format!("{source}. {hint}")),
        },
        Error::InvalidArgument {
            op,
            message,
            location,
        } => Error::InvalidArgument {
            op,
            message: format!("{message}. {hint}"),
            location,
        },
        other => other,
    })
}
