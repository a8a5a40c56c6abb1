//! The CNN example at reduced size on the bundled digits: it learns (test accuracy far above
//! chance), writes its history and figures and prints its result table; an empty MNIST folder
//! is a clean error. Also the network itself at MNIST's size: LeNet-5's shape, parameter count
//! and feature maps; and the cosine schedule the example trains with (`FitConfig::schedule`).

#[allow(dead_code)]
#[path = "../examples/cnn/main.rs"]
mod cnn;

use cnn::{activations, as_images, lenet, run, Args, ImageSource};
use tapegrad::nn::Module;
use tapegrad::train::predict;
use tapegrad::{rng, Array};

use cnn::optimizer::ScheduleKind;
use tapegrad::train::{Every, FitConfig, Loss};

mod common;
use common::{check_missing_mnist, check_written, file_names, TempDir};

fn small_args(out: &TempDir) -> Args {
    let mut args = Args {
        source: ImageSource {
            digits: true,
            ..ImageSource::default()
        },
        epochs: Some(20),
        batch_size: 64,
        ..Args::default()
    };
    args.common.out = Some(out.0.clone());
    args.common.quiet = true;
    args
}

#[test]
fn learns_the_digits_and_draws_them() {
    let out = TempDir::new("example-cnn", "digits");
    let r = run(&small_args(&out)).expect("the example runs on the bundled digits");
    assert_eq!(r.rows, (1293, 144, 360));
    // conv1 1-6 5x5 (156), conv2 6-16 3x3 (880), dense 64-120 (7,800), 120-84 (10,164),
    // 84-10 (850)
    assert_eq!(r.parameters, 19_850);
    assert_eq!(r.history.len(), 20);
    // chance is 10%; the small LeNet reaches about 93% in 20 epochs
    assert!(r.test_accuracy > 0.85, "test accuracy {}", r.test_accuracy);
    // the curves are the validation rows' (the test rows are measured once, at the end)
    let last = r.history.last().unwrap();
    assert!(last.val_accuracy.is_some_and(|a| a > 0.8), "{last:?}");
    assert!(last.train_loss < r.history.epochs[0].train_loss / 3.0);
    assert_eq!(r.confusion.total(), 360);
    assert_eq!(
        file_names(&r.files),
        [
            "history.csv",
            "curves.png",
            "filters.png",
            "feature_maps_conv1.png",
            "feature_maps_conv2.png",
            "confusion.png"
        ]
    );
    check_written(&r.files, &out.0, 1000, Some(21));
    let shown = r.to_string();
    for want in [
        "test accuracy",
        "time per epoch",
        "parameters       19850",
        "99.0%",
    ] {
        assert!(shown.contains(want), "{want} missing from:\n{shown}");
    }
}

#[test]
fn missing_mnist_is_a_clean_error() {
    let empty = TempDir::new("example-cnn", "empty");
    let out = TempDir::new("example-cnn", "missing-out");
    let mut args = small_args(&out);
    args.source.digits = false;
    args.source.data_dir = Some(empty.0.clone());
    let err = run(&args).expect_err("an empty folder holds no MNIST");
    check_missing_mnist(&err.to_string(), &empty.0);
    assert_eq!(std::fs::read_dir(&out.0).unwrap().count(), 0);
}

#[test]
fn bad_flags_are_clean_errors() {
    let out = TempDir::new("example-cnn", "flags");
    let mut args = small_args(&out);
    args.show = 360;
    let msg = run(&args)
        .expect_err("there are 360 test digits")
        .to_string();
    assert!(msg.contains("--show") && msg.contains("360"), "{msg}");
    args.show = 0;
    args.epochs = Some(0);
    let msg = run(&args).expect_err("no epochs").to_string();
    assert!(msg.contains("--epochs"), "{msg}");
}

#[test]
fn lenet5_at_mnist_size() -> tapegrad::Result<()> {
    let mut net = lenet(28, 10, 0)?;
    assert_eq!(net.param_count(), 61_706); // LeNet-5's count in torch
    let rows = Array::<f32>::rand_uniform([3, 784], 0.0, 1.0, &mut rng(1));
    let x = as_images(&rows, (28, 28))?;
    assert_eq!(x.dims(), &[3, 1, 28, 28]);
    assert_eq!(predict(&mut net, &x, 2)?.dims(), &[3, 10]);
    // feature maps: after conv1 + ReLU 6 of 28x28, after conv2 + ReLU 16 of 10x10
    let a1 = activations(&mut net, &x, 2)?;
    assert_eq!(a1.dims(), &[3, 6, 28, 28]);
    assert!(a1.data().iter().all(|&v| v >= 0.0));
    assert_eq!(activations(&mut net, &x, 5)?.dims(), &[3, 16, 10, 10]);
    assert!(activations(&mut net, &x, 13).is_err());
    // the same seed, the same weights
    assert_eq!(
        lenet(28, 10, 0)?.named_params()[0].1.value(),
        net.named_params()[0].1.value()
    );
    // too small, or one class
    let msg = lenet(7, 10, 0).unwrap_err().to_string();
    assert!(msg.contains("7x7"), "{msg}");
    assert!(lenet(28, 1, 0).is_err());
    assert!(as_images(&rows, (27, 28)).is_err());
    Ok(())
}

#[test]
fn the_cosine_flag_sets_fits_schedule() -> tapegrad::Result<()> {
    // 5 steps from 0.1: cosine to 0.001 at step 4, through the midpoint 0.0505 at step 2
    let base = FitConfig::new(Loss::CrossEntropy);
    let config = ScheduleKind::Cosine.apply(base.clone(), 0.1, 5)?;
    let s = config.schedule.expect("the cosine flag sets a schedule");
    assert_eq!(s.every, Every::Step);
    let want = [0.1, 0.0855, 0.0505, 0.0155, 0.001];
    let lrs: Vec<f64> = (0..5).map(|k| s.schedule.lr_at(k)).collect();
    for (got, want) in lrs.iter().zip(want) {
        assert!((got - want).abs() < 1e-3, "{lrs:?}");
    }
    // constant: no schedule (the optimizer keeps its rate); a zero rate is refused
    assert_eq!(ScheduleKind::Constant.apply(base.clone(), 0.1, 5)?, base);
    assert!(ScheduleKind::Cosine.apply(base, 0.0, 5).is_err());
    Ok(())
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
fn exports_the_trained_network_to_onnx() {
    let out = TempDir::new("example-cnn", "onnx");
    let mut args = small_args(&out);
    args.epochs = Some(1);
    let path = out.0.join("lenet.onnx");
    args.export_onnx = Some(path.clone());
    let r = run(&args).expect("the example runs with --export-onnx");
    assert_eq!(file_names(&r.files)[1], "lenet.onnx");
    assert!(
        r.to_string().contains("lenet.onnx"),
        "the report names the file"
    );
    let (input, output, ops, weights) = onnx_summary(&path);
    assert_eq!(input, ["batch", "1", "8", "8"]);
    assert_eq!(output, ["batch", "10"]);
    assert_eq!(ops.iter().filter(|o| *o == "Conv").count(), 2);
    assert_eq!(weights, r.parameters);
    // the flag as the command line spells it
    let parsed = <Args as clap::Parser>::parse_from(["cnn", "--export-onnx", "m.onnx"]);
    assert_eq!(parsed.export_onnx, Some(std::path::PathBuf::from("m.onnx")));
}
