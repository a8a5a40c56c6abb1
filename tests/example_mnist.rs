//! The MNIST example at reduced size on a tiny fake MNIST: four IDX files written with
//! `tapegrad::data::idx::write_idx` (the training pair gzipped under the dotted names, the test
//! pair raw under the canonical ones), holding 28x28 images of a learnable pattern (each digit
//! a bright bar at its own place, plus noise). The example reads them, learns them, prints its
//! tables and writes its figures; an empty folder gives a clean error naming the files.

#[allow(dead_code)]
#[path = "../examples/mnist.rs"]
mod mnist;

use mnist::{run, Args};
use rand::Rng;
use std::path::Path;
use tapegrad::data::idx::{write_idx, IdxArray, IdxData};
use tapegrad::rng;

mod common;
use common::{check_missing_mnist, check_written, file_names, TempDir};

/// `n` fake 28x28 digits: label `c` is a 4x8 bright bar whose place depends on `c` (two
/// columns of five), jittered by a pixel, on a background of faint noise.
fn fake_digits(n: usize, seed: u64) -> (Vec<u8>, Vec<u8>) {
    let mut r = rng(seed);
    let mut images = vec![0u8; n * 28 * 28];
    let mut labels = Vec::with_capacity(n);
    for (i, img) in images.chunks_exact_mut(28 * 28).enumerate() {
        let c = i % 10;
        labels.push(c as u8);
        for p in img.iter_mut() {
            *p = r.random_range(0..60);
        }
        let (dy, dx): (usize, usize) = (r.random_range(0..2), r.random_range(0..2));
        let (top, left) = (1 + 5 * (c % 5) + dy, 2 + 13 * (c / 5) + dx);
        for y in top..top + 4 {
            for x in left..left + 8 {
                img[y * 28 + x] = r.random_range(180..=255);
            }
        }
    }
    (images, labels)
}

fn write_pair(dir: &Path, images: &str, labels: &str, n: usize, seed: u64) {
    let (x, y) = fake_digits(n, seed);
    let x = IdxArray::new(vec![n, 28, 28], IdxData::U8(x)).unwrap();
    let y = IdxArray::new(vec![n], IdxData::U8(y)).unwrap();
    write_idx(dir.join(images), &x).unwrap();
    write_idx(dir.join(labels), &y).unwrap();
}

#[test]
fn trains_on_a_fake_mnist_and_reports() {
    let data = TempDir::new("example-mnist", "data");
    write_pair(
        &data.0,
        "train-images.idx3-ubyte.gz",
        "train-labels.idx1-ubyte.gz",
        600,
        1,
    );
    write_pair(
        &data.0,
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
        200,
        2,
    );
    let out = TempDir::new("example-mnist", "out");
    let mut args = Args {
        epochs: 4,
        batch_size: 32,
        hidden: vec![32],
        show_errors: 10,
        data_dir: Some(data.0.clone()),
        ..Args::default()
    };
    args.common.out = Some(out.0.clone());
    args.common.quiet = true;
    let r = run(&args).expect("the example runs on the fake MNIST");

    assert_eq!(r.sizes, [784, 32, 10]);
    // a tenth of the 600 training rows validates
    assert_eq!(r.rows, (540, 60, 200));
    assert_eq!(r.history.len(), 4);
    assert!(r.test_accuracy > 0.95, "test accuracy {}", r.test_accuracy);
    assert_eq!(r.confusion.total(), 200);
    assert_eq!(r.classification.per_class.len(), 10);
    let last = r.history.last().unwrap();
    assert_eq!(last.val_accuracy, Some(r.val_accuracy));
    assert!(
        r.val_accuracy > 0.95,
        "validation accuracy {}",
        r.val_accuracy
    );
    assert!(
        r.test_loss.is_finite() && r.test_loss < 0.5,
        "test loss {}",
        r.test_loss
    );
    assert!(last.train_loss < r.history.epochs[0].train_loss);
    assert!(r.target_epoch.is_some_and(|e| e <= 4));

    assert_eq!(
        file_names(&r.files),
        [
            "history.csv",
            "curves.png",
            "confusion.png",
            "misclassified.png"
        ]
    );
    check_written(&r.files, &out.0, 0, Some(5));
    let shown = r.to_string();
    for want in [
        "precision",
        "recall",
        "f1-score",
        "true\\pred",
        "test accuracy",
    ] {
        assert!(shown.contains(want), "{want} missing from:\n{shown}");
    }
}

