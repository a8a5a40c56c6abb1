//! A small reader for numeric CSV files, raw or gzip (recognised by content).
//!
//! Fields are separated by commas; surrounding spaces are ignored; there is no quoting. The
//! first line is a header when any of its fields is not a number. Blank lines are skipped,
//! `\r\n` line ends are fine. Every field of every other line must be a finite number and every
//! line must have as many fields as the first. A broken file gives an
//! [`Error::Format`](tapegrad_core::Error::Format) naming the file, the byte offset, the line
//! and the column (both counted from 1).
//!
//! ```
//! use tapegrad_data::csv;
//! # fn main() -> tapegrad_core::Result<()> {
//! let text = "a,b,label\n0.5,1,0\n2,3.5,1\n";
//! let table = csv::parse(text.as_bytes(), "inline.csv".as_ref())?;
//! assert_eq!(table.header.as_deref(), Some(&["a".to_string(), "b".into(), "label".into()][..]));
//! assert_eq!((table.rows, table.cols), (2, 3));
//! let ds = csv::parse_labeled(text.as_bytes(), "inline.csv".as_ref(), None)?; // last column
//! assert_eq!((ds.x.dims(), ds.y.as_slice(), ds.classes), (&[2, 2][..], &[0, 1][..], 2));
//! # Ok(()) }
//! ```

use crate::dataset::Dataset;
use crate::read::{self, View};
use std::path::Path;
use tapegrad_core::{Array, Element, Result};

/// A numeric table read from CSV.
#[derive(Clone, Debug, PartialEq)]
pub struct CsvTable {
    /// The header's fields, when the first line is a header.
    pub header: Option<Vec<String>>,
    /// The number of data rows.
    pub rows: usize,
    /// The number of columns.
    pub cols: usize,
    /// The values, row-major (`rows * cols` of them).
    pub values: Vec<f64>,
}

impl CsvTable {
    /// The values as an array `[rows, cols]`.
    pub fn to_array<T: Element>(&self) -> Array<T> {
        Array::from_vec(
            self.values.iter().map(|&v| T::of(v)).collect(),
            [self.rows, self.cols],
        )
        .expect("internal: CsvTable holds rows * cols values")
    }
}

/// Reads a numeric CSV file (raw or gzip).
///
/// # Errors
/// [`Error::Io`](tapegrad_core::Error::Io) when the file cannot be read;
/// [`Error::Format`](tapegrad_core::Error::Format) naming the file, byte offset, line and column
/// of a field that is not a finite number, of a line with the wrong number of fields, or of
/// broken gzip data; also when there are no data rows.
pub fn read(path: impl AsRef<Path>) -> Result<CsvTable> {
    let path = path.as_ref();
    let content = read::read_file(path)?;
    parse_view(content.view(), path, None).map(|(t, _)| t)
}

/// Parses CSV text (uncompressed); `path` names it in errors.
///
/// # Errors
/// As [`read`].
pub fn parse(bytes: &[u8], path: &Path) -> Result<CsvTable> {
    parse_view(raw(bytes), path, None).map(|(t, _)| t)
}

/// Reads a numeric CSV file whose column `label_column` (the last one when `None`) holds
/// class labels (non-negative integers) and the other columns the features. The number of
/// classes is the largest label plus one.
///
/// # Errors
/// As [`read`], and [`Error::Format`](tapegrad_core::Error::Format) naming the line and column
/// of a label that is not a non-negative integer, or when `label_column` is not a column.
pub fn read_labeled(path: impl AsRef<Path>, label_column: Option<usize>) -> Result<Dataset<f32>> {
    let path = path.as_ref();
    let content = read::read_file(path)?;
    labeled(content.view(), path, label_column).map(|(ds, _)| ds)
}

/// Parses CSV text with a label column (see [`read_labeled`]); `path` names it in errors.
///
/// # Errors
/// As [`read_labeled`].
pub fn parse_labeled(
    bytes: &[u8],
    path: &Path,
    label_column: Option<usize>,
) -> Result<Dataset<f32>> {
    labeled(raw(bytes), path, label_column).map(|(ds, _)| ds)
}

fn raw(bytes: &[u8]) -> View<'_> {
    View {
        bytes,
        gzipped: false,
    }
}

