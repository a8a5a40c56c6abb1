//! NumPy's `.npy` and `.npz` files: arrays ([`read_npy`], [`write_npy`]), integer labels
//! ([`read_npy_labels`], [`write_npy_labels`]) and archives of them ([`read_npz`],
//! [`write_npz`]), a classification [`Dataset`] included ([`Npz::dataset`],
//! [`write_npz_dataset`]).
//!
//! What is read: `.npy` versions 1.0, 2.0 and 3.0; C order (a Fortran-order file is an error
//! that says how to fix it); element types `f4`, `f8`, integers of 1, 2, 4 and 8 bytes
//! (signed or not) and `bool`, either byte order (converted). Arrays convert to the element
//! type asked for (`f32` or `f64`); labels must hold whole, non-negative numbers. An `.npz`
//! archive is a zip of `.npy` members, stored (`np.savez`) or deflated
//! (`np.savez_compressed`). What is written: version 1.0, little-endian, C order; arrays as
//! `<f4` (`f32`) or `<f8` (`f64`), labels as `<i8` (NumPy's default integer, `int64`); an
//! archive stored or deflated.
//!
//! Every read is bounded: the header must lie within the file and the data must be exactly
//! as long as the header's shape and element type say, before anything is allocated for the
//! values; an archive's members are inflated up to their declared size and at most
//! [`read::DEFAULT_LIMIT`](crate::read::DEFAULT_LIMIT) bytes in all. A broken file is an
//! [`Error::Format`] naming the file, the member and the byte offset (bad magic, a header cut
//! short, a shape or element type not supported, data shorter or longer than the shape
//! needs), never a panic. Every write goes to a temporary file renamed over the target.
//!
//! ```
//! use tapegrad_core::Array;
//! use tapegrad_data::{npy, Dataset};
//! # fn main() -> tapegrad_core::Result<()> {
//! let dir = std::env::temp_dir().join(format!("tapegrad-doc-npy-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let a = Array::<f32>::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3])?;
//! npy::write_npy(dir.join("a.npy"), &a)?; // np.load("a.npy") gives a float32 array
//! assert_eq!(npy::read_npy::<f32>(dir.join("a.npy"))?, a);
//!
//! let ds = Dataset::new(a, vec![0, 1], 2)?;
//! npy::write_npz_dataset(dir.join("ds.npz"), &ds, true)?; // np.savez_compressed(x=..., y=...)
//! let back: Dataset<f32> = npy::read_npz(dir.join("ds.npz"))?.dataset("x", "y", None)?;
//! assert_eq!(back, ds);
//!
//! std::fs::write(dir.join("bad.npy"), b"\x93NUMPY\x01\x00\x76\x00{'descr'").unwrap();
//! let err = npy::read_npy::<f32>(dir.join("bad.npy")).unwrap_err().to_string();
//! assert!(err.contains("at byte 18: truncated header"), "{err}");
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok(()) }
//! ```

use crate::dataset::Dataset;
use crate::read::{read_raw, DEFAULT_LIMIT};
use npyz::{DType, NpyFile, Order, TypeChar, WriterBuilder};
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use tapegrad_core::write_file_atomic;
use tapegrad_core::{Array, Element, Error, Result};

/// The first six bytes of every `.npy` file.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// The largest header accepted (NumPy's own reader refuses headers over 10,000 bytes unless
/// told otherwise; this is ten times that).
pub const MAX_HEADER: usize = 100_000;

/// Where the bytes being read come from, for error messages: a file, or a member of an
/// `.npz` archive.
#[derive(Clone, Copy)]
struct Src<'a> {
    path: &'a Path,
    member: Option<&'a str>,
}

impl Src<'_> {
    /// An [`Error::Format`] at byte `offset` (of the file, or of the member).
    fn err(&self, offset: usize, message: impl Into<String>) -> Error {
        let message = message.into();
        match self.member {
            None => Error::Format {
                path: self.path.to_path_buf(),
                offset: Some(offset as u64),
                message,
            },
            Some(m) => Error::Format {
                path: self.path.to_path_buf(),
                offset: None,
                message: format!("member `{m}`, at byte {offset}: {message}"),
            },
        }
    }
}

/// The first line of another crate's error message (the header parser's messages go on with
/// a drawing of where the error is), its runs of whitespace made single spaces.
fn one_line(e: impl std::fmt::Display) -> String {
    let s = e.to_string();
    let first = s.lines().next().unwrap_or_default();
    first.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The element types read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Float,
    Int,
    Uint,
    Bool,
}

