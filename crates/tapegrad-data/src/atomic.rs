//! Writing a file atomically: a temporary file beside the target, flushed, then renamed over
//! it, so that a reader never sees a partial file and a failed write leaves the old one.
//! (`tapegrad_nn::write_file_atomic` does the same for models; this crate cannot depend on
//! tapegrad-nn.)

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use tapegrad_core::{Error, Result};

/// Temporary files made by this process so far (part of each temporary file's name).
static COUNTER: AtomicU64 = AtomicU64::new(0);

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A new file `.<name>.<pid>.<counter>.tmp` beside `path`, created with `create_new` (a
/// name taken by another writer is skipped).
fn create_temp(path: &Path) -> Result<(PathBuf, fs::File)> {
    let name = path.file_name().ok_or_else(|| {
        io_err(path)(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the path does not name a file",
        ))
    })?;
    let mut last = None;
    for _ in 0..16 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".{}.{n}.tmp", std::process::id()));
        let tmp = path.with_file_name(tmp_name);
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(io_err(path)(e)),
        }
    }
    Err(io_err(path)(last.expect("internal: 16 attempts were made")))
}

/// Writes `bytes` to `path` through a temporary file in the same folder that is flushed to
/// disk and renamed over `path`: a reader sees the old file or the whole new one. A failed
/// write removes its temporary file and leaves `path` as it was.
///
/// # Errors
/// [`Error::Io`] naming `path` when a step fails.
pub(crate) fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let (tmp, mut f) = create_temp(path)?;
    let result = (|| {
        f.write_all(bytes).map_err(io_err(path))?;
        f.sync_all().map_err(io_err(path))?;
        drop(f);
        fs::rename(&tmp, path).map_err(io_err(path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
