//! A reader for numeric CSV files (comma, tab or whitespace separated), raw or gzip.
//!
//! [`CsvOptions`] says how to read a file; its defaults guess the way pandas does, so most
//! files need no option at all:
//!
//! - **Delimiter** ([`Delimiter`]): detected from the first data line (the second non-blank
//!   line, or the first when there is one): a comma if it has one, else a tab, else runs of
//!   spaces and tabs. Or given: comma, tab, whitespace or any other character.
//! - **Header** ([`Header`]): detected from the first line: scikit-learn's
//!   `n_samples,n_features,name,...` line when its first two fields are counts that match the
//!   data (that many rows of `n_features + 1` fields) and the line is not itself a data row;
//!   else a header of names when a field is not a number; else no header (the line is data).
//!   Or given: names, none, scikit-learn.
//! - **Label column** ([`LabelColumn`], for [`CsvOptions::read_labeled`]): the last column, or
//!   one given by index or by its name in the header.
//! - **Gzip**: recognised by the magic bytes `1f 8b` (a file named `.gz` without them is an
//!   error), inflated up to [`read::DEFAULT_LIMIT`] bytes (1 GiB),
//!   settable with [`CsvOptions::max_decompressed`].
//!
//! Surrounding spaces are ignored; there is no quoting (quotes around header names are
//! dropped). Blank lines are skipped, `\r\n` line ends are fine, and so is a leading UTF-8
//! byte-order mark (as Excel writes). Every data field must be a finite number and every data
//! line must have as many fields as the first. A broken file gives an [`Error::Format`] naming
//! the file, the byte offset, the line and the column (both counted from 1; the column is the
//! field's number).
//!
//! Labels are class indices: non-negative integers, bounded by what the file holds. With
//! class names (from a scikit-learn line) or [`CsvOptions::classes`], a label must be below
//! their count; otherwise it may not exceed the number of data rows (so a one-line file
//! `1,4294967295` is an error, not four billion classes). Class names are only made for the
//! classes that can exist.
//!
//! Memory: the file (decompressed) plus the values (8 bytes per field, at most four times the
//! text's size, twice that while the buffer grows) plus, for a labelled set, the features as
//! `f32` and one label per row.
//!
//! ```
//! use tapegrad_data::csv::{self, CsvOptions, Delimiter, Header};
//! # fn main() -> tapegrad_core::Result<()> {
//! let text = "a,b,label\n0.5,1,0\n2,3.5,1\n";
//! let table = csv::parse(text.as_bytes(), "inline.csv".as_ref())?;
//! assert_eq!(table.header.as_deref(), Some(&["a".to_string(), "b".into(), "label".into()][..]));
//! assert_eq!((table.rows, table.cols), (2, 3));
//! let ds = csv::parse_labeled(text.as_bytes(), "inline.csv".as_ref(), None)?; // last column
//! assert_eq!((ds.x.dims(), ds.y.as_slice(), ds.classes), (&[2, 2][..], &[0, 1][..], 2));
//!
//! // scikit-learn's format: n_samples, n_features, then the class names.
//! let wine = "2,3,class_0,class_1\n1,2,3,1\n4,5,6,0\n";
//! let ds = CsvOptions::new().parse_labeled(wine.as_bytes(), "wine.csv".as_ref())?;
//! assert_eq!((ds.features(), ds.class_names.clone()), (3, vec!["class_0".into(), "class_1".into()]));
//!
//! // Whitespace-separated, no header, the label first (by index).
//! let opts = CsvOptions::new().header(Header::None).label(0);
//! let ds = opts.parse_labeled(b"1  0.5 0.25\n0 1.5 2.0\n", "ws.txt".as_ref())?;
//! assert_eq!((ds.y.as_slice(), ds.x.data()), (&[1, 0][..], &[0.5f32, 0.25, 1.5, 2.0][..]));
//! let table = opts.delimiter(Delimiter::Whitespace).parse(b"1 2\n3 4\n", "ws.txt".as_ref())?;
//! assert_eq!(table.values, vec![1.0, 2.0, 3.0, 4.0]);
//! # Ok(()) }
//! ```

use crate::dataset::Dataset;
use crate::read::{self, View};
use std::borrow::Cow;
use std::path::Path;
use tapegrad_core::{Array, Element, Error, Result};

/// How the fields of a line are separated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Delimiter {
    /// Detected from the first data line: comma if it has one, else tab, else whitespace.
    #[default]
    Auto,
    /// `,`
    Comma,
    /// A tab character.
    Tab,
    /// Runs of spaces and tabs; leading and trailing ones are ignored.
    Whitespace,
    /// Any other character (not a line end, quote, digit, sign, `.` or `e`/`E`).
    Char(char),
}

/// What the first non-blank line of a file is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Header {
    /// Detected: scikit-learn's line, names, or data (see the [module docs](self)).
    #[default]
    Auto,
    /// Column names, as many as the data rows have fields.
    Names,
    /// No header: the first line is data.
    None,
    /// scikit-learn's `n_samples,n_features,name,...`: the number of data rows, the number
    /// of features (each row has one more field: the target), then the class names (any
    /// number, also none).
    Sklearn,
}

/// Which column of a labelled file holds the class labels.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum LabelColumn {
    /// The last column.
    #[default]
    Last,
    /// The column at this index (from 0).
    Index(usize),
    /// The column with this name in a header of names.
    Name(String),
}

