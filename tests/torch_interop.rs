//! PyTorch itself against `save_torch` / `load_torch`, with the model code that
//! `docs/interop.md` gives (`tests/python/check_torch.py` runs that very block): for the MLP,
//! the autoencoder, the `cnn` example's LeNet (MNIST's and the digits' sizes), a model with
//! both batch norms, and an `f64` MLP, torch loads tapegrad's state dict (`load_state_dict`,
//! strict) and computes tapegrad's output on one batch to 1e-5; and a state dict that torch
//! wrote loads into tapegrad, which computes torch's output to 1e-5.
//!
//! Runs when `python3` can import `torch`, `safetensors` and `numpy`; otherwise it says
//! "skipped" and checks nothing (CI does not install PyTorch: it is too large).

#[allow(dead_code)]
#[path = "../examples/cnn/model.rs"]
mod cnn_model;

mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use tapegrad::data::npy;
use tapegrad::nn::Activation::{Identity, Relu, Sigmoid, Tanh};
use tapegrad::nn::{
    load_torch, save_torch, Autoencoder, BatchNorm1d, BatchNorm2d, Conv2d, Dense, Flatten, Init,
    MaxPool2d, Mlp, Module, Sequential,
};
use tapegrad::{rng, Array, Conv2dOptions, Element, Result, Tape};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/check_torch.py");
const DOCS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/interop.md");

fn torch_ready() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import torch, safetensors, numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: python3 cannot import torch, safetensors and numpy");
    }
    ok
}

/// Conv2d, BatchNorm2d, max pooling, Dense, BatchNorm1d: its torch twin is in `spec`.
fn batch_norms(seed: u64) -> Result<Sequential<f32>> {
    let mut r = rng(seed);
    let pad = Conv2dOptions::default().padding(1);
    Ok(Sequential::new()
        .with(Conv2d::new(1, 4, (3, 3), pad, true, &mut r)?)
        .with(BatchNorm2d::new(4))
        .with(Relu)
        .with(MaxPool2d::new(2))
        .with(Flatten)
        .with(Dense::new(64, 16, Init::HeNormal, &mut r))
        .with(BatchNorm1d::new(16))
        .with(Relu)
        .with(Dense::new(16, 3, Init::XavierUniform, &mut r)))
}

const BN_TORCH: &str = "nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), \
    nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 16), nn.BatchNorm1d(16), \
    nn.ReLU(), nn.Linear(16, 3))";

/// One model of the check: its name, the Python that builds its torch twin, and a maker of
/// tapegrad models (by seed) with the input shape.
struct Case<T: Element> {
    name: &'static str,
    torch: &'static str,
    make: fn(u64) -> Result<Box<dyn Module<T>>>,
    input: &'static [usize],
}

fn cases_f32() -> Vec<Case<f32>> {
    vec![
        Case {
            name: "mlp",
            torch: "mlp([784, 128, 64, 10])",
            make: |s| {
                Ok(Box::new(Mlp::new(
                    &[784, 128, 64, 10],
                    Relu,
                    Identity,
                    &mut rng(s),
                )?))
            },
            input: &[8, 784],
        },
        Case {
            name: "autoencoder",
            torch: "autoencoder(784, [256, 64], 4)",
            make: |s| {
                Ok(Box::new(Autoencoder::new(
                    784,
                    &[256, 64],
                    4,
                    Relu,
                    Sigmoid,
                    &mut rng(s),
                )?))
            },
            input: &[8, 784],
        },
        Case {
            name: "lenet",
            torch: "lenet()",
            make: |s| Ok(Box::new(cnn_model::lenet(28, 10, s)?)),
            input: &[4, 1, 28, 28],
        },
        Case {
            name: "lenet8",
            torch: "lenet(8)",
            make: |s| Ok(Box::new(cnn_model::lenet(8, 10, s)?)),
            input: &[4, 1, 8, 8],
        },
        Case {
            name: "batchnorm",
            torch: BN_TORCH,
            make: |s| Ok(Box::new(batch_norms(s)?)),
            input: &[6, 1, 8, 8],
        },
    ]
}

fn cases_f64() -> Vec<Case<f64>> {
    vec![Case {
        name: "mlp64",
        torch: "mlp([10, 8, 3], nn.Tanh, nn.Sigmoid)",
        make: |s| Ok(Box::new(Mlp::new(&[10, 8, 3], Tanh, Sigmoid, &mut rng(s))?)),
        input: &[5, 10],
    }]
}

fn output<T: Element>(m: &dyn Module<T>, x: &Array<T>) -> Result<Array<T>> {
    let tape = Tape::new();
    Ok(m.forward(tape.constant(x.clone()))?.to_array())
}

/// Writes each case's state dict, batch and output; adds its line to `spec`.
fn export<T: Element>(dir: &Path, cases: &[Case<T>], spec: &mut String) -> Result<()> {
    for (k, c) in cases.iter().enumerate() {
        let mut m = (c.make)(k as u64 + 1)?;
        let x = Array::<T>::rand_uniform(c.input, 0.0, 1.0, &mut rng(100 + k as u64));
        // training-mode passes move the batch norms' statistics, then evaluation mode
        for _ in 0..3 {
            output(
                &*m,
                &Array::rand_uniform(c.input, -1.0, 2.0, &mut rng(k as u64)),
            )?;
        }
        m.eval();
        save_torch(&*m, dir.join(format!("{}.safetensors", c.name)))?;
        npy::write_npy(dir.join(format!("{}-x.npy", c.name)), &x)?;
        npy::write_npy(dir.join(format!("{}-y.npy", c.name)), &output(&*m, &x)?)?;
        let dtype = if T::DTYPE == "F64" { "f64" } else { "f32" };
        writeln!(spec, "{}\t{}\t{dtype}", c.name, c.torch).unwrap();
    }
    Ok(())
}

/// Loads the state dicts torch wrote and compares tapegrad's outputs with torch's.
fn import<T: Element>(dir: &Path, cases: &[Case<T>]) -> Result<()> {
    for c in cases {
        let mut m = (c.make)(99)?;
        load_torch(&mut *m, dir.join(format!("{}-torch.safetensors", c.name)))?;
        m.eval();
        let x: Array<T> = npy::read_npy(dir.join(format!("{}-x.npy", c.name)))?;
        let want: Array<T> = npy::read_npy(dir.join(format!("{}-torch-y.npy", c.name)))?;
        let got = output(&*m, &x)?;
        assert_eq!(got.dims(), want.dims(), "{}", c.name);
        let diff = got.max_abs_diff(&want).expect("same shapes");
        assert!(diff <= 1e-5, "{}: max abs difference {diff}", c.name);
        eprintln!(
            "ok: {}: tapegrad's output of torch's weights, max abs difference {diff:.2e}",
            c.name
        );
    }
    Ok(())
}

#[test]
fn torch_loads_our_state_dicts_and_we_load_torchs() -> Result<()> {
    if !torch_ready() {
        return Ok(());
    }
    let dir = common::TempDir::new("torch", "interop");
    let (f32s, f64s) = (cases_f32(), cases_f64());
    let mut spec = String::new();
    export(&dir.0, &f32s, &mut spec)?;
    export(&dir.0, &f64s, &mut spec)?;
    std::fs::write(dir.0.join("spec.txt"), spec).expect("write");
    let out = Command::new("python3")
        .args([SCRIPT, DOCS])
        .arg(&dir.0)
        .output()
        .expect("python3 runs");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the torch check failed:\n{text}");
    eprint!("python: {text}");
    import(&dir.0, &f32s)?;
    import(&dir.0, &f64s)?;
    Ok(())
}
