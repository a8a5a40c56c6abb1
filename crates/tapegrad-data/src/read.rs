//! Reading a whole file, raw or gzip (recognised by its magic bytes `1f 8b`, whatever its
//! name), with a bound on how much gzip data may be inflated and errors that name the file.
//!
//! A gzip file can expand a thousandfold (a few MB of zeros become gigabytes), so every
//! function here that inflates takes a `limit` on the decompressed bytes and stops with an
//! [`Error::Format`] as soon as the data would pass it. The output buffer never grows past
//! `limit`; it grows by doubling, and while it moves the old and the new block both exist, so
//! a read takes the file itself plus at most 1.5 x `limit` bytes plus the decoder's fixed
//! state (under 128 KiB). The readers of this crate use [`DEFAULT_LIMIT`] for
//! CSV (settable with [`CsvOptions::max_decompressed`](crate::csv::CsvOptions::max_decompressed))
//! and, for IDX, exactly the size that the file's header promises.
//!
//! ```
//! use tapegrad_data::read;
//! # fn main() -> tapegrad_core::Result<()> {
//! let gz = read::gzip(b"1,2,3\n");
//! assert!(read::is_gzip(&gz));
//! assert_eq!(read::gunzip(&gz, "inline.gz".as_ref(), 1024)?, b"1,2,3\n");
//! let err = read::gunzip(&gz, "inline.gz".as_ref(), 4).unwrap_err();
//! assert!(err.to_string().contains("more than the limit of 4 bytes"));
//! # Ok(()) }
//! ```

use flate2::read::MultiGzDecoder;
use std::io::Read;
use std::path::Path;
use tapegrad_core::{Error, Result};

/// The default bound on the decompressed size of a gzip file: 1 GiB.
pub const DEFAULT_LIMIT: u64 = 1 << 30;

/// The first two bytes of every gzip file.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// How many decompressed bytes one `read` call of the decoder may hand over.
const CHUNK: usize = 32 * 1024;

/// A file's content, decompressed when it was gzip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Content {
    /// The (decompressed) bytes.
    pub bytes: Vec<u8>,
    /// Whether the file was gzip (so byte offsets in errors count decompressed bytes).
    pub gzipped: bool,
}

impl Content {
    /// The content as a borrowed view.
    pub(crate) fn view(&self) -> View<'_> {
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
        format_error(path, offset, self.gzipped, message)
    }
}

/// A [`Error::Format`] at `offset`, saying so when the offset counts decompressed bytes.
pub(crate) fn format_error(
    path: &Path,
    offset: usize,
    gzipped: bool,
    message: impl Into<String>,
) -> Error {
    let mut message = message.into();
    if gzipped {
        message.push_str(" (offset in the decompressed data)");
    }
    Error::Format {
        path: path.to_path_buf(),
        offset: Some(offset as u64),
        message,
    }
}

/// Whether `bytes` start with the gzip magic bytes `1f 8b`.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// Reads `path` whole; gzip content (starting with `1f 8b`) is decompressed, up to `limit`
/// decompressed bytes.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Format`] naming the file when its gzip
/// data is corrupt or truncated (offset: the compressed bytes read when the decoder gave up),
/// or would decompress to more than `limit` bytes.
pub fn read_file(path: impl AsRef<Path>, limit: u64) -> Result<Content> {
    let path = path.as_ref();
    decode(read_raw(path)?, path, limit)
}

/// Reads `path` whole, as it is on disk.
pub(crate) fn read_raw(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Decompresses `raw` when it is gzip (up to `limit` decompressed bytes), else returns it as
/// it is; `path` names it in errors.
///
/// # Errors
/// As [`gunzip`], for gzip content.
pub fn decode(raw: Vec<u8>, path: &Path, limit: u64) -> Result<Content> {
    if !is_gzip(&raw) {
        return Ok(Content {
            bytes: raw,
            gzipped: false,
        });
    }
    let bytes = gunzip(&raw, path, limit)?;
    Ok(Content {
        bytes,
        gzipped: true,
    })
}

/// Decompresses gzip data (one member or several, as `cat a.gz b.gz` makes), stopping with an
/// error as soon as it would pass `limit` decompressed bytes; `path` names it in errors.
///
/// The output buffer grows by doubling but never past `limit`, so the peak memory is at most
/// 1.5 x `limit` bytes (the old and the new block while the buffer moves) plus the decoder's
/// fixed state (under 128 KiB).
///
/// # Errors
/// [`Error::Format`] naming `path` when the data is not gzip, is corrupt (a bad header, deflate
/// stream or CRC) or ends early, or decompresses to more than `limit` bytes; the offset is the
/// number of compressed bytes read when the decoder stopped.
pub fn gunzip(compressed: &[u8], path: &Path, limit: u64) -> Result<Vec<u8>> {
    let mut d = Decoder::new(compressed, path);
    let mut out = Vec::new();
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    d.fill(&mut out, limit)?;
    if out.len() == limit {
        // At the limit: anything more is too much.
        let mut probe = [0u8; 1];
        if d.read(&mut probe)? > 0 {
            return Err(d.error(format!(
                "gzip data decompresses to more than the limit of {limit} bytes (a gzip bomb, or \
                 a file larger than this reader accepts; raise the limit to read it)"
            )));
        }
    }
    Ok(out)
}

/// A gzip decoder over compressed bytes in memory that counts the compressed bytes it has
/// consumed (for error offsets) and turns decoder failures into [`Error::Format`].
pub(crate) struct Decoder<'a> {
    inner: MultiGzDecoder<Counting<'a>>,
    path: &'a Path,
    total: usize,
    decoded: usize,
}