impl From<usize> for LabelColumn {
    fn from(i: usize) -> Self {
        LabelColumn::Index(i)
    }
}

impl From<&str> for LabelColumn {
    fn from(name: &str) -> Self {
        LabelColumn::Name(name.to_string())
    }
}

impl From<String> for LabelColumn {
    fn from(name: String) -> Self {
        LabelColumn::Name(name)
    }
}

/// How to read a CSV file: delimiter, header, label column, number of classes, and the bound
/// on gzip decompression. Built with chained setters from [`CsvOptions::new`] (all automatic).
///
/// ```
/// use tapegrad_data::csv::{CsvOptions, Delimiter, Header};
/// # fn main() -> tapegrad_core::Result<()> {
/// let text = "species\tpetal\n1\t0.2\n0\t1.4\n";
/// let opts = CsvOptions::new().delimiter(Delimiter::Tab).header(Header::Names).label("species");
/// let ds = opts.parse_labeled(text.as_bytes(), "flowers.tsv".as_ref())?;
/// assert_eq!((ds.y.as_slice(), ds.x.data()), (&[1, 0][..], &[0.2f32, 1.4][..]));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvOptions {
    delimiter: Delimiter,
    header: Header,
    label: LabelColumn,
    classes: Option<usize>,
    max_decompressed: u64,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: Delimiter::Auto,
            header: Header::Auto,
            label: LabelColumn::Last,
            classes: None,
            max_decompressed: read::DEFAULT_LIMIT,
        }
    }
}

impl CsvOptions {
    /// The defaults: delimiter and header detected, labels in the last column, the number of
    /// classes from the data, gzip inflated up to 1 GiB.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the delimiter.
    pub fn delimiter(mut self, delimiter: Delimiter) -> Self {
        self.delimiter = delimiter;
        self
    }

    /// Sets what the first line is.
    pub fn header(mut self, header: Header) -> Self {
        self.header = header;
        self
    }

    /// Sets the label column (for the `*_labeled` readers): an index (`usize`), a header name
    /// (`&str`), or a [`LabelColumn`].
    pub fn label(mut self, label: impl Into<LabelColumn>) -> Self {
        self.label = label.into();
        self
    }

    /// Sets the number of classes (for the `*_labeled` readers): every label must be below it,
    /// and the set has this many classes even when some do not occur (e.g. a test file holding
    /// a few of them). By default it comes from the scikit-learn line's class names, else from
    /// the largest label.
    pub fn classes(mut self, classes: usize) -> Self {
        self.classes = Some(classes);
        self
    }

    /// Sets the bound on the decompressed size of gzip content (default
    /// [`read::DEFAULT_LIMIT`], 1 GiB).
    pub fn max_decompressed(mut self, bytes: u64) -> Self {
        self.max_decompressed = bytes;
        self
    }

    /// Reads a numeric CSV file (raw or gzip) as a table.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a delimiter that cannot separate numbers;
    /// [`Error::Io`] when the file cannot be read; [`Error::Format`] naming the file, byte
    /// offset, line and column of a field that is not a finite number, of a line with the
    /// wrong number of fields, of a scikit-learn line whose counts do not match the data, or of
    /// broken or oversized gzip data; also when there are no data rows.
    #[track_caller]
    pub fn read(&self, path: impl AsRef<Path>) -> Result<CsvTable> {
        let path = path.as_ref();
        let raw = read::read_raw(path)?;
        self.parse(&raw, path)
    }

    /// Parses CSV content (raw or gzip); `path` names it in errors.
    ///
    /// # Errors
    /// As [`CsvOptions::read`].
    #[track_caller]
    pub fn parse(&self, bytes: &[u8], path: &Path) -> Result<CsvTable> {
        self.check()?;
        let (text, gzipped) = self.decode(bytes, path)?;
        let view = View {
            bytes: &text,
            gzipped,
        };
        Ok(Parser::new(self, view, path, false)?.run()?.0)
    }

    /// Reads a numeric CSV file (raw or gzip) whose label column holds class labels
    /// (non-negative integers) and whose other columns hold the features.
    ///
    /// # Errors
    /// As [`CsvOptions::read`], and [`Error::Format`] naming the line and column of a label
    /// that is not a non-negative integer or is out of bounds (see the [module docs](self)),
    /// or when the label column is not in the file.
    #[track_caller]
    pub fn read_labeled(&self, path: impl AsRef<Path>) -> Result<Dataset<f32>> {
        let path = path.as_ref();
        let raw = read::read_raw(path)?;
        self.parse_labeled(&raw, path)
    }

    /// Parses labelled CSV content (raw or gzip, see [`CsvOptions::read_labeled`]); `path`
    /// names it in errors.
    ///
    /// # Errors
    /// As [`CsvOptions::read_labeled`].
    #[track_caller]
    pub fn parse_labeled(&self, bytes: &[u8], path: &Path) -> Result<Dataset<f32>> {
        self.check()?;
        let (text, gzipped) = self.decode(bytes, path)?;
        let view = View {
            bytes: &text,
            gzipped,
        };
        let (table, labels) = Parser::new(self, view, path, true)?.run()?;
        drop(text);
        let labels = labels.expect("internal: labels parsed when asked for");
        dataset(table, labels)
    }