/// A checked `.npy` file: its element type and shape, the data's length verified.
struct Checked<'a> {
    kind: Kind,
    size: usize,
    descr: String,
    dims: Vec<usize>,
    bytes: &'a [u8],
}

/// The value of `key` in the header's dict text: what follows `'key':` (or `"key":`),
/// whitespace skipped; an error unless the key is there exactly once.
fn dict_value<'t>(text: &'t str, key: &str) -> std::result::Result<&'t str, String> {
    let mut found = None;
    for quote in ['\'', '"'] {
        let k = format!("{quote}{key}{quote}");
        for (i, _) in text.match_indices(&k) {
            if found.is_some() {
                return Err(format!("the header names '{key}' twice"));
            }
            found = Some(i + k.len());
        }
    }
    let at = found.ok_or_else(|| format!("the header has no '{key}'"))?;
    let rest = text[at..].trim_start();
    let rest = rest
        .strip_prefix(':')
        .ok_or_else(|| format!("the header's '{key}' is not followed by ':'"))?;
    Ok(rest.trim_start())
}

/// The shape in the header's text, its element count checked for overflow (`npyz` reads it
/// too, after this check).
fn header_shape(text: &str) -> std::result::Result<Vec<usize>, String> {
    let v = dict_value(text, "shape")?;
    let close = match v.chars().next() {
        Some('(') => ')',
        Some('[') => ']',
        _ => return Err("the header's 'shape' is not a tuple".to_string()),
    };
    let end = v
        .find(close)
        .ok_or_else(|| "the header's 'shape' tuple is not closed".to_string())?;
    let mut dims = Vec::new();
    for part in v[1..end].split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let d = part
            .parse::<usize>()
            .map_err(|_| format!("the header's 'shape' holds `{part}`, not a dimension"))?;
        dims.push(d);
    }
    if dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .is_none()
    {
        return Err(format!("shape {dims:?}: its element count overflows"));
    }
    Ok(dims)
}

