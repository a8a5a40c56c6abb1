//! The other side of ONNX export: each example-shaped model is written as `.onnx`, run in ONNX
//! Runtime by `python/check_onnx.py`, and its outputs compared with tapegrad's (within
//! `1e-5 + 1e-5·|expected|`). Runs when `python3` with the `onnxruntime` and `numpy` packages
//! is on the PATH (`pip install onnxruntime numpy`); otherwise it says so and checks nothing.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use tapegrad_core::{rng, Activation, Array, Conv2dOptions, Element, Result, Tape};
use tapegrad_nn::{
    save_onnx, Autoencoder, AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Dense, Dropout, Embedding,
    Flatten, Init, LayerNorm, MaxPool2d, Mlp, Module, Sequential,
};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/check_onnx.py");

fn python_ready() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import onnxruntime, numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: python3 with the onnxruntime and numpy packages is not available");
    }
    ok
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tapegrad-onnx-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn write_f32<T: Element>(path: &Path, a: &Array<T>) {
    let bytes: Vec<u8> = a
        .data()
        .iter()
        .flat_map(|v| (v.as_f64() as f32).to_le_bytes())
        .collect();
    fs::write(path, bytes).expect("write");
}

fn join(dims: &[usize]) -> String {
    let v: Vec<String> = dims.iter().map(usize::to_string).collect();
    v.join(",")
}

/// The cases written so far: each model's file, input and tapegrad's output (in evaluation
/// mode), listed in `cases.txt`.
struct Cases {
    dir: PathBuf,
    list: String,
}

impl Cases {
    fn add<T: Element>(
        &mut self,
        name: &str,
        model: &mut dyn Module<T>,
        x: Array<T>,
        batch_independent: bool,
    ) -> Result<()> {
        model.eval();
        let tape = Tape::new();
        let y = model.forward(tape.constant(x.clone()))?.to_array();
        save_onnx(model, &x.dims()[1..], self.dir.join(format!("{name}.onnx")))?;
        write_f32(&self.dir.join(format!("{name}.input")), &x);
        write_f32(&self.dir.join(format!("{name}.expected")), &y);
        writeln!(
            self.list,
            "{name}\t{}\t{}\t{}",
            join(x.dims()),
            join(y.dims()),
            u8::from(batch_independent)
        )
        .unwrap();
        Ok(())
    }
}

/// Standard-normal values rounded to f32 (so an f64 model and ONNX Runtime see one input).
fn input<T: Element>(dims: &[usize], seed: u64) -> Array<T> {
    let a = Array::<f64>::randn(dims, 0.0, 1.0, &mut rng(seed));
    Array::from_vec(
        a.data().iter().map(|&v| T::of(v as f32 as f64)).collect(),
        dims,
    )
    .expect("shape")
}

/// LeNet-5 as examples/cnn builds it for 28x28 MNIST.
fn lenet() -> Result<Sequential<f32>> {
    let mut r = rng(3);
    let opts = Conv2dOptions::default();
    Ok(Sequential::new()
        .with(Conv2d::new(1, 6, (5, 5), opts.padding(2), true, &mut r)?)
        .with(Activation::Relu)
        .with(MaxPool2d::new(2))
        .with(Conv2d::new(6, 16, (5, 5), opts, true, &mut r)?)
        .with(Activation::Relu)
        .with(MaxPool2d::new(2))
        .with(Flatten)
        .with(Dense::new(16 * 5 * 5, 120, Init::HeNormal, &mut r))
        .with(Activation::Relu)
        .with(Dense::new(120, 84, Init::HeNormal, &mut r))
        .with(Activation::Relu)
        .with(Dense::new(84, 10, Init::XavierUniform, &mut r)))
}

/// A convolutional stack of the other layers: strided, padded, dilated and grouped
/// convolutions, batch normalization with trained running statistics, average and padded max
/// pooling, layer normalization, dropout, GELU, SiLU, softmax.
fn conv_mix() -> Result<Sequential<f32>> {
    let mut r = rng(4);
    let o = Conv2dOptions::default();
    let net = Sequential::new()
        .with(Conv2d::new(
            3,
            8,
            (3, 3),
            o.stride(2).padding(1),
            true,
            &mut r,
        )?)
        .with(BatchNorm2d::new(8))
        .with(Activation::Gelu)
        .with(Conv2d::new(
            8,
            8,
            (3, 3),
            Conv2dOptions {
                dilation: (2, 1),
                padding: (2, 1),
                ..o
            }
            .groups(4),
            false,
            &mut r,
        )?)
        .with(MaxPool2d::with_options((3, 3), (2, 2), (1, 1)))
        .with(AvgPool2d::with_options((2, 2), (1, 1), (1, 1)))
        .with(Activation::Silu)
        .with(Flatten)
        .with(Dropout::new(0.5, 7)?)
        .with(Dense::new(8 * 5 * 5, 16, Init::HeNormal, &mut r))
        .with(LayerNorm::new(&[16]))
        .with(Activation::GeluTanh)
        .with(Dense::new(16, 5, Init::XavierUniform, &mut r))
        .with(Activation::Softmax(-1));
    // running statistics that are not the initial zeros and ones
    let tape = Tape::new();
    for seed in 0..3 {
        net.forward(tape.constant(input(&[6, 3, 15, 15], 100 + seed)))?;
    }
    Ok(net)
}