    /// The options' own errors: a delimiter that cannot work.
    #[track_caller]
    fn check(&self) -> Result<()> {
        if let Delimiter::Char(c) = self.delimiter {
            if matches!(c, '\n' | '\r' | '"' | '.' | '-' | '+' | 'e' | 'E') || c.is_ascii_digit() {
                return Err(Error::invalid(
                    "CsvOptions",
                    format!("{c:?} cannot be a delimiter: it is part of a number or a line end"),
                ));
            }
        }
        Ok(())
    }

    /// The content (inflated when it is gzip, borrowed when not) and whether it was gzip.
    fn decode<'b>(&self, bytes: &'b [u8], path: &Path) -> Result<(Cow<'b, [u8]>, bool)> {
        if read::is_gzip(bytes) {
            let text = read::gunzip(bytes, path, self.max_decompressed)?;
            return Ok((Cow::Owned(text), true));
        }
        if path.extension().is_some_and(|e| e == "gz") {
            return Err(read::format_error(
                path,
                0,
                false,
                "the name ends in .gz but the content is not gzip (it does not start with the \
                 bytes 1f 8b)",
            ));
        }
        Ok((Cow::Borrowed(bytes), false))
    }
}

/// A numeric table read from CSV.
#[derive(Clone, Debug, PartialEq)]
pub struct CsvTable {
    /// The first line's fields, when it is a header (of names, or scikit-learn's line).
    pub header: Option<Vec<String>>,
    /// What the first line was found to be: [`Header::Names`], [`Header::Sklearn`] or
    /// [`Header::None`] (never `Auto`).
    pub header_kind: Header,
    /// The delimiter the file was read with (never `Auto`).
    pub delimiter: Delimiter,
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

    /// The column names, when the first line is a header of names.
    pub fn column_names(&self) -> Option<&[String]> {
        match self.header_kind {
            Header::Names => self.header.as_deref(),
            _ => None,
        }
    }

    /// The class names of a scikit-learn line (the fields after the two counts; `None` when
    /// there is no such line or it names no class).
    pub fn class_names(&self) -> Option<&[String]> {
        match (self.header_kind, &self.header) {
            (Header::Sklearn, Some(h)) if h.len() > 2 => Some(&h[2..]),
            _ => None,
        }
    }
}

/// Reads a numeric CSV file (raw or gzip) with the default [`CsvOptions`].
///
/// # Errors
/// As [`CsvOptions::read`].
#[track_caller]
pub fn read(path: impl AsRef<Path>) -> Result<CsvTable> {
    CsvOptions::new().read(path)
}

/// Parses CSV content (raw or gzip) with the default [`CsvOptions`]; `path` names it in errors.
///
/// # Errors
/// As [`CsvOptions::read`].
#[track_caller]
pub fn parse(bytes: &[u8], path: &Path) -> Result<CsvTable> {
    CsvOptions::new().parse(bytes, path)
}

/// Reads a labelled CSV file (raw or gzip) whose column `label_column` (from 0; the last one
/// when `None`) holds class labels, with the other defaults of [`CsvOptions`].
///
/// # Errors
/// As [`CsvOptions::read_labeled`].
#[track_caller]
pub fn read_labeled(path: impl AsRef<Path>, label_column: Option<usize>) -> Result<Dataset<f32>> {
    with_label(label_column).read_labeled(path)
}

/// Parses labelled CSV content (see [`read_labeled`]); `path` names it in errors.
///
/// # Errors
/// As [`CsvOptions::read_labeled`].
#[track_caller]
pub fn parse_labeled(
    bytes: &[u8],
    path: &Path,
    label_column: Option<usize>,
) -> Result<Dataset<f32>> {
    with_label(label_column).parse_labeled(bytes, path)
}

fn with_label(label_column: Option<usize>) -> CsvOptions {
    CsvOptions::new().label(label_column.map_or(LabelColumn::Last, LabelColumn::Index))
}

/// The labelled set: features are every column but the label's.
fn dataset(table: CsvTable, labels: Labels) -> Result<Dataset<f32>> {
    let lc = labels.column;
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
    let x = Array::from_vec(x, [table.rows, features]).expect("internal: feature count");
    let names = table.class_names().map(<[String]>::to_vec);
    drop(table);
    let ds = Dataset::new(x, labels.values, labels.classes)
        .expect("internal: labels checked below the class count");
    Ok(match names {
        Some(names) if names.len() == ds.classes => ds
            .with_class_names(names)
            .expect("internal: one name per class"),
        _ => ds,
    })
}

/// The labels of a labelled file: one per row, their column, and the number of classes.
struct Labels {
    values: Vec<usize>,
    column: usize,
    classes: usize,
}

/// How a line splits into fields (the resolved [`Delimiter`]).
#[derive(Clone, Copy)]
enum Sep {
    Char(char),
    Whitespace,
}

/// A non-blank line: its number (from 1), the byte offset of its start, its text (without the
/// line end).
#[derive(Clone, Copy)]
struct Line<'a> {
    number: usize,
    start: usize,
    text: &'a str,
}

