//! The export itself: a module's graph (from [`Module::export_onnx`]) wrapped into a model
//! with its input, output and opset, encoded with `prost`, written atomically.

use super::graph::{i64_of, OnnxDims, OnnxGraph};
use super::proto::{
    tensor_shape_proto::{dimension, Dimension},
    type_proto, DataType, GraphProto, ModelProto, OperatorSetIdProto, TensorShapeProto, TypeProto,
    ValueInfoProto, IR_VERSION,
};
use crate::module::Module;
use prost::Message;
use std::path::Path;
use tapegrad_core::{Element, Error, Result};

/// The ONNX operator set the exported graphs use: 17 (ONNX 1.12), the first with
/// `LayerNormalization`; GELU is written with `Erf`, which every runtime of that opset has.
pub const OPSET: i64 = 17;

/// The name of an exported model's input: `[batch, ...input_dims]`, `FLOAT`.
pub const INPUT: &str = "input";

/// The name of an exported model's output (`FLOAT`, its first axis `batch`).
pub const OUTPUT: &str = "output";

/// The symbolic name of the batch axis (`dim_param`) of the input and the output.
pub const BATCH: &str = "batch";

/// A value's type: `FLOAT` of shape `dims`, `None` axes as [`BATCH`].
fn float_value(name: &str, dims: &OnnxDims) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Some(n) => dimension::Value::DimValue(i64_of(*n)),
                None => dimension::Value::DimParam(BATCH.to_string()),
            }),
            denotation: None,
        })
        .collect();
    ValueInfoProto {
        name: Some(name.to_string()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(DataType::Float as i32),
                shape: Some(TensorShapeProto { dim }),
            })),
            denotation: None,
        }),
        doc_string: None,
    }
}

/// The ONNX model of `model` in evaluation mode, for inputs of shape `[batch, ...input_dims]`
/// (`input_dims` without the batch axis, e.g. `&[784]` for an MLP on MNIST rows, `&[1, 28, 28]`
/// for a CNN): one input [`INPUT`] and one output [`OUTPUT`], both `FLOAT` with the symbolic
/// batch axis [`BATCH`]; opset [`OPSET`]; the weights as `FLOAT` initializers named as the
/// parameters (`0.weight`; an `f64` model's are rounded to `f32`).
///
/// The graph is the model's evaluation: [`Dropout`](crate::Dropout) is left out and batch
/// normalization uses its running statistics, whatever mode the model is in (as
/// `torch.onnx.export`).
///
/// ```
/// use tapegrad_core::rng;
/// use tapegrad_nn::{onnx, Activation, Mlp};
/// # fn main() -> tapegrad_core::Result<()> {
/// let mlp = Mlp::<f32>::new(&[4, 8, 3], Activation::Relu, Activation::Identity, &mut rng(0))?;
/// let model = onnx::to_model(&mlp, &[4])?;
/// let graph = model.graph.as_ref().unwrap();
/// let ops: Vec<_> = graph.node.iter().map(|n| n.op_type.clone().unwrap()).collect();
/// assert_eq!(ops, ["Gemm", "Relu", "Gemm"]);
/// assert_eq!(graph.initializer[0].name.as_deref(), Some("0.weight"));
/// assert_eq!(model.opset_import[0].version, Some(onnx::OPSET));
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] naming the module when a module has no ONNX form (the default
/// of [`Module::export_onnx`]) or cannot take its input's shape (as `forward` would refuse
/// it), with the module's place in the model (`(in module `3`: ...)`); when `input_dims`
/// holds a zero.
#[track_caller]
pub fn to_model<T: Element>(
    model: &(impl Module<T> + ?Sized),
    input_dims: &[usize],
) -> Result<ModelProto> {
    if input_dims.contains(&0) {
        return Err(Error::invalid(
            "onnx export",
            format!("the input's dims must be positive, got {input_dims:?}"),
        ));
    }
    let dims: OnnxDims = std::iter::once(None)
        .chain(input_dims.iter().map(|&d| Some(d)))
        .collect();
    let mut g = OnnxGraph::new(INPUT, dims.clone(), OUTPUT);
    let last = model.export_onnx(&mut g, INPUT)?;
    let (node, initializer, out_dims) = g.finish(INPUT, &last, OUTPUT);
    let graph = GraphProto {
        node,
        name: Some("tapegrad".to_string()),
        initializer,
        doc_string: Some(model.describe()),
        input: vec![float_value(INPUT, &dims)],
        output: vec![float_value(OUTPUT, &out_dims)],
        value_info: Vec::new(),
    };
    Ok(ModelProto {
        ir_version: Some(IR_VERSION),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(OPSET),
        }],
        producer_name: Some("tapegrad".to_string()),
        producer_version: Some(env!("CARGO_PKG_VERSION").to_string()),
        graph: Some(graph),
        ..Default::default()
    })
}

