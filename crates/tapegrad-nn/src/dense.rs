//! `Dense` (a fully connected, "linear" layer): `y = x · weight + bias`, with
//! `weight: [in, out]` and `bias: [out]`, recorded as the core's fused `linear` op.

use crate::init::Init;
use crate::module::{visit_weight_bias, visit_weight_bias_mut, Module};
use crate::onnx::OnnxGraph;
use crate::path::ParamPath;
use crate::torch::TorchLayout;
use rand::Rng;
use tapegrad_core::{Activation, Array, Element, Error, Param, Result, Shape, Tensor};

/// A fully connected layer: `y = x · weight + bias` (as `torch.nn.Linear`, but the weight is
/// stored `[in, out]`, so no transpose is needed; torch's `Linear.weight` is `[out, in]`).
///
/// # Shapes
/// The input's last axis must be `in`; any leading axes are batch axes (`[in]`, `[N, in]`,
/// `[B, S, in]`, ...), as in torch. A 2-D input is one fused `linear` node; other ranks are
/// reshaped to `[rows, in]` and back around it (reshape is a tape op with its own backward).
///
/// ```
/// use tapegrad_core::{rng, Array, Tape};
/// use tapegrad_nn::{Dense, Init, Module};
/// # fn main() -> tapegrad_core::Result<()> {
/// let layer = Dense::<f64>::new(3, 2, Init::XavierUniform, &mut rng(0));
/// assert_eq!(layer.to_string(), "Dense(in=3, out=2, bias)");
/// let tape = Tape::new();
/// let x = tape.constant(Array::ones([5, 3]));
/// let y = layer.forward(x)?;
/// assert_eq!(y.shape().dims(), &[5, 2]);
/// let err = layer.forward(tape.constant(Array::ones([5, 4]))).unwrap_err();
/// assert!(err.to_string().starts_with("dense: [5, 4] and [3, 2]:"), "{err}");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Dense<T: Element> {
    weight: Param<T>,
    bias: Option<Param<T>>,
}

impl<T: Element> Dense<T> {
    /// A layer with a weight drawn by `init` and a zero bias (zeros, as Keras does; torch
    /// draws its bias uniformly).
    pub fn new<R: Rng + ?Sized>(inputs: usize, outputs: usize, init: Init, rng: &mut R) -> Self {
        Dense {
            weight: Param::new(init.array(&[inputs, outputs], rng)),
            bias: Some(Param::new(Array::zeros([outputs]))),
        }
    }

    /// A layer whose weight init suits the activation that follows it (the sensible default):
    /// He normal for ReLU and leaky ReLU, Xavier uniform otherwise ([`Init::for_activation`]).
    pub fn for_activation<R: Rng + ?Sized>(
        inputs: usize,
        outputs: usize,
        act: Activation,
        rng: &mut R,
    ) -> Self {
        Self::new(inputs, outputs, Init::for_activation(act), rng)
    }

    /// A layer without a bias (`y = x · weight`).
    pub fn new_without_bias<R: Rng + ?Sized>(
        inputs: usize,
        outputs: usize,
        init: Init,
        rng: &mut R,
    ) -> Self {
        Dense {
            weight: Param::new(init.array(&[inputs, outputs], rng)),
            bias: None,
        }
    }

    /// A layer with the given weight `[in, out]` and optional bias `[out]`.
    ///
    /// # Errors
    /// [`Error::Shape`] when the weight is not 2-D or the bias is not `[out]`.
    #[track_caller]
    pub fn from_arrays(weight: Array<T>, bias: Option<Array<T>>) -> Result<Self> {
        if weight.rank() != 2 {
            return Err(Error::invalid(
                "Dense::from_arrays",
                format!("the weight must be 2-D [in, out], got {}", weight.shape()),
            ));
        }
        if let Some(b) = &bias {
            if b.dims() != [weight.dims()[1]] {
                return Err(Error::shape(
                    "Dense::from_arrays",
                    weight.shape(),
                    b.shape(),
                    format!("the bias must be [{}]", weight.dims()[1]),
                ));
            }
        }
        Ok(Dense {
            weight: Param::new(weight),
            bias: bias.map(Param::new),
        })
    }

