//! Saving and loading a module's parameters (and buffers, after them) in the safetensors
//! format: tensor names are the dotted parameter and buffer names, dtypes `F32` or `F64` as
//! the module stores them. PyTorch's
//! `safetensors.torch.load_file` (and `safetensors.numpy.load_file`) read these files.
//!
//! These files are tapegrad's own layout: a [`Dense`](crate::Dense) weight is stored
//! `[in, out]` (torch's `nn.Linear.weight` is `[out, in]`) and a batch norm's
//! `num_batches_tracked` in the model's float dtype (torch's is `int64`). For a file that
//! `model.load_state_dict` takes as it is, use [`save_torch`](crate::save_torch) /
//! [`load_torch`](crate::load_torch) (the module [`torch`](crate::torch) docs list the
//! layouts).

use crate::module::Module;
use crate::ParamPath;
use safetensors::tensor::{Dtype, Metadata, SafeTensors, View};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Read;
use std::path::Path;
pub use tapegrad_core::write_file_atomic;
use tapegrad_core::{Array, Element, Error, Result};

/// One parameter's bytes, as the safetensors writer wants them.
pub(crate) struct Bytes {
    pub(crate) dtype: Dtype,
    pub(crate) shape: Vec<usize>,
    pub(crate) data: Vec<u8>,
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

pub(crate) fn dtype_of<T: Element>() -> Dtype {
    if T::DTYPE == "F64" {
        Dtype::F64
    } else {
        Dtype::F32
    }
}

pub(crate) fn to_bytes<T: Element>(a: &Array<T>) -> Vec<u8> {
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

pub(crate) fn from_bytes<T: Element>(bytes: &[u8]) -> Vec<T> {
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

pub(crate) fn format_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Format {
        path: path.to_path_buf(),
        offset: None,
        message: message.into(),
    }
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The largest file [`load`] reads for a model of `param_bytes` bytes of parameters: a
/// checkpoint holds at most four more copies of them (optimizer moments, the best weights)
/// and a header, whose size grows with the number of tensors.
pub(crate) fn max_file_len(param_bytes: u64, tensors: u64) -> u64 {
    param_bytes
        .saturating_mul(5)
        .saturating_add(tensors.saturating_mul(5 * 512))
        .saturating_add(MAX_HEADER)
}

/// The largest header [`load`] accepts beyond 512 bytes per tensor it may hold.
const MAX_HEADER: u64 = 1 << 20;

/// Reads a safetensors file of at most `max_len` bytes.
pub(crate) fn read_bounded(path: &Path, max_len: u64) -> Result<Vec<u8>> {
    let mut f = fs::File::open(path).map_err(io_err(path))?;
    let len = f.metadata().map_err(io_err(path))?.len();
    if len > max_len {
        return Err(format_err(
            path,
            format!(
                "the file has {len} bytes, more than a model or checkpoint of these \
                 parameters can have ({max_len})"
            ),
        ));
    }
    let mut buf = Vec::new();
    // `take`: a file that grows while being read is still read only up to the bound
    (&mut f)
        .take(max_len)
        .read_to_end(&mut buf)
        .map_err(io_err(path))?;
    Ok(buf)
}

/// The parameter bytes and count of `model`.
pub(crate) fn param_bytes<T: Element>(model: &(impl Module<T> + ?Sized)) -> (u64, u64) {
    let (mut bytes, mut count) = (0u64, 0u64);
    model.visit(&mut ParamPath::new(), &mut |_, p| {
        bytes = bytes.saturating_add((p.value().numel() * std::mem::size_of::<T>()) as u64);
        count += 1;
    });
    model.visit_buffers(&mut ParamPath::new(), &mut |_, b| {
        bytes = bytes.saturating_add((b.numel() * std::mem::size_of::<T>()) as u64);
        count += 1;
    });
    (bytes, count)
}

/// Encodes named arrays and metadata as a safetensors file.
pub(crate) fn encode<T: Element>(
    path: &Path,
    tensors: &[(String, &Array<T>)],
    meta: HashMap<String, String>,
) -> Result<Vec<u8>> {
    let bytes: Vec<(String, Bytes)> = tensors
        .iter()
        .map(|(n, a)| {
            (
                n.clone(),
                Bytes {
                    dtype: dtype_of::<T>(),
                    shape: a.dims().to_vec(),
                    data: to_bytes(a),
                },
            )
        })
        .collect();
    encode_bytes(path, "save", &bytes, meta)
}

/// Encodes named tensors (already as bytes) and metadata as a safetensors file; `op` names
/// the caller in the error for two tensors of one name.
pub(crate) fn encode_bytes(
    path: &Path,
    op: &'static str,
    tensors: &[(String, Bytes)],
    meta: HashMap<String, String>,
) -> Result<Vec<u8>> {
    let mut seen = HashSet::new();
    if let Some((name, _)) = tensors.iter().find(|(n, _)| !seen.insert(n.as_str())) {
        return Err(Error::invalid(
            op,
            format!("two tensors are named `{name}`"),
        ));
    }
    safetensors::tensor::serialize(tensors.iter().map(|(n, b)| (n.as_str(), b)), Some(meta))
        .map_err(|e| format_err(path, format!("cannot encode safetensors: {e}")))
}

/// The named parameters of `model` as arrays (references), in visiting order.
pub(crate) fn named_values<T: Element>(
    model: &(impl Module<T> + ?Sized),
) -> Vec<(String, &Array<T>)> {
    let mut out = Vec::new();
    model.visit(&mut ParamPath::new(), &mut |name, p| {
        out.push((name.to_string(), p.value()))
    });
    out
}

/// The named buffers of `model` (copies), in visiting order.
pub(crate) fn named_buffers<T: Element>(
    model: &(impl Module<T> + ?Sized),
) -> Vec<(String, Array<T>)> {
    let mut out = Vec::new();
    model.visit_buffers(&mut ParamPath::new(), &mut |name, b| {
        out.push((name.to_string(), b.clone()))
    });
    out
}

/// The tensors a model file holds: the parameters, then the buffers (from [`named_buffers`],
/// borrowed).
pub(crate) fn model_tensors<'a, T: Element>(
    model: &'a (impl Module<T> + ?Sized),
    buffers: &'a [(String, Array<T>)],
) -> Vec<(String, &'a Array<T>)> {
    let mut tensors = named_values(model);
    tensors.extend(buffers.iter().map(|(n, b)| (n.clone(), b)));
    tensors
}

/// One tensor of a [`Parsed`] file as it is stored: its dtype, shape (borrowed from the
/// header) and bytes (borrowed from the file).
pub(crate) struct RawTensor<'h, 'a> {
    pub(crate) dtype: Dtype,
    pub(crate) shape: &'h [usize],
    pub(crate) bytes: &'a [u8],
}

/// A parsed safetensors file: its header and its data section (borrowed).
pub(crate) struct Parsed<'a> {
    meta: Metadata,
    data: &'a [u8],
}

impl<'a> Parsed<'a> {
    /// Parses `buf` (the whole file at `path`): the header length, the JSON header, every
    /// tensor's offsets within the data section (checked by the safetensors crate).
    pub(crate) fn new(path: &Path, buf: &'a [u8]) -> Result<Self> {
        let (n, meta) = SafeTensors::read_metadata(buf)
            .map_err(|e| format_err(path, format!("not a valid safetensors file: {e}")))?;
        let data = buf
            .get(8 + n..)
            .ok_or_else(|| format_err(path, "not a valid safetensors file: no data section"))?;
        Ok(Parsed { meta, data })
    }

