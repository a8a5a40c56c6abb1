//! The IDX file format (as used by MNIST), raw or gzip-compressed.
//!
//! An IDX file is a 4-byte magic number — two zero bytes, a type code, the number of
//! dimensions — then each dimension as a big-endian `u32`, then the values, big-endian,
//! row-major. Type codes: `0x08` u8, `0x09` i8, `0x0B` i16, `0x0C` i32, `0x0D` f32, `0x0E` f64.
//!
//! [`read_idx`] checks the magic, the type code, the dimensions and the data length, and on a
//! broken file returns an [`Error::Format`] naming the file and the byte offset of the problem
//! (for a gzip file, the offset in the decompressed data, and the message says so).
//!
//! ```
//! use tapegrad_data::idx::{decode_idx, encode_idx, IdxArray, IdxData};
//! # fn main() -> tapegrad_core::Result<()> {
//! let a = IdxArray::new(vec![2, 3], IdxData::U8(vec![0, 1, 2, 3, 4, 255]))?;
//! let bytes = encode_idx(&a);
//! assert_eq!(&bytes[..4], &[0, 0, 0x08, 2]); // magic: u8 data, 2 dimensions
//! assert_eq!(decode_idx(&bytes, "in-memory".as_ref())?, a);
//! # Ok(()) }
//! ```

use crate::read::{self, View};
use std::path::Path;
use tapegrad_core::{Array, Element, Error, Result};

/// The element type of an IDX file, with its type code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdxType {
    /// Unsigned byte, code `0x08`.
    U8,
    /// Signed byte, code `0x09`.
    I8,
    /// Big-endian 16-bit integer, code `0x0B`.
    I16,
    /// Big-endian 32-bit integer, code `0x0C`.
    I32,
    /// Big-endian 32-bit float, code `0x0D`.
    F32,
    /// Big-endian 64-bit float, code `0x0E`.
    F64,
}

impl IdxType {
    /// The type for a type code (`None` for an unknown code).
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0x08 => IdxType::U8,
            0x09 => IdxType::I8,
            0x0B => IdxType::I16,
            0x0C => IdxType::I32,
            0x0D => IdxType::F32,
            0x0E => IdxType::F64,
            _ => return None,
        })
    }

    /// The type code stored in the file's third byte.
    pub fn code(self) -> u8 {
        match self {
            IdxType::U8 => 0x08,
            IdxType::I8 => 0x09,
            IdxType::I16 => 0x0B,
            IdxType::I32 => 0x0C,
            IdxType::F32 => 0x0D,
            IdxType::F64 => 0x0E,
        }
    }

    /// Bytes per value.
    pub fn size(self) -> usize {
        match self {
            IdxType::U8 | IdxType::I8 => 1,
            IdxType::I16 => 2,
            IdxType::I32 | IdxType::F32 => 4,
            IdxType::F64 => 8,
        }
    }

    /// A short name (`"u8"`, `"f32"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            IdxType::U8 => "u8",
            IdxType::I8 => "i8",
            IdxType::I16 => "i16",
            IdxType::I32 => "i32",
            IdxType::F32 => "f32",
            IdxType::F64 => "f64",
        }
    }
}

impl std::fmt::Display for IdxType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (type code 0x{:02X})", self.name(), self.code())
    }
}

/// The values of an IDX file, in their stored type.
#[derive(Clone, Debug, PartialEq)]
pub enum IdxData {
    /// Unsigned bytes (MNIST's images and labels).
    U8(Vec<u8>),
    /// Signed bytes.
    I8(Vec<i8>),
    /// 16-bit integers.
    I16(Vec<i16>),
    /// 32-bit integers.
    I32(Vec<i32>),
    /// 32-bit floats.
    F32(Vec<f32>),
    /// 64-bit floats.
    F64(Vec<f64>),
}

