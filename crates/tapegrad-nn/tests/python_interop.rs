//! The Python side of the safetensors format: the reference readers (`safetensors.numpy` and,
//! when installed, `safetensors.torch.load_file`) read our files exactly, and we load a file
//! the reference writer made. Runs when `python3` with the `safetensors` and `numpy` packages
//! is on the PATH (`pip install safetensors numpy`); otherwise it says so and checks nothing.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use tapegrad_core::{rng, Element, Result};
use tapegrad_nn::Activation::{Identity, Relu, Sigmoid, Tanh};
use tapegrad_nn::{Autoencoder, Mlp, Module};

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/python/check_safetensors.py"
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

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tapegrad-nn-py-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// One line per parameter: name, dtype, dims, exact values (printed as f64, which holds
/// every f32 exactly).
fn expected<T: Element>(m: &dyn Module<T>) -> String {
    let mut s = String::new();
    for (name, p) in m.named_params() {
        let v = p.value();
        let dims: Vec<String> = v.dims().iter().map(usize::to_string).collect();
        let vals: Vec<String> = v
            .data()
            .iter()
            .map(|x| format!("{:?}", x.as_f64()))
            .collect();
        writeln!(
            s,
            "{name}\t{}\t{}\t{}",
            T::DTYPE,
            dims.join(","),
            vals.join(" ")
        )
        .unwrap();
    }
    s
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

#[test]
fn python_reads_our_files_and_we_read_theirs() -> Result<()> {
    if !python_ready() {
        return Ok(());
    }
    let dir = scratch("interop");
    let mlp = Mlp::<f32>::new(&[784, 64, 32, 10], Relu, Identity, &mut rng(1))?;
    let ae = Autoencoder::<f64>::new(12, &[8], 3, Tanh, Sigmoid, &mut rng(2))?;
    for (name, file, expect) in [
        ("mlp", dir.join("mlp.safetensors"), expected(&mlp)),
        ("ae", dir.join("ae.safetensors"), expected(&ae)),
    ] {
        if name == "mlp" {
            mlp.save(&file)?;
        } else {
            ae.save(&file)?;
        }
        let exp = dir.join(format!("{name}.expected"));
        fs::write(&exp, expect).expect("write");
        run_python(&[Path::new("check"), &file, &exp]);
    }

    // the reference writer's file loads into the matching model
    let theirs = dir.join("theirs.safetensors");
    run_python(&[Path::new("write"), &theirs]);
    let mut m = Mlp::<f32>::new(&[2, 4, 1], Tanh, Sigmoid, &mut rng(0))?;
    m.load(&theirs)?;
    let w0: Vec<f32> = (0..8).map(|i| i as f32 / 8.0 - 0.5).collect();
    assert_eq!(m.layers()[0].weight().value().data(), w0.as_slice());
    assert_eq!(
        m.layers()[0].bias().expect("bias").value().data(),
        &[0.1, -0.2, 0.3, -0.4]
    );
    assert_eq!(
        m.layers()[1].weight().value().data(),
        &[1.0, -1.0, 0.5, -0.5]
    );
    assert_eq!(m.layers()[1].bias().expect("bias").value().data(), &[0.25]);
    fs::remove_dir_all(&dir).ok();
    Ok(())
}
