//! The CSV reader on the layouts people meet: scikit-learn's tables (wine, breast cancer),
//! tab- and whitespace-separated files, headers of names or none, labels by name or index,
//! gzip, and the errors (file, line, column) of each kind of breakage.

use std::path::Path;
use tapegrad_data::csv::{self, CsvOptions, Delimiter, Header, LabelColumn};
use tapegrad_data::read;

mod common;
use common::{expect_format_err, format_err, TempDir};

/// A wine-like table in scikit-learn's layout: `n,13,class_0,class_1,class_2`, then rows of
/// 13 features and the class.
fn wine_like(n: usize, sep: &str) -> String {
    let mut s = format!("{n}{sep}13{sep}class_0{sep}class_1{sep}class_2\n");
    for i in 0..n {
        let row: Vec<String> = (0..13)
            .map(|j| format!("{:.2}", (i * 13 + j) as f64 * 0.25))
            .chain([(i % 3).to_string()])
            .collect();
        s.push_str(&row.join(sep));
        s.push('\n');
    }
    s
}

#[test]
fn sklearn_wine_format_loads() {
    let dir = TempDir::new("wine");
    let p = dir.write("wine_data.csv", wine_like(12, ",").as_bytes());
    let ds = csv::read_labeled(&p, None).unwrap();
    assert_eq!((ds.len(), ds.features(), ds.classes), (12, 13, 3));
    assert_eq!(ds.class_names, ["class_0", "class_1", "class_2"]);
    assert_eq!(ds.y[..4], [0, 1, 2, 0]);
    assert_eq!(ds.x.data()[..2], [0.0, 0.25]);
    assert_eq!(ds.x.data()[13], 13.0 * 0.25); // row 1, feature 0
    let t = csv::read(&p).unwrap();
    assert_eq!((t.header_kind, t.rows, t.cols), (Header::Sklearn, 12, 14));
    assert_eq!(t.class_names().unwrap().len(), 3);
    // Breast-cancer-like: two classes; only one of them in the rows is still two classes.
    let text = "2,3,malignant,benign\n1,2,3,0\n4,5,6,0\n";
    let ds = CsvOptions::new()
        .parse_labeled(text.as_bytes(), "bc.csv".as_ref())
        .unwrap();
    assert_eq!((ds.classes, ds.class_counts()), (2, vec![2, 0]));
    // The same table gzipped, tab- or whitespace-separated.
    let p = dir.write("wine.csv.gz", &read::gzip(wine_like(9, "\t").as_bytes()));
    let ds = csv::read_labeled(&p, None).unwrap();
    assert_eq!((ds.len(), ds.features(), ds.classes), (9, 13, 3));
    let ds = CsvOptions::new()
        .parse_labeled(wine_like(6, "  ").as_bytes(), "w.txt".as_ref())
        .unwrap();
    assert_eq!(
        (ds.len(), ds.features(), ds.class_names[2].as_str()),
        (6, 13, "class_2")
    );
}

#[test]
fn sklearn_line_that_does_not_match_names_the_field() {
    let mut text = wine_like(5, ",");
    text.replace_range(0..1, "6"); // says 6 samples, holds 5
    let p = Path::new("wine.csv");
    let (msg, o) = format_err(csv::parse(text.as_bytes(), p).unwrap_err(), p);
    assert_eq!(o, 0);
    assert!(
        msg.starts_with("wine.csv: at byte 0: line 1, column 1: "),
        "{msg}"
    );
    assert!(
        msg.contains("says 6 samples, but the file holds 5 data rows"),
        "{msg}"
    );
    // A label beyond the named classes.
    let text = "2,1,a,b\n0.5,1\n0.25,7\n";
    let e = csv::parse_labeled(text.as_bytes(), p, None).unwrap_err();
    expect_format_err(e, p, 19, "line 3, column 2: label 7 is out of range");
}

#[test]
fn tab_and_whitespace_files() {
    let p = Path::new("t.tsv");
    let t = csv::parse(b"x\ty\tz\n1\t2\t0\n3\t4\t1\n", p).unwrap();
    assert_eq!(
        (t.delimiter, t.header_kind),
        (Delimiter::Tab, Header::Names)
    );
    assert_eq!(t.values, [1., 2., 0., 3., 4., 1.]);
    // Runs of spaces and tabs, ragged alignment, \r\n ends, blank lines.
    let text = "  1.5   2e1\t0\r\n\r\n-3 .5   1\r\n";
    let ds = csv::parse_labeled(text.as_bytes(), "t.dat".as_ref(), None).unwrap();
    assert_eq!(ds.x.data(), [1.5, 20.0, -3.0, 0.5]);
    assert_eq!(ds.y, [0, 1]);
    // Forced whitespace on a file whose fields hold no space.
    let t = CsvOptions::new()
        .delimiter(Delimiter::Whitespace)
        .parse(b"1 2\n3 4\n", "w".as_ref())
        .unwrap();
    assert_eq!((t.rows, t.cols), (2, 2));
    // An error in a whitespace file names line and column (the field's number).
    let e = csv::parse(b"1  2 3\n4  5 x\n", p).unwrap_err();
    expect_format_err(e, p, 12, "line 2, column 3: \"x\" is not a finite number");
}

