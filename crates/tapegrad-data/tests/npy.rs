//! NumPy's `.npy` and `.npz` files: round trips, the bytes written, files made by hand as
//! NumPy writes them (big-endian, every integer width, version 2.0, Fortran order, element
//! types not supported), broken files (an error naming the file and the byte), archives
//! stored and deflated, datasets, and the atomic write.

use std::path::Path;
use tapegrad_core::{Array, Result};
use tapegrad_data::npy::{self, Npz};
use tapegrad_data::Dataset;

mod common;
use common::{expect_format_err, TempDir};

/// An `.npy` file as NumPy writes it: version 1.0 (or `major`), the header dict padded with
/// spaces and a newline to a multiple of 64 bytes, then `data`.
fn npy_file(major: u8, descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let fo = if fortran { "True" } else { "False" };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': {fo}, 'shape': {shape}, }}");
    let pre = if major == 1 { 10 } else { 12 };
    while (pre + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY".to_vec();
    out.extend_from_slice(&[major, 0]);
    if major == 1 {
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

#[test]
fn arrays_and_labels_round_trip() -> Result<()> {
    let tmp = TempDir::new("npy-rt");
    let a = Array::<f32>::from_vec((0..24).map(|i| i as f32 * 0.25 - 3.0).collect(), [2, 3, 4])?;
    let p = tmp.path("a.npy");
    npy::write_npy(&p, &a)?;
    assert_eq!(npy::read_npy::<f32>(&p)?, a);
    // f32 file into f64: exact
    assert_eq!(npy::read_npy::<f64>(&p)?, a.cast::<f64>());
    let b = Array::<f64>::from_vec(vec![1.0 / 3.0, -1e300, f64::MIN_POSITIVE], [3])?;
    npy::write_npy(&p, &b)?;
    assert_eq!(npy::read_npy::<f64>(&p)?, b);
    // a scalar and an empty array
    let s = Array::<f64>::scalar(2.5);
    npy::write_npy(&p, &s)?;
    assert_eq!(npy::read_npy::<f64>(&p)?, s);
    let e = Array::<f32>::zeros([0, 5]);
    npy::write_npy(&p, &e)?;
    assert_eq!(npy::read_npy::<f32>(&p)?.dims(), [0, 5]);
    let labels = vec![0usize, 9, 3, 3, 1 << 40];
    npy::write_npy_labels(&p, &labels)?;
    assert_eq!(npy::read_npy_labels(&p)?, labels);
    // nothing but the one file: no temporary file is left behind
    let names: Vec<_> = std::fs::read_dir(&tmp.0).unwrap().collect();
    assert_eq!(names.len(), 1);
    Ok(())
}

#[test]
fn the_bytes_are_numpys() -> Result<()> {
    let a = Array::<f32>::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3])?;
    let b = npy::encode_npy(&a);
    assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
    let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
    assert_eq!((10 + hlen) % 16, 0, "data aligned as NumPy aligns it");
    let header = std::str::from_utf8(&b[10..10 + hlen]).unwrap();
    assert!(header.contains("'descr': '<f4'"), "{header}");
    assert!(header.contains("'fortran_order': False"), "{header}");
    let compact: String = header.chars().filter(|c| *c != ' ').collect();
    assert!(compact.contains("'shape':(2,3,)"), "{header}");
    assert!(header.ends_with('\n'));
    let data: Vec<u8> = a.data().iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(&b[10 + hlen..], data.as_slice());
    let l = npy::encode_npy_labels(&[7, 1]);
    let hlen = u16::from_le_bytes([l[8], l[9]]) as usize;
    let header = std::str::from_utf8(&l[10..10 + hlen]).unwrap();
    let compact: String = header.chars().filter(|c| *c != ' ').collect();
    assert!(
        compact.contains("'descr':'<i8'") && compact.contains("'shape':(2,)"),
        "{header}"
    );
    assert_eq!(
        &l[10 + hlen..],
        [7i64.to_le_bytes(), 1i64.to_le_bytes()].concat()
    );
    let d = npy::encode_npy(&Array::<f64>::scalar(1.5));
    let hlen = u16::from_le_bytes([d[8], d[9]]) as usize;
    let header = std::str::from_utf8(&d[10..10 + hlen]).unwrap();
    let compact: String = header.chars().filter(|c| *c != ' ').collect();
    assert!(
        compact.contains("'descr':'<f8'") && compact.contains("'shape':()"),
        "{header}"
    );
    Ok(())
}

#[test]
fn files_as_numpy_writes_them() -> Result<()> {
    let p = Path::new("hand.npy");
    // big-endian f8, converted
    let vals = [1.5f64, -2.25, 1e-10, 3.0];
    let be: Vec<u8> = vals.iter().flat_map(|v| v.to_be_bytes()).collect();
    let a = npy::decode_npy::<f64>(&npy_file(1, ">f8", false, "(2, 2)", &be), p)?;
    assert_eq!(a.dims(), [2, 2]);
    assert_eq!(a.data(), vals);
    // version 2.0 header, little-endian f4
    let le: Vec<u8> = [0.5f32, 1.0, -4.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let a = npy::decode_npy::<f32>(&npy_file(2, "<f4", false, "(3,)", &le), p)?;
    assert_eq!(a.data(), [0.5, 1.0, -4.0]);
    // integer labels of every width: u1, i2 (big-endian), i4, u8, and whole floats
    let u1 = npy_file(1, "|u1", false, "(4,)", &[0, 1, 255, 7]);
    assert_eq!(npy::decode_npy_labels(&u1, p)?, [0, 1, 255, 7]);
    let i2: Vec<u8> = [3i16, 300].iter().flat_map(|v| v.to_be_bytes()).collect();
    assert_eq!(
        npy::decode_npy_labels(&npy_file(1, ">i2", false, "(2,)", &i2), p)?,
        [3, 300]
    );
    let i4: Vec<u8> = [5i32, 0, 2].iter().flat_map(|v| v.to_le_bytes()).collect();
    let f = npy_file(1, "<i4", false, "(3, 1)", &i4); // a column of labels
    assert_eq!(npy::decode_npy_labels(&f, p)?, [5, 0, 2]);
    let u8s: Vec<u8> = [9u64, 4].iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(
        npy::decode_npy_labels(&npy_file(1, "<u8", false, "(2,)", &u8s), p)?,
        [9, 4]
    );
    let fl: Vec<u8> = [1.0f32, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(
        npy::decode_npy_labels(&npy_file(1, "<f4", false, "(2,)", &fl), p)?,
        [1, 2]
    );
    // uint8 images as an f32 array, bool as 0/1
    let img = npy::decode_npy::<f32>(
        &npy_file(1, "|u1", false, "(1, 2, 2)", &[0, 128, 255, 1]),
        p,
    )?;
    assert_eq!(
        (img.dims(), img.data()),
        (&[1, 2, 2][..], &[0.0, 128.0, 255.0, 1.0][..])
    );
    let b = npy::decode_npy::<f64>(&npy_file(1, "|b1", false, "(2,)", &[1, 0]), p)?;
    assert_eq!(b.data(), [1.0, 0.0]);
    Ok(())
}

#[test]
fn broken_and_unsupported_files_are_clear_errors() {
    let p = Path::new("bad.npy");
    let f4: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let good = npy_file(1, "<f4", false, "(2, 2)", &f4);
    let hdr_end = good.len() - 16;
    let err = |bytes: &[u8]| npy::decode_npy::<f32>(bytes, p).unwrap_err();

    expect_format_err(err(b""), p, 0, "10-byte preamble");
    expect_format_err(err(b"PK\x03\x04 not npy"), p, 0, "bad magic");
    expect_format_err(err(&good[..9]), p, 9, "10-byte preamble");
    let mut v9 = good.clone();
    v9[6] = 9;
    expect_format_err(err(&v9), p, 6, "unsupported .npy version 9.0");
    expect_format_err(
        err(&good[..40]),
        p,
        40,
        &format!(
            "truncated header: it is {} bytes long (to byte {hdr_end})",
            hdr_end - 10
        ),
    );
    expect_format_err(
        err(&good[..good.len() - 3]),
        p,
        (good.len() - 3) as u64,
        &format!("truncated: shape [2, 2] of '<f4' needs 16 data bytes after the {hdr_end}-byte header, but only 13 follow"),
    );
    let mut long = good.clone();
    long.extend_from_slice(&[0; 4]);
    expect_format_err(
        err(&long),
        p,
        good.len() as u64,
        "4 bytes too many: wrong shape?",
    );
    let mut v2 = npy_file(2, "<f4", false, "(2, 2)", &f4);
    v2[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    expect_format_err(err(&v2), p, 8, "more than the 100000 accepted");
    let fortran = npy_file(1, "<f4", true, "(2, 2)", &f4);
    expect_format_err(err(&fortran), p, 10, "Fortran order; only C order is read");
    let c16 = npy_file(1, "<c16", false, "(1,)", &[0; 16]);
    expect_format_err(err(&c16), p, 10, "element type '<c16' is not supported");
    let u3 = npy_file(1, "<U3", false, "(1,)", &[0; 12]);
    expect_format_err(err(&u3), p, 10, "is not supported");
    let obj = npy_file(1, "|O", false, "(1,)", &[0; 8]);
    expect_format_err(err(&obj), p, 10, "is not supported");
    // a structured type: refused before it is parsed
    let mut st = good.clone();
    let at = st.windows(7).position(|w| w == b"'<f4', ").unwrap();
    st.splice(at..at + 5, b"[('a'".iter().copied());
    expect_format_err(err(&st), p, 10, "structured element types");
    // a shape whose element count overflows: an error, not a panic
    let huge = npy_file(1, "<f4", false, "(4294967296, 4294967296, 4294967296)", &[]);
    expect_format_err(err(&huge), p, 10, "its element count overflows");
    let neg = npy_file(1, "<f4", false, "(-1,)", &[]);
    expect_format_err(err(&neg), p, 10, "not a dimension");
    let twice = npy_file(1, "<f4', 'shape': (1,), 'x': '", false, "(1,)", &[0; 4]);
    expect_format_err(err(&twice), p, 10, "names 'shape' twice");
    let no_dict = {
        let mut b = good.clone();
        b[10] = b'[';
        b
    };
    expect_format_err(err(&no_dict), p, 10, "not a valid .npy header");
    // labels
    let neg: Vec<u8> = [1i64, -2].iter().flat_map(|v| v.to_le_bytes()).collect();
    let e = npy::decode_npy_labels(&npy_file(1, "<i8", false, "(2,)", &neg), p).unwrap_err();
    assert!(
        e.to_string()
            .contains("label -2 of row 1 is not a class index"),
        "{e}"
    );
    let half: Vec<u8> = [0.5f64].iter().flat_map(|v| v.to_le_bytes()).collect();
    let e = npy::decode_npy_labels(&npy_file(1, "<f8", false, "(1,)", &half), p).unwrap_err();
    assert!(e.to_string().contains("label 0.5 of row 0"), "{e}");
    let e = npy::decode_npy_labels(&good, p).unwrap_err();
    assert!(
        e.to_string()
            .contains("one per row (shape [N] or [N, 1]), got shape [2, 2]"),
        "{e}"
    );
    // a missing file
    let e = npy::read_npy::<f32>("/nonexistent/x.npy")
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/x.npy"), "{e}");
}

#[test]
fn npz_datasets_stored_and_deflated() -> Result<()> {
    let tmp = TempDir::new("npz");
    let x = Array::<f32>::from_vec((0..12).map(|v| v as f32).collect(), [4, 3])?;
    let ds = Dataset::new(x, vec![2, 0, 1, 2], 3)?;
    for compressed in [false, true] {
        let p = tmp.path(&format!("ds-{compressed}.npz"));
        npy::write_npz_dataset(&p, &ds, compressed)?;
        let npz = npy::read_npz(&p)?;
        assert_eq!(npz.names(), ["x", "y"]);
        assert_eq!(npz.dataset::<f32>("x", "y", None)?, ds);
        let f64s: Dataset<f64> = npz.dataset("x", "y", Some(5))?;
        assert_eq!((f64s.classes, &f64s.y), (5, &ds.y));
        assert_eq!(npz.array::<f64>("x")?, ds.x.cast::<f64>());
    }
    // compressed is smaller for compressible data
    let big = Dataset::new(Array::<f32>::zeros([500, 8]), vec![0; 500], 1)?;
    npy::write_npz_dataset(tmp.path("s.npz"), &big, false)?;
    npy::write_npz_dataset(tmp.path("c.npz"), &big, true)?;
    let len = |n: &str| std::fs::metadata(tmp.path(n)).unwrap().len();
    assert!(
        len("c.npz") * 10 < len("s.npz"),
        "{} vs {}",
        len("c.npz"),
        len("s.npz")
    );

    // images [N, 2, 2] as rows of 4; uint8 labels; Keras' names
    let imgs = npy_file(1, "|u1", false, "(3, 2, 2)", &(0..12).collect::<Vec<u8>>());
    let labs = npy_file(1, "|u1", false, "(3,)", &[1, 0, 1]);
    let p = tmp.path("mnist.npz");
    npy::write_npz(&p, &[("x_train", imgs), ("y_train", labs.clone())], true)?;
    let npz: Npz = npy::read_npz(&p)?;
    let d: Dataset<f32> = npz.dataset("x_train", "y_train", Some(10))?;
    assert_eq!((d.x.dims(), d.classes), (&[3, 4][..], 10));
    assert_eq!(d.x.data()[4..8], [4.0, 5.0, 6.0, 7.0]);

    // errors: a missing array, row counts, a label beyond the rows, two members of one name
    let e = npz.array::<f32>("x_test").unwrap_err().to_string();
    assert!(
        e.contains("no array `x_test` (it has [\"x_train\", \"y_train\"])"),
        "{e}"
    );
    let short = npy_file(1, "|u1", false, "(2,)", &[1, 0]);
    let p2 = tmp.path("short.npz");
    npy::write_npz(&p2, &[("x", npy::encode_npy(&ds.x)), ("y", short)], false)?;
    let e = npy::read_npz(&p2)?
        .dataset::<f32>("x", "y", None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`x` has 4 rows (shape [4, 3]) but `y` has 2 labels"),
        "{e}"
    );
    let big_label = npy_file(1, "|u1", false, "(4,)", &[0, 1, 200, 0]);
    npy::write_npz(
        &p2,
        &[("x", npy::encode_npy(&ds.x)), ("y", big_label)],
        false,
    )?;
    let npz2 = npy::read_npz(&p2)?;
    let e = npz2.dataset::<f32>("x", "y", None).unwrap_err().to_string();
    assert!(
        e.contains("label 200 of `y` exceeds the number of rows (4)"),
        "{e}"
    );
    let e = npz2
        .dataset::<f32>("x", "y", Some(3))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("label 200 of row 2 of `y` is out of range for 3 classes"),
        "{e}"
    );
    assert!(npz2.dataset::<f32>("x", "y", Some(201)).is_ok());
    let e = npy::write_npz(&p2, &[("x", vec![]), ("x", vec![])], false).unwrap_err();
    assert!(e.to_string().contains("two members are named `x`"), "{e}");
    // a broken member names the archive and the member
    let trunc = labs[..labs.len() - 1].to_vec();
    npy::write_npz(&p2, &[("y", trunc)], false)?;
    let e = npy::read_npz(&p2)?.labels("y").unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("{}: member `y`, at byte", p2.display())),
        "{e}"
    );
    assert!(e.contains("truncated"), "{e}");
    // not a zip at all
    let junk = tmp.write("junk.npz", b"not a zip archive");
    let e = npy::read_npz(&junk).unwrap_err().to_string();
    assert!(
        e.contains("junk.npz: not a valid .npz (zip) archive"),
        "{e}"
    );
    // a limit on the inflated size
    let e = npy::read_npz_with_limit(tmp.path("c.npz"), 1000)
        .unwrap_err()
        .to_string();
    assert!(e.contains("more than the limit of 1000"), "{e}");
    Ok(())
}

#[test]
fn writes_are_atomic() -> Result<()> {
    let tmp = TempDir::new("npy-atomic");
    let a = Array::<f32>::ones([3]);
    let e = npy::write_npy(tmp.path("missing/a.npy"), &a)
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing/a.npy"), "{e}");
    let p = tmp.path("a.npy");
    npy::write_npy(&p, &a)?;
    npy::write_npz_dataset(
        tmp.path("d.npz"),
        &Dataset::new(Array::<f32>::ones([1, 1]), vec![0], 1)?,
        true,
    )?;
    // an existing file is replaced whole
    npy::write_npy(&p, &Array::<f32>::zeros([2, 2]))?;
    assert_eq!(npy::read_npy::<f32>(&p)?.dims(), [2, 2]);
    let mut names: Vec<String> = std::fs::read_dir(&tmp.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a.npy", "d.npz"], "no temporary file is left");
    Ok(())
}