/// Every other activation, between dense layers; 1-D batch normalization over [N, C, L] and
/// without running statistics; a layer normalization without affine parameters over two
/// axes; a dense layer on a 3-D input.
fn activations() -> Result<Sequential<f32>> {
    let mut r = rng(5);
    let net = Sequential::new()
        .with(Dense::new(6, 8, Init::XavierUniform, &mut r))
        .with(BatchNorm1d::new(4))
        .with(Activation::LeakyRelu(0.1))
        .with(LayerNorm::with_options(&[4, 8], 1e-3, false)?)
        .with(Activation::Elu(0.7))
        .with(Dense::new(8, 8, Init::XavierUniform, &mut r))
        .with(Activation::Softplus {
            beta: 2.0,
            threshold: 1.5,
        })
        .with(Dense::new(8, 8, Init::XavierUniform, &mut r))
        .with(Activation::Softplus {
            beta: 1.0,
            threshold: 20.0,
        })
        .with(Activation::Tanh)
        .with(BatchNorm1d::new(4).track_running_stats(false))
        .with(Activation::Sigmoid)
        .with(Activation::Identity)
        .with(Flatten)
        .with(Dense::new(32, 3, Init::XavierUniform, &mut r))
        .with(Activation::Softmax(0));
    let tape = Tape::new();
    net.forward(tape.constant(input(&[5, 4, 6], 200)))?;
    Ok(net)
}

/// An embedding of class indices, then normalization and a classifier.
fn embedding() -> Result<Sequential<f32>> {
    let mut r = rng(6);
    Ok(Sequential::new()
        .with(Embedding::new(10, 6, &mut r))
        .with(LayerNorm::new(&[6]))
        .with(Activation::Relu)
        .with(Flatten)
        .with(Dense::new(3 * 6, 4, Init::HeNormal, &mut r)))
}

#[test]
fn onnx_runtime_runs_the_exported_models_as_tapegrad() -> Result<()> {
    if !python_ready() {
        return Ok(());
    }
    let dir = scratch("runtime");
    let mut cases = Cases {
        dir: dir.clone(),
        list: String::new(),
    };
    let mut mlp = Mlp::<f32>::new(
        &[784, 128, 64, 10],
        Activation::Relu,
        Activation::Identity,
        &mut rng(1),
    )?;
    cases.add("mlp", &mut mlp, input(&[16, 784], 10), true)?;
    let mut ae = Autoencoder::<f32>::new(
        784,
        &[256, 64],
        4,
        Activation::Relu,
        Activation::Sigmoid,
        &mut rng(2),
    )?;
    cases.add("autoencoder", &mut ae, input(&[8, 784], 11), true)?;
    cases.add("lenet", &mut lenet()?, input(&[4, 1, 28, 28], 12), true)?;
    cases.add(
        "conv_mix",
        &mut conv_mix()?,
        input(&[6, 3, 15, 15], 13),
        true,
    )?;
    // batch statistics and a softmax over the batch: the batch is one input
    cases.add(
        "activations",
        &mut activations()?,
        input(&[5, 4, 6], 14),
        false,
    )?;
    let idx: Vec<f32> = (0..12).map(|i| ((i * 7 + 3) % 10) as f32).collect();
    let idx = Array::from_vec(idx, [4, 3])?;
    cases.add("embedding", &mut embedding()?, idx, true)?;
    // an f64 model: weights written as f32
    let mut mlp64 = Mlp::<f64>::new(
        &[20, 16, 3],
        Activation::Tanh,
        Activation::Sigmoid,
        &mut rng(8),
    )?;
    cases.add("mlp_f64", &mut mlp64, input(&[7, 20], 15), true)?;

    fs::write(dir.join("cases.txt"), &cases.list).expect("write");
    let out = Command::new("python3")
        .arg(SCRIPT)
        .arg(&dir)
        .output()
        .expect("python3 runs");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ONNX Runtime check failed:\n{text}");
    eprint!("python: {text}");
    fs::remove_dir_all(&dir).ok();
    Ok(())
}