    /// The metadata entry `key`.
    pub(crate) fn meta(&self, key: &str) -> Option<&str> {
        self.meta
            .metadata()
            .as_ref()
            .and_then(|m| m.get(key))
            .map(String::as_str)
    }

    /// Every metadata entry.
    pub(crate) fn meta_entries(&self) -> impl Iterator<Item = (&String, &String)> {
        self.meta.metadata().iter().flat_map(|m| m.iter())
    }

    /// Every tensor name, sorted.
    pub(crate) fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.meta.tensors().into_keys().collect();
        v.sort_unstable();
        v
    }

    /// The dtype, shape and bytes of tensor `name` (`None` when the file has no such
    /// tensor; an error when its bytes lie beyond the end of the file).
    pub(crate) fn raw(&self, path: &Path, name: &str) -> Result<Option<RawTensor<'_, 'a>>> {
        let Some(info) = self.meta.info(name) else {
            return Ok(None);
        };
        let (s, e) = info.data_offsets;
        let bytes = self.data.get(s..e).ok_or_else(|| {
            format_err(
                path,
                format!("tensor `{name}` lies beyond the end of the file"),
            )
        })?;
        Ok(Some(RawTensor {
            dtype: info.dtype,
            shape: &info.shape,
            bytes,
        }))
    }