impl<'a> Decoder<'a> {
    /// A decoder of `compressed`, named `path` in errors.
    pub fn new(compressed: &'a [u8], path: &'a Path) -> Self {
        Decoder {
            inner: MultiGzDecoder::new(Counting {
                inner: compressed,
                read: 0,
            }),
            path,
            total: compressed.len(),
            decoded: 0,
        }
    }

    /// Reads up to `buf.len()` decompressed bytes (0 at the end of the data).
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        loop {
            match self.inner.read(buf) {
                Ok(n) => {
                    self.decoded += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.failed(&e)),
            }
        }
    }

    /// Appends decompressed bytes to `out` until it holds `upto` bytes or the data ends,
    /// growing it by doubling but never past `upto`.
    pub fn fill(&mut self, out: &mut Vec<u8>, upto: usize) -> Result<()> {
        let mut chunk = [0u8; CHUNK];
        while out.len() < upto {
            let want = (upto - out.len()).min(CHUNK);
            let n = self.read(&mut chunk[..want])?;
            if n == 0 {
                break;
            }
            if out.capacity() - out.len() < n {
                let target = out
                    .capacity()
                    .saturating_mul(2)
                    .max(out.len() + n)
                    .max(4096)
                    .min(upto);
                out.reserve_exact(target - out.len());
            }
            out.extend_from_slice(&chunk[..n]);
        }
        Ok(())
    }

    /// Reads the data to its end without keeping it, counting the bytes, but stops after
    /// `max` of them: the count, capped at `max`.
    pub fn skip(&mut self, max: u64) -> Result<u64> {
        let mut chunk = [0u8; CHUNK];
        let mut skipped = 0u64;
        while skipped < max {
            let n = self.read(&mut chunk)?;
            if n == 0 {
                break;
            }
            skipped += n as u64;
        }
        Ok(skipped.min(max))
    }

    /// A [`Error::Format`] at the current compressed offset.
    pub fn error(&self, message: String) -> Error {
        Error::Format {
            path: self.path.to_path_buf(),
            offset: Some(self.inner.get_ref().read as u64),
            message,
        }
    }

    fn failed(&self, e: &std::io::Error) -> Error {
        let consumed = self.inner.get_ref().read;
        let what = if consumed >= self.total {
            "gzip data ends early (truncated file?)"
        } else {
            "gzip data is corrupt"
        };
        self.error(format!(
            "{what}: {e}; {} bytes decompressed, {consumed} of {} compressed bytes read",
            self.decoded, self.total
        ))
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

/// Compresses `bytes` as gzip (default compression level).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
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
        let c = decode(vec![1, 2, 3], p, DEFAULT_LIMIT).unwrap();
        assert_eq!((c.bytes, c.gzipped), (vec![1, 2, 3], false));
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        let c = decode(gzip(&data), p, DEFAULT_LIMIT).unwrap();
        assert!(c.gzipped);
        assert_eq!(c.bytes, data);
    }

    #[test]
    fn truncated_and_corrupt_gzip_are_errors() {
        let p = Path::new("broken.gz");
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 13 % 256) as u8).collect();
        let gz = gzip(&data);
        for cut in [2, 10, gz.len() / 2, gz.len() - 4, gz.len() - 1] {
            let e = decode(gz[..cut].to_vec(), p, DEFAULT_LIMIT).unwrap_err();
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
        let msg = decode(bad, p, DEFAULT_LIMIT).unwrap_err().to_string();
        assert!(msg.starts_with("broken.gz: at byte "), "{msg}");
        assert!(msg.contains("gzip"), "{msg}");
    }

    #[test]
    fn missing_file_is_io_error() {
        let e = read_file("/nonexistent/tapegrad/file.idx", DEFAULT_LIMIT).unwrap_err();
        assert!(matches!(e, Error::Io { .. }));
        assert!(e
            .to_string()
            .starts_with("/nonexistent/tapegrad/file.idx: "));
    }

    #[test]
    fn limit_is_exact_and_members_concatenate() {
        let p = Path::new("lim.gz");
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 7) as u8).collect();
        let gz = gzip(&data);
        assert_eq!(gunzip(&gz, p, data.len() as u64).unwrap(), data);
        for limit in [0, 1, 4096, data.len() as u64 - 1] {
            let msg = gunzip(&gz, p, limit).unwrap_err().to_string();
            assert!(msg.starts_with("lim.gz: at byte "), "{msg}");
            assert!(
                msg.contains(&format!("more than the limit of {limit} bytes")),
                "{msg}"
            );
        }
        // Two members, as `cat a.gz b.gz` makes, decode as one stream.
        let two = [gzip(b"ab"), gzip(b"cd")].concat();
        assert_eq!(gunzip(&two, p, 4).unwrap(), b"abcd");
        assert!(gunzip(&two, p, 3).is_err());
        // Not gzip at all, or nothing.
        let msg = gunzip(b"plain text", p, 100).unwrap_err().to_string();
        assert!(msg.contains("gzip data"), "{msg}");
        assert!(!is_gzip(b"") && is_gzip(&gz));
    }
}
