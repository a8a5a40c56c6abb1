//! `Autoencoder`: an encoder and a decoder (two [`Mlp`]s); `forward = decode(encode(x))`.

use crate::mlp::Mlp;
use crate::module::{describe_children, display_with_count, in_child, Module};
use crate::onnx::OnnxGraph;
use crate::path::ParamPath;
use crate::torch::TorchLayout;
use rand::Rng;
use std::fmt;
use tapegrad_core::{Activation, Array, Element, Error, Param, Result, Tensor};

/// An autoencoder: `encoder` maps an input to a latent code, `decoder` maps the code back.
/// Parameters are named `encoder.*` and `decoder.*` (`encoder.0.weight`, ...).
///
/// [`Autoencoder::new`] builds the symmetric shape: the encoder has sizes
/// `[input, hidden..., latent]`, the decoder the mirror `[latent, hidden reversed..., input]`,
/// so depth and latent size are set by `hidden` and `latent`. The latent code is linear (no
/// activation after the encoder's last layer, as in torch's usual examples); the decoder
/// ends with `output` (e.g. sigmoid for pixels in [0, 1]). [`Autoencoder::from_parts`] takes
/// any encoder and decoder that fit together.
///
/// ```
/// use tapegrad_core::{rng, Array, Tape};
/// use tapegrad_nn::{Activation, Autoencoder, Module};
/// # fn main() -> tapegrad_core::Result<()> {
/// let ae = Autoencoder::<f32>::new(784, &[128, 64], 16, Activation::Relu, Activation::Sigmoid, &mut rng(0))?;
/// assert_eq!(ae.encoder().sizes(), [784, 128, 64, 16]);
/// assert_eq!(ae.decoder().sizes(), [16, 64, 128, 784]);
/// let tape = Tape::new();
/// let x = tape.constant(Array::zeros([4, 784]));
/// let code = ae.encode(x)?;
/// assert_eq!(code.shape().dims(), &[4, 16]);
/// assert_eq!(ae.forward(x)?.shape().dims(), &[4, 784]);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Autoencoder<T: Element> {
    encoder: Mlp<T>,
    decoder: Mlp<T>,
}

impl<T: Element> Autoencoder<T> {
    /// The symmetric autoencoder described on the type: encoder
    /// `[input, hidden..., latent]` with `act` between layers and a linear code, decoder the
    /// mirror with `act` between layers and `output` at the end.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `input` or `latent` is 0.
    #[track_caller]
    pub fn new<R: Rng + ?Sized>(
        input: usize,
        hidden: &[usize],
        latent: usize,
        act: Activation,
        output: Activation,
        rng: &mut R,
    ) -> Result<Self> {
        if input == 0 || latent == 0 {
            return Err(Error::invalid(
                "Autoencoder::new",
                format!("input and latent sizes must be positive, got {input} and {latent}"),
            ));
        }
        let enc: Vec<usize> = std::iter::once(input)
            .chain(hidden.iter().copied())
            .chain(std::iter::once(latent))
            .collect();
        let dec: Vec<usize> = enc.iter().rev().copied().collect();
        Ok(Autoencoder {
            encoder: Mlp::new(&enc, act, Activation::Identity, rng)?,
            decoder: Mlp::new(&dec, act, output, rng)?,
        })
    }

    /// An autoencoder from an encoder and a decoder of any depths.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the decoder's inputs differ from the encoder's outputs,
    /// or the decoder's outputs from the encoder's inputs.
    #[track_caller]
    pub fn from_parts(encoder: Mlp<T>, decoder: Mlp<T>) -> Result<Self> {
        let (e, d) = (encoder.sizes(), decoder.sizes());
        let (e0, el) = (e[0], e[e.len() - 1]);
        let (d0, dl) = (d[0], d[d.len() - 1]);
        if el != d0 || dl != e0 {
            return Err(Error::invalid(
                "Autoencoder::from_parts",
                format!("encoder {e:?} and decoder {d:?} do not fit: the decoder must map {el} back to {e0}"),
            ));
        }
        Ok(Autoencoder { encoder, decoder })
    }

    /// The encoder.
    pub fn encoder(&self) -> &Mlp<T> {
        &self.encoder
    }

    /// The decoder.
    pub fn decoder(&self) -> &Mlp<T> {
        &self.decoder
    }

    /// The encoder, mutably: to train it or run it alone where a `&mut dyn Module` is needed
    /// (switching it to evaluation mode, say, to compute the codes in batches).
    pub fn encoder_mut(&mut self) -> &mut Mlp<T> {
        &mut self.encoder
    }

    /// The decoder, mutably: to train it or run it alone where a `&mut dyn Module` is needed
    /// (to decode chosen codes in batches, say).
    pub fn decoder_mut(&mut self) -> &mut Mlp<T> {
        &mut self.decoder
    }

    /// The latent size.
    pub fn latent(&self) -> usize {
        self.decoder.sizes()[0]
    }

    /// The latent code of `x`.
    ///
    /// # Errors
    /// [`Error::Shape`](tapegrad_core::Error::Shape) when `x` does not fit the encoder (naming
    /// the layer, `encoder.0`, and the caller's line).
    #[track_caller]
    pub fn encode<'t>(&self, x: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        match self.encoder.forward(x) {
            Ok(z) => Ok(z),
            Err(e) => Err(in_child(e, "encoder", || self.encoder.describe())),
        }
    }

    /// The reconstruction from a latent code.
    ///
    /// # Errors
    /// [`Error::Shape`](tapegrad_core::Error::Shape) when `z` does not fit the decoder (naming
    /// the layer, `decoder.0`, and the caller's line).
    #[track_caller]
    pub fn decode<'t>(&self, z: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        match self.decoder.forward(z) {
            Ok(y) => Ok(y),
            Err(e) => Err(in_child(e, "decoder", || self.decoder.describe())),
        }
    }
}

