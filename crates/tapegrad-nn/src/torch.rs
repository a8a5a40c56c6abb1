//! PyTorch state dicts: [`save_torch`] writes a model's parameters and buffers as the
//! `state_dict()` of the matching torch model holds them (names, layouts, dtypes), in a
//! safetensors file, so that `model.load_state_dict(safetensors.torch.load_file(path))` works
//! with no renaming; [`load_torch`] reads such a file (written by torch with
//! `safetensors.torch.save_file(model.state_dict(), path)`) into the matching tapegrad model.
//!
//! | tapegrad | torch | tensors (torch's layout) |
//! | --- | --- | --- |
//! | [`Dense`](crate::Dense) `[in, out]` weight | `nn.Linear` | `weight [out, in]` (transposed), `bias [out]` |
//! | [`Conv2d`](crate::Conv2d) | `nn.Conv2d` | `weight [C_out, C_in/groups, kH, kW]`, `bias [C_out]` (as they are) |
//! | [`BatchNorm1d`](crate::BatchNorm1d), [`BatchNorm2d`](crate::BatchNorm2d) | `nn.BatchNorm1d`, `nn.BatchNorm2d` | `weight`, `bias`, `running_mean`, `running_var` `[C]`; `num_batches_tracked` an `int64` scalar (shape `[]`) |
//! | [`LayerNorm`](crate::LayerNorm) | `nn.LayerNorm` | `weight`, `bias` (normalized shape) |
//! | [`Embedding`](crate::Embedding) | `nn.Embedding` | `weight [num, dim]` |
//!
//! Floating-point tensors keep the model's dtype (`F32` for `f32` models, torch's default;
//! `F64` for `f64` models, torch's `model.double()`). Names are the dotted names of
//! [`Module::visit`], which follow `nn.Sequential`'s numbering (an [`Mlp`](crate::Mlp)'s
//! layers are `0`, `2`, `4`, ... since torch numbers the activations too).

use crate::module::Module;
use crate::serialize::{
    dtype_of, encode_bytes, format_err, from_bytes, max_file_len, param_bytes, read_bounded,
    to_bytes, write_file_atomic, Bytes, Parsed, RawTensor,
};
use crate::ParamPath;
use safetensors::tensor::Dtype;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use tapegrad_core::{Array, Element, Error, Result, Shape};

/// How PyTorch holds one tensor of a module, next to how tapegrad holds it (see
/// [`Module::visit_torch`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TorchLayout {
    /// As tapegrad holds it: the same shape, element order and dtype.
    Same,
    /// A 2-D tensor stored transposed: tapegrad's `[in, out]` is torch's `[out, in]` (a
    /// [`Dense`](crate::Dense) weight, `nn.Linear.weight`).
    Transposed,
    /// A counter stored as torch's `int64` (dtype `I64`), same shape (a batch norm's
    /// `num_batches_tracked`, a scalar).
    Int64,
}

impl TorchLayout {
    /// The shape torch holds for a tapegrad tensor of shape `dims`.
    fn torch_dims(self, dims: &[usize]) -> Vec<usize> {
        match self {
            TorchLayout::Transposed if dims.len() == 2 => vec![dims[1], dims[0]],
            _ => dims.to_vec(),
        }
    }

    /// The dtype torch holds for a tapegrad tensor of element type `T`.
    fn dtype<T: Element>(self) -> Dtype {
        match self {
            TorchLayout::Int64 => Dtype::I64,
            _ => dtype_of::<T>(),
        }
    }

    /// Why torch holds this tensor differently, for error messages.
    fn note(self) -> &'static str {
        match self {
            TorchLayout::Same => "",
            TorchLayout::Transposed => " (torch's layout: `nn.Linear.weight` is [out, in])",
            TorchLayout::Int64 => " (torch's int64 counter)",
        }
    }
}

/// The bytes of tensor `name` (`a` as tapegrad holds it) in torch's layout.
fn torch_bytes<T: Element>(name: &str, a: &Array<T>, layout: TorchLayout) -> Result<Bytes> {
    let bytes = match layout {
        TorchLayout::Same => Bytes {
            dtype: dtype_of::<T>(),
            shape: a.dims().to_vec(),
            data: to_bytes(a),
        },
        TorchLayout::Transposed => {
            let t = a.t().map_err(|_| {
                Error::invalid(
                    "save_torch",
                    format!(
                        "tensor `{name}` is laid out as a transposed matrix but has shape {}",
                        a.shape()
                    ),
                )
            })?;
            Bytes {
                dtype: dtype_of::<T>(),
                shape: t.dims().to_vec(),
                data: to_bytes(&t),
            }
        }
        TorchLayout::Int64 => {
            let mut data = Vec::with_capacity(8 * a.numel());
            for &v in a.data() {
                let v = v.as_f64();
                // i64::MAX as f64 rounds up to 2^63, which is out of range
                if !(v.fract() == 0.0 && v >= i64::MIN as f64 && v < i64::MAX as f64) {
                    return Err(Error::invalid(
                        "save_torch",
                        format!("tensor `{name}` is an int64 counter but holds {v}"),
                    ));
                }
                data.extend_from_slice(&(v as i64).to_le_bytes());
            }
            Bytes {
                dtype: Dtype::I64,
                shape: a.dims().to_vec(),
                data,
            }
        }
    };
    Ok(bytes)
}