impl IdxData {
    /// The stored type.
    pub fn dtype(&self) -> IdxType {
        match self {
            IdxData::U8(_) => IdxType::U8,
            IdxData::I8(_) => IdxType::I8,
            IdxData::I16(_) => IdxType::I16,
            IdxData::I32(_) => IdxType::I32,
            IdxData::F32(_) => IdxType::F32,
            IdxData::F64(_) => IdxType::F64,
        }
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        match self {
            IdxData::U8(v) => v.len(),
            IdxData::I8(v) => v.len(),
            IdxData::I16(v) => v.len(),
            IdxData::I32(v) => v.len(),
            IdxData::F32(v) => v.len(),
            IdxData::F64(v) => v.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value at `i` as an `f64` (exact for every IDX type).
    pub fn get_f64(&self, i: usize) -> Option<f64> {
        Some(match self {
            IdxData::U8(v) => f64::from(*v.get(i)?),
            IdxData::I8(v) => f64::from(*v.get(i)?),
            IdxData::I16(v) => f64::from(*v.get(i)?),
            IdxData::I32(v) => f64::from(*v.get(i)?),
            IdxData::F32(v) => f64::from(*v.get(i)?),
            IdxData::F64(v) => *v.get(i)?,
        })
    }
}

/// The content of an IDX file: its dimensions and values (row-major).
#[derive(Clone, Debug, PartialEq)]
pub struct IdxArray {
    /// The dimensions, e.g. `[60000, 28, 28]` for MNIST's training images.
    pub dims: Vec<usize>,
    /// The values; their count is the product of `dims`.
    pub data: IdxData,
}

impl IdxArray {
    /// An IDX array from dimensions and values.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when there are no dimensions or more than 255, a dimension
    /// does not fit in a `u32`, or the value count is not the product of the dimensions.
    #[track_caller]
    pub fn new(dims: Vec<usize>, data: IdxData) -> Result<Self> {
        if dims.is_empty() || dims.len() > 255 {
            return Err(Error::invalid(
                "IdxArray::new",
                format!("an IDX file has 1 to 255 dimensions, got {}", dims.len()),
            ));
        }
        if let Some(&d) = dims.iter().find(|&&d| u32::try_from(d).is_err()) {
            return Err(Error::invalid(
                "IdxArray::new",
                format!("dimension {d} does not fit in a u32"),
            ));
        }
        let numel = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        if numel != Some(data.len()) {
            return Err(Error::invalid(
                "IdxArray::new",
                format!("dims {dims:?} do not hold {} values", data.len()),
            ));
        }
        Ok(IdxArray { dims, data })
    }

    /// The values converted to an [`Array`] of the same dimensions (e.g. `u8` pixels as
    /// `f32` 0..=255).
    pub fn to_array<T: Element>(&self) -> Array<T> {
        let data: Vec<T> = match &self.data {
            IdxData::U8(v) => v.iter().map(|&x| T::of(f64::from(x))).collect(),
            IdxData::I8(v) => v.iter().map(|&x| T::of(f64::from(x))).collect(),
            IdxData::I16(v) => v.iter().map(|&x| T::of(f64::from(x))).collect(),
            IdxData::I32(v) => v.iter().map(|&x| T::of(f64::from(x))).collect(),
            IdxData::F32(v) => v.iter().map(|&x| T::of(f64::from(x))).collect(),
            IdxData::F64(v) => v.iter().map(|&x| T::of(x)).collect(),
        };
        Array::from_vec(data, self.dims.as_slice()).expect("internal: IdxArray length checked")
    }
}

/// Reads an IDX file, raw or gzip (recognised by its content, whatever its name).
///
/// A gzip file is inflated only as far as its header promises (the header, then the product
/// of the dimensions times the type's size), and at most [`read::DEFAULT_LIMIT`] bytes (1 GiB;
/// [`read_idx_with_limit`] sets another bound): a gzip bomb behind a small header stops at the
/// promise. The memory taken is the compressed file, the inflated bytes (their buffer grows
/// by doubling up to the promised size: at most 1.5 x the promise, and at most 3 x what was
/// actually inflated while it moves), and the decoded values.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Format`] with the byte offset when
/// the gzip data is broken, holds more or less than its header promises, promises more than
/// the limit, or the content is not valid IDX (see [`decode_idx`]).
pub fn read_idx(path: impl AsRef<Path>) -> Result<IdxArray> {
    read_idx_with_limit(path, read::DEFAULT_LIMIT)
}

/// [`read_idx`] with another bound on the decompressed size of a gzip file (header and data);
/// an uncompressed file is read whatever its size.
///
/// # Errors
/// As [`read_idx`].
pub fn read_idx_with_limit(path: impl AsRef<Path>, limit: u64) -> Result<IdxArray> {
    let path = path.as_ref();
    let content = read_content(path, limit)?;
    parse(content.view(), path)
}

/// How many decompressed bytes past the promised end of a gzip IDX file are counted for the
/// "bytes too many" message before the reader gives up counting.
const TRAILING_COUNT_CAP: u64 = 1 << 20;

/// Reads an IDX file's bytes, raw or gzip. A gzip file is inflated only as far as its header
/// promises (the header, then dims x type size bytes): a gzip bomb behind a small header stops
/// there, and bytes beyond the promise are counted (not kept) for the error message.
/// At most `limit` decompressed bytes are accepted (an error when the header promises more).
pub(crate) fn read_content(path: &Path, limit: u64) -> Result<read::Content> {
    let raw = read::read_raw(path)?;
    if !read::is_gzip(&raw) {
        return Ok(read::Content {
            bytes: raw,
            gzipped: false,
        });
    }
    let mut d = read::Decoder::new(&raw, path);
    let mut bytes = Vec::new();
    d.fill(&mut bytes, 4)?;
    // Go on only while the header makes sense; `parse_header` reports what does not.
    let rank = match bytes[..] {
        [0, 0, code, rank] if rank > 0 && IdxType::from_code(code).is_some() => usize::from(rank),
        _ => return Ok(gz_content(bytes)),
    };
    let data_start = 4 + 4 * rank;
    d.fill(&mut bytes, data_start)?;
    if bytes.len() < data_start {
        return Ok(gz_content(bytes));
    }
    let dtype = IdxType::from_code(bytes[2]).expect("internal: type code checked above");
    let Some(need) = promised_bytes(&bytes, rank, dtype) else {
        return Ok(gz_content(bytes));
    };
    let Some(total) = data_start.checked_add(need) else {
        return Ok(gz_content(bytes));
    };
    if total as u64 > limit {
        let dims = dims_of(&bytes, rank);
        return Err(read::format_error(
            path,
            4,
            true,
            format!(
                "dims {dims:?} of {} promise {total} bytes, more than the limit of {limit} bytes \
                 for a gzip IDX file (read_idx_with_limit reads larger ones)",
                dtype.name()
            ),
        ));
    }
    d.fill(&mut bytes, total)?;
    // Read on to the end (that checks the CRC), keeping nothing more.
    let extra = d.skip(TRAILING_COUNT_CAP)?;
    if extra > 0 {
        let dims = dims_of(&bytes, rank);
        let (have, too_many) = if extra >= TRAILING_COUNT_CAP {
            (
                format!("at least {}", need as u64 + extra),
                "at least 1 MiB".to_string(),
            )
        } else {
            ((need as u64 + extra).to_string(), format!("{extra} bytes"))
        };
        return Err(read::format_error(
            path,
            total,
            true,
            format!(
                "dims {dims:?} of {} need {need} data bytes after the {data_start}-byte header, \
                 but {have} follow ({too_many} too many: wrong dims?)",
                dtype.name()
            ),
        ));
    }
    Ok(gz_content(bytes))
}

fn gz_content(bytes: Vec<u8>) -> read::Content {
    read::Content {
        bytes,
        gzipped: true,
    }
}

/// The dimensions stored in a header of `rank` dimensions (`b` holds at least the header).
fn dims_of(b: &[u8], rank: usize) -> Vec<usize> {
    (0..rank)
        .map(|i| {
            let at = 4 + 4 * i;
            u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize
        })
        .collect()
}

/// The data bytes a header promises, `None` when the size overflows.
fn promised_bytes(b: &[u8], rank: usize, dtype: IdxType) -> Option<usize> {
    dims_of(b, rank)
        .iter()
        .try_fold(dtype.size(), |a, &d| a.checked_mul(d))
}

/// Parses the bytes of an (uncompressed) IDX file; `path` names it in errors.
///
/// # Errors
/// [`Error::Format`] with the byte offset of the problem: a bad magic number, an unknown type
/// code, zero dimensions, a header cut short, dimensions whose product overflows, data shorter
/// than the dimensions need (truncated) or longer (trailing bytes).
pub fn decode_idx(bytes: &[u8], path: &Path) -> Result<IdxArray> {
    parse(
        View {
            bytes,
            gzipped: false,
        },
        path,
    )
}

/// The header of an IDX file: type, dimensions, and where the data starts.
pub(crate) struct Header {
    pub dtype: IdxType,
    pub dims: Vec<usize>,
    pub data_start: usize,
}

pub(crate) fn parse_header(c: View<'_>, path: &Path) -> Result<Header> {
    let b = c.bytes;
    if b.len() < 4 {
        return Err(c.error(
            path,
            b.len(),
            format!(
                "file is {} bytes long; an IDX file starts with a 4-byte magic number",
                b.len()
            ),
        ));
    }
    if b[0] != 0 || b[1] != 0 {
        return Err(c.error(
            path,
            0,
            format!(
                "bad magic number 0x{:02X}{:02X}{:02X}{:02X}: an IDX file starts with two zero \
                 bytes, a type code and the number of dimensions",
                b[0], b[1], b[2], b[3]
            ),
        ));
    }
    let dtype = IdxType::from_code(b[2]).ok_or_else(|| {
        c.error(
            path,
            2,
            format!(
                "unknown data type code 0x{:02X} (known: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, \
                 0x0D f32, 0x0E f64)",
                b[2]
            ),
        )
    })?;
    let rank = usize::from(b[3]);
    if rank == 0 {
        return Err(c.error(path, 3, "the header declares 0 dimensions"));
    }
    let data_start = 4 + 4 * rank;
    if b.len() < data_start {
        return Err(c.error(
            path,
            b.len(),
            format!(
                "the header declares {rank} dimensions ({data_start} header bytes) but the \
                 file ends at byte {}",
                b.len()
            ),
        ));
    }
    let dims = dims_of(b, rank);
    let mut numel = 1usize;
    for (i, &d) in dims.iter().enumerate() {
        numel = numel.checked_mul(d).ok_or_else(|| {
            c.error(
                path,
                4 + 4 * i,
                format!("dims {dims:?}: their product overflows"),
            )
        })?;
    }
    let need = numel
        .checked_mul(dtype.size())
        .ok_or_else(|| c.error(path, 4, format!("dims {dims:?}: their byte size overflows")))?;
    let have = b.len() - data_start;
    if have < need {
        return Err(c.error(
            path,
            b.len(),
            format!(
                "truncated: dims {dims:?} of {} need {need} data bytes after the {data_start}-byte \
                 header, but only {have} follow",
                dtype.name()
            ),
        ));
    }
    if have > need {
        return Err(c.error(
            path,
            data_start + need,
            format!(
                "dims {dims:?} of {} need {need} data bytes after the {data_start}-byte header, \
                 but {have} follow ({} bytes too many: wrong dims?)",
                dtype.name(),
                have - need
            ),
        ));
    }
    Ok(Header {
        dtype,
        dims,
        data_start,
    })
}

fn parse(c: View<'_>, path: &Path) -> Result<IdxArray> {
    let h = parse_header(c, path)?;
    let d = &c.bytes[h.data_start..];
    let data = match h.dtype {
        IdxType::U8 => IdxData::U8(d.to_vec()),
        IdxType::I8 => IdxData::I8(d.iter().map(|&x| x as i8).collect()),
        IdxType::I16 => IdxData::I16(
            d.chunks_exact(2)
                .map(|x| i16::from_be_bytes([x[0], x[1]]))
                .collect(),
        ),
        IdxType::I32 => IdxData::I32(
            d.chunks_exact(4)
                .map(|x| i32::from_be_bytes([x[0], x[1], x[2], x[3]]))
                .collect(),
        ),
        IdxType::F32 => IdxData::F32(
            d.chunks_exact(4)
                .map(|x| f32::from_be_bytes([x[0], x[1], x[2], x[3]]))
                .collect(),
        ),
        IdxType::F64 => IdxData::F64(
            d.chunks_exact(8)
                .map(|x| f64::from_be_bytes(x.try_into().expect("internal: 8-byte chunk")))
                .collect(),
        ),
    };
    Ok(IdxArray { dims: h.dims, data })
}

/// The bytes of an IDX file holding `a` (uncompressed).
pub fn encode_idx(a: &IdxArray) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + 4 * a.dims.len() + a.data.len() * a.data.dtype().size());
    out.extend_from_slice(&[
        0,
        0,
        a.data.dtype().code(),
        u8::try_from(a.dims.len()).expect("internal: IdxArray has at most 255 dims"),
    ]);
    for &d in &a.dims {
        let d = u32::try_from(d).expect("internal: IdxArray dims fit in u32");
        out.extend_from_slice(&d.to_be_bytes());
    }
    match &a.data {
        IdxData::U8(v) => out.extend_from_slice(v),
        IdxData::I8(v) => out.extend(v.iter().map(|&x| x as u8)),
        IdxData::I16(v) => v
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_be_bytes())),
        IdxData::I32(v) => v
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_be_bytes())),
        IdxData::F32(v) => v
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_be_bytes())),
        IdxData::F64(v) => v
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_be_bytes())),
    }
    out
}

/// Writes `a` as an IDX file, gzip-compressed when `path` ends in `.gz`.
///
/// # Errors
/// [`Error::Io`] when the file cannot be written.
pub fn write_idx(path: impl AsRef<Path>, a: &IdxArray) -> Result<()> {
    let path = path.as_ref();
    let mut bytes = encode_idx(a);
    if path.extension().is_some_and(|e| e == "gz") {
        bytes = read::gzip(&bytes);
    }
    std::fs::write(path, bytes).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}