    /// The number of inputs.
    pub fn inputs(&self) -> usize {
        self.weight.value().dims()[0]
    }

    /// The number of outputs.
    pub fn outputs(&self) -> usize {
        self.weight.value().dims()[1]
    }

    /// The weight `[in, out]`.
    pub fn weight(&self) -> &Param<T> {
        &self.weight
    }

    /// The bias `[out]`, if the layer has one.
    pub fn bias(&self) -> Option<&Param<T>> {
        self.bias.as_ref()
    }

    /// `act(x · weight + bias)` as one fused node (the core's `linear` op, whose backward rule
    /// is on the tape): what [`Mlp`](crate::Mlp) uses to fuse a layer with its activation.
    ///
    /// # Errors
    /// [`Error::Shape`] when `x` is rank 0 or its last axis is not `in`.
    #[track_caller]
    pub fn forward_with<'t>(&self, x: Tensor<'t, T>, act: Activation) -> Result<Tensor<'t, T>> {
        if !act.fuses_into_linear() {
            // applied to the output in its own shape (a softmax axis counts in it)
            return self.forward_with(x, Activation::Identity)?.activate(act);
        }
        let xs = x.shape();
        let (i, o) = (self.inputs(), self.outputs());
        if xs.rank() == 0 || xs.dim(xs.rank() - 1) != i {
            return Err(Error::shape(
                "dense",
                &xs,
                self.weight.value().shape(),
                format!("the input's last axis must be in={i}"),
            ));
        }
        let tape = x.tape();
        let w = tape.param(&self.weight);
        let b = self.bias.as_ref().map(|b| tape.param(b));
        if xs.rank() == 2 {
            return x.linear(w, b, act);
        }
        let rows = xs.numel() / i.max(1);
        let mut out: Vec<usize> = xs.dims().to_vec();
        *out.last_mut().expect("internal: rank >= 1") = o;
        let y = x.reshape([rows, i])?.linear(w, b, act)?;
        y.reshape(Shape::new(&out))
    }
}

impl<T: Element> Module<T> for Dense<T> {
    /// `x · weight + bias`. See the type's `# Shapes`.
    ///
    /// # Errors
    /// [`Error::Shape`] when the input's last axis is not `in` (naming both shapes).
    fn forward<'t>(&self, x: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        self.forward_with(x, Activation::Identity)
    }

    /// `Gemm` (input, weight `[in, out]`, bias) for a 2-D input; `MatMul` then `Add` for
    /// other ranks.
    fn export_onnx(&self, g: &mut OnnxGraph, input: &str) -> Result<String> {
        let dims = g.dims(input)?.to_vec();
        let i = self.inputs();
        if dims.last() != Some(&Some(i)) {
            return Err(g.input_error(
                &self.describe(),
                input,
                format!("the last axis must be in={i}"),
            ));
        }
        let mut out = dims.clone();
        *out.last_mut().expect("internal: rank >= 1") = Some(self.outputs());
        let w = g.initializer("weight", self.weight.value());
        let b = self.bias.as_ref().map(|b| g.initializer("bias", b.value()));
        if dims.len() == 2 {
            let mut inputs = vec![input, &w];
            inputs.extend(b.as_deref());
            return g.node("Gemm", &inputs, vec![], out);
        }
        let y = g.node("MatMul", &[input, &w], vec![], out.clone())?;
        match b {
            Some(b) => g.node("Add", &[&y, &b], vec![], out),
            None => Ok(y),
        }
    }

    fn visit<'a>(&'a self, path: &mut ParamPath, f: &mut dyn FnMut(&ParamPath, &'a Param<T>)) {
        visit_weight_bias(path, f, Some(&self.weight), self.bias.as_ref());
    }

    fn visit_mut<'a>(
        &'a mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, &'a mut Param<T>),
    ) {
        visit_weight_bias_mut(path, f, Some(&mut self.weight), self.bias.as_mut());
    }

    fn describe(&self) -> String {
        format!(
            "Dense(in={}, out={}, {})",
            self.inputs(),
            self.outputs(),
            if self.bias.is_some() {
                "bias"
            } else {
                "no bias"
            }
        )
    }

    /// torch's `nn.Linear` holds the weight as `[out, in]`: [`TorchLayout::Transposed`].
    fn visit_torch(
        &self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, &Array<T>, TorchLayout),
    ) {
        path.child("weight", |p| {
            f(p, self.weight.value(), TorchLayout::Transposed)
        });
        if let Some(b) = &self.bias {
            path.child("bias", |p| f(p, b.value(), TorchLayout::Same));
        }
    }
}