#[test]
fn headers_of_names_or_none() {
    let p = Path::new("h.csv");
    // Names, quoted or not; every field must be a name or the line is data.
    let t = csv::parse(b"\"a\", b ,label\n1,2,0\n", p).unwrap();
    assert_eq!(t.column_names().unwrap(), ["a", "b", "label"]);
    let t = csv::parse(b"1,2,0\n3,4,1\n", p).unwrap();
    assert_eq!((t.header_kind, t.rows), (Header::None, 2));
    // Forced none: a non-numeric first line is then an error at its field.
    let none = CsvOptions::new().header(Header::None);
    let e = none.parse(b"a,b\n1,2\n", p).unwrap_err();
    expect_format_err(e, p, 0, "line 1, column 1: \"a\" is not a finite number");
    // Forced names: a numeric first line is taken as names.
    let names = CsvOptions::new().header(Header::Names);
    let t = names.parse(b"10,20\n1,2\n", p).unwrap();
    assert_eq!(
        (t.column_names().unwrap(), t.rows),
        (&["10".into(), "20".into()][..], 1)
    );
    // A header whose width differs from the rows.
    let (msg, o) = format_err(csv::parse(b"a,b,c\n1,2\n", p).unwrap_err(), p);
    assert_eq!(o, 6);
    assert!(
        msg.ends_with("line 2 has 2 fields, but the header (line 1) has 3"),
        "{msg}"
    );
}

#[test]
fn label_column_by_name_and_index() {
    let p = Path::new("l.csv");
    let text = b"species,petal,sepal\n2,0.2,5.1\n0,1.4,7.0\n1,1.3,6.4\n";
    for opts in [
        CsvOptions::new().label("species"),
        CsvOptions::new().label(0),
        CsvOptions::new().label(LabelColumn::Name("species".into())),
    ] {
        let ds = opts.parse_labeled(text, p).unwrap();
        assert_eq!(ds.y, [2, 0, 1]);
        assert_eq!(ds.x.data(), [0.2, 5.1, 1.4, 7.0, 1.3, 6.4]);
    }
    let ds = CsvOptions::new()
        .label(1)
        .parse_labeled(b"5,1,6\n7,0,8\n", p)
        .unwrap();
    assert_eq!(
        (ds.y.clone(), ds.x.data()),
        (vec![1, 0], &[5f32, 6., 7., 8.][..])
    );
    let e = CsvOptions::new()
        .label("kind")
        .parse_labeled(text, p)
        .unwrap_err();
    let (msg, _) = format_err(e, p);
    assert!(
        msg.contains("the header names species, petal, sepal"),
        "{msg}"
    );
    let e = CsvOptions::new()
        .label(3)
        .parse_labeled(text, p)
        .unwrap_err();
    let (msg, _) = format_err(e, p);
    assert!(msg.contains("label column 3 (counted from 0) asked for, but the rows have 3"));
}

#[test]
fn labels_are_bounded_by_the_data() {
    let p = Path::new("tiny.csv");
    // The 13-byte file.
    let e = csv::parse_labeled(b"1,4294967295", p, None).unwrap_err();
    expect_format_err(
        e,
        p,
        2,
        "line 1, column 2: label 4294967295 is larger than the number of data rows (1)",
    );
    // Beyond u32: not accepted as a label at all.
    let (msg, _) = format_err(csv::parse_labeled(b"1,1e300\n", p, None).unwrap_err(), p);
    assert!(msg.contains("not a non-negative integer"), "{msg}");
    // At most the number of rows, unless the classes are given.
    assert_eq!(
        csv::parse_labeled(b"1,2\n2,0\n", p, None).unwrap().classes,
        3
    );
    let ds = CsvOptions::new()
        .classes(10)
        .parse_labeled(b"1,9\n", p)
        .unwrap();
    assert_eq!((ds.classes, ds.class_names.len()), (10, 10));
}

#[test]
fn gzip_by_magic_and_bound() {
    let dir = TempDir::new("gz");
    let text = "a b label\n1 2 0\n3 4 1\n";
    // Recognised by content whatever the name; a .gz name without gzip content is an error.
    for name in ["t.csv.gz", "t.csv", "t"] {
        let p = dir.write(name, &read::gzip(text.as_bytes()));
        let ds = csv::read_labeled(&p, None).unwrap();
        assert_eq!(ds.y, [0, 1]);
    }
    let p = dir.write("plain.csv.gz", text.as_bytes());
    let e = csv::read(&p).unwrap_err();
    expect_format_err(e, &p, 0, "the name ends in .gz but the content is not gzip");
    // The bound on inflated bytes.
    let p = dir.write("t.csv.gz", &read::gzip(text.as_bytes()));
    let opts = CsvOptions::new().max_decompressed(text.len() as u64);
    assert_eq!(opts.read(&p).unwrap().rows, 2);
    let opts = opts.max_decompressed(text.len() as u64 - 1);
    let (msg, _) = format_err(opts.read(&p).unwrap_err(), &p);
    assert!(msg.contains(&format!("more than the limit of {} bytes", text.len() - 1)));
    // Corrupt gzip names the file and the compressed offset.
    let mut gz = read::gzip(text.as_bytes());
    gz.truncate(gz.len() - 5);
    let p = dir.write("cut.csv.gz", &gz);
    let e = csv::read(&p).unwrap_err();
    expect_format_err(e, &p, gz.len() as u64, "gzip data ends early");
}

#[test]
fn bundled_sets_still_load() {
    let iris = tapegrad_data::iris();
    assert_eq!((iris.len(), iris.features(), iris.classes), (150, 4, 3));
    assert_eq!(iris.class_names, ["setosa", "versicolor", "virginica"]);
    let digits = tapegrad_data::digits();
    assert_eq!(
        (digits.len(), digits.features(), digits.classes),
        (1797, 64, 10)
    );
}
