//! Saving and loading a module's parameters in the safetensors format: tensor names are the
//! dotted parameter names, dtypes `F32` or `F64` as the module stores them. PyTorch's
//! `safetensors.torch.load_file` (and `safetensors.numpy.load_file`) read these files.
//!
//! Note for PyTorch users: a [`Dense`](crate::Dense) weight is stored `[in, out]`; torch's
//! `nn.Linear.weight` is `[out, in]`, so transpose it when moving weights across.

use crate::module::Module;
use safetensors::tensor::{Dtype, SafeTensors, View};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use tapegrad_core::{Array, Element, Error, Result};

/// One parameter's bytes, as the safetensors writer wants them.
struct Bytes {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl View for &Bytes {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

fn dtype_of<T: Element>() -> Dtype {
    if T::DTYPE == "F64" {
        Dtype::F64
    } else {
        Dtype::F32
    }
}

fn to_bytes<T: Element>(a: &Array<T>) -> Vec<u8> {
    let mut out = Vec::with_capacity(a.numel() * std::mem::size_of::<T>());
    if T::DTYPE == "F64" {
        a.data()
            .iter()
            .for_each(|v| out.extend_from_slice(&v.as_f64().to_le_bytes()));
    } else {
        a.data()
            .iter()
            .for_each(|v| out.extend_from_slice(&(v.as_f64() as f32).to_le_bytes()));
    }
    out
}

fn from_bytes<T: Element>(bytes: &[u8]) -> Vec<T> {
    if T::DTYPE == "F64" {
        bytes
            .chunks_exact(8)
            .map(|c| T::of(f64::from_le_bytes(c.try_into().expect("internal: 8 bytes"))))
            .collect()
    } else {
        bytes
            .chunks_exact(4)
            .map(|c| T::of(f32::from_le_bytes(c.try_into().expect("internal: 4 bytes")) as f64))
            .collect()
    }
}

fn format_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        offset: None,
        message: message.into(),
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// `<path>.tmp`, beside the target.
fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Writes `bytes` to `<path>.tmp`, flushes it to disk, then renames it over `path`, so a crash
/// leaves either the old file or the new one, never a half-written file at `path`.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    let result = (|| {
        let mut f = fs::File::create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(bytes).map_err(io_err(&tmp))?;
        f.sync_all().map_err(io_err(&tmp))?;
        drop(f);
        fs::rename(&tmp, path).map_err(io_err(path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Saves every parameter of `model` to a safetensors file at `path`, named by its dotted
/// name, with the module's dtype (`F32` or `F64`). The file is written to `<path>.tmp` beside
/// the target and renamed, so a crash never leaves a half-written model at `path`.
///
/// ```
/// use tapegrad_core::rng;
/// use tapegrad_nn::{Act, Mlp, Module, OutputAct};
/// # fn main() -> tapegrad_core::Result<()> {
/// let dir = std::env::temp_dir().join(format!("tapegrad-doc-save-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("xor.safetensors");
/// let model = Mlp::<f32>::new(&[2, 4, 1], Act::Tanh, OutputAct::Sigmoid, &mut rng(0))?;
/// model.save(&path)?;
/// let mut copy = Mlp::<f32>::new(&[2, 4, 1], Act::Tanh, OutputAct::Sigmoid, &mut rng(1))?;
/// copy.load(&path)?;
/// assert_eq!(copy.layers()[0].weight().value(), model.layers()[0].weight().value());
/// let mut other = Mlp::<f32>::new(&[2, 8, 1], Act::Tanh, OutputAct::Sigmoid, &mut rng(1))?;
/// let err = other.load(&path).unwrap_err().to_string();
/// assert!(err.contains("tensor `0.weight` has shape [2, 4] in the file but [2, 8] in the model"), "{err}");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok(()) }
/// ```
/// # Errors
/// [`Error::Io`] when the file cannot be written (naming it); [`Error::InvalidArgument`] when
/// two parameters share a name (a custom module's bug).
pub fn save<T: Element>(model: &(impl Module<T> + ?Sized), path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let mut tensors: Vec<(String, Bytes)> = Vec::new();
    let mut seen = HashSet::new();
    let mut dup = None;
    model.visit_params("", &mut |name, p| {
        if !seen.insert(name.to_string()) {
            dup.get_or_insert_with(|| name.to_string());
        }
        tensors.push((
            name.to_string(),
            Bytes {
                dtype: dtype_of::<T>(),
                shape: p.value().dims().to_vec(),
                data: to_bytes(p.value()),
            },
        ));
    });
    if let Some(name) = dup {
        return Err(Error::invalid(
            "save",
            format!("two parameters are named `{name}`"),
        ));
    }
    let meta = HashMap::from([("format".to_string(), "pt".to_string())]);
    let bytes =
        safetensors::tensor::serialize(tensors.iter().map(|(n, b)| (n.as_str(), b)), Some(meta))
            .map_err(|e| format_err(path, format!("cannot encode safetensors: {e}")))?;
    write_atomic(path, &bytes)
}

/// Loads every parameter of `model` from the safetensors file at `path`.
///
/// Every name, shape and dtype is checked before anything is changed: a parameter missing
/// from the file, a shape or dtype that differs, or a tensor in the file that the model does
/// not have is an error naming that tensor (the first such, in the model's parameter order),
/// and the model is left as it was. A truncated or corrupt file is an error, never a panic.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Format`] (naming the file) when it is
/// not a valid safetensors file or does not match the model's parameters.
pub fn load<T: Element>(
    model: &mut (impl Module<T> + ?Sized),
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    let buf = fs::read(path).map_err(io_err(path))?;
    let st = SafeTensors::deserialize(&buf)
        .map_err(|e| format_err(path, format!("not a valid safetensors file: {e}")))?;
    let want = dtype_of::<T>();
    let mut values: Vec<Array<T>> = Vec::new();
    let mut names = HashSet::new();
    let mut bad: Option<Error> = None;
    model.visit_params("", &mut |name, p| {
        if bad.is_some() {
            return;
        }
        names.insert(name.to_string());
        let shape = p.value().dims();
        let view = match st.tensor(name) {
            Ok(v) => v,
            Err(_) => {
                bad = Some(format_err(
                    path,
                    format!(
                        "tensor `{name}` (shape {}) is missing from the file",
                        p.value().shape()
                    ),
                ));
                return;
            }
        };
        if view.dtype() != want {
            bad = Some(format_err(
                path,
                format!(
                    "tensor `{name}` has dtype {:?} in the file but {:?} in the model",
                    view.dtype(),
                    want
                ),
            ));
        } else if view.shape() != shape {
            bad = Some(format_err(
                path,
                format!(
                    "tensor `{name}` has shape {:?} in the file but {} in the model",
                    view.shape(),
                    p.value().shape()
                ),
            ));
        } else {
            match Array::from_vec(from_bytes::<T>(view.data()), shape) {
                Ok(a) => values.push(a),
                Err(_) => {
                    bad = Some(format_err(
                        path,
                        format!("tensor `{name}` holds the wrong number of bytes"),
                    ));
                }
            }
        }
    });
    if let Some(e) = bad {
        return Err(e);
    }
    let mut extra: Vec<&str> = st
        .names()
        .into_iter()
        .filter(|n| !names.contains(*n))
        .collect();
    if !extra.is_empty() {
        extra.sort_unstable();
        return Err(format_err(
            path,
            format!(
                "the file has tensor `{}` that the model does not have",
                extra[0]
            ),
        ));
    }
    let mut values = values.into_iter();
    let mut result = Ok(());
    model.visit_params_mut("", &mut |_, p| {
        let v = values.next().expect("internal: one value per parameter");
        if let Err(e) = p.set(v) {
            result = Err(e);
        }
    });
    result
}