/// The bytes of the `.onnx` file of `model` (see [`to_model`]).
///
/// # Errors
/// As [`to_model`].
#[track_caller]
pub fn to_bytes<T: Element>(
    model: &(impl Module<T> + ?Sized),
    input_dims: &[usize],
) -> Result<Vec<u8>> {
    Ok(to_model(model, input_dims)?.encode_to_vec())
}

/// Writes `model` as an ONNX file at `path` (see [`to_model`] for the graph), atomically with
/// [`write_file_atomic`](crate::write_file_atomic): a reader sees the old file or the whole
/// new one, and a failed export leaves no file. Also `tapegrad_nn::save_onnx`.
///
/// ```
/// use tapegrad_core::rng;
/// use tapegrad_nn::{save_onnx, Activation, Mlp};
/// # fn main() -> tapegrad_core::Result<()> {
/// let dir = std::env::temp_dir().join(format!("tapegrad-doc-onnx-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let mlp = Mlp::<f32>::new(&[784, 128, 64, 10], Activation::Relu, Activation::Identity, &mut rng(0))?;
/// save_onnx(&mlp, &[784], dir.join("mlp.onnx"))?;
/// // a folder that does not exist: an error naming the file, and nothing written
/// let err = save_onnx(&mlp, &[784], dir.join("no/such/mlp.onnx")).unwrap_err();
/// assert!(err.to_string().contains("mlp.onnx"), "{err}");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok(()) }
/// ```
///
/// # Errors
/// As [`to_model`] (then nothing is written); [`Error::Io`] naming `path` when it cannot be
/// written.
#[track_caller]
pub fn save<T: Element>(
    model: &(impl Module<T> + ?Sized),
    input_dims: &[usize],
    path: impl AsRef<Path>,
) -> Result<()> {
    let bytes = to_bytes(model, input_dims)?;
    crate::write_file_atomic(path, &bytes)
}

/// Reads the ONNX model in the file at `path` (one [`save`] wrote, or any `.onnx` file) into
/// the schema's messages, to look at its graph. Fields this crate's [`proto`](super::proto)
/// leaves out are skipped.
///
/// ```
/// use tapegrad_core::rng;
/// use tapegrad_nn::{onnx, save_onnx, Activation, Mlp};
/// # fn main() -> tapegrad_core::Result<()> {
/// let dir = std::env::temp_dir().join(format!("tapegrad-doc-onnx-load-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("mlp.onnx");
/// let mlp = Mlp::<f32>::new(&[4, 3], Activation::Relu, Activation::Identity, &mut rng(0))?;
/// save_onnx(&mlp, &[4], &path)?;
/// let model = onnx::load_model(&path)?;
/// assert_eq!(model.graph.unwrap().node.len(), 1); // Gemm
/// // a truncated file is an error naming it
/// let bytes = std::fs::read(&path).unwrap();
/// std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
/// let err = onnx::load_model(&path).unwrap_err().to_string();
/// assert!(err.contains("mlp.onnx") && err.contains("not a valid ONNX model"), "{err}");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::Io`] naming `path` when it cannot be read; [`Error::Format`] naming it when its
/// bytes are not a protobuf `ModelProto` (a truncated or corrupt file).
pub fn load_model(path: impl AsRef<Path>) -> Result<ModelProto> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    ModelProto::decode(bytes.as_slice()).map_err(|e| Error::Format {
        path: path.to_path_buf(),
        offset: None,
        message: format!("not a valid ONNX model ({} bytes): {e}", bytes.len()),
    })
}
