//! Reading a whole file, raw or gzip (recognised by its magic bytes, not its name), with
//! errors that name the file.

use flate2::read::MultiGzDecoder;
use std::io::Read;
use std::path::{Path, PathBuf};
use tapegrad_core::{Error, Result};

/// A file's content, decompressed when it was gzip.
#[derive(Debug)]
pub(crate) struct Content {
    /// The (decompressed) bytes.
    pub bytes: Vec<u8>,
    /// Whether the file was gzip, so that offsets are in the decompressed data.
    pub gzipped: bool,
}

impl Content {
    /// The content as a borrowed view.
    pub fn view(&self) -> View<'_> {
        View {
            bytes: &self.bytes,
            gzipped: self.gzipped,
        }
    }
}

/// Borrowed file content: what the parsers read.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    /// The (decompressed) bytes.
    pub bytes: &'a [u8],
    /// Whether the file was gzip, so that offsets are in the decompressed data.
    pub gzipped: bool,
}

impl View<'_> {
    /// A [`Error::Format`] at `offset` of this content, saying so when the offset counts
    /// decompressed bytes.
    pub fn error(&self, path: &Path, offset: usize, message: impl Into<String>) -> Error {
        let mut message = message.into();
        if self.gzipped {
            message.push_str(" (offset in the decompressed data)");
        }
        Error::Format {
            path: path.to_path_buf(),
            offset: Some(offset as u64),
            message,
        }
    }
}

/// Reads `path` whole; gzip content (starting with `1f 8b`) is decompressed.
///
/// Errors: [`Error::Io`] when the file cannot be read, [`Error::Format`] when its gzip data is
/// corrupt or truncated (offset: the compressed bytes read when the decoder gave up).
pub(crate) fn read_file(path: &Path) -> Result<Content> {
    let raw = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode(raw, path)
}

/// Decompresses `raw` when it is gzip (named `path` in errors), else returns it as it is.
pub(crate) fn decode(raw: Vec<u8>, path: &Path) -> Result<Content> {
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(Content {
            bytes: raw,
            gzipped: false,
        });
    }
    let mut counting = Counting {
        inner: &raw[..],
        read: 0,
    };
    let mut bytes = Vec::with_capacity(raw.len().saturating_mul(4));
    let result = MultiGzDecoder::new(&mut counting).read_to_end(&mut bytes);
    match result {
        Ok(_) => Ok(Content {
            bytes,
            gzipped: true,
        }),
        Err(e) => Err(gzip_error(path, counting.read, raw.len(), bytes.len(), &e)),
    }
}

fn gzip_error(
    path: &Path,
    consumed: usize,
    total: usize,
    decoded: usize,
    e: &std::io::Error,
) -> Error {
    let what = if consumed >= total {
        "gzip data ends early (truncated file?)"
    } else {
        "gzip data is corrupt"
    };
    Error::Format {
        path: PathBuf::from(path),
        offset: Some(consumed as u64),
        message: format!(
            "{what}: {e}; {decoded} bytes decompressed, {consumed} of {total} compressed bytes read"
        ),
    }
}

/// A reader that counts the bytes it has handed out.
struct Counting<'a> {
    inner: &'a [u8],
    read: usize,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n;
        Ok(n)
    }
}

/// Compresses `bytes` as gzip (for writers and tests).
pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes)
        .expect("internal: writing to a Vec cannot fail");
    enc.finish()
        .expect("internal: writing to a Vec cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_passes_gzip_decodes() {
        let p = Path::new("x.bin");
        let c = decode(vec![1, 2, 3], p).unwrap();
        assert_eq!((c.bytes, c.gzipped), (vec![1, 2, 3], false));
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        let c = decode(gzip(&data), p).unwrap();
        assert!(c.gzipped);
        assert_eq!(c.bytes, data);
    }

    #[test]
    fn truncated_and_corrupt_gzip_are_errors() {
        let p = Path::new("broken.gz");
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 13 % 256) as u8).collect();
        let gz = gzip(&data);
        for cut in [2, 10, gz.len() / 2, gz.len() - 4, gz.len() - 1] {
            let e = decode(gz[..cut].to_vec(), p).unwrap_err();
            let msg = e.to_string();
            assert!(msg.starts_with("broken.gz: at byte "), "{msg}");
            assert!(msg.contains("gzip data ends early"), "{msg}");
            match e {
                Error::Format { offset, .. } => assert_eq!(offset, Some(cut as u64)),
                other => panic!("expected a Format error, got {other:?}"),
            }
        }
        // A flipped byte in the CRC trailer.
        let mut bad = gz.clone();
        let n = bad.len();
        bad[n - 6] ^= 0xff;
        let msg = decode(bad, p).unwrap_err().to_string();
        assert!(msg.starts_with("broken.gz: at byte "), "{msg}");
        assert!(msg.contains("gzip"), "{msg}");
    }

    #[test]
    fn missing_file_is_io_error() {
        let e = read_file(Path::new("/nonexistent/tapegrad/file.idx")).unwrap_err();
        assert!(matches!(e, Error::Io { .. }));
        assert!(e
            .to_string()
            .starts_with("/nonexistent/tapegrad/file.idx: "));
    }
}
