//! ONNX export: a model as a standard `.onnx` file (opset [`OPSET`], `FLOAT`, a symbolic batch
//! axis) that ONNX Runtime, or any other ONNX runtime, runs with tapegrad's outputs.
//!
//! - [`save`] (also `tapegrad_nn::save_onnx`) writes the file atomically; [`to_bytes`] and
//!   [`to_model`] give its bytes and its decoded form; [`load_model`] reads a file back.
//! - Each module describes itself with [`Module::export_onnx`](crate::Module::export_onnx):
//!   [`Dense`](crate::Dense), every [`Activation`](crate::Activation), [`Mlp`](crate::Mlp),
//!   [`Autoencoder`](crate::Autoencoder), [`Sequential`](crate::Sequential),
//!   [`Conv2d`](crate::Conv2d), [`MaxPool2d`](crate::MaxPool2d),
//!   [`AvgPool2d`](crate::AvgPool2d), [`Flatten`](crate::Flatten),
//!   [`BatchNorm1d`](crate::BatchNorm1d) / [`BatchNorm2d`](crate::BatchNorm2d),
//!   [`LayerNorm`](crate::LayerNorm), [`Embedding`](crate::Embedding),
//!   [`Dropout`](crate::Dropout); a module of your own adds its nodes to an [`OnnxGraph`].
//! - [`proto`]: the ONNX schema's messages (`ModelProto`, `GraphProto`, ...), `prost`
//!   messages, to read a file back with `prost::Message::decode`.
//!
//! docs/interop.md has the operator mapping and the Python lines that run a file in ONNX
//! Runtime.

mod activation;
mod export;
mod graph;
pub mod proto;
mod window;

pub(crate) use activation::export as activation;
pub use export::{load_model, save, to_bytes, to_model, BATCH, INPUT, OPSET, OUTPUT};
pub use graph::{Attr, ChildScope, OnnxDims, OnnxGraph};
pub(crate) use window::{spatial_out, Window};