/// Checks an `.npy` file's preamble, header and data length (nothing is allocated for the
/// values yet).
fn check<'a>(bytes: &'a [u8], src: Src<'_>) -> Result<Checked<'a>> {
    let len = bytes.len();
    if len < 10 {
        return Err(src.err(
            len,
            format!(
                "the file is {len} bytes long; an .npy file starts with a 10-byte preamble \
                 (\\x93NUMPY, the version, the header's length)"
            ),
        ));
    }
    if &bytes[..6] != MAGIC {
        return Err(src.err(
            0,
            format!(
                "bad magic {:02X?}: an .npy file starts with \\x93NUMPY",
                &bytes[..6]
            ),
        ));
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (header_len, text_start) = match major {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if len >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        2 | 3 => {
            return Err(src.err(
                len,
                format!("truncated preamble: version {major}.{minor} needs 12 bytes"),
            ))
        }
        _ => {
            return Err(src.err(
                6,
                format!("unsupported .npy version {major}.{minor} (1.0, 2.0 and 3.0 are read)"),
            ))
        }
    };
    if header_len > MAX_HEADER {
        return Err(src.err(
            8,
            format!("the header is {header_len} bytes long, more than the {MAX_HEADER} accepted"),
        ));
    }
    let data_start = text_start + header_len;
    if data_start > len {
        return Err(src.err(
            len,
            format!(
                "truncated header: it is {header_len} bytes long (to byte {data_start}) but the \
                 file ends at byte {len}"
            ),
        ));
    }
    let text = std::str::from_utf8(&bytes[text_start..data_start])
        .map_err(|e| src.err(text_start + e.valid_up_to(), "the header is not UTF-8 text"))?;
    let bad_header = |m: String| src.err(text_start, m);
    if !dict_value(text, "descr")
        .map_err(bad_header)?
        .starts_with(['\'', '"'])
    {
        return Err(bad_header(
            "structured element types (a 'descr' that is a list) are not supported".to_string(),
        ));
    }
    let dims = header_shape(text).map_err(bad_header)?;
    let npy = NpyFile::new(bytes).map_err(|e| {
        bad_header(format!(
            "the header is not a valid .npy header: {}",
            one_line(e)
        ))
    })?;
    if npy.shape().len() != dims.len()
        || npy.shape().iter().zip(&dims).any(|(&a, &b)| a != b as u64)
    {
        return Err(bad_header(format!(
            "the header's shape is not understood (read as {dims:?} and as {:?})",
            npy.shape()
        )));
    }
    let DType::Plain(ts) = npy.dtype() else {
        return Err(bad_header(format!(
            "element type {} is not supported (f4, f8, integers and bool are)",
            npy.dtype().descr()
        )));
    };
    let size = ts.num_bytes().unwrap_or(0);
    let kind = match (ts.type_char(), size) {
        (TypeChar::Float, 4 | 8) => Kind::Float,
        (TypeChar::Int, 1 | 2 | 4 | 8) => Kind::Int,
        (TypeChar::Uint, 1 | 2 | 4 | 8) => Kind::Uint,
        (TypeChar::Bool, 1) => Kind::Bool,
        _ => {
            return Err(bad_header(format!(
                "element type '{ts}' is not supported (f4, f8, integers and bool are)"
            )))
        }
    };
    if npy.order() == Order::Fortran {
        return Err(bad_header(format!(
            "the array of shape {dims:?} is in Fortran order; only C order is read (save \
             np.ascontiguousarray(a) instead)"
        )));
    }
    let numel: usize = dims.iter().product();
    let have = len - data_start;
    let need = numel
        .checked_mul(size)
        .ok_or_else(|| bad_header(format!("shape {dims:?} of '{ts}': its byte size overflows")))?;
    if have < need {
        return Err(src.err(
            len,
            format!(
                "truncated: shape {dims:?} of '{ts}' needs {need} data bytes after the \
                 {data_start}-byte header, but only {have} follow"
            ),
        ));
    }
    if have > need {
        return Err(src.err(
            data_start + need,
            format!(
                "shape {dims:?} of '{ts}' needs {need} data bytes after the {data_start}-byte \
                 header, but {have} follow ({} bytes too many: wrong shape?)",
                have - need
            ),
        ));
    }
    Ok(Checked {
        kind,
        size,
        descr: ts.to_string(),
        dims,
        bytes,
    })
}

/// The values of a checked file as `T` (through `f64`: exact for every element type but
/// 64-bit integers beyond 2^53).
fn values<T: Element>(c: &Checked<'_>, src: Src<'_>) -> Result<Vec<T>> {
    fn read<P: npyz::Deserialize, T>(bytes: &[u8], f: impl Fn(P) -> T) -> std::io::Result<Vec<T>> {
        let reader = NpyFile::new(bytes)?
            .data::<P>()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
        // the count is checked against the data's length (at least 1 byte per element)
        let mut out = Vec::with_capacity(reader.total_len() as usize);
        for v in reader {
            out.push(f(v?));
        }
        Ok(out)
    }
    let b = c.bytes;
    let r = match (c.kind, c.size) {
        (Kind::Float, 4) => read(b, |v: f32| T::of(f64::from(v))),
        (Kind::Float, _) => read(b, |v: f64| T::of(v)),
        (Kind::Int, 1) => read(b, |v: i8| T::of(f64::from(v))),
        (Kind::Int, 2) => read(b, |v: i16| T::of(f64::from(v))),
        (Kind::Int, 4) => read(b, |v: i32| T::of(f64::from(v))),
        (Kind::Int, _) => read(b, |v: i64| T::of(v as f64)),
        (Kind::Uint, 1) => read(b, |v: u8| T::of(f64::from(v))),
        (Kind::Uint, 2) => read(b, |v: u16| T::of(f64::from(v))),
        (Kind::Uint, 4) => read(b, |v: u32| T::of(f64::from(v))),
        (Kind::Uint, _) => read(b, |v: u64| T::of(v as f64)),
        (Kind::Bool, _) => read(b, |v: bool| T::of(f64::from(u8::from(v)))),
    };
    r.map_err(|e| {
        src.err(
            0,
            format!("cannot read the '{}' values: {}", c.descr, one_line(e)),
        )
    })
}

fn decode_array<T: Element>(bytes: &[u8], src: Src<'_>) -> Result<Array<T>> {
    let c = check(bytes, src)?;
    let data: Vec<T> = values(&c, src)?;
    Array::from_vec(data, c.dims.as_slice())
        .map_err(|_| src.err(0, "internal: the values do not fill the shape"))
}

fn decode_labels(bytes: &[u8], src: Src<'_>) -> Result<Vec<usize>> {
    let c = check(bytes, src)?;
    if c.dims.len() > 1 && c.dims[1..].iter().any(|&d| d != 1) {
        return Err(src.err(
            0,
            format!(
                "labels must be one per row (shape [N] or [N, 1]), got shape {:?}",
                c.dims
            ),
        ));
    }
    let values: Vec<f64> = values(&c, src)?;
    let mut out = Vec::with_capacity(values.len());
    for (i, v) in values.into_iter().enumerate() {
        // 2^53: every whole f64 below it is exact, and no label is that large
        if !(v >= 0.0 && v.fract() == 0.0 && v < 9_007_199_254_740_992.0) {
            return Err(src.err(
                0,
                format!(
                    "label {v} of row {i} is not a class index (a whole number >= 0; the \
                     element type is '{}')",
                    c.descr
                ),
            ));
        }
        out.push(v as usize);
    }
    Ok(out)
}

/// Decodes the bytes of an `.npy` file as an array of `T` (`f32` or `f64`); `path` names
/// it in errors. See the [module docs](self) for what is read.
///
/// # Errors
/// [`Error::Format`] with the byte offset: bad magic, an unknown version, a header cut short
/// or not understood, an element type not supported (a string, a structured type, ...),
/// Fortran order, data shorter or longer than the shape needs.
pub fn decode_npy<T: Element>(bytes: &[u8], path: &Path) -> Result<Array<T>> {
    decode_array(bytes, Src { path, member: None })
}

/// Reads an `.npy` file as an array of `T` (`f32` or `f64`), whatever its numeric element
/// type (`np.save("x.npy", a)`).
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; as [`decode_npy`] when it is broken.
pub fn read_npy<T: Element>(path: impl AsRef<Path>) -> Result<Array<T>> {
    let path = path.as_ref();
    decode_npy(&read_raw(path)?, path)
}

/// Decodes the bytes of an `.npy` file of class labels (shape `[N]` or `[N, 1]`, integers
/// of any width, or whole floats); `path` names it in errors.
///
/// # Errors
/// As [`decode_npy`], and for a label that is negative or not a whole number (naming its
/// row) or a shape that is not one label per row.
pub fn decode_npy_labels(bytes: &[u8], path: &Path) -> Result<Vec<usize>> {
    decode_labels(bytes, Src { path, member: None })
}

/// Reads an `.npy` file of class labels; see [`decode_npy_labels`].
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; as [`decode_npy_labels`] when it is broken.
pub fn read_npy_labels(path: impl AsRef<Path>) -> Result<Vec<usize>> {
    let path = path.as_ref();
    decode_npy_labels(&read_raw(path)?, path)
}

/// The bytes of an `.npy` file (version 1.0, C order) holding `values` with shape `dims`.
fn encode<P: npyz::AutoSerialize>(dims: &[usize], values: impl IntoIterator<Item = P>) -> Vec<u8> {
    let shape: Vec<u64> = dims.iter().map(|&d| d as u64).collect();
    let mut out = Vec::new();
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&shape)
        .writer(&mut out)
        .begin_nd()
        .expect("internal: writing an .npy header to memory");
    w.extend(values)
        .expect("internal: writing .npy values to memory");
    w.finish().expect("internal: the values fill the shape");
    out
}

