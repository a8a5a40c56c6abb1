//! Helpers shared by the reader tests: temp folders, gzip, and `Format` errors.
#![allow(dead_code)] // each test binary uses a part of them

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use tapegrad_core::Error;

/// A fresh folder under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// `<temp>/tapegrad-data-<tag>-<pid>-<n>`, `n` counting the folders of this binary.
    pub fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "tapegrad-data-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    /// The path of `name` in this folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    /// Writes `bytes` to `name` in this folder and returns its path.
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `bytes` gzipped at the best compression.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// The message and offset of a Format error, checking it names `path` and starts with
/// `<path>: at byte <offset>: `.
pub fn format_err(e: Error, path: &Path) -> (String, u64) {
    let msg = e.to_string();
    match e {
        Error::Format {
            path: p,
            offset: Some(o),
            ..
        } => {
            assert_eq!(p, path, "{msg}");
            assert!(
                msg.starts_with(&format!("{}: at byte {o}: ", path.display())),
                "{msg}"
            );
            (msg, o)
        }
        other => panic!("expected a Format error with an offset, got {other:?}"),
    }
}

/// [`format_err`], asserting the offset is `offset` and the message contains `want`; returns
/// the message.
pub fn expect_format_err(e: Error, path: &Path, offset: u64, want: &str) -> String {
    let (msg, o) = format_err(e, path);
    assert_eq!(o, offset, "{msg}");
    assert!(msg.contains(want), "{want:?} missing from: {msg}");
    msg
}
