//! The ONNX form of every [`Activation`]: one operator where ONNX has it with tapegrad's
//! meaning, else a few elementary ones (GELU by `Erf` at opset 17, softplus with its `beta`
//! and `threshold` by `Where`).

use super::graph::{Attr, OnnxGraph};
use tapegrad_core::{Activation, Result};

/// Adds the nodes of `act` applied to `x` and returns the result's name (`x` itself for the
/// identity).
///
/// # Errors
/// A softmax over an axis that `x` does not have.
#[track_caller]
pub(crate) fn export(act: Activation, g: &mut OnnxGraph, x: &str) -> Result<String> {
    let dims = g.dims(x)?.to_vec();
    let unary =
        |g: &mut OnnxGraph, op: &str, attrs: Vec<Attr>| g.node(op, &[x], attrs, dims.clone());
    match act {
        Activation::Identity => Ok(x.to_string()),
        Activation::Relu => unary(g, "Relu", vec![]),
        Activation::Sigmoid => unary(g, "Sigmoid", vec![]),
        Activation::Tanh => unary(g, "Tanh", vec![]),
        Activation::LeakyRelu(slope) => {
            unary(g, "LeakyRelu", vec![Attr::Float("alpha", slope as f32)])
        }
        Activation::Elu(alpha) => unary(g, "Elu", vec![Attr::Float("alpha", alpha as f32)]),
        Activation::Softmax(axis) => {
            let rank = dims.len() as isize;
            if axis >= rank || axis < -rank {
                return Err(g.input_error(
                    &act.to_string(),
                    x,
                    format!("axis {axis} is out of range for rank {rank}"),
                ));
            }
            unary(g, "Softmax", vec![Attr::Int("axis", axis as i64)])
        }
        Activation::Silu => {
            let s = unary(g, "Sigmoid", vec![])?;
            g.node("Mul", &[x, &s], vec![], dims)
        }
        Activation::Gelu => {
            // x · 1/2 · (1 + erf(x / √2)), in tapegrad's order
            let r = g.constant("frac_1_sqrt_2", &[std::f32::consts::FRAC_1_SQRT_2], &[])?;
            let half = g.constant("half", &[0.5], &[])?;
            let one = g.constant("one", &[1.0], &[])?;
            let xr = g.node("Mul", &[x, &r], vec![], dims.clone())?;
            let e = g.node("Erf", &[&xr], vec![], dims.clone())?;
            let e1 = g.node("Add", &[&e, &one], vec![], dims.clone())?;
            let xh = g.node("Mul", &[x, &half], vec![], dims.clone())?;
            g.node("Mul", &[&xh, &e1], vec![], dims)
        }
        Activation::GeluTanh => {
            // 1/2 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))
            let k = (2.0 / std::f64::consts::PI).sqrt() as f32;
            let k = g.constant("sqrt_2_over_pi", &[k], &[])?;
            let kappa = g.constant("kappa", &[0.044715], &[])?;
            let half = g.constant("half", &[0.5], &[])?;
            let one = g.constant("one", &[1.0], &[])?;
            let x2 = g.node("Mul", &[x, x], vec![], dims.clone())?;
            let x3 = g.node("Mul", &[&x2, x], vec![], dims.clone())?;
            let kx3 = g.node("Mul", &[&kappa, &x3], vec![], dims.clone())?;
            let s = g.node("Add", &[x, &kx3], vec![], dims.clone())?;
            let inner = g.node("Mul", &[&k, &s], vec![], dims.clone())?;
            let t = g.node("Tanh", &[&inner], vec![], dims.clone())?;
            let t1 = g.node("Add", &[&one, &t], vec![], dims.clone())?;
            let hx = g.node("Mul", &[&half, x], vec![], dims.clone())?;
            g.node("Mul", &[&hx, &t1], vec![], dims)
        }
        Activation::Softplus { beta, threshold } => {
            // log(1 + e^(βx)) / β, and x where βx > threshold
            let b = if beta == 1.0 {
                None
            } else {
                Some(g.constant("beta", &[beta as f32], &[])?)
            };
            let bx = match &b {
                None => x.to_string(),
                Some(b) => g.node("Mul", &[x, b], vec![], dims.clone())?,
            };
            let mut sp = g.node("Softplus", &[&bx], vec![], dims.clone())?;
            if let Some(b) = &b {
                sp = g.node("Div", &[&sp, b], vec![], dims.clone())?;
            }
            let t = g.constant("threshold", &[threshold as f32], &[])?;
            let above = g.node("Greater", &[&bx, &t], vec![], dims.clone())?;
            g.node("Where", &[&above, x, &sp], vec![], dims)
        }
    }
}
