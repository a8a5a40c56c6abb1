//! `Flatten`: keeps axis 0 (the batch) and flattens the others into one, as
//! `torch.nn.Flatten()`; between convolutional and dense layers.

use crate::module::Module;
use crate::onnx::{Attr, OnnxGraph};
use tapegrad_core::{Element, Error, Result, Tensor};

/// Flattens every axis but the first: `[N, C, H, W]` becomes `[N, C·H·W]` (as
/// `torch.nn.Flatten()`, `start_dim=1, end_dim=-1`). Recorded as a reshape; no parameters.
///
/// ```
/// use tapegrad_core::{Array, Tape};
/// use tapegrad_nn::{Flatten, Module};
/// # fn main() -> tapegrad_core::Result<()> {
/// let tape = Tape::<f32>::new();
/// let y = Flatten.forward(tape.constant(Array::zeros([2, 16, 5, 5])))?;
/// assert_eq!(y.shape().dims(), &[2, 400]);
/// assert_eq!(Module::<f32>::describe(&Flatten), "Flatten(start_dim=1, end_dim=-1)");
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flatten;

impl<T: Element> Module<T> for Flatten {
    /// `x` reshaped to `[N, rest]` (a 2-D input is returned as it is).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an input of fewer than 2 axes (torch's `start_dim=1`
    /// is out of range there).
    fn forward<'t>(&self, x: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        let s = x.shape();
        if s.rank() < 2 {
            return Err(Error::invalid(
                "Flatten",
                format!("expects an input of at least 2 axes [N, ...], got {s}"),
            ));
        }
        if s.rank() == 2 {
            return Ok(x);
        }
        let rest: usize = s.dims()[1..].iter().product();
        x.reshape([s.dim(0), rest])
    }

    /// `Flatten` with `axis = 1` (nothing for a 2-D input).
    fn export_onnx(&self, g: &mut OnnxGraph, input: &str) -> Result<String> {
        let d = g.dims(input)?.to_vec();
        if d.len() < 2 {
            return Err(g.input_error(
                &Module::<T>::describe(self),
                input,
                "expects at least 2 axes [N, ...]",
            ));
        }
        if d.len() == 2 {
            return Ok(input.to_string());
        }
        let rest = d[1..].iter().map(|n| n.unwrap_or(0)).product();
        g.node(
            "Flatten",
            &[input],
            vec![Attr::Int("axis", 1)],
            vec![d[0], Some(rest)],
        )
    }
    crate::module::no_params!(T);
    fn describe(&self) -> String {
        "Flatten(start_dim=1, end_dim=-1)".to_string()
    }
}