/// A labelled set and the header it came with.
pub(crate) fn labeled(
    c: View<'_>,
    path: &Path,
    label_column: Option<usize>,
) -> Result<(Dataset<f32>, Option<Vec<String>>)> {
    let (table, labels) = parse_view(c, path, Some(label_column))?;
    let labels = labels.expect("internal: labels parsed when a label column is asked for");
    let lc = label_column.unwrap_or(table.cols - 1);
    let features = table.cols - 1;
    let mut x = Vec::with_capacity(table.rows * features);
    for row in table.values.chunks(table.cols) {
        x.extend(
            row.iter()
                .enumerate()
                .filter(|&(j, _)| j != lc)
                .map(|(_, &v)| v as f32),
        );
    }
    let classes = labels.iter().max().map_or(0, |&m| m + 1);
    let x = Array::from_vec(x, [table.rows, features]).expect("internal: feature count");
    let ds = Dataset::new(x, labels, classes).expect("internal: labels below max + 1");
    Ok((ds, table.header))
}

/// The line (from 1) and column (from 1) of a byte offset's field, for messages.
fn at(line: usize, col: usize) -> String {
    format!("line {line}, column {col}")
}

/// Parses the table; with `Some(label_column)` (`Some(None)` = last) also checks and returns
/// that column as labels.
fn parse_view(
    c: View<'_>,
    path: &Path,
    label_column: Option<Option<usize>>,
) -> Result<(CsvTable, Option<Vec<usize>>)> {
    let text = std::str::from_utf8(c.bytes).map_err(|e| {
        let line = c.bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        c.error(
            path,
            e.valid_up_to(),
            format!("line {line}: not UTF-8 text (a binary file, or gzip not recognised?)"),
        )
    })?;
    let mut header = None;
    let mut values = Vec::new();
    let mut labels = label_column.map(|_| Vec::new());
    let mut cols = 0usize;
    let mut rows = 0usize;
    let mut first_cols_line = 0;
    let mut lc = 0usize;
    let mut offset = 0usize;
    for (i, line_text) in text.split('\n').enumerate() {
        let line = i + 1;
        let line_start = offset;
        offset += line_text.len() + 1;
        let line_text = line_text.strip_suffix('\r').unwrap_or(line_text);
        if line_text.trim().is_empty() {
            continue;
        }
        // Fields with their byte offsets.
        let mut fields = Vec::new();
        let mut pos = line_start;
        for f in line_text.split(',') {
            fields.push((f, pos));
            pos += f.len() + 1;
        }
        if cols == 0 {
            cols = fields.len();
            first_cols_line = line;
            if let Some(label_column) = label_column {
                lc = label_column.unwrap_or(cols - 1);
                if lc >= cols {
                    return Err(c.error(
                        path,
                        line_start,
                        format!(
                            "line {line}: label column {} asked for, but lines have {cols} \
                             columns",
                            lc + 1
                        ),
                    ));
                }
                if cols < 2 {
                    return Err(c.error(
                        path,
                        line_start,
                        format!("line {line}: one column only, no room for features and a label"),
                    ));
                }
            }
            if fields.iter().any(|(f, _)| number(f).is_none()) {
                header = Some(
                    fields
                        .iter()
                        .map(|(f, _)| f.trim().trim_matches('"').to_string())
                        .collect(),
                );
                continue;
            }
        } else if fields.len() != cols {
            return Err(c.error(
                path,
                line_start,
                format!(
                    "line {line} has {} fields, but line {first_cols_line} has {cols}",
                    fields.len()
                ),
            ));
        }
        for (j, &(f, pos)) in fields.iter().enumerate() {
            let v = number(f).ok_or_else(|| {
                c.error(
                    path,
                    pos,
                    format!("{}: {:?} is not a finite number", at(line, j + 1), f.trim()),
                )
            })?;
            if let Some(labels) = labels.as_mut().filter(|_| j == lc) {
                if v < 0.0 || v.fract() != 0.0 || v > u32::MAX as f64 {
                    return Err(c.error(
                        path,
                        pos,
                        format!(
                            "{}: label {:?} is not a non-negative integer",
                            at(line, j + 1),
                            f.trim()
                        ),
                    ));
                }
                labels.push(v as usize);
            }
            values.push(v);
        }
        rows += 1;
    }
    if rows == 0 {
        return Err(c.error(path, c.bytes.len(), "no data rows"));
    }
    Ok((
        CsvTable {
            header,
            rows,
            cols,
            values,
        },
        labels,
    ))
}

