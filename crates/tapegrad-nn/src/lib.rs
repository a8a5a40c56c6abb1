//! tapegrad-nn: layers, losses, initializers and optimizers built from tape ops only, so every
//! gradient comes from the tape: no layer, loss or model here writes a derivative by hand,
//! and [`gradcheck_module`] proves them against finite differences.
//!
//! - [`Module`]: forward on a tape, parameters visited by dotted name (`encoder.0.weight`),
//!   training/evaluation mode, a torch-like printout. Layers: [`Dense`], [`Activation`] (the
//!   one activation type: ReLU, leaky ReLU, sigmoid, tanh, softmax, GELU, SiLU, ELU,
//!   softplus, identity; itself a module), [`Dropout`]; convolutional layers: [`Conv2d`],
//!   [`MaxPool2d`], [`AvgPool2d`], [`Flatten`] (PyTorch's names, layouts and default init);
//!   normalization: [`BatchNorm1d`], [`BatchNorm2d`] (running statistics as buffers, saved
//!   with the model, see [`Module::visit_buffers`]), [`LayerNorm`]; [`Embedding`] (a lookup
//!   table indexed by class indices);
//!   containers: [`Sequential`], [`Mlp`],
//!   [`Autoencoder`].
//! - [`loss`]: mse, mae, huber, bce, bce_with_logits, cross-entropy (class indices or
//!   probabilities), nll; [`Reduction`] mean (default) or sum.
//! - [`Init`]: Xavier/Glorot and He/Kaiming (normal, uniform), zeros, constant; seeded.
//!   [`Dense::for_activation`] and [`Mlp`] pick He for ReLU stacks, Xavier otherwise.
//! - [`optim`]: SGD (momentum, Nesterov, weight decay), Adam, AdamW, RMSProp, Adagrad, over a
//!   module, a `Vec<Param<T>>` (a module without forward, torch's `ParameterList`) or loose
//!   parameters ([`Optimizer::step_params`](optim::Optimizer::step_params), [`ParamRefs`]);
//!   [`schedule`]s for the learning rate; [`clip_grad_norm`] / [`clip_grad_value`] on the
//!   [`Gradients`](tapegrad_core::Gradients) that backward returns (which also accumulate).
//! - [`train_step`]: record, backward, reset and update as one call.
//! - [`save`] / [`load`]: safetensors files that PyTorch reads; [`Checkpoint`]: the model, the
//!   optimizer's state and the [`Progress`] in one file, to resume training exactly;
//!   [`save_torch`] / [`load_torch`]: PyTorch state dicts (torch's names, layouts and dtypes),
//!   for `model.load_state_dict(safetensors.torch.load_file(path))` and back ([`torch`]).
//! - [`onnx`]: [`save_onnx`] writes a model as an `.onnx` file that ONNX Runtime runs.
//! - [`tsne`]: t-SNE maps, the KL(P‖Q) loss written as tape expressions.
//!
//! # A training loop
//!
//! [`train_step`] is one step as one call: it records the loss on the emptied tape, takes the
//! gradients, **resets the tape** (so the parameters are no longer shared with it and the
//! optimizer updates them in place instead of copying them), and steps the optimizer:
//!
//! ```
//! use tapegrad_core::{rng, Array, Tape};
//! use tapegrad_nn::optim::Sgd;
//! use tapegrad_nn::{loss, train_step, Activation, Mlp, Module, Reduction};
//! # fn main() -> tapegrad_core::Result<()> {
//! // XOR with a 2-4-1 tanh/sigmoid network
//! let x = Array::<f32>::from_vec(vec![0., 0., 0., 1., 1., 0., 1., 1.], [4, 2])?;
//! let y = Array::<f32>::from_vec(vec![0., 1., 1., 0.], [4, 1])?;
//! let mut model = Mlp::new(&[2, 4, 1], Activation::Tanh, Activation::Sigmoid, &mut rng(0))?;
//! let mut opt = Sgd::new(0.5);
//! let mut tape = Tape::new();
//! let mut last = f32::INFINITY;
//! for _ in 0..5000 {
//!     last = train_step(&mut tape, &mut model, &mut opt, |tape, model| {
//!         let pred = model.forward(tape.constant(x.clone()))?;
//!         loss::mse(pred, tape.constant(y.clone()), Reduction::Mean)
//!     })?;
//! }
//! assert!(last < 0.01, "loss {last}");
//! println!("{model}"); // Mlp(\n  (0): Dense(in=2, out=4, bias)\n  (1): Tanh ...
//! # Ok(()) }
//! ```
//!
//! To work on the gradients between backward and the update (accumulation over pieces of a
//! batch, clipping), take them with [`Tape::value_and_grad`](tapegrad_core::Tape::value_and_grad)
//! and call [`Optimizer::step`](optim::Optimizer::step) yourself.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod activation;
mod autoencoder;
mod check;
mod checkpoint;
mod clip;
mod conv;
mod dense;
mod dropout;
mod embedding;
mod flatten;
mod init;
pub mod loss;
mod mlp;
mod module;
mod norm;
pub mod onnx;
pub mod optim;
mod param_list;
mod path;
mod pool;
pub mod schedule;
mod sequential;
mod serialize;
mod step;
pub mod torch;
pub mod tsne;

pub use autoencoder::Autoencoder;
pub use check::gradcheck_module;
pub use checkpoint::{Checkpoint, Progress};
pub use clip::{clip_grad_norm, clip_grad_value};
pub use conv::Conv2d;
pub use dense::Dense;
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use flatten::Flatten;
pub use init::Init;
pub use loss::{Loss, Reduction};
pub use mlp::Mlp;
pub use module::{mix_seed, Module};
pub use norm::{BatchNorm, BatchNorm1d, BatchNorm2d, LayerNorm};
pub use onnx::save as save_onnx;
pub use param_list::ParamRefs;
pub use path::{ParamPath, Segment};
pub use pool::{AvgPool2d, MaxPool2d};
pub use sequential::Sequential;
pub use serialize::{load, save, write_file_atomic};
pub use step::train_step;
pub use tapegrad_core::Activation;
pub use torch::{load_torch, save_torch, TorchLayout};
