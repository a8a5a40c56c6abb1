//! IDX and MNIST readers on tiny files built here (never the real MNIST): round trips, and a
//! test per error path checking that the message names the file and the byte offset.

use std::path::{Path, PathBuf};
use tapegrad_core::Error;
use tapegrad_data::idx::{decode_idx, encode_idx, read_idx, write_idx, IdxArray, IdxData, IdxType};
use tapegrad_data::mnist;

mod common;
use common::{expect_format_err, format_err, gzip, TempDir};

fn u8_idx(dims: &[usize], f: impl Fn(usize) -> u8) -> Vec<u8> {
    let n: usize = dims.iter().product();
    encode_idx(&IdxArray::new(dims.to_vec(), IdxData::U8((0..n).map(f).collect())).unwrap())
}

#[test]
fn round_trip_every_type_raw_and_gzip() {
    let dir = TempDir::new("rt");
    let arrays = [
        IdxData::U8(vec![0, 1, 128, 255, 7, 9]),
        IdxData::I8(vec![-128, -1, 0, 1, 127, 5]),
        IdxData::I16(vec![-32768, -2, 0, 300, 32767, 1]),
        IdxData::I32(vec![i32::MIN, -70000, 0, 1, 70000, i32::MAX]),
        IdxData::F32(vec![-1.5, 0.0, 1e-7, 3.25, f32::MAX, 2.0]),
        IdxData::F64(vec![-1.5, 0.0, 1e-300, 3.25, f64::MAX, 2.0]),
    ];
    for data in arrays {
        let a = IdxArray::new(vec![2, 3], data).unwrap();
        let bytes = encode_idx(&a);
        assert_eq!(&bytes[..4], &[0, 0, a.data.dtype().code(), 2]);
        assert_eq!(&bytes[4..12], &[0, 0, 0, 2, 0, 0, 0, 3]);
        assert_eq!(bytes.len(), 12 + 6 * a.data.dtype().size());
        for name in ["a.idx", "a.idx.gz"] {
            let p = dir.path(name);
            write_idx(&p, &a).unwrap();
            let raw = std::fs::read(&p).unwrap();
            assert_eq!(raw.starts_with(&[0x1f, 0x8b]), name.ends_with(".gz"));
            assert_eq!(read_idx(&p).unwrap(), a);
        }
        let arr = a.to_array::<f64>();
        assert_eq!(arr.dims(), &[2, 3]);
        assert_eq!(arr.data()[4], a.data.get_f64(4).unwrap());
    }
    // A gzip file is recognised by its content, whatever its name.
    let p = dir.path("plain-name");
    std::fs::write(&p, gzip(&u8_idx(&[3], |i| i as u8))).unwrap();
    assert_eq!(read_idx(&p).unwrap().data, IdxData::U8(vec![0, 1, 2]));
    assert!(IdxArray::new(vec![2, 2], IdxData::U8(vec![1, 2, 3])).is_err());
    assert!(IdxArray::new(vec![], IdxData::U8(vec![])).is_err());
    assert_eq!(IdxType::from_code(0x0D), Some(IdxType::F32));
    assert_eq!(IdxType::F32.to_string(), "f32 (type code 0x0D)");
}

#[test]
fn broken_headers() {
    let p = Path::new("broken.idx");
    let good = u8_idx(&[2, 3], |i| i as u8);
    let cases: Vec<(Vec<u8>, u64, &str)> =
        vec![
        (vec![], 0, "file is 0 bytes long"),
        (vec![0, 0, 8], 3, "file is 3 bytes long"),
        ([&[0x1f, 0x00][..], &good[2..]].concat(), 0, "bad magic number 0x1F000802"),
        ([&good[..2], &[0x07], &good[3..]].concat(), 2, "unknown data type code 0x07"),
        ([&good[..3], &[0], &good[4..]].concat(), 3, "the header declares 0 dimensions"),
        (
            good[..9].to_vec(),
            9,
            "the header declares 2 dimensions (12 header bytes) but the file ends at byte 9",
        ),
        (
            good[..15].to_vec(),
            15,
            "truncated: dims [2, 3] of u8 need 6 data bytes after the 12-byte header, but only \
             3 follow",
        ),
        (
            [&good[..], &[1, 2]].concat(),
            18,
            "dims [2, 3] of u8 need 6 data bytes after the 12-byte header, but 8 follow (2 \
             bytes too many: wrong dims?)",
        ),
    ];
    for (bytes, offset, want) in cases {
        let (msg, o) = format_err(decode_idx(&bytes, p).unwrap_err(), p);
        assert_eq!(o, offset, "{msg}");
        assert!(msg.contains(want), "{msg}\n  wanted: {want}");
    }
    // Dims whose product overflows.
    let mut huge = vec![0, 0, 0x08, 3];
    for _ in 0..3 {
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
    }
    // the third dimension tips it over
    let e = decode_idx(&huge, p).unwrap_err();
    expect_format_err(e, p, 12, "their product overflows");
    // Dims whose byte size overflows (f64: 8 bytes per value).
    let mut wide = vec![0, 0, 0x0E, 2];
    for _ in 0..2 {
        wide.extend_from_slice(&u32::MAX.to_be_bytes());
    }
    let e = decode_idx(&wide, p).unwrap_err();
    expect_format_err(e, p, 4, "their byte size overflows");
    // Wider types count bytes, not values.
    let f = encode_idx(&IdxArray::new(vec![2], IdxData::F64(vec![1.0, 2.0])).unwrap());
    let e = decode_idx(&f[..20], p).unwrap_err();
    expect_format_err(
        e,
        p,
        20,
        "need 16 data bytes after the 8-byte header, but only 12",
    );
}

