//! Writing a file atomically (temporary file, flush, rename, folder flush): the one writer
//! behind every file tapegrad saves (models and checkpoints in tapegrad-nn, NumPy files in
//! tapegrad-data), so a reader never sees a partial file.

use crate::error::{Error, Result};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// An [`Error::Io`] naming `path`.
fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Temporary files made by this process so far (part of each temporary file's name).
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Creates a new temporary file beside `path`, named
/// `.<file name>.<pid>.<counter>.<nanoseconds>.tmp`: unique among the threads of this process
/// (the counter) and among processes (the pid, and the clock against a reused pid); it is
/// created with `create_new`, so an existing file is never reused (another name is tried).
fn create_temp(path: &Path) -> Result<(PathBuf, fs::File)> {
    let name = path.file_name().ok_or_else(|| Error::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the path does not name a file",
        ),
    })?;
    let mut last = None;
    for _ in 0..16 {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".{}.{n}.{nanos:09}.tmp", std::process::id()));
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

/// Writes `bytes` to `path` so that a reader of `path` sees either the old file or the whole
/// new one, never a part, even with several writers and readers at once and across a crash:
///
/// 1. the bytes go to a new temporary file in the same folder, with a name unique to this
///    process, thread and moment (`.<name>.<pid>.<counter>.<nanoseconds>.tmp`, created with
///    `create_new`, so two writers never share one);
/// 2. the temporary file is flushed to disk (`sync_all`);
/// 3. it is renamed over `path` (atomic on one file system; the last rename wins);
/// 4. on Unix, the folder is flushed to disk too, so the rename itself survives a crash.
///
/// A failed write removes its temporary file and leaves `path` as it was.
///
/// ```
/// let path = std::env::temp_dir().join(format!("tapegrad-doc-{}.bin", std::process::id()));
/// tapegrad_core::write_file_atomic(&path, b"all or nothing")?;
/// assert_eq!(std::fs::read(&path).unwrap(), b"all or nothing");
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), tapegrad_core::Error>(())
/// ```
///
/// # Errors
/// [`Error::Io`] naming `path` when a step fails (a missing folder, no permission, a full
/// disk, ...).
pub fn write_file_atomic(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    let path = path.as_ref();
    let (tmp, mut f) = create_temp(path)?;
    let result = (|| {
        f.write_all(bytes).map_err(io_err(path))?;
        f.sync_all().map_err(io_err(path))?;
        drop(f);
        fs::rename(&tmp, path).map_err(io_err(path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    sync_dir(path)
}

/// Flushes the folder holding `path` to disk (Unix), so a rename into it is durable. File
/// systems that cannot flush a folder (`EINVAL`) are accepted as they are.
#[cfg(unix)]
fn sync_dir(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let d = fs::File::open(dir).map_err(io_err(dir))?;
    match d.sync_all() {
        Err(e) if e.kind() != std::io::ErrorKind::InvalidInput => Err(io_err(dir)(e)),
        _ => Ok(()),
    }
}

/// On other systems a rename is made durable by the system (there is no folder handle to
/// flush).
#[cfg(not(unix))]
fn sync_dir(_path: &Path) -> Result<()> {
    Ok(())
}