#[test]
fn missing_mnist_is_a_clean_error() {
    let empty = TempDir::new("example-mnist", "empty");
    let out = TempDir::new("example-mnist", "missing-out");
    let mut args = Args {
        data_dir: Some(empty.0.clone()),
        ..Args::default()
    };
    args.common.out = Some(out.0.clone());
    args.common.quiet = true;
    let msg = run(&args).expect_err("no MNIST there").to_string();
    check_missing_mnist(&msg, &empty.0);
    assert_eq!(std::fs::read_dir(&out.0).unwrap().count(), 0);
}

/// An exported file's input and output dims (the symbolic ones by name), its operators, and
/// the number of weights in its initializers.
fn onnx_summary(path: &std::path::Path) -> (Vec<String>, Vec<String>, Vec<String>, usize) {
    use tapegrad::nn::onnx::proto::{
        tensor_shape_proto::dimension::Value, type_proto, ValueInfoProto,
    };
    let model = tapegrad::nn::onnx::load_model(path).expect("the .onnx file reads back");
    let g = model.graph.expect("a graph");
    let dims = |v: &ValueInfoProto| -> Vec<String> {
        let Some(type_proto::Value::TensorType(t)) = &v.r#type.as_ref().unwrap().value else {
            panic!("not a tensor");
        };
        let shape = t.shape.as_ref().unwrap();
        shape
            .dim
            .iter()
            .map(|d| match d.value.as_ref().unwrap() {
                Value::DimValue(n) => n.to_string(),
                Value::DimParam(s) => s.clone(),
            })
            .collect()
    };
    let ops = g.node.iter().map(|n| n.op_type.clone().unwrap()).collect();
    let weights = g
        .initializer
        .iter()
        .map(|t| t.raw_data.as_ref().unwrap().len() / 4)
        .sum();
    (dims(&g.input[0]), dims(&g.output[0]), ops, weights)
}

#[test]
fn exports_the_trained_model_to_onnx() {
    let data = TempDir::new("example-mnist", "onnx-data");
    write_pair(
        &data.0,
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        100,
        3,
    );
    write_pair(
        &data.0,
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
        50,
        4,
    );
    let out = TempDir::new("example-mnist", "onnx-out");
    let path = out.0.join("mnist.onnx");
    let mut args = Args {
        epochs: 1,
        hidden: vec![16],
        show_errors: 0,
        data_dir: Some(data.0.clone()),
        export_onnx: Some(path.clone()),
        ..Args::default()
    };
    args.common.out = Some(out.0.clone());
    args.common.quiet = true;
    let r = run(&args).expect("the example runs with --export-onnx");
    assert_eq!(file_names(&r.files)[1], "mnist.onnx");
    assert!(
        r.to_string().contains("mnist.onnx"),
        "the report names the file"
    );
    let (input, output, ops, weights) = onnx_summary(&path);
    assert_eq!(input, ["batch", "784"]);
    assert_eq!(output, ["batch", "10"]);
    assert_eq!(ops, ["Gemm", "Relu", "Gemm"]);
    assert_eq!(weights, 784 * 16 + 16 + 16 * 10 + 10);
    let parsed = <Args as clap::Parser>::parse_from(["mnist", "--export-onnx", "m.onnx"]);
    assert_eq!(parsed.export_onnx, Some(std::path::PathBuf::from("m.onnx")));
}