/// The non-blank lines of `text`. A leading byte-order mark (as Excel writes) is skipped.
fn lines(text: &str) -> impl Iterator<Item = Line<'_>> {
    const BOM: &str = "\u{feff}";
    let skip = if text.starts_with(BOM) { BOM.len() } else { 0 };
    let text = &text[skip..];
    let mut offset = skip;
    text.split('\n').enumerate().filter_map(move |(i, t)| {
        let start = offset;
        offset += t.len() + 1;
        let t = t.strip_suffix('\r').unwrap_or(t);
        (!t.trim().is_empty()).then_some(Line {
            number: i + 1,
            start,
            text: t,
        })
    })
}

/// The fields of `line`, each with the byte offset where it starts (no allocation).
fn fields(line: Line<'_>, sep: Sep) -> Fields<'_> {
    Fields {
        line,
        pos: 0,
        sep,
        done: false,
    }
}

/// The iterator [`fields`] returns.
#[derive(Clone)]
struct Fields<'a> {
    line: Line<'a>,
    /// Where the next field starts, in `line.text`.
    pos: usize,
    sep: Sep,
    done: bool,
}

impl<'a> Iterator for Fields<'a> {
    type Item = (&'a str, usize);

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let text = self.line.text;
        match self.sep {
            Sep::Char(c) => {
                let rest = &text[self.pos..];
                let at = self.line.start + self.pos;
                match rest.find(c) {
                    Some(i) => {
                        self.pos += i + c.len_utf8();
                        Some((&rest[..i], at))
                    }
                    None => {
                        self.done = true;
                        Some((rest, at))
                    }
                }
            }
            Sep::Whitespace => {
                let b = text.as_bytes();
                let blank = |x: u8| x == b' ' || x == b'\t';
                let mut i = self.pos;
                while i < b.len() && blank(b[i]) {
                    i += 1;
                }
                if i == b.len() {
                    self.done = true;
                    return None;
                }
                let s = i;
                while i < b.len() && !blank(b[i]) {
                    i += 1;
                }
                self.pos = i;
                Some((&text[s..i], self.line.start + s))
            }
        }
    }
}

/// A field's value, when it is a finite number.
fn number(field: &str) -> Option<f64> {
    field.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A field's value, when it is a count (digits only).
fn count(field: &str) -> Option<usize> {
    let f = field.trim();
    if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    f.parse().ok()
}

/// A header field as a name: trimmed, surrounding quotes dropped.
fn name(field: &str) -> String {
    field.trim().trim_matches('"').to_string()
}

/// One parse of a file with its options.
struct Parser<'a> {
    opts: &'a CsvOptions,
    c: View<'a>,
    path: &'a Path,
    text: &'a str,
    sep: Sep,
    delimiter: Delimiter,
    want_labels: bool,
}

/// The rows parsed so far.
#[derive(Default)]
struct Rows {
    values: Vec<f64>,
    labels: Vec<usize>,
    rows: usize,
    /// The largest label and where it is: (label, line, column, offset).
    max_label: Option<(usize, usize, usize, usize)>,
}

impl<'a> Parser<'a> {
    fn new(opts: &'a CsvOptions, c: View<'a>, path: &'a Path, want_labels: bool) -> Result<Self> {
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
        let delimiter = match opts.delimiter {
            Delimiter::Auto => {
                let mut it = lines(text);
                let first = it.next();
                match it.next().or(first) {
                    Some(l) if l.text.contains(',') => Delimiter::Comma,
                    Some(l) if l.text.contains('\t') => Delimiter::Tab,
                    _ => Delimiter::Whitespace,
                }
            }
            d => d,
        };
        let sep = match delimiter {
            Delimiter::Comma => Sep::Char(','),
            Delimiter::Tab => Sep::Char('\t'),
            Delimiter::Char(c) => Sep::Char(c),
            Delimiter::Whitespace | Delimiter::Auto => Sep::Whitespace,
        };
        Ok(Parser {
            opts,
            c,
            path,
            text,
            sep,
            delimiter,
            want_labels,
        })
    }

    /// A format error at `offset` on `line` (and `column`, from 1, when given).
    fn err(&self, offset: usize, line: usize, column: Option<usize>, message: String) -> Error {
        let at = match column {
            Some(col) => format!("line {line}, column {col}: "),
            None => format!("line {line}: "),
        };
        self.c.error(self.path, offset, format!("{at}{message}"))
    }

