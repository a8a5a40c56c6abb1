//! `Mlp`: a multi-layer perceptron built from a list of layer sizes, a hidden activation and an
//! output activation; each layer and its activation are recorded as one fused node.

use crate::dense::Dense;
use crate::init::Init;
use crate::module::{describe_children, display_with_count, in_child, Module};
use crate::onnx::OnnxGraph;
use crate::path::ParamPath;
use crate::torch::TorchLayout;
use rand::Rng;
use std::fmt;
use tapegrad_core::{Activation, Array, Element, Error, Param, Result, Tensor};

/// A multi-layer perceptron: [`Dense`] layers of the given sizes, the hidden activation after
/// every layer but the last, and the output activation after the last.
///
/// Parameter names count the activations as torch's `nn.Sequential` does: dense layer `k` is
/// child `2k` (`0.weight`, `2.weight`, `4.weight`, ...), its activation child `2k + 1`.
///
/// The hidden and output activations are [`Activation`]s: the output one is typically
/// `Identity` (raw scores, logits, e.g. for
/// [`cross_entropy_with_logits`](crate::loss::cross_entropy_with_logits) or a regression),
/// `Sigmoid` (outputs in (0, 1)) or `Softmax(-1)` (each row a distribution).
///
/// Each dense layer and a ReLU, sigmoid, tanh or identity after it are recorded as one fused
/// `linear` node (faster; the same values and gradients as the unfused ops, which
/// [`Mlp::set_fused`] can switch to for checking). The other activations
/// (leaky ReLU, softmax, GELU, SiLU, ELU, softplus) are separate nodes.
///
/// ```
/// use tapegrad_core::{rng, Array, Tape};
/// use tapegrad_nn::{Activation, Mlp, Module};
/// # fn main() -> tapegrad_core::Result<()> {
/// let mlp = Mlp::<f32>::new(&[64, 64, 32, 10], Activation::Relu, Activation::Identity, &mut rng(0))?;
/// assert_eq!(mlp.param_count(), 64 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10);
/// println!("{mlp}");
/// let tape = Tape::new();
/// let logits = mlp.forward(tape.constant(Array::zeros([8, 64])))?;
/// assert_eq!(logits.shape().dims(), &[8, 10]);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Mlp<T: Element> {
    layers: Vec<Dense<T>>,
    act: Activation,
    output: Activation,
    fused: bool,
}

impl<T: Element> Mlp<T> {
    /// An MLP with layer sizes `sizes` (`[2, 4, 1]`: 2 inputs, a hidden layer of 4, 1 output).
    /// Hidden layers use the initializer that suits `act` ([`Init::for_activation`]: He for ReLU,
    /// Xavier otherwise); the last layer uses Xavier uniform. Biases start at zero.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for fewer than two sizes.
    #[track_caller]
    pub fn new<R: Rng + ?Sized>(
        sizes: &[usize],
        act: Activation,
        output: Activation,
        rng: &mut R,
    ) -> Result<Self> {
        Self::build(sizes, act, output, None, rng)
    }

    /// As [`Mlp::new`], with one initializer for every layer's weight.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for fewer than two sizes.
    #[track_caller]
    pub fn with_init<R: Rng + ?Sized>(
        sizes: &[usize],
        act: Activation,
        output: Activation,
        init: Init,
        rng: &mut R,
    ) -> Result<Self> {
        Self::build(sizes, act, output, Some(init), rng)
    }

    #[track_caller]
    fn build<R: Rng + ?Sized>(
        sizes: &[usize],
        act: Activation,
        output: Activation,
        init: Option<Init>,
        rng: &mut R,
    ) -> Result<Self> {
        if sizes.len() < 2 {
            return Err(Error::invalid(
                "Mlp::new",
                format!("needs at least two layer sizes (inputs and outputs), got {sizes:?}"),
            ));
        }
        let n = sizes.len() - 1;
        let layers = sizes
            .windows(2)
            .enumerate()
            .map(|(k, w)| {
                let init = init.unwrap_or(if k + 1 == n {
                    Init::XavierUniform
                } else {
                    Init::for_activation(act)
                });
                Dense::new(w[0], w[1], init, rng)
            })
            .collect();
        Ok(Mlp {
            layers,
            act,
            output,
            fused: true,
        })
    }

    /// An MLP from existing dense layers.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when there is no layer or a layer's inputs differ from the
    /// previous layer's outputs.
    #[track_caller]
    pub fn from_layers(layers: Vec<Dense<T>>, act: Activation, output: Activation) -> Result<Self> {
        if layers.is_empty() {
            return Err(Error::invalid(
                "Mlp::from_layers",
                "needs at least one layer",
            ));
        }
        for (k, pair) in layers.windows(2).enumerate() {
            if pair[0].outputs() != pair[1].inputs() {
                return Err(Error::invalid(
                    "Mlp::from_layers",
                    format!(
                        "layer {k} has {} outputs but layer {} has {} inputs",
                        pair[0].outputs(),
                        k + 1,
                        pair[1].inputs()
                    ),
                ));
            }
        }
        Ok(Mlp {
            layers,
            act,
            output,
            fused: true,
        })
    }

    /// The layer sizes (`[inputs, hidden..., outputs]`).
    pub fn sizes(&self) -> Vec<usize> {
        std::iter::once(self.layers[0].inputs())
            .chain(self.layers.iter().map(Dense::outputs))
            .collect()
    }

    /// The dense layers.
    pub fn layers(&self) -> &[Dense<T>] {
        &self.layers
    }

    /// The hidden activation.
    pub fn act(&self) -> Activation {
        self.act
    }

