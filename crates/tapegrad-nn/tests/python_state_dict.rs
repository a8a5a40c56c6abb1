//! The Python side of PyTorch state dicts, without PyTorch: `safetensors.numpy` reads what
//! [`save_torch`] writes and finds torch's names, layouts and dtypes (values compared exactly
//! with a listing made here, by index, not by the code under test); and a state dict written
//! by the reference writer in torch's layout loads with [`load_torch`] and computes what
//! NumPy computes. Runs when `python3` with `safetensors` and `numpy` is on the PATH
//! (`pip install safetensors numpy`); otherwise it says so and checks nothing.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;
use tapegrad_core::{rng, Array, Conv2dOptions, Element, Result, Tape};
use tapegrad_nn::Activation::{Relu, Tanh};
use tapegrad_nn::{
    load_torch, save_torch, BatchNorm1d, BatchNorm2d, Conv2d, Dense, Flatten, Init, LayerNorm, Mlp,
    Module, Sequential,
};

mod common;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/python/check_state_dict.py"
);

fn python_ready() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import safetensors, numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: python3 with the safetensors and numpy packages is not available");
    }
    ok
}

fn run_python(args: &[&Path]) {
    let out = Command::new("python3")
        .arg(SCRIPT)
        .args(args)
        .output()
        .expect("python3 runs");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python check failed:\n{text}");
    eprint!("python: {text}");
}

/// One line per tensor of torch's state dict: the parameters and buffers of `m`, the names in
/// `transposed` as `[out, in]` (element `[o][i]` is tapegrad's `[i][o]`), `num_batches_tracked`
/// as `I64`.
fn expected<T: Element>(m: &dyn Module<T>, transposed: &[&str]) -> String {
    let mut tensors: Vec<(String, Array<T>)> = m
        .named_params()
        .into_iter()
        .map(|(n, p)| (n, p.value().clone()))
        .collect();
    tensors.extend(m.named_buffers());
    let mut s = String::new();
    for (name, v) in tensors {
        let (dims, vals): (Vec<usize>, Vec<f64>) = if transposed.contains(&name.as_str()) {
            let (i_n, o_n) = (v.dims()[0], v.dims()[1]);
            let mut t = Vec::new();
            for o in 0..o_n {
                for i in 0..i_n {
                    t.push(v.data()[i * o_n + o].as_f64());
                }
            }
            (vec![o_n, i_n], t)
        } else {
            (
                v.dims().to_vec(),
                v.data().iter().map(|x| x.as_f64()).collect(),
            )
        };
        let dtype = if name.ends_with("num_batches_tracked") {
            "I64"
        } else {
            T::DTYPE
        };
        let dims: Vec<String> = dims.iter().map(usize::to_string).collect();
        let vals: Vec<String> = vals.iter().map(|x| format!("{x:?}")).collect();
        writeln!(s, "{name}\t{dtype}\t{}\t{}", dims.join(","), vals.join(" ")).unwrap();
    }
    s
}

fn read_rows(path: &Path) -> Vec<Vec<f32>> {
    fs::read_to_string(path)
        .expect("written by python")
        .lines()
        .map(|l| l.split(' ').map(|v| v.parse().expect("a number")).collect())
        .collect()
}

#[test]
fn numpy_reads_torch_layouts_and_we_load_a_reference_state_dict() -> Result<()> {
    if !python_ready() {
        return Ok(());
    }
    let dir = common::Scratch::new("nn-py-sd", "state-dict");
    // every layer kind, f32, the batch norm's statistics and counter moved
    let mut r = rng(1);
    let mixed = Sequential::<f32>::new()
        .with(Conv2d::new(
            1,
            2,
            (3, 3),
            Conv2dOptions::default(),
            true,
            &mut r,
        )?)
        .with(BatchNorm2d::new(2))
        .with(Relu)
        .with(Flatten)
        .with(Dense::new(8, 3, Init::HeNormal, &mut r))
        .with(LayerNorm::new(&[3]))
        .with(Dense::new_without_bias(3, 2, Init::XavierUniform, &mut r));
    let tape = Tape::new();
    for _ in 0..3 {
        mixed.forward(tape.constant(Array::randn([4, 1, 4, 4], 0.0, 1.0, &mut r)))?;
    }
    let mlp = Mlp::<f64>::new(&[5, 4, 3], Tanh, Relu, &mut rng(2))?;
    for (name, file, expect) in [
        (
            "mixed",
            dir.join("mixed.safetensors"),
            expected(&mixed, &["4.weight", "6.weight"]),
        ),
        (
            "mlp",
            dir.join("mlp.safetensors"),
            expected(&mlp, &["0.weight", "2.weight"]),
        ),
    ] {
        if name == "mixed" {
            save_torch(&mixed, &file)?;
        } else {
            save_torch(&mlp, &file)?;
        }
        let exp = dir.join(format!("{name}.expected"));
        fs::write(&exp, expect).expect("write");
        run_python(&[Path::new("check"), &file, &exp]);
    }

    // torch's layout, written by the reference writer, into the matching tapegrad model
    let (sd, xs, ys) = (
        dir.join("torch.safetensors"),
        dir.join("x.txt"),
        dir.join("y.txt"),
    );
    run_python(&[Path::new("write"), &sd, &xs, &ys]);
    let mut m = Sequential::<f32>::new()
        .with(Dense::new(3, 2, Init::HeNormal, &mut r))
        .with(BatchNorm1d::new(2))
        .with(Relu)
        .with(Dense::new(2, 1, Init::HeNormal, &mut r));
    load_torch(&mut m, &sd)?;
    let w = m.named_params()[0].1.value().clone();
    assert_eq!(w.dims(), [3, 2]);
    assert_eq!(w.data(), [0.5, 1.5, -1.0, 0.75, 0.25, -0.5]); // [in, out]
    let buffers = m.named_buffers();
    assert_eq!(buffers[0].1.data(), [0.3, -0.6]);
    assert_eq!(
        buffers[2],
        ("1.num_batches_tracked".into(), Array::scalar(7.0))
    );
    m.eval();
    let x: Vec<f32> = read_rows(&xs).concat();
    let tape = Tape::new();
    let y = m.forward(tape.constant(Array::from_vec(x, [4, 3])?))?;
    let want: Vec<f32> = read_rows(&ys).concat();
    let got = y.value().data().to_vec();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() <= 1e-6, "{got:?} vs {want:?}");
    }
    Ok(())
}