    fn run(self) -> Result<(CsvTable, Option<Labels>)> {
        let mut lines = lines(self.text).peekable();
        let Some(first) = lines.next() else {
            return Err(self.c.error(self.path, self.c.bytes.len(), "no data rows"));
        };
        // The first line's fields are walked again as needed, never collected: a hostile
        // first line of a million fields costs no more memory than its text.
        let head = fields(first, self.sep);
        let head_len = head.clone().count();
        let second = lines.peek().copied();
        let width2 = second.map(|l| fields(l, self.sep).count());
        let mut two = head.clone().map(|(f, _)| count(f));
        let counts = match (two.next(), two.next()) {
            (Some(a), Some(b)) => a.zip(b),
            _ => None,
        };
        let numeric = head.clone().all(|(f, _)| number(f).is_some());
        let (mut kind, tentative) = match self.opts.header {
            Header::Auto => {
                let by_name = match &self.opts.label {
                    LabelColumn::Name(n) if self.want_labels => {
                        head.clone().any(|(f, _)| name(f) == *n)
                    }
                    _ => false,
                };
                let same_width = width2.is_none_or(|w| w == head_len);
                if numeric && same_width {
                    (Header::None, false)
                } else if !by_name && counts.is_some_and(|(_, f)| width2 == f.checked_add(1)) {
                    (Header::Sklearn, true)
                } else if numeric {
                    (Header::None, false)
                } else {
                    (Header::Names, false)
                }
            }
            h => (h, false),
        };
        // The width of every data row.
        let width = match kind {
            Header::Sklearn => match width2 {
                Some(w) => w,
                None => {
                    return Err(self.c.error(self.path, self.c.bytes.len(), "no data rows"));
                }
            },
            _ => head_len,
        };
        if kind == Header::Sklearn && !tentative {
            self.check_sklearn(first, counts, width, None)?;
        }
        let label_column = if self.want_labels {
            Some(self.label_column(first, kind, width)?)
        } else {
            None
        };
        let mut reference = match (kind, second) {
            (Header::Names, _) => format!("the header (line {})", first.number),
            (Header::Sklearn, Some(s)) => format!("line {}", s.number),
            _ => format!("line {}", first.number),
        };
        if let (Header::Auto, Header::Names, Some((n, f))) = (self.opts.header, kind, counts) {
            reference = format!(
                "{reference} (read as column names; as scikit-learn's n_samples,n_features \
                 line it would need {n} rows of {} fields)",
                f.saturating_add(1)
            );
        }
        let mut rows = Rows::default();
        if kind == Header::None {
            self.push_row(first, width, &reference, label_column, &mut rows)?;
        }
        for line in lines {
            self.push_row(line, width, &reference, label_column, &mut rows)?;
        }
        if rows.rows == 0 {
            return Err(self.c.error(self.path, self.c.bytes.len(), "no data rows"));
        }
        if tentative {
            // Counts that do not match the data: a header of names after all (same width), or
            // a scikit-learn line that is wrong.
            match counts {
                Some((n, f)) if n != rows.rows => {
                    if head_len != width {
                        return Err(self.err(
                            self.field_offset(first, 0),
                            first.number,
                            Some(1),
                            format!(
                                "as scikit-learn's n_samples,n_features line (rows of {} fields: \
                                 {f} features and a target) this line says {n} samples, but the \
                                 file holds {} data rows; as data, its {} fields differ from the \
                                 {width} of {reference}",
                                f.saturating_add(1),
                                rows.rows,
                                head_len
                            ),
                        ));
                    }
                    kind = Header::Names;
                }
                _ => {}
            }
        } else if kind == Header::Sklearn {
            self.check_sklearn(first, counts, width, Some(rows.rows))?;
        }
        let header = (kind != Header::None).then(|| head.map(|(f, _)| name(f)).collect());
        let table = CsvTable {
            header,
            header_kind: kind,
            delimiter: self.delimiter,
            rows: rows.rows,
            cols: width,
            values: rows.values,
        };
        let labels = match label_column {
            Some(column) => {
                let classes = self.classes(&table, rows.max_label)?;
                Some(Labels {
                    values: rows.labels,
                    column,
                    classes,
                })
            }
            None => None,
        };
        Ok((table, labels))
    }

    /// The byte offset of field `j` (from 0) of `line` (its end when it has fewer fields).
    fn field_offset(&self, line: Line<'_>, j: usize) -> usize {
        fields(line, self.sep)
            .nth(j)
            .map_or(line.start + line.text.len(), |(_, pos)| pos)
    }

    /// Checks scikit-learn's first line: two counts, `n_features + 1` fields per row, and (once
    /// known) `n_samples` rows.
    fn check_sklearn(
        &self,
        first: Line<'_>,
        counts: Option<(usize, usize)>,
        width: usize,
        rows: Option<usize>,
    ) -> Result<()> {
        const FORMAT: &str = "scikit-learn's first line is n_samples,n_features,class names...";
        let Some((n, f)) = counts else {
            let end = ("", first.start + first.text.len());
            let mut head = fields(first, self.sep);
            let (j, (field, pos)) = match (head.next(), head.next()) {
                (Some(a), _) if count(a.0).is_none() => (0, a),
                (_, Some(b)) => (1, b),
                (Some(_), None) => (1, end),
                (None, _) => (0, end),
            };
            return Err(self.err(
                pos,
                first.number,
                Some(j + 1),
                format!("{field:?} is not a count ({FORMAT})"),
            ));
        };
        if f.checked_add(1) != Some(width) {
            return Err(self.err(
                self.field_offset(first, 1),
                first.number,
                Some(2),
                format!(
                    "the header says {f} features, so rows of {} fields (features and a \
                     target), but the data rows have {width} ({FORMAT})",
                    f.saturating_add(1)
                ),
            ));
        }
        if let Some(rows) = rows.filter(|&r| r != n) {
            return Err(self.err(
                self.field_offset(first, 0),
                first.number,
                Some(1),
                format!(
                    "the header says {n} samples but the file holds {rows} data rows \
                     ({FORMAT})"
                ),
            ));
        }
        Ok(())
    }