    /// The output activation.
    pub fn output(&self) -> Activation {
        self.output
    }

    /// Whether layers and activations are fused into one node each (the default).
    pub fn is_fused(&self) -> bool {
        self.fused
    }

    /// Fuses (the default) or records each layer and activation as separate nodes. Both give
    /// the same values and gradients; fused is faster.
    pub fn set_fused(&mut self, fused: bool) {
        self.fused = fused;
    }

    #[track_caller]
    fn layer_forward<'t>(&self, k: usize, x: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        let layer = &self.layers[k];
        let last = k + 1 == self.layers.len();
        let act = if last { self.output } else { self.act };
        let y = if self.fused {
            // fused into the layer's node where it can be (x·w + b and the activation as
            // one node), else recorded after it
            layer.forward_with(x, act)
        } else {
            layer.forward(x).and_then(|z| z.activate(act))
        };
        y.map_err(|e| in_child(e, &(2 * k).to_string(), || layer.describe()))
    }
}

impl<T: Element> Module<T> for Mlp<T> {
    /// # Errors
    /// [`Error::Shape`] when the input's last axis is not the first layer size, naming the
    /// layer (`(in module `0`: Dense(in=2, out=4, bias))`) and the caller's line.
    fn forward<'t>(&self, x: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        let mut x = x;
        for k in 0..self.layers.len() {
            x = self.layer_forward(k, x)?;
        }
        Ok(x)
    }

    /// Each layer (scope `2k`) and its activation (scope `2k + 1`), as in the printout.
    fn export_onnx(&self, g: &mut OnnxGraph, input: &str) -> Result<String> {
        let mut x = input.to_string();
        let n = self.layers.len();
        for (k, layer) in self.layers.iter().enumerate() {
            x = match layer.export_onnx(&mut g.child(2 * k), &x) {
                Ok(y) => y,
                Err(e) => return Err(in_child(e, &(2 * k).to_string(), || layer.describe())),
            };
            let act = if k + 1 == n { self.output } else { self.act };
            x = match Module::<T>::export_onnx(&act, &mut g.child(2 * k + 1), &x) {
                Ok(y) => y,
                Err(e) => return Err(in_child(e, &(2 * k + 1).to_string(), || act.to_string())),
            };
        }
        Ok(x)
    }

    /// Layer `k` is child `2k` (its activation is child `2k + 1`), as in a torch
    /// `Sequential` of the same stack.
    fn visit<'a>(&'a self, path: &mut ParamPath, f: &mut dyn FnMut(&ParamPath, &'a Param<T>)) {
        for (k, layer) in self.layers.iter().enumerate() {
            path.child(2 * k, |p| layer.visit(p, f));
        }
    }

    fn visit_mut<'a>(
        &'a mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, &'a mut Param<T>),
    ) {
        for (k, layer) in self.layers.iter_mut().enumerate() {
            path.child(2 * k, |p| layer.visit_mut(p, f));
        }
    }

    fn describe(&self) -> String {
        let n = self.layers.len();
        let mut children = Vec::new();
        for (k, layer) in self.layers.iter().enumerate() {
            children.push(((2 * k).to_string(), layer.describe()));
            let act = if k + 1 < n {
                Some(self.act.to_string())
            } else {
                // an identity output is no layer (torch's Sequential would have none there)
                (self.output != Activation::Identity).then(|| self.output.to_string())
            };
            if let Some(a) = act {
                children.push(((2 * k + 1).to_string(), a));
            }
        }
        describe_children("Mlp", children)
    }

    fn visit_torch(
        &self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, &Array<T>, TorchLayout),
    ) {
        for (k, layer) in self.layers.iter().enumerate() {
            path.child(2 * k, |p| layer.visit_torch(p, f));
        }
    }
}

display_with_count!(
    /// One line per layer and activation (as torch prints a `Sequential`), then the total
    /// parameter count.
    Mlp
);

#[cfg(test)]
mod tests {
    use super::*;
    use tapegrad_core::rng;

    #[test]
    fn display_names_and_sizes() -> Result<()> {
        let m = Mlp::<f32>::new(
            &[2, 4, 1],
            Activation::Tanh,
            Activation::Sigmoid,
            &mut rng(0),
        )?;
        assert_eq!(
            m.to_string(),
            "Mlp(\n  (0): Dense(in=2, out=4, bias)\n  (1): Tanh\n  (2): Dense(in=4, out=1, bias)\n  (3): Sigmoid\n)\ntotal parameters: 17"
        );
        assert_eq!(m.sizes(), [2, 4, 1]);
        let m = Mlp::<f32>::new(
            &[784, 64, 32, 10],
            Activation::Relu,
            Activation::Identity,
            &mut rng(0),
        )?;
        let names: Vec<String> = m.named_params().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
        );
        assert_eq!(m.param_count(), 784 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10);
        assert!(!m.to_string().contains("(5)")); // no output activation listed
        assert!(
            Mlp::<f32>::new(&[3], Activation::Relu, Activation::Identity, &mut rng(0)).is_err()
        );
        Ok(())
    }

    #[test]
    fn from_layers_checks_sizes() {
        let mut r = rng(1);
        let a = Dense::<f64>::new(3, 4, Init::HeNormal, &mut r);
        let b = Dense::<f64>::new(5, 1, Init::HeNormal, &mut r);
        let err = Mlp::from_layers(vec![a, b], Activation::Relu, Activation::Identity).unwrap_err();
        assert!(err
            .to_string()
            .contains("layer 0 has 4 outputs but layer 1 has 5 inputs"));
        assert!(Mlp::<f64>::from_layers(vec![], Activation::Relu, Activation::Identity).is_err());
    }
}