/// The bytes of an `.npy` file holding `a`: `<f4` for `f32`, `<f8` for `f64`, C order.
pub fn encode_npy<T: Element>(a: &Array<T>) -> Vec<u8> {
    if T::DTYPE == "F64" {
        encode(a.dims(), a.data().iter().map(|v| v.as_f64()))
    } else {
        encode(a.dims(), a.data().iter().map(|v| v.as_f64() as f32))
    }
}

/// The bytes of an `.npy` file holding `labels` as `<i8` (NumPy's `int64`), shape `[N]`.
pub fn encode_npy_labels(labels: &[usize]) -> Vec<u8> {
    encode(
        &[labels.len()],
        labels.iter().map(|&l| i64::try_from(l).unwrap_or(i64::MAX)),
    )
}

/// Writes `a` to an `.npy` file at `path` ([`encode_npy`]), atomically (a temporary file
/// renamed over `path`).
///
/// # Errors
/// [`Error::Io`] naming `path` when it cannot be written.
pub fn write_npy<T: Element>(path: impl AsRef<Path>, a: &Array<T>) -> Result<()> {
    write_file_atomic(path.as_ref(), &encode_npy(a))
}

/// Writes class labels to an `.npy` file at `path` ([`encode_npy_labels`]), atomically.
///
/// # Errors
/// [`Error::Io`] naming `path` when it cannot be written.
pub fn write_npy_labels(path: impl AsRef<Path>, labels: &[usize]) -> Result<()> {
    write_file_atomic(path.as_ref(), &encode_npy_labels(labels))
}