    /// The index of the label column, checked against the header and row width.
    fn label_column(&self, first: Line<'_>, kind: Header, width: usize) -> Result<usize> {
        if width < 2 {
            return Err(self.err(
                first.start,
                first.number,
                None,
                "one column only, no room for features and a label".to_string(),
            ));
        }
        match &self.opts.label {
            LabelColumn::Last => Ok(width - 1),
            LabelColumn::Index(i) if *i < width => Ok(*i),
            LabelColumn::Index(i) => Err(self.err(
                first.start,
                first.number,
                None,
                format!(
                    "label column {i} (counted from 0) asked for, but the rows have {width} \
                     columns (0 to {})",
                    width - 1
                ),
            )),
            LabelColumn::Name(n) => {
                if kind != Header::Names {
                    return Err(self.err(
                        first.start,
                        first.number,
                        None,
                        format!(
                            "label column {n:?} asked for by name, but the file has no header \
                             of column names"
                        ),
                    ));
                }
                let mut head = fields(first, self.sep);
                head.clone()
                    .position(|(f, _)| name(f) == *n)
                    .ok_or_else(|| {
                        // At most 20 names in the message.
                        let mut names: Vec<String> =
                            head.by_ref().take(20).map(|(f, _)| name(f)).collect();
                        if head.next().is_some() {
                            names.push("...".to_string());
                        }
                        self.err(
                            first.start,
                            first.number,
                            None,
                            format!(
                                "label column {n:?} asked for, but the header names {}",
                                names.join(", ")
                            ),
                        )
                    })
            }
        }
    }

    /// Parses one data row into `rows`; `reference` names the line that set the width.
    fn push_row(
        &self,
        line: Line<'_>,
        width: usize,
        reference: &str,
        label_column: Option<usize>,
        rows: &mut Rows,
    ) -> Result<()> {
        let n = fields(line, self.sep).count();
        if n != width {
            return Err(self.c.error(
                self.path,
                line.start,
                format!(
                    "line {} has {n} fields, but {reference} has {width}",
                    line.number
                ),
            ));
        }
        for (j, (f, pos)) in fields(line, self.sep).enumerate() {
            let v = number(f).ok_or_else(|| {
                self.err(
                    pos,
                    line.number,
                    Some(j + 1),
                    format!("{:?} is not a finite number", f.trim()),
                )
            })?;
            if label_column == Some(j) {
                if v < 0.0 || v.fract() != 0.0 || v > f64::from(u32::MAX) {
                    return Err(self.err(
                        pos,
                        line.number,
                        Some(j + 1),
                        format!("label {:?} is not a non-negative integer", f.trim()),
                    ));
                }
                let l = v as usize;
                if rows.max_label.is_none_or(|(m, ..)| l > m) {
                    rows.max_label = Some((l, line.number, j + 1, pos));
                }
                rows.labels.push(l);
            }
            rows.values.push(v);
        }
        rows.rows += 1;
        Ok(())
    }