#[test]
fn broken_gzip_and_offsets_in_decompressed_data() {
    let dir = TempDir::new("gz");
    let p = dir.path("t.idx.gz");
    let gz = gzip(&u8_idx(&[50, 4, 4], |i| (i * 31 % 256) as u8));
    for cut in [1, 5, gz.len() / 2, gz.len() - 3] {
        std::fs::write(&p, &gz[..cut]).unwrap();
        let (msg, o) = format_err(read_idx(&p).unwrap_err(), &p);
        if cut >= 2 {
            assert_eq!(o, cut as u64, "{msg}");
            assert!(msg.contains("gzip data ends early"), "{msg}");
        } else {
            // One byte cannot be recognised as gzip: it is read as a (too short) IDX file.
            assert!(msg.contains("file is 1 bytes long"), "{msg}");
        }
    }
    // Valid gzip of broken IDX content: the offset is in the decompressed data.
    let mut bad = u8_idx(&[2, 2], |_| 0);
    bad[2] = 0x42;
    std::fs::write(&p, gzip(&bad)).unwrap();
    let e = read_idx(&p).unwrap_err();
    let msg = expect_format_err(e, &p, 2, "unknown data type code 0x42");
    assert!(msg.ends_with("(offset in the decompressed data)"), "{msg}");
    // Missing file: an Io error naming it.
    let missing = dir.path("nope.idx");
    let e = read_idx(&missing).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
    assert!(e.to_string().starts_with(&missing.display().to_string()));
}