/// An `.npz` archive read into memory: its members' `.npy` bytes by array name (the member's
/// file name without `.npy`, as `np.load(path).files` lists them).
#[derive(Clone, Debug)]
pub struct Npz {
    path: PathBuf,
    members: Vec<(String, Vec<u8>)>,
}

/// Reads an `.npz` archive (`np.savez` or `np.savez_compressed`), inflating at most
/// [`DEFAULT_LIMIT`] bytes in all; see [`read_npz_with_limit`].
///
/// # Errors
/// As [`read_npz_with_limit`].
pub fn read_npz(path: impl AsRef<Path>) -> Result<Npz> {
    read_npz_with_limit(path, DEFAULT_LIMIT)
}

/// Reads an `.npz` archive, inflating at most `limit` bytes in all: each member is read up
/// to its declared size (a member that inflates to more or less is an error), and a total of
/// declared sizes beyond `limit` is refused before it is inflated. The arrays are decoded when
/// asked for ([`Npz::array`], [`Npz::labels`], [`Npz::dataset`]).
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Format`] naming the file (and the
/// member) when it is not a zip archive, a member is corrupt (a CRC error, a compression
/// method other than stored or deflate) or the sizes pass `limit`.
pub fn read_npz_with_limit(path: impl AsRef<Path>, limit: u64) -> Result<Npz> {
    let path = path.as_ref();
    let raw = read_raw(path)?;
    let bad = |m: String| Error::Format {
        path: path.to_path_buf(),
        offset: None,
        message: m,
    };
    let mut zip = zip::ZipArchive::new(Cursor::new(raw.as_slice()))
        .map_err(|e| bad(format!("not a valid .npz (zip) archive: {}", one_line(e))))?;
    let mut members = Vec::new();
    let mut total = 0u64;
    for i in 0..zip.len() {
        let mut f = zip
            .by_index(i)
            .map_err(|e| bad(format!("member {i} cannot be read: {}", one_line(e))))?;
        if f.is_dir() {
            continue;
        }
        let name = f
            .name()
            .map_err(|e| bad(format!("member {i} has a bad name: {}", one_line(e))))?
            .into_owned();
        let size = f.size();
        total = total.saturating_add(size);
        if total > limit {
            return Err(bad(format!(
                "member `{name}` brings the archive's inflated size to {total} bytes, more than \
                 the limit of {limit} (read_npz_with_limit reads larger ones)"
            )));
        }
        let mut bytes = Vec::new();
        (&mut f)
            .take(size.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| bad(format!("member `{name}` is corrupt: {}", one_line(e))))?;
        if bytes.len() as u64 != size {
            return Err(bad(format!(
                "member `{name}` inflates to {}{} bytes, not the {size} its header declares",
                if bytes.len() as u64 > size {
                    "more than "
                } else {
                    ""
                },
                bytes.len().min(usize::try_from(size).unwrap_or(usize::MAX))
            )));
        }
        let array = name.strip_suffix(".npy").unwrap_or(&name).to_string();
        members.push((array, bytes));
    }
    Ok(Npz {
        path: path.to_path_buf(),
        members,
    })
}

impl Npz {
    /// The arrays' names, in the archive's order.
    pub fn names(&self) -> Vec<&str> {
        self.members.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// The path the archive was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn member(&self, name: &str) -> Result<(&[u8], Src<'_>)> {
        let (n, bytes) = self
            .members
            .iter()
            .find(|(n, _)| n == name)
            .ok_or_else(|| Error::Format {
                path: self.path.clone(),
                offset: None,
                message: format!(
                    "the archive has no array `{name}` (it has {:?})",
                    self.names()
                ),
            })?;
        Ok((
            bytes,
            Src {
                path: &self.path,
                member: Some(n),
            },
        ))
    }

    /// The array `name` as an array of `T` (as [`read_npy`] reads a file).
    ///
    /// # Errors
    /// [`Error::Format`] naming the file and the member when there is no such array or it
    /// is broken (as [`decode_npy`] says).
    pub fn array<T: Element>(&self, name: &str) -> Result<Array<T>> {
        let (bytes, src) = self.member(name)?;
        decode_array(bytes, src)
    }

    /// The array `name` as class labels (as [`read_npy_labels`] reads a file).
    ///
    /// # Errors
    /// As [`Npz::array`], and as [`decode_npy_labels`] says.
    pub fn labels(&self, name: &str) -> Result<Vec<usize>> {
        let (bytes, src) = self.member(name)?;
        decode_labels(bytes, src)
    }

    /// A classification dataset from the arrays `x` (features: one row per sample; an array
    /// of more than two axes, such as images `[N, 28, 28]`, is flattened to `[N, 784]`, a
    /// 1-D one is one feature) and `y` (labels). `classes` is the class count; `None` takes
    /// the largest label + 1, and then a label may not exceed the number of rows (so that a
    /// corrupt label cannot make billions of classes).
    ///
    /// Keras' `mnist.npz`, for one: `npz.dataset("x_train", "y_train", Some(10))`.
    ///
    /// # Errors
    /// As [`Npz::array`] and [`Npz::labels`]; [`Error::Format`] when the row counts differ or
    /// a label is out of range.
    pub fn dataset<T: Element>(
        &self,
        x: &str,
        y: &str,
        classes: Option<usize>,
    ) -> Result<Dataset<T>> {
        let xs = self.array::<T>(x)?;
        let labels = self.labels(y)?;
        let bad = |m: String| Error::Format {
            path: self.path.clone(),
            offset: None,
            message: m,
        };
        let rows = xs.dims().first().copied().unwrap_or(1);
        if rows != labels.len() {
            return Err(bad(format!(
                "`{x}` has {rows} rows (shape {}) but `{y}` has {} labels",
                xs.shape(),
                labels.len()
            )));
        }
        let features: usize = xs.dims().iter().skip(1).product();
        let xs = xs
            .into_shape([rows, features])
            .map_err(|e| bad(format!("`{x}` cannot be made into rows: {e}")))?;
        let max = labels.iter().copied().max();
        let classes = match classes {
            Some(c) => c,
            None => {
                if let Some(m) = max.filter(|&m| m > rows) {
                    return Err(bad(format!(
                        "label {m} of `{y}` exceeds the number of rows ({rows}); give the class \
                         count if it is right"
                    )));
                }
                max.map_or(0, |m| m + 1)
            }
        };
        if let Some((i, &l)) = labels.iter().enumerate().find(|(_, &l)| l >= classes) {
            return Err(bad(format!(
                "label {l} of row {i} of `{y}` is out of range for {classes} classes"
            )));
        }
        Dataset::new(xs, labels, classes).map_err(|e| bad(e.to_string()))
    }
}

/// Writes an `.npz` archive of `.npy` members (the bytes of [`encode_npy`] or
/// [`encode_npy_labels`], by array name), stored as `np.savez` does or, with `compressed`,
/// deflated as `np.savez_compressed` does; atomically (a temporary file renamed over `path`).
///
/// # Errors
/// [`Error::InvalidArgument`] for two members of one name; [`Error::Io`] naming `path` when
/// it cannot be written or the archive cannot be made.
pub fn write_npz(
    path: impl AsRef<Path>,
    members: &[(&str, Vec<u8>)],
    compressed: bool,
) -> Result<()> {
    let path = path.as_ref();
    for (i, (name, _)) in members.iter().enumerate() {
        if members[..i].iter().any(|(n, _)| n == name) {
            return Err(Error::invalid(
                "write_npz",
                format!("two members are named `{name}`"),
            ));
        }
    }
    let io = |e: std::io::Error| Error::Io {
        path: path.to_path_buf(),
        source: e,
    };
    let zip_io = |e: zip::result::ZipError| io(std::io::Error::other(e));
    let method = if compressed {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in members {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(method)
            .large_file(bytes.len() as u64 >= u64::from(u32::MAX));
        w.start_file(format!("{name}.npy"), options)
            .map_err(zip_io)?;
        w.write_all(bytes).map_err(io)?;
    }
    let bytes = w.finish().map_err(zip_io)?.into_inner();
    write_file_atomic(path, &bytes)
}

/// Writes `ds` to an `.npz` archive with the arrays `x` (the features, as [`encode_npy`])
/// and `y` (the labels, `int64`), as `np.savez(path, x=x, y=y)` (or `np.savez_compressed`
/// with `compressed`) would; [`Npz::dataset`]`("x", "y", ..)` reads it back.
///
/// # Errors
/// As [`write_npz`].
pub fn write_npz_dataset<T: Element>(
    path: impl AsRef<Path>,
    ds: &Dataset<T>,
    compressed: bool,
) -> Result<()> {
    write_npz(
        path,
        &[("x", encode_npy(&ds.x)), ("y", encode_npy_labels(&ds.y))],
        compressed,
    )
}