/// Saves every parameter and buffer of `model` as PyTorch's `state_dict()` of the matching
/// torch model holds them, in a safetensors file at `path` (metadata `format: pt`): the
/// names and layouts of [`Module::visit_torch`] (see the table in the module's docs:
/// `nn.Linear.weight` is `[out, in]`, `num_batches_tracked` an `int64` scalar), floating
/// tensors in the model's dtype. Then, in Python:
///
/// ```python
/// from safetensors.torch import load_file
/// model.load_state_dict(load_file("model.safetensors"))  # the matching nn.Sequential
/// ```
///
/// The file is written as [`write_file_atomic`] says: never a partial file at `path`.
///
/// ```
/// use tapegrad_core::rng;
/// use tapegrad_nn::{load_torch, save_torch, Activation, Mlp, Module};
/// # fn main() -> tapegrad_core::Result<()> {
/// let dir = std::env::temp_dir().join(format!("tapegrad-doc-torch-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("mlp.safetensors");
/// // torch: nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1), nn.Sigmoid())
/// let model = Mlp::<f32>::new(&[2, 4, 1], Activation::Tanh, Activation::Sigmoid, &mut rng(0))?;
/// save_torch(&model, &path)?; // 0.weight is [4, 2] in the file, as nn.Linear(2, 4) holds it
/// let mut copy = Mlp::<f32>::new(&[2, 4, 1], Activation::Tanh, Activation::Sigmoid, &mut rng(1))?;
/// load_torch(&mut copy, &path)?;
/// assert_eq!(copy.layers()[0].weight().value(), model.layers()[0].weight().value());
/// // another architecture: the first tensor that does not fit is named
/// let mut other = Mlp::<f32>::new(&[2, 8, 1], Activation::Tanh, Activation::Sigmoid, &mut rng(1))?;
/// let err = other.load_torch(&path).unwrap_err().to_string();
/// assert!(err.contains("tensor `0.weight` has shape [4, 2] in the file but [8, 2] in the model"), "{err}");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::Io`] when the file cannot be written (naming it); [`Error::InvalidArgument`]
/// when two tensors share a name or a tensor does not fit its layout (a custom module's bug).
pub fn save_torch<T: Element>(
    model: &(impl Module<T> + ?Sized),
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    let mut tensors: Vec<(String, Bytes)> = Vec::new();
    let mut bad = None;
    model.visit_torch(&mut ParamPath::new(), &mut |name, a, layout| {
        if bad.is_none() {
            let name = name.to_string();
            match torch_bytes(&name, a, layout) {
                Ok(b) => tensors.push((name, b)),
                Err(e) => bad = Some(e),
            }
        }
    });
    if let Some(e) = bad {
        return Err(e);
    }
    let meta = HashMap::from([("format".to_string(), "pt".to_string())]);
    let bytes = encode_bytes(path, "save_torch", &tensors, meta)?;
    write_file_atomic(path, &bytes)
}

