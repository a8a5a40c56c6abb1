//! [`Activation`] as a module: the one activation type of tapegrad (defined in tapegrad-core,
//! where the fused `linear` op takes it) records its function on the tape in `forward`, has no
//! parameters, and prints PyTorch's module name, so `Box::new(Activation::Relu)` is a layer of
//! a [`Sequential`](crate::Sequential) as `nn.ReLU()` is one of torch's. [`Mlp`](crate::Mlp)
//! and [`Autoencoder`](crate::Autoencoder) take it for their hidden and output activations.

use crate::module::Module;
use crate::onnx::OnnxGraph;
use tapegrad_core::{Activation, Element, Result, Tensor};

impl<T: Element> Module<T> for Activation {
    /// Applies the activation ([`Tensor::activate`]): one op, none for `Identity`.
    ///
    /// # Errors
    /// [`Error::AxisOutOfRange`](tapegrad_core::Error::AxisOutOfRange) for a softmax axis the
    /// input does not have.
    fn forward<'t>(&self, x: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        x.activate(*self)
    }
    fn export_onnx(&self, g: &mut OnnxGraph, input: &str) -> Result<String> {
        crate::onnx::activation(*self, g, input)
    }
    crate::module::no_params!(T);
    fn describe(&self) -> String {
        self.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tapegrad_core::{Array, Tape};

    #[test]
    fn values_and_names() -> Result<()> {
        let tape = Tape::<f64>::new();
        let x = tape.constant(Array::from_vec(vec![-2.0, 0.0, 3.0], [1, 3])?);
        let relu = Activation::Relu.forward(x)?.to_array();
        assert_eq!(relu.data(), &[0.0, 0.0, 3.0]);
        let leaky = Activation::LeakyRelu(0.1).forward(x)?.to_array();
        assert_eq!(leaky.data(), &[-0.2, 0.0, 3.0]);
        let id = Module::<f64>::forward(&Activation::Identity, x)?;
        assert_eq!(id.id(), x.id()); // records nothing
        let sm = Activation::Softmax(-1).forward(x)?.to_array();
        assert!((sm.data().iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let s = Activation::Sigmoid.forward(x)?.to_array();
        assert!((s.data()[1] - 0.5).abs() < 1e-15);
        let t = Activation::Tanh.forward(x)?.to_array();
        assert!((t.data()[2] - 3f64.tanh()).abs() < 1e-15);
        assert_eq!(Module::<f32>::describe(&Activation::Relu), "ReLU");
        assert_eq!(
            Module::<f32>::describe(&Activation::LeakyRelu(0.2)),
            "LeakyReLU(negative_slope=0.2)"
        );
        assert_eq!(
            Module::<f32>::describe(&Activation::Softmax(-1)),
            "Softmax(dim=-1)"
        );
        assert_eq!(Module::<f32>::param_count(&Activation::Tanh), 0);
        // the second wave: each the core op of its name, with PyTorch's module name
        let cases = [
            (Activation::Gelu, x.gelu(), "GELU"),
            (
                Activation::GeluTanh,
                x.gelu_tanh(),
                "GELU(approximate='tanh')",
            ),
            (Activation::Silu, x.silu(), "SiLU"),
            (Activation::Elu(0.5), x.elu(0.5), "ELU(alpha=0.5)"),
            (
                Activation::Softplus {
                    beta: 2.0,
                    threshold: 10.0,
                },
                x.softplus_with(2.0, 10.0),
                "Softplus(beta=2, threshold=10)",
            ),
        ];
        for (act, want, name) in cases {
            assert_eq!(act.forward(x)?.to_array(), want.to_array(), "{act}");
            assert_eq!(Module::<f64>::describe(&act), name);
        }
        Ok(())
    }

    #[test]
    fn a_softmax_axis_the_input_lacks_is_an_error() -> Result<()> {
        let tape = Tape::<f64>::new();
        let x = tape.constant(Array::zeros([2, 3]));
        let e = Activation::Softmax(2).forward(x).unwrap_err();
        assert!(e.to_string().contains("softmax"), "{e}");
        Ok(())
    }
}