    /// Whether the file has a tensor `name`.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.meta.info(name).is_some()
    }

    /// The tensor `name` as an array of the module's dtype and shape `dims` (any shape when
    /// `None`).
    pub(crate) fn tensor<T: Element>(
        &self,
        path: &Path,
        name: &str,
        dims: Option<&[usize]>,
    ) -> Result<Array<T>> {
        let info = self
            .meta
            .info(name)
            .ok_or_else(|| format_err(path, format!("tensor `{name}` is missing from the file")))?;
        let want = dtype_of::<T>();
        if info.dtype != want {
            return Err(format_err(
                path,
                format!(
                    "tensor `{name}` has dtype {:?} in the file but {:?} in the model",
                    info.dtype, want
                ),
            ));
        }
        let shape = dims.unwrap_or(&info.shape);
        if info.shape != shape {
            return Err(format_err(
                path,
                format!(
                    "tensor `{name}` has shape {:?} in the file but {} in the model",
                    info.shape,
                    tapegrad_core::Shape::new(shape)
                ),
            ));
        }
        let (s, e) = info.data_offsets;
        let bytes = self.data.get(s..e).ok_or_else(|| {
            format_err(
                path,
                format!("tensor `{name}` lies beyond the end of the file"),
            )
        })?;
        Array::from_vec(from_bytes::<T>(bytes), shape).map_err(|_| {
            format_err(
                path,
                format!("tensor `{name}` holds the wrong number of bytes"),
            )
        })
    }
}

/// Reads and checks every parameter and buffer of `model` from `file` (nothing is changed):
/// the values in visiting order, the parameters' then the buffers'. Tensors of the file that are not the model's are an error, except a
/// checkpoint's own (optimizer state, extras) when `checkpoint` is set.
pub(crate) fn model_values<T: Element>(
    path: &Path,
    file: &Parsed<'_>,
    model: &(impl Module<T> + ?Sized),
) -> Result<Vec<Array<T>>> {
    let checkpoint = file.meta(crate::checkpoint::MARK).is_some();
    let mut values: Vec<Array<T>> = Vec::new();
    let mut names = HashSet::new();
    let mut bad: Option<Error> = None;
    let mut take = |name: &ParamPath, value: &Array<T>| {
        if bad.is_some() {
            return;
        }
        let name = name.to_string();
        let name = name.as_str();
        names.insert(name.to_string());
        if !file.has(name) {
            bad = Some(format_err(
                path,
                format!(
                    "tensor `{name}` (shape {}) is missing from the file",
                    value.shape()
                ),
            ));
            return;
        }
        match file.tensor::<T>(path, name, Some(value.dims())) {
            Ok(a) => values.push(a),
            Err(e) => bad = Some(e),
        }
    };
    model.visit(&mut ParamPath::new(), &mut |name, p| take(name, p.value()));
    model.visit_buffers(&mut ParamPath::new(), &mut take);
    if let Some(e) = bad {
        return Err(e);
    }
    let extra = file
        .names()
        .into_iter()
        .find(|n| !(names.contains(n) || (checkpoint && is_checkpoint_extra(n))));
    if let Some(extra) = extra {
        return Err(format_err(
            path,
            format!("the file has tensor `{extra}` that the model does not have"),
        ));
    }
    Ok(values)
}

