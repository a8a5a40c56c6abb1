//! Helpers shared by the example and training tests.
#![allow(dead_code)] // each test binary uses a part of them

use std::path::{Path, PathBuf};
use tapegrad::data::Dataset;
use tapegrad::nn::optim::Optimizer;
use tapegrad::nn::Module;
use tapegrad::train::{fit, Data, FitConfig, History};

/// A fresh, empty folder under the system's temp folder, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// `<temp>/tapegrad-<prefix>-<name>-<pid>`, emptied first.
    pub fn new(prefix: &str, name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("tapegrad-{prefix}-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a temp folder");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The command line of an example run by a test: `name --quiet --out <out>`, then `extra`.
pub fn example_argv(name: &str, out: &Path, extra: &[&str]) -> Vec<String> {
    let mut argv = vec![
        name.to_string(),
        "--quiet".into(),
        "--out".into(),
        out.display().to_string(),
    ];
    argv.extend(extra.iter().map(|s| s.to_string()));
    argv
}

/// The file names (without folders) of the files an example wrote, in its order.
pub fn file_names(files: &[PathBuf]) -> Vec<String> {
    files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// Checks the files an example wrote: each lies under `out`; each PNG starts with the PNG
/// signature and is longer than `min_png` bytes; each other file (a CSV history) has
/// `csv_lines` lines when that is given.
pub fn check_written(files: &[PathBuf], out: &Path, min_png: usize, csv_lines: Option<usize>) {
    for p in files {
        let bytes = std::fs::read(p).expect("the file exists");
        assert!(p.starts_with(out), "{} outside --out", p.display());
        if p.extension().is_some_and(|e| e == "png") {
            assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", p.display());
            assert!(bytes.len() > min_png, "{}", p.display());
        } else if let Some(lines) = csv_lines {
            let text = String::from_utf8(bytes).unwrap();
            assert_eq!(text.lines().count(), lines, "{}", p.display());
        }
    }
}

/// Checks the error of an example pointed at a folder with no MNIST in it: one message
/// naming the folder, the four files, their gzipped form and where to download them.
pub fn check_missing_mnist(msg: &str, folder: &Path) {
    assert!(msg.contains(&folder.display().to_string()), "{msg}");
    for want in [
        "train-images-idx3-ubyte",
        "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
        ".gz",
        "Download",
    ] {
        assert!(msg.contains(want), "{want} missing from: {msg}");
    }
}

/// [`fit`] on `train`'s classes, with no validation set and no callback.
pub fn fit_classes(
    model: &mut dyn Module<f32>,
    opt: &mut dyn Optimizer<f32>,
    train: &Dataset,
    config: &FitConfig,
) -> tapegrad::Result<History> {
    fit_classes_validated(model, opt, train, None, config)
}

/// [`fit`] on `train`'s classes, validated on `val`'s when given, with no callback.
pub fn fit_classes_validated(
    model: &mut dyn Module<f32>,
    opt: &mut dyn Optimizer<f32>,
    train: &Dataset,
    val: Option<&Dataset>,
    config: &FitConfig,
) -> tapegrad::Result<History> {
    fit(
        model,
        opt,
        Data::classes(&train.x, &train.y),
        val.map(|v| Data::classes(&v.x, &v.y)),
        config,
        &mut (),
    )
}