/// Writes a tiny MNIST-like set: `n_train` and `n_test` images of 3x2 pixels.
fn write_fake_mnist(dir: &Path, names: [&str; 4], n_train: usize, n_test: usize) {
    let img = |n: usize| u8_idx(&[n, 3, 2], |i| (i * 37 % 256) as u8);
    let lab = |n: usize| u8_idx(&[n], |i| (i % 10) as u8);
    let files = [img(n_train), lab(n_train), img(n_test), lab(n_test)];
    for (name, bytes) in names.iter().zip(files) {
        let bytes = if name.ends_with(".gz") {
            gzip(&bytes)
        } else {
            bytes
        };
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

#[test]
fn mnist_loads_every_naming() {
    let namings = [
        [
            "train-images-idx3-ubyte",
            "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte",
        ],
        [
            "train-images.idx3-ubyte.gz",
            "train-labels.idx1-ubyte.gz",
            "t10k-images.idx3-ubyte.gz",
            "t10k-labels.idx1-ubyte.gz",
        ],
        [
            "train-images-idx3-ubyte.gz",
            "train-labels.idx1-ubyte",
            "t10k-images.idx3-ubyte",
            "t10k-labels-idx1-ubyte.gz",
        ],
    ];
    for names in namings {
        let dir = TempDir::new("mnist");
        write_fake_mnist(&dir.0, names, 12, 5);
        let m = mnist::load(&dir.0).unwrap();
        assert_eq!(m.train.x.dims(), &[12, 6]);
        assert_eq!(m.test.x.dims(), &[5, 6]);
        assert_eq!((m.image_rows, m.image_cols), (3, 2));
        assert_eq!(m.train.y, (0..12).map(|i| i % 10).collect::<Vec<_>>());
        assert_eq!(m.test.classes, 10);
        // Pixel i is (i * 37 % 256) / 255.
        assert_eq!(m.train.x.data()[7], (7 * 37 % 256) as f32 / 255.0);
        assert!(m.train.x.data().iter().all(|&v| (0.0..=1.0).contains(&v)));
    }
    // The files may also sit in DIR/mnist.
    let dir = TempDir::new("mnist-sub");
    std::fs::create_dir(dir.path("mnist")).unwrap();
    write_fake_mnist(&dir.path("mnist"), mnist::FILE_NAMES, 3, 2);
    let files = mnist::find_files(&dir.0).unwrap();
    assert_eq!(
        files.test_labels,
        dir.path("mnist").join("t10k-labels-idx1-ubyte")
    );
    assert_eq!(
        mnist::load_from(Some(dir.0.clone())).unwrap().train.len(),
        3
    );
}

#[test]
fn mnist_missing_files_message() {
    let dir = TempDir::new("mnist-missing");
    std::fs::write(dir.path("train-images-idx3-ubyte.gz"), b"x").unwrap();
    std::fs::write(dir.path("t10k-labels.idx1-ubyte"), b"x").unwrap();
    let e = mnist::load(&dir.0).unwrap_err();
    let msg = e.to_string();
    match &e {
        Error::Io { path, source } => {
            assert_eq!(path, &dir.0);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected Io, got {other:?}"),
    }
    assert!(
        msg.contains("missing train-labels-idx1-ubyte, t10k-images-idx3-ubyte)"),
        "{msg}"
    );
    assert!(msg.contains(&format!(
        "Expected in {} or {}",
        dir.0.display(),
        dir.path("mnist").display()
    )));
    assert!(msg.contains("train-images.idx3-ubyte"), "{msg}");
    assert!(msg.contains("may be gzipped with a .gz suffix"), "{msg}");
    let nowhere = dir.path("does-not-exist");
    let msg = mnist::load(&nowhere).unwrap_err().to_string();
    assert!(msg.contains("the folder does not exist"), "{msg}");
}

/// Writes a fake MNIST and then replaces one file with `bytes`.
fn mnist_with(file: usize, bytes: Vec<u8>) -> (TempDir, PathBuf) {
    let dir = TempDir::new("mnist-bad");
    write_fake_mnist(&dir.0, mnist::FILE_NAMES, 4, 3);
    let p = dir.path(mnist::FILE_NAMES[file]);
    std::fs::write(&p, bytes).unwrap();
    (dir, p)
}

#[test]
fn mnist_content_errors_name_file_and_offset() {
    // (file index, content, offset, message part)
    let mut bad_label = u8_idx(&[3], |i| i as u8);
    bad_label[8 + 2] = 10;
    let cases: Vec<(usize, Vec<u8>, u64, &str)> = vec![
        (
            1,
            bad_label,
            10,
            "label 10 of item 2 is out of range (MNIST labels are 0 to 9)",
        ),
        (1, u8_idx(&[3], |_| 1), 4, "holds 3 labels but"),
        (
            0,
            encode_idx(&IdxArray::new(vec![4, 3, 2], IdxData::F32(vec![0.5; 24])).unwrap()),
            2,
            "MNIST images must be u8 (type code 0x08), found f32 (type code 0x0D)",
        ),
        (
            0,
            u8_idx(&[4, 6], |_| 0),
            3,
            "MNIST images must have 3 dimensions",
        ),
        (
            3,
            u8_idx(&[3, 1, 1], |_| 0),
            3,
            "MNIST labels must have 1 dimension",
        ),
        (
            2,
            u8_idx(&[3, 2, 3], |_| 0),
            8,
            "test images are 2x3 but the training images",
        ),
        (2, u8_idx(&[3, 3, 2], |_| 0)[..20].to_vec(), 20, "truncated"),
        (3, vec![0x1f, 0x8b, 8, 0, 0], 5, "gzip data ends early"),
    ];
    for (file, bytes, offset, want) in cases {
        let (dir, p) = mnist_with(file, bytes);
        let (msg, o) = format_err(mnist::load(&dir.0).unwrap_err(), &p);
        assert_eq!(o, offset, "{msg}");
        assert!(msg.contains(want), "{msg}\n  wanted: {want}");
    }
    // The same checks on gzipped files say that offsets count decompressed bytes.
    let dir = TempDir::new("mnist-bad-gz");
    let names = mnist::FILE_NAMES.map(|n| format!("{n}.gz"));
    write_fake_mnist(&dir.0, names.each_ref().map(String::as_str), 4, 3);
    let p = dir.path(&names[1]);
    std::fs::write(&p, gzip(&u8_idx(&[5], |_| 1))).unwrap();
    let (msg, o) = format_err(mnist::load(&dir.0).unwrap_err(), &p);
    assert_eq!(o, 4);
    assert!(
        msg.ends_with("holds 4 images (offset in the decompressed data)"),
        "{msg}"
    );
}