    /// The number of classes, once every label is read: the option, else the scikit-learn
    /// line's class names, else the largest label plus one, which may not exceed the number of
    /// rows plus one.
    fn classes(
        &self,
        table: &CsvTable,
        max_label: Option<(usize, usize, usize, usize)>,
    ) -> Result<usize> {
        let named = table.class_names().map(<[String]>::len);
        let (bound, source) = match (self.opts.classes, named) {
            (Some(k), _) => (Some(k), format!("the {k} classes set in the options")),
            (None, Some(k)) => (Some(k), format!("the {k} class names of the header")),
            (None, None) => (None, String::new()),
        };
        let Some((max, line, col, pos)) = max_label else {
            return Ok(bound.unwrap_or(0));
        };
        match bound {
            Some(k) if max >= k => Err(self.err(
                pos,
                line,
                Some(col),
                format!("label {max} is out of range for {source} (labels run from 0)"),
            )),
            Some(k) => Ok(k),
            None if max > table.rows => Err(self.err(
                pos,
                line,
                Some(col),
                format!(
                    "label {max} is larger than the number of data rows ({}): labels are class \
                     indices 0, 1, ...; set CsvOptions::classes when the file holds only some \
                     classes",
                    table.rows
                ),
            )),
            None => Ok(max + 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tapegrad_core::Error;

    /// The message and offset of the Format error that reading `text` gives.
    fn err(text: &str, opts: &CsvOptions, labeled: bool) -> (String, Option<u64>) {
        let p = Path::new("t.csv");
        let e = if labeled {
            opts.parse_labeled(text.as_bytes(), p).unwrap_err()
        } else {
            opts.parse(text.as_bytes(), p).unwrap_err()
        };
        let msg = e.to_string();
        match e {
            Error::Format { offset, path, .. } => {
                assert_eq!(path, p);
                (msg, offset)
            }
            other => panic!("expected Format, got {other:?}"),
        }
    }

    fn table(text: &str) -> CsvTable {
        parse(text.as_bytes(), Path::new("t.csv")).unwrap()
    }

    #[test]
    fn parses_with_and_without_header() {
        let t = table("1,2\r\n\n 3 , 4.5\n");
        assert_eq!((&t.header, t.rows, t.cols), (&None, 2, 2));
        assert_eq!(
            (t.header_kind, t.delimiter),
            (Header::None, Delimiter::Comma)
        );
        assert_eq!(t.values, vec![1., 2., 3., 4.5]);
        assert_eq!(t.to_array::<f32>().dims(), &[2, 2]);
        let t = table("150,4,setosa\n1,2,3\n");
        assert_eq!(t.header.clone().unwrap(), vec!["150", "4", "setosa"]);
        assert_eq!(t.header_kind, Header::Names);
        assert_eq!(t.column_names().unwrap()[2], "setosa");
        assert_eq!(t.values, vec![1., 2., 3.]);
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        let t = table("\u{feff}1,2\n3,4\n");
        assert_eq!((t.header_kind, t.rows), (Header::None, 2));
        let (msg, off) = err("\u{feff}1,2\n3,x\n", &CsvOptions::new(), false);
        assert_eq!(off, Some(9));
        assert!(msg.contains("line 2, column 2: \"x\""), "{msg}");
    }

    #[test]
    fn delimiters_are_detected() {
        let t = table("a\tb\n1\t2\n3\t4\n");
        assert_eq!((t.delimiter, t.cols, t.rows), (Delimiter::Tab, 2, 2));
        let t = table("  1 2\t 3\n4   5 6  \n");
        assert_eq!((t.delimiter, t.cols), (Delimiter::Whitespace, 3));
        assert_eq!(t.values, vec![1., 2., 3., 4., 5., 6.]);
        let t = table("7\n8\n");
        assert_eq!((t.cols, t.values.clone()), (1, vec![7., 8.]));
        // Names with spaces, tab separated: the data line decides.
        let t = table("sepal length\tsepal width\n1\t2\n");
        assert_eq!(t.column_names().unwrap()[1], "sepal width");
        let t = CsvOptions::new()
            .delimiter(Delimiter::Char(';'))
            .parse(b"1;2\n3;4\n", Path::new("t.csv"))
            .unwrap();
        assert_eq!(t.values, vec![1., 2., 3., 4.]);
        let e = CsvOptions::new()
            .delimiter(Delimiter::Char('.'))
            .parse(b"1.2\n", Path::new("t.csv"))
            .unwrap_err();
        assert!(matches!(e, Error::InvalidArgument { .. }), "{e}");
    }

    #[test]
    fn sklearn_header() {
        let opts = CsvOptions::new();
        let text = "3,2,no,yes\n1,2,0\n3,4,1\n5,6,1\n";
        let t = table(text);
        assert_eq!(t.header_kind, Header::Sklearn);
        assert_eq!(t.class_names().unwrap(), ["no", "yes"]);
        let ds = opts
            .parse_labeled(text.as_bytes(), Path::new("t.csv"))
            .unwrap();
        assert_eq!((ds.classes, ds.class_names[1].as_str()), (2, "yes"));
        // Counts only (a regression set's line), or a line that is all numbers.
        let t = table("2,2\n1,2,3\n4,5,6\n");
        assert_eq!((t.header_kind, t.rows), (Header::Sklearn, 2));
        assert!(t.class_names().is_none());
        // The same counts on a line as wide as the data rows: those rows are data.
        let t = table("2,1,0\n1,2,0\n3,4,1\n");
        assert_eq!((t.header_kind, t.rows), (Header::None, 3));
        // Wrong counts on a wider line: an error explaining both readings.
        let (msg, off) = err("3,2,a,b\n1,2,0\n3,4,1\n", &opts, false);
        assert_eq!(off, Some(0));
        assert!(
            msg.contains("line 1, column 1: as scikit-learn's n_samples,n_features line"),
            "{msg}"
        );
        assert!(
            msg.contains("says 3 samples, but the file holds 2 data rows"),
            "{msg}"
        );
        let forced = CsvOptions::new().header(Header::Sklearn);
        let (msg, _) = err("3,2,a,b\n1,2,0\n3,4,1\n", &forced, false);
        assert!(
            msg.contains("line 1, column 1: the header says 3 samples but the file holds 2"),
            "{msg}"
        );
        let (msg, _) = err("5,9,a,b\n1,2,0\n3,4,1\n", &opts, false);
        assert!(
            msg.contains("line 2 has 3 fields, but the header (line 1)"),
            "{msg}"
        );
        assert!(msg.contains("it would need 5 rows of 10 fields"), "{msg}");
        // Forced: the counts must hold.
        let (msg, off) = err("x,2\n1,2,0\n", &forced, false);
        assert_eq!(off, Some(0));
        assert!(
            msg.contains("line 1, column 1: \"x\" is not a count"),
            "{msg}"
        );
        let (msg, off) = err("1,5\n1,2,0\n", &forced, false);
        assert_eq!(off, Some(2));
        assert!(
            msg.contains("says 5 features, so rows of 6 fields"),
            "{msg}"
        );
        // A label beyond the named classes.
        let (msg, off) = err("2,1,a,b\n1,0\n3,2\n", &opts, true);
        assert_eq!(off, Some(14));
        assert!(
            msg.contains("line 3, column 2: label 2 is out of range for the 2 class names"),
            "{msg}"
        );
    }

    #[test]
    fn bad_number_names_line_column_and_offset() {
        let opts = CsvOptions::new();
        let (msg, off) = err("1,2,3\n4,x5,6\n", &opts, false);
        assert_eq!(off, Some(8));
        assert_eq!(
            msg,
            "t.csv: at byte 8: line 2, column 2: \"x5\" is not a finite number"
        );
        let (msg, off) = err("1,2\n3,inf\n", &opts, false);
        assert_eq!(off, Some(6));
        assert!(msg.contains("line 2, column 2"), "{msg}");
        let (msg, off) = err("1 2\n3  y\n", &opts, false);
        assert_eq!(off, Some(7));
        assert!(msg.contains("line 2, column 2: \"y\""), "{msg}");
    }

    #[test]
    fn ragged_line_is_an_error() {
        let opts = CsvOptions::new();
        let (msg, off) = err("a,b\n1,2\n\n3,4,5\n", &opts, false);
        assert_eq!(off, Some(9));
        assert_eq!(
            msg,
            "t.csv: at byte 9: line 4 has 3 fields, but the header (line 1) has 2"
        );
        let (msg, _) = err("1,2,3\n3,4\n", &opts, false);
        assert!(
            msg.ends_with("line 2 has 2 fields, but line 1 has 3"),
            "{msg}"
        );
        // Narrower first line: also not scikit-learn's line (whose counts would not match).
        let (msg, off) = err("1,2\n3,4,5\n6,7,8\n", &opts, false);
        assert_eq!(off, Some(0));
        assert!(
            msg.contains("this line says 1 samples, but the file holds 2"),
            "{msg}"
        );
        assert!(
            msg.contains("as data, its 2 fields differ from the 3 of line 2"),
            "{msg}"
        );
    }

    #[test]
    fn labels_are_checked() {
        let p = Path::new("t.csv");
        let ds = parse_labeled(b"1,2,0\n3,4,2\n", p, None).unwrap();
        assert_eq!((ds.y.clone(), ds.classes), (vec![0, 2], 3));
        assert_eq!(ds.x.data(), &[1., 2., 3., 4.]);
        let ds = parse_labeled(b"1,2,0\n0,4,2\n", p, Some(0)).unwrap();
        assert_eq!(
            (ds.y.clone(), ds.x.data()),
            (vec![1, 0], &[2f32, 0., 4., 2.][..])
        );
        let opts = CsvOptions::new();
        let (msg, off) = err("1,2,0\n3,4,1.5\n", &opts, true);
        assert_eq!(off, Some(10));
        assert!(msg.contains("line 2, column 3: label \"1.5\""), "{msg}");
        let (msg, off) = err("1,2,0\n3,4,-1\n", &opts, true);
        assert_eq!(off, Some(10));
        assert!(msg.contains("not a non-negative integer"), "{msg}");
        let (msg, off) = err("1,2\n", &opts.clone().label(5), true);
        assert_eq!(off, Some(0));
        assert!(
            msg.contains("label column 5 (counted from 0) asked for"),
            "{msg}"
        );
        let (msg, _) = err("1\n2\n", &opts, true);
        assert!(msg.contains("one column only"), "{msg}");
        // Bounded by the rows, or by the classes given.
        let (msg, off) = err("1,0\n2,3\n", &opts, true);
        assert_eq!(off, Some(6));
        assert!(
            msg.contains("line 2, column 2: label 3 is larger than the number of data rows (2)"),
            "{msg}"
        );
        let ds = opts
            .clone()
            .classes(4)
            .parse_labeled(b"1,0\n2,3\n", p)
            .unwrap();
        assert_eq!((ds.classes, ds.class_counts()), (4, vec![1, 0, 0, 1]));
        let (msg, _) = err("1,0\n2,1\n", &opts.clone().classes(1), true);
        assert!(
            msg.contains("label 1 is out of range for the 1 classes set"),
            "{msg}"
        );
    }

    #[test]
    fn label_by_name() {
        let opts = CsvOptions::new().label("y");
        let ds = opts
            .parse_labeled(b"y,a\n1,5\n0,6\n", Path::new("t.csv"))
            .unwrap();
        assert_eq!((ds.y.clone(), ds.x.data()), (vec![1, 0], &[5f32, 6.][..]));
        let (msg, _) = err("a,b\n1,0\n", &opts, true);
        assert!(
            msg.contains("label column \"y\" asked for, but the header names a, b"),
            "{msg}"
        );
        let (msg, _) = err("1,0\n", &opts, true);
        assert!(msg.contains("no header of column names"), "{msg}");
    }

    #[test]
    fn empty_and_binary_are_errors() {
        let opts = CsvOptions::new();
        let (msg, off) = err("a,b\n\n", &opts, false);
        assert_eq!(
            (msg.as_str(), off),
            ("t.csv: at byte 5: no data rows", Some(5))
        );
        let (msg, _) = err("", &opts, false);
        assert!(msg.ends_with("no data rows"), "{msg}");
        let e = parse(&[b'1', b',', 0xff, b'\n'], Path::new("t.csv")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("t.csv: at byte 2: line 1: not UTF-8"),
            "{e}"
        );
        let e = parse(b"1,2\n", Path::new("t.csv.gz")).unwrap_err();
        assert!(e.to_string().contains("not gzip"), "{e}");
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
        let msg = CsvOptions::new()
            .max_decompressed(5)
            .read(&p)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("more than the limit of 5 bytes"), "{msg}");
        std::fs::remove_dir_all(&dir).unwrap();
        let e = read(&p).unwrap_err();
        assert!(matches!(e, Error::Io { .. }), "{e:?}");
        assert!(e.to_string().starts_with(&p.display().to_string()));
    }
}
