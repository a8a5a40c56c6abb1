//! NumPy itself against `tapegrad_data::npy`: NumPy writes `.npy` files (`float32`,
//! `float64`, big-endian `float64`, `int64`, `uint8` and `int32` labels, a Fortran-order
//! array) and `.npz` archives (`np.savez`, `np.savez_compressed`), tapegrad reads them; then
//! tapegrad writes, NumPy reads; every value compared exactly. Runs when `python3` with
//! `numpy` is on the PATH; otherwise it says so and checks nothing.

use std::path::Path;
use std::process::Command;
use tapegrad_core::{Array, Result};
use tapegrad_data::{npy, Dataset};

mod common;
use common::TempDir;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/check_npy.py");

fn numpy_ready() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: python3 with numpy is not available");
    }
    ok
}

fn run_python(mode: &str, dir: &Path) {
    let out = Command::new("python3")
        .arg(SCRIPT)
        .arg(mode)
        .arg(dir)
        .output()
        .expect("python3 runs");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python check failed:\n{text}");
    eprint!("python: {text}");
}

/// The arrays of `check_npy.py`, made here.
fn x32() -> Array<f32> {
    Array::from_vec((0..12).map(|v| v as f32 / 8.0 - 0.5).collect(), [3, 4]).unwrap()
}

fn x64() -> Array<f64> {
    Array::from_vec(vec![1.0 / 3.0, -2.5e-300, 1e300, 0.0], [2, 2]).unwrap()
}

const Y: [usize; 5] = [0, 9, 3, 3, 1];

#[test]
fn numpy_files_read_and_ours_read_by_numpy() -> Result<()> {
    if !numpy_ready() {
        return Ok(());
    }
    let tmp = TempDir::new("py-npy");
    let d = &tmp.0;
    run_python("write", d);
    assert_eq!(npy::read_npy::<f32>(d.join("x32.npy"))?, x32());
    assert_eq!(npy::read_npy::<f64>(d.join("x64.npy"))?, x64());
    assert_eq!(npy::read_npy::<f64>(d.join("x64be.npy"))?, x64());
    for f in ["y64.npy", "y8.npy", "y32.npy"] {
        assert_eq!(npy::read_npy_labels(d.join(f))?, Y, "{f}");
    }
    let e = npy::read_npy::<f32>(d.join("fortran.npy"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("Fortran order"), "{e}");
    // x[:, :3], with labels up to 9 for 3 rows: the class count is given
    let stored = npy::read_npz(d.join("stored.npz"))?;
    assert!(stored.dataset::<f32>("x", "y", None).is_err());
    let stored: Dataset<f32> = stored.dataset("x", "y", Some(10))?;
    assert_eq!(stored.x, x32().t()?.rows(0..3)?.t()?);
    assert_eq!((stored.y.as_slice(), stored.classes), (&Y[..3], 10));
    let npz = npy::read_npz(d.join("compressed.npz"))?;
    let images: Dataset<f64> = npz.dataset("x_train", "y_train", Some(10))?;
    assert_eq!(images.x.dims(), [5, 6]);
    assert_eq!(images.x.data(), (0..30).map(f64::from).collect::<Vec<_>>());
    assert_eq!(images.y, Y);

    // ours, read by NumPy
    npy::write_npy(d.join("ours-x32.npy"), &x32())?;
    npy::write_npy(d.join("ours-x64.npy"), &x64())?;
    npy::write_npy_labels(d.join("ours-y.npy"), &Y)?;
    let ds = Dataset::new(x32().t()?.rows(0..3)?.t()?, Y[..3].to_vec(), 10)?;
    npy::write_npz_dataset(d.join("ours-stored.npz"), &ds, false)?;
    npy::write_npz_dataset(d.join("ours-compressed.npz"), &ds, true)?;
    run_python("check", d);
    Ok(())
}
