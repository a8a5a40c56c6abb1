//! `activations`: the reports' MLP with ReLU, sigmoid, tanh, GELU or SiLU in its hidden
//! layers; a box plot of the test accuracy.

use super::mlp::{self, Extras, MlpSpec};
use super::summary::Report;
use super::Context;
use tapegrad::nn::Activation;
use tapegrad::Result;

/// The activations compared, with their labels.
pub const ACTIVATIONS: [(&str, Activation); 5] = [
    ("ReLU", Activation::Relu),
    ("sigmoid", Activation::Sigmoid),
    ("tanh", Activation::Tanh),
    ("GELU", Activation::Gelu),
    ("SiLU", Activation::Silu),
];

/// Runs the study.
///
/// # Errors
/// As [`mlp::run_study`].
pub fn run(ctx: &Context) -> Result<Report> {
    let settings = ACTIVATIONS
        .iter()
        .map(|&(label, act)| {
            let spec = MlpSpec {
                act,
                ..MlpSpec::default()
            };
            (label.to_string(), spec)
        })
        .collect();
    Ok(mlp::run_study(
        ctx,
        "activations",
        "hidden activation",
        settings,
        Extras::default(),
    )?
    .report)
}