impl<T: Element> Module<T> for Autoencoder<T> {
    /// `decode(encode(x))`.
    ///
    /// # Errors
    /// As [`Autoencoder::encode`].
    fn forward<'t>(&self, x: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        let z = self.encode(x)?;
        self.decode(z)
    }

    /// The encoder (scope `encoder`), then the decoder (scope `decoder`).
    fn export_onnx(&self, g: &mut OnnxGraph, input: &str) -> Result<String> {
        let z = match self.encoder.export_onnx(&mut g.child("encoder"), input) {
            Ok(z) => z,
            Err(e) => return Err(in_child(e, "encoder", || self.encoder.describe())),
        };
        match self.decoder.export_onnx(&mut g.child("decoder"), &z) {
            Ok(y) => Ok(y),
            Err(e) => Err(in_child(e, "decoder", || self.decoder.describe())),
        }
    }

    fn visit<'a>(&'a self, path: &mut ParamPath, f: &mut dyn FnMut(&ParamPath, &'a Param<T>)) {
        path.child("encoder", |p| self.encoder.visit(p, f));
        path.child("decoder", |p| self.decoder.visit(p, f));
    }

    fn visit_mut<'a>(
        &'a mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, &'a mut Param<T>),
    ) {
        let Autoencoder { encoder, decoder } = self;
        path.child("encoder", |p| encoder.visit_mut(p, f));
        path.child("decoder", |p| decoder.visit_mut(p, f));
    }

    fn describe(&self) -> String {
        describe_children(
            "Autoencoder",
            [
                ("encoder".to_string(), self.encoder.describe()),
                ("decoder".to_string(), self.decoder.describe()),
            ],
        )
    }

    fn visit_torch(
        &self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, &Array<T>, TorchLayout),
    ) {
        path.child("encoder", |p| self.encoder.visit_torch(p, f));
        path.child("decoder", |p| self.decoder.visit_torch(p, f));
    }
}

display_with_count!(
    /// The encoder's and decoder's layers, nested as torch prints them, then the total
    /// parameter count.
    Autoencoder
);

#[cfg(test)]
mod tests {
    use super::*;
    use tapegrad_core::rng;

    #[test]
    fn names_and_display() -> Result<()> {
        let ae = Autoencoder::<f32>::new(
            6,
            &[4],
            2,
            Activation::Tanh,
            Activation::Sigmoid,
            &mut rng(1),
        )?;
        let names: Vec<String> = ae.named_params().into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "encoder.0.weight",
                "encoder.0.bias",
                "encoder.2.weight",
                "encoder.2.bias",
                "decoder.0.weight",
                "decoder.0.bias",
                "decoder.2.weight",
                "decoder.2.bias"
            ]
        );
        assert_eq!(ae.latent(), 2);
        let s = ae.to_string();
        let head = "Autoencoder(\n  (encoder): Mlp(\n    (0): Dense(in=6, out=4, bias)\n    (1): Tanh\n    (2): Dense(in=4, out=2, bias)\n  )\n  (decoder): Mlp(\n";
        let tail = "    (3): Sigmoid\n  )\n)\ntotal parameters: 80";
        assert!(s.starts_with(head), "{s}");
        assert!(s.ends_with(tail), "{s}");
        Ok(())
    }

    #[test]
    fn mutable_parts_are_the_autoencoders() -> Result<()> {
        let mut ae = Autoencoder::<f64>::new(
            3,
            &[],
            2,
            Activation::Relu,
            Activation::Identity,
            &mut rng(3),
        )?;
        for (_, p) in ae.encoder_mut().named_params_mut() {
            p.value_mut().data_mut().fill(0.0);
        }
        for (_, p) in ae.decoder_mut().named_params_mut() {
            p.value_mut().data_mut().fill(1.0);
        }
        for (name, p) in ae.named_params() {
            let want = if name.starts_with("encoder.") {
                0.0
            } else {
                1.0
            };
            assert!(p.value().data().iter().all(|&v| v == want), "{name}");
        }
        Ok(())
    }

    #[test]
    fn parts_must_fit() -> Result<()> {
        let mut r = rng(2);
        let enc = Mlp::<f64>::new(&[5, 3], Activation::Relu, Activation::Identity, &mut r)?;
        let dec = Mlp::<f64>::new(&[3, 4], Activation::Relu, Activation::Identity, &mut r)?;
        let err = Autoencoder::from_parts(enc.clone(), dec).unwrap_err();
        assert!(err.to_string().contains("must map 3 back to 5"), "{err}");
        let dec = Mlp::<f64>::new(&[3, 8, 8, 5], Activation::Relu, Activation::Sigmoid, &mut r)?;
        let ae = Autoencoder::from_parts(enc, dec)?; // asymmetric depth is fine
        assert_eq!(ae.latent(), 3);
        assert!(
            Autoencoder::<f64>::new(0, &[], 2, Activation::Relu, Activation::Identity, &mut r)
                .is_err()
        );
        Ok(())
    }
}