/// Puts `values` (from [`model_values`]: the parameters, then the buffers, in visiting
/// order) into `model`.
pub(crate) fn set_values<T: Element>(
    model: &mut (impl Module<T> + ?Sized),
    values: Vec<Array<T>>,
) -> Result<()> {
    let mut values = values.into_iter();
    let mut result = Ok(());
    model.visit_mut(&mut ParamPath::new(), &mut |_, p| {
        let v = values.next().expect("internal: one value per parameter");
        if let Err(e) = p.set(v) {
            result = Err(e);
        }
    });
    model.visit_buffers_mut(&mut ParamPath::new(), &mut |_, b| {
        let v = values.next().expect("internal: one value per buffer");
        if v.dims() == b.dims() {
            *b = v;
        }
    });
    result
}

/// Tensor names that a checkpoint holds besides the model's own.
pub(crate) fn is_checkpoint_extra(name: &str) -> bool {
    name.starts_with(crate::checkpoint::OPTIMIZER_PREFIX)
        || name.starts_with(crate::checkpoint::EXTRA_PREFIX)
}

/// Saves every parameter and buffer ([`Module::visit_buffers`]: running statistics) of
/// `model` to a safetensors file at `path`, named by its dotted name, with the module's dtype
/// (`F32` or `F64`). The file is written as
/// [`write_file_atomic`] says (a unique temporary file beside the target, flushed, renamed
/// over it, the folder flushed), so a reader, a concurrent saver or a crash never sees or
/// leaves a half-written model at `path`.
///
/// ```
/// use tapegrad_core::rng;
/// use tapegrad_nn::{Activation, Mlp, Module};
/// # fn main() -> tapegrad_core::Result<()> {
/// let dir = std::env::temp_dir().join(format!("tapegrad-doc-save-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("xor.safetensors");
/// let model = Mlp::<f32>::new(&[2, 4, 1], Activation::Tanh, Activation::Sigmoid, &mut rng(0))?;
/// model.save(&path)?;
/// let mut copy = Mlp::<f32>::new(&[2, 4, 1], Activation::Tanh, Activation::Sigmoid, &mut rng(1))?;
/// copy.load(&path)?;
/// assert_eq!(copy.layers()[0].weight().value(), model.layers()[0].weight().value());
/// let mut other = Mlp::<f32>::new(&[2, 8, 1], Activation::Tanh, Activation::Sigmoid, &mut rng(1))?;
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
    let buffers = named_buffers(model);
    let tensors = model_tensors(model, &buffers);
    let meta = HashMap::from([("format".to_string(), "pt".to_string())]);
    let bytes = encode(path, &tensors, meta)?;
    write_file_atomic(path, &bytes)
}

/// Loads every parameter and buffer of `model` from the safetensors file at `path` (a file written by
/// [`save`], or the model part of a [`Checkpoint`](crate::Checkpoint)).
///
/// Every name, shape and dtype is checked before anything is changed: a parameter missing
/// from the file, a shape or dtype that differs, or a tensor in the file that the model does
/// not have is an error naming that tensor (the first such, in the model's parameter order),
/// and the model is left as it was. A truncated or corrupt file is an error, never a panic.
///
/// Bounds (for any file, however broken): a file larger than five times the model's parameter
/// bytes plus 1 MiB (and 2.5 KiB per parameter tensor) for the header is refused before it is
/// read; otherwise loading allocates at its peak at most twice the file's size plus 64 times
/// its header's size plus 64 KiB (the file's bytes, the parsed JSON header, the arrays). The
/// mutation fuzzer `tests/load_fuzz.rs` checks this with a counting allocator.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; [`Error::Format`] (naming the file) when it is
/// not a valid safetensors file, is too large, or does not match the model's parameters.
pub fn load<T: Element>(
    model: &mut (impl Module<T> + ?Sized),
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    let (bytes, count) = param_bytes(model);
    let buf = read_bounded(path, max_file_len(bytes, count))?;
    let file = Parsed::new(path, &buf)?;
    let values = model_values(path, &file, model)?;
    set_values(model, values)
}