impl<T: Element> std::fmt::Display for Dense<T> {
    /// `Dense(in=3, out=2, bias)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tapegrad_core::rng;
    use tapegrad_core::Tape;

    #[test]
    fn known_values_and_ranks() -> Result<()> {
        // w = [[1, 2], [3, 4], [5, 6]], b = [0.5, -0.5]
        let w = Array::from_vec(vec![1., 2., 3., 4., 5., 6.], [3, 2])?;
        let b = Array::from_vec(vec![0.5, -0.5], [2])?;
        let layer = Dense::<f64>::from_arrays(w, Some(b))?;
        let tape = Tape::new();
        // [1, 0, 1] · w + b = [1 + 5 + 0.5, 2 + 6 - 0.5]
        let x1 = tape.constant(Array::from_vec(vec![1., 0., 1.], [3])?);
        let y1 = layer.forward(x1)?;
        assert_eq!(y1.shape().dims(), &[2]);
        assert_eq!(y1.to_array().data(), &[6.5, 7.5]);
        let x3 = tape.constant(Array::from_vec(vec![1., 0., 1., 0., 1., 0.], [2, 1, 3])?);
        let y3 = layer.forward(x3)?;
        assert_eq!(y3.shape().dims(), &[2, 1, 2]);
        assert_eq!(y3.to_array().data(), &[6.5, 7.5, 3.5, 3.5]);
        let err = layer
            .forward(tape.constant(Array::scalar(1.0)))
            .unwrap_err();
        assert!(err.to_string().contains("last axis must be in=3"), "{err}");
        Ok(())
    }

    #[test]
    fn without_bias_and_names() {
        let layer = Dense::<f32>::new_without_bias(4, 3, Init::HeNormal, &mut rng(1));
        let names: Vec<String> = layer.named_params().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["weight"]);
        assert_eq!(layer.param_count(), 12);
        assert_eq!(layer.to_string(), "Dense(in=4, out=3, no bias)");
        let with = Dense::<f32>::new(4, 3, Init::HeNormal, &mut rng(1));
        assert_eq!(with.param_count(), 15);
        assert_eq!(with.weight().value(), layer.weight().value()); // same seed, same weight
        assert!(Dense::<f32>::from_arrays(Array::zeros([2, 3]), Some(Array::zeros([2]))).is_err());
        assert!(Dense::<f32>::from_arrays(Array::zeros([6]), None).is_err());
        let relu = Dense::<f32>::for_activation(4, 3, Activation::Relu, &mut rng(1));
        assert_eq!(relu.weight().value(), with.weight().value()); // He normal
        let tanh = Dense::<f32>::for_activation(4, 3, Activation::Tanh, &mut rng(1));
        let xavier = Init::XavierUniform.array::<f32, _>(&[4, 3], &mut rng(1));
        assert_eq!(tanh.weight().value(), &xavier);
    }
}