fn number(field: &str) -> Option<f64> {
    field.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tapegrad_core::Error;

    fn err(text: &str, label: Option<Option<usize>>) -> (String, Option<u64>) {
        let e = parse_view(raw(text.as_bytes()), Path::new("t.csv"), label).unwrap_err();
        let msg = e.to_string();
        match e {
            Error::Format { offset, path, .. } => {
                assert_eq!(path, Path::new("t.csv"));
                (msg, offset)
            }
            other => panic!("expected Format, got {other:?}"),
        }
    }

    #[test]
    fn parses_with_and_without_header() {
        let t = parse(b"1,2\r\n\n 3 , 4.5\n", Path::new("t.csv")).unwrap();
        assert_eq!((&t.header, t.rows, t.cols), (&None, 2, 2));
        assert_eq!(t.values, vec![1., 2., 3., 4.5]);
        assert_eq!(t.to_array::<f32>().dims(), &[2, 2]);
        let t = parse(b"150,4,setosa\n1,2,3\n", Path::new("t.csv")).unwrap();
        assert_eq!(t.header.unwrap(), vec!["150", "4", "setosa"]);
        assert_eq!(t.values, vec![1., 2., 3.]);
    }

    #[test]
    fn bad_number_names_line_column_and_offset() {
        let (msg, off) = err("1,2,3\n4,x5,6\n", None);
        assert_eq!(off, Some(8));
        assert_eq!(
            msg,
            "t.csv: at byte 8: line 2, column 2: \"x5\" is not a finite number"
        );
        let (msg, off) = err("1,2\n3,inf\n", None);
        assert_eq!(off, Some(6));
        assert!(msg.contains("line 2, column 2"), "{msg}");
    }

    #[test]
    fn ragged_line_is_an_error() {
        let (msg, off) = err("a,b\n1,2\n\n3,4,5\n", None);
        assert_eq!(off, Some(9));
        assert_eq!(
            msg,
            "t.csv: at byte 9: line 4 has 3 fields, but line 1 has 2"
        );
    }

    #[test]
    fn labels_are_checked() {
        let ds = parse_labeled(b"1,2,0\n3,4,2\n", Path::new("t.csv"), None).unwrap();
        assert_eq!((ds.y.clone(), ds.classes), (vec![0, 2], 3));
        assert_eq!(ds.x.data(), &[1., 2., 3., 4.]);
        let ds = parse_labeled(b"1,2,0\n0,4,2\n", Path::new("t.csv"), Some(0)).unwrap();
        assert_eq!(
            (ds.y.clone(), ds.x.data()),
            (vec![1, 0], &[2f32, 0., 4., 2.][..])
        );
        let (msg, off) = err("1,2,0\n3,4,1.5\n", Some(None));
        assert_eq!(off, Some(10));
        assert!(msg.contains("line 2, column 3: label \"1.5\""), "{msg}");
        let (msg, off) = err("1,2,0\n3,4,-1\n", Some(None));
        assert_eq!(off, Some(10));
        assert!(msg.contains("not a non-negative integer"), "{msg}");
        let (msg, off) = err("1,2\n", Some(Some(5)));
        assert_eq!(off, Some(0));
        assert!(msg.contains("label column 6 asked for"), "{msg}");
        let (msg, _) = err("1\n2\n", Some(None));
        assert!(msg.contains("one column only"), "{msg}");
    }

    #[test]
    fn empty_and_binary_are_errors() {
        let (msg, off) = err("a,b\n\n", None);
        assert_eq!(
            (msg.as_str(), off),
            ("t.csv: at byte 5: no data rows", Some(5))
        );
        let e = parse(&[b'1', b',', 0xff, b'\n'], Path::new("t.csv")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("t.csv: at byte 2: line 1: not UTF-8"),
            "{e}"
        );
    }

    #[test]
    fn gzip_file_round_trip_and_missing_file() {
        let dir = std::env::temp_dir().join(format!("tapegrad-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("t.csv.gz");
        std::fs::write(&p, read::gzip(b"1,2,1\n3,4,0\n5,x,1\n")).unwrap();
        let msg = read_labeled(&p, None).unwrap_err().to_string();
        assert!(msg.starts_with(&format!("{}: at byte 14: line 3, column 2", p.display())));
        assert!(msg.ends_with("(offset in the decompressed data)"), "{msg}");
        std::fs::write(&p, read::gzip(b"1,2,1\n3,4,0\n")).unwrap();
        assert_eq!(read_labeled(&p, None).unwrap().y, vec![1, 0]);
        assert_eq!(read(&p).unwrap().rows, 2);
        std::fs::remove_dir_all(&dir).unwrap();
        let e = read(&p).unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "{e:?}");
        assert!(e.to_string().starts_with(&p.display().to_string()));
    }
}