/// Loads every parameter and buffer of `model` from a PyTorch state dict in a safetensors
/// file at `path`: one written by [`save_torch`], or by torch for the matching model
/// (`safetensors.torch.save_file(model.state_dict(), path)`), in torch's names, layouts and
/// dtypes ([`Module::visit_torch`]).
///
/// Every tensor is checked before anything is changed: a tensor of the model missing from
/// the file, one whose shape (in torch's layout) or dtype differs, or a tensor in the file
/// that the model does not have is an error naming that tensor (the first such in the model's
/// order, then the file's extra tensors in name order), and the model is left as it was. A
/// file of another dtype than the model is an error too (`model.float()` or
/// `model.double()` in torch first). A truncated or corrupt file is an error, never a panic;
/// the file's size is bounded as for [`load`](crate::load).
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Format`] (naming the file and the
/// tensor) when it is not a valid safetensors file, is too large, or does not match the model.
pub fn load_torch<T: Element>(
    model: &mut (impl Module<T> + ?Sized),
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    let (bytes, count) = param_bytes(model);
    let buf = read_bounded(path, max_file_len(bytes, count))?;
    let file = Parsed::new(path, &buf)?;
    let mut values = torch_values(path, &file, model)?;
    // the names of the parameter and buffer visits must be those of `visit_torch` (a custom
    // module's bug otherwise): checked before anything changes
    let mut names = Vec::new();
    model.visit(&mut ParamPath::new(), &mut |n, _| names.push(n.to_string()));
    model.visit_buffers(&mut ParamPath::new(), &mut |n, _| names.push(n.to_string()));
    let wanted: HashSet<&str> = values.keys().map(String::as_str).collect();
    let listed: HashSet<&str> = names.iter().map(String::as_str).collect();
    if wanted != listed {
        let odd = names
            .iter()
            .find(|n| !wanted.contains(n.as_str()))
            .or_else(|| values.keys().find(|n| !listed.contains(n.as_str())));
        return Err(Error::invalid(
            "load_torch",
            format!(
                "the module's `visit_torch` and its parameter and buffer visits name different \
                 tensors (`{}`): a container must pass `visit_torch` to its children",
                odd.map_or("", String::as_str)
            ),
        ));
    }
    let mut result = Ok(());
    model.visit_mut(&mut ParamPath::new(), &mut |name, p| {
        if let Some(v) = values.remove(&name.to_string()) {
            if let Err(e) = p.set(v) {
                result = Err(e);
            }
        }
    });
    model.visit_buffers_mut(&mut ParamPath::new(), &mut |name, b| {
        if let Some(v) = values.remove(&name.to_string()) {
            if v.dims() == b.dims() {
                *b = v;
            }
        }
    });
    result
}

/// Reads and checks every tensor of `model`'s state dict from `file` (nothing is changed):
/// the values in tapegrad's layout, by name.
fn torch_values<T: Element>(
    path: &Path,
    file: &Parsed<'_>,
    model: &(impl Module<T> + ?Sized),
) -> Result<HashMap<String, Array<T>>> {
    let mut values = HashMap::new();
    let mut bad: Option<Error> = None;
    model.visit_torch(&mut ParamPath::new(), &mut |name, a, layout| {
        if bad.is_some() {
            return;
        }
        let name = name.to_string();
        match torch_value(path, file, &name, a, layout) {
            Ok(v) => {
                values.insert(name, v);
            }
            Err(e) => bad = Some(e),
        }
    });
    if let Some(e) = bad {
        return Err(e);
    }
    if let Some(extra) = file.names().into_iter().find(|n| !values.contains_key(n)) {
        return Err(format_err(
            path,
            format!(
                "the file has tensor `{extra}` that the model does not have (a state dict of \
                 another architecture?)"
            ),
        ));
    }
    Ok(values)
}

/// Tensor `name` of `file`, checked against the model's `a` (in tapegrad's layout) and
/// converted to tapegrad's layout.
fn torch_value<T: Element>(
    path: &Path,
    file: &Parsed<'_>,
    name: &str,
    a: &Array<T>,
    layout: TorchLayout,
) -> Result<Array<T>> {
    let want_dims = layout.torch_dims(a.dims());
    let want_dtype = layout.dtype::<T>();
    let Some(RawTensor {
        dtype,
        shape: dims,
        bytes,
    }) = file.raw(path, name)?
    else {
        return Err(format_err(
            path,
            format!(
                "tensor `{name}` (shape {}, {want_dtype:?}) is missing from the file (a \
                 state dict of another architecture?)",
                Shape::new(&want_dims),
            ),
        ));
    };
    if dtype != want_dtype {
        return Err(format_err(
            path,
            format!(
                "tensor `{name}` has dtype {dtype:?} in the file but {want_dtype:?} in the \
                 model{}",
                layout.note()
            ),
        ));
    }
    if dims != want_dims.as_slice() {
        return Err(format_err(
            path,
            format!(
                "tensor `{name}` has shape {dims:?} in the file but {} in the model{}",
                Shape::new(&want_dims),
                layout.note()
            ),
        ));
    }
    let wrong_size = || {
        format_err(
            path,
            format!("tensor `{name}` holds the wrong number of bytes"),
        )
    };
    match layout {
        TorchLayout::Int64 => {
            if bytes.len() != 8 * a.numel() {
                return Err(wrong_size());
            }
            let data = bytes
                .chunks_exact(8)
                .map(|c| {
                    let v = i64::from_le_bytes(c.try_into().expect("internal: 8 bytes"));
                    T::of(v as f64)
                })
                .collect();
            Array::from_vec(data, a.dims()).map_err(|_| wrong_size())
        }
        TorchLayout::Transposed => {
            let t = Array::from_vec(from_bytes::<T>(bytes), want_dims.as_slice())
                .map_err(|_| wrong_size())?;
            t.t().map_err(|_| wrong_size())
        }
        TorchLayout::Same => {
            Array::from_vec(from_bytes::<T>(bytes), a.dims()).map_err(|_| wrong_size())
        }
    }
}
