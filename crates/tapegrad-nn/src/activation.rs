//! Activations as modules (`Relu`, `LeakyRelu`, `Sigmoid`, `Tanh`, `Softmax`, `Identity`), and
//! [`Act`], the choice of hidden activation that [`Mlp`](crate::Mlp) and
//! [`Autoencoder`](crate::Autoencoder) take. Each is one tape op; none has parameters.

use crate::module::Module;
use tapegrad_core::{Activation, Element, Result, Tensor};

macro_rules! activation_module {
    ($(#[$doc:meta])* $name:ident, $label:literal, |$x:ident| $body:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name;

        impl<T: Element> Module<T> for $name {
            fn forward<'t>(&self, $x: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
                Ok($body)
            }
            crate::module::no_params!(T);
            fn describe(&self) -> String {
                $label.to_string()
            }
        }
    };
}

activation_module!(
    /// `max(x, 0)` elementwise (as `torch.nn.ReLU`; the gradient at 0 is 0).
    Relu,
    "ReLU",
    |x| x.relu()
);
activation_module!(
    /// The logistic sigmoid `1 / (1 + e^-x)` (as `torch.nn.Sigmoid`).
    Sigmoid,
    "Sigmoid",
    |x| x.sigmoid()
);
activation_module!(
    /// The hyperbolic tangent (as `torch.nn.Tanh`).
    Tanh,
    "Tanh",
    |x| x.tanh()
);
activation_module!(
    /// The identity: returns its input unchanged, recording nothing (as `torch.nn.Identity`).
    Identity,
    "Identity",
    |x| x
);

/// `x` for `x > 0`, else `slope · x` (as `torch.nn.LeakyReLU(slope)`; torch's default slope is
/// 0.01, which [`LeakyRelu::default`] uses too).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakyRelu {
    /// The slope for negative inputs.
    pub slope: f64,
}

impl Default for LeakyRelu {
    fn default() -> Self {
        LeakyRelu { slope: 0.01 }
    }
}

impl<T: Element> Module<T> for LeakyRelu {
    fn forward<'t>(&self, x: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        Ok(x.leaky_relu(self.slope))
    }
    crate::module::no_params!(T);
    fn describe(&self) -> String {
        format!("LeakyReLU(negative_slope={})", self.slope)
    }
}

/// Softmax along an axis (as `torch.nn.Softmax(dim)`); [`Softmax::default`] uses the last axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Softmax {
    /// The axis; negative counts from the end.
    pub axis: isize,
}

impl Default for Softmax {
    fn default() -> Self {
        Softmax { axis: -1 }
    }
}

impl<T: Element> Module<T> for Softmax {
    /// # Errors
    /// [`Error::AxisOutOfRange`](tapegrad_core::Error::AxisOutOfRange).
    fn forward<'t>(&self, x: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        x.softmax(self.axis)
    }
    crate::module::no_params!(T);
    fn describe(&self) -> String {
        format!("Softmax(dim={})", self.axis)
    }
}

/// A hidden-layer activation for [`Mlp`](crate::Mlp) and [`Autoencoder`](crate::Autoencoder).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Act {
    /// `max(x, 0)`.
    Relu,
    /// Leaky ReLU with the given negative slope.
    LeakyRelu(f64),
    /// The logistic sigmoid.
    Sigmoid,
    /// The hyperbolic tangent.
    Tanh,
    /// No activation.
    Identity,
}

impl Act {
    /// Applies the activation (one tape op; none for `Identity`).
    pub fn apply<'t, T: Element>(&self, x: Tensor<'t, T>) -> Tensor<'t, T> {
        match *self {
            Act::Relu => x.relu(),
            Act::LeakyRelu(s) => x.leaky_relu(s),
            Act::Sigmoid => x.sigmoid(),
            Act::Tanh => x.tanh(),
            Act::Identity => x,
        }
    }

    /// The activation the core's fused `linear` op can apply itself, if any.
    pub fn fused(&self) -> Option<Activation> {
        match self {
            Act::Relu => Some(Activation::Relu),
            Act::Sigmoid => Some(Activation::Sigmoid),
            Act::Tanh => Some(Activation::Tanh),
            Act::Identity => Some(Activation::Identity),
            Act::LeakyRelu(_) => None,
        }
    }

    /// The activation as a module (for a [`Sequential`](crate::Sequential)).
    pub fn module<T: Element>(&self) -> Box<dyn Module<T>> {
        match *self {
            Act::Relu => Box::new(Relu),
            Act::LeakyRelu(slope) => Box::new(LeakyRelu { slope }),
            Act::Sigmoid => Box::new(Sigmoid),
            Act::Tanh => Box::new(Tanh),
            Act::Identity => Box::new(Identity),
        }
    }

    /// The module's description (`ReLU`, `Tanh`, ...).
    pub fn describe(&self) -> String {
        Module::<f32>::describe(&*self.module::<f32>())
    }

    /// The initializer that suits a layer followed by this activation: He for ReLU and leaky
    /// ReLU, Xavier otherwise (see [`Init`](crate::Init)).
    pub fn default_init(&self) -> crate::Init {
        match self {
            Act::Relu | Act::LeakyRelu(_) => crate::Init::default_for_relu(),
            _ => crate::Init::default_for_other(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tapegrad_core::Array;
    use tapegrad_core::Tape;

    #[test]
    fn values_and_names() -> Result<()> {
        let tape = Tape::<f64>::new();
        let x = tape.constant(Array::from_vec(vec![-2.0, 0.0, 3.0], [1, 3])?);
        let relu = Relu.forward(x)?.to_array();
        assert_eq!(relu.data(), &[0.0, 0.0, 3.0]);
        let leaky = LeakyRelu { slope: 0.1 }.forward(x)?.to_array();
        assert_eq!(leaky.data(), &[-0.2, 0.0, 3.0]);
        let id = Module::<f64>::forward(&Identity, x)?;
        assert_eq!(id.id(), x.id()); // records nothing
        let sm = Softmax::default().forward(x)?.to_array();
        assert!((sm.data().iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let s = Sigmoid.forward(x)?.to_array();
        assert!((s.data()[1] - 0.5).abs() < 1e-15);
        let t = Tanh.forward(x)?.to_array();
        assert!((t.data()[2] - 3f64.tanh()).abs() < 1e-15);
        assert_eq!(Module::<f32>::describe(&Relu), "ReLU");
        assert_eq!(
            Act::LeakyRelu(0.2).describe(),
            "LeakyReLU(negative_slope=0.2)"
        );
        assert_eq!(
            Module::<f32>::describe(&Softmax::default()),
            "Softmax(dim=-1)"
        );
        assert_eq!(Module::<f32>::param_count(&Tanh), 0);
        Ok(())
    }

    #[test]
    fn act_matches_its_module() -> Result<()> {
        let tape = Tape::<f64>::new();
        let x = tape.constant(Array::from_vec(vec![-1.5, -0.1, 0.2, 2.0], [2, 2])?);
        for act in [
            Act::Relu,
            Act::LeakyRelu(0.3),
            Act::Sigmoid,
            Act::Tanh,
            Act::Identity,
        ] {
            let a = act.apply(x).to_array();
            let m = act.module::<f64>().forward(x)?.to_array();
            assert_eq!(a, m, "{act:?}");
        }
        Ok(())
    }
}
