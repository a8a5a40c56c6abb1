//! Weight initializers: Xavier/Glorot and He/Kaiming (normal and uniform), zeros, a constant.
//! Every random one draws from the generator it is given, so a seed fixes the weights.

use rand::Rng;
use tapegrad_core::{Activation, Array, Element, Shape};

/// How to fill a weight of shape `[fan_in, fan_out]` (a [`Dense`](crate::Dense) weight is
/// `[in, out]`).
///
/// The formulas are PyTorch's (`torch.nn.init`) with gain 1 for Xavier and `√2` for He:
///
/// | init | distribution |
/// |---|---|
/// | `XavierNormal` | `N(0, σ²)`, `σ = √(2 / (fan_in + fan_out))` |
/// | `XavierUniform` | `U(-a, a)`, `a = √(6 / (fan_in + fan_out))` |
/// | `HeNormal` | `N(0, σ²)`, `σ = √(2 / fan_in)` |
/// | `HeUniform` | `U(-a, a)`, `a = √(6 / fan_in)` |
///
/// [`Init::for_activation`] names the defaults that [`Mlp`](crate::Mlp) and
/// [`Dense::for_activation`](crate::Dense::for_activation) pick: He for ReLU stacks (it keeps the activations' variance through
/// layers that zero half their inputs), Xavier otherwise (tanh, sigmoid, linear).
///
/// ```
/// use tapegrad_core::rng;
/// use tapegrad_nn::Init;
/// let w = Init::XavierUniform.array::<f64, _>(&[100, 50], &mut rng(1));
/// let a = (6.0f64 / 150.0).sqrt();
/// assert!(w.data().iter().all(|v| v.abs() <= a));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// Glorot & Bengio (2010), normal.
    XavierNormal,
    /// Glorot & Bengio (2010), uniform.
    XavierUniform,
    /// He et al. (2015), normal, fan-in mode.
    HeNormal,
    /// He et al. (2015), uniform, fan-in mode.
    HeUniform,
    /// All zeros.
    Zeros,
    /// Every element the same value.
    Constant(f64),
}

impl Init {
    /// The initializer that suits a layer followed by `act`: [`Init::HeNormal`] for ReLU and
    /// leaky ReLU, [`Init::XavierUniform`] otherwise (tanh, sigmoid, softmax, identity).
    ///
    /// ```
    /// use tapegrad_nn::{Activation, Init};
    /// assert_eq!(Init::for_activation(Activation::Relu), Init::HeNormal);
    /// assert_eq!(Init::for_activation(Activation::Tanh), Init::XavierUniform);
    /// ```
    pub fn for_activation(act: Activation) -> Self {
        match act {
            Activation::Relu | Activation::LeakyRelu(_) => Init::HeNormal,
            _ => Init::XavierUniform,
        }
    }

    /// An array of `shape` filled by this initializer. The fans are the first and last
    /// dimension (`[fan_in, fan_out]`); a rank-1 shape has `fan_in = fan_out = len`, and a
    /// fan of 0 counts as 1 (an empty layer gets a finite scale).
    pub fn array<T: Element, R: Rng + ?Sized>(&self, shape: &[usize], rng: &mut R) -> Array<T> {
        let shape = Shape::new(shape);
        let (fan_in, fan_out) = match shape.dims() {
            [] => (1, 1),
            [n] => (*n, *n),
            [a, .., b] => (*a, *b),
        };
        let (fi, fo) = (fan_in.max(1) as f64, fan_out.max(1) as f64);
        match *self {
            Init::XavierNormal => Array::randn(shape, 0.0, (2.0 / (fi + fo)).sqrt(), rng),
            Init::XavierUniform => {
                let a = (6.0 / (fi + fo)).sqrt();
                Array::rand_uniform(shape, -a, a, rng)
            }
            Init::HeNormal => Array::randn(shape, 0.0, (2.0 / fi).sqrt(), rng),
            Init::HeUniform => {
                let a = (6.0 / fi).sqrt();
                Array::rand_uniform(shape, -a, a, rng)
            }
            Init::Zeros => Array::zeros(shape),
            Init::Constant(c) => Array::full(shape, T::of(c)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tapegrad_core::rng;

    fn std_of(a: &Array<f64>) -> f64 {
        let n = a.numel() as f64;
        let mean = a.data().iter().sum::<f64>() / n;
        (a.data().iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt()
    }

    #[test]
    fn scales_match_the_formulas() {
        let (fi, fo) = (300.0f64, 200.0f64);
        let shape = [300, 200];
        let cases = [
            (Init::XavierNormal, (2.0 / (fi + fo)).sqrt()),
            // U(-a, a) has std a/√3
            (Init::XavierUniform, (6.0 / (fi + fo)).sqrt() / 3f64.sqrt()),
            (Init::HeNormal, (2.0 / fi).sqrt()),
            (Init::HeUniform, (6.0 / fi).sqrt() / 3f64.sqrt()),
        ];
        for (init, want) in cases {
            let w = init.array::<f64, _>(&shape, &mut rng(3));
            let got = std_of(&w);
            assert!(
                (got / want - 1.0).abs() < 0.02,
                "{init:?}: std {got} vs {want}"
            );
        }
    }

    #[test]
    fn seeded_and_constant() {
        let a = Init::HeUniform.array::<f32, _>(&[4, 5], &mut rng(9));
        let b = Init::HeUniform.array::<f32, _>(&[4, 5], &mut rng(9));
        let c = Init::HeUniform.array::<f32, _>(&[4, 5], &mut rng(10));
        assert_eq!(a, b);
        assert_ne!(a, c);
        let z = Init::Zeros.array::<f32, _>(&[3], &mut rng(0));
        assert_eq!(z.data(), &[0.0; 3]);
        let k = Init::Constant(0.25).array::<f64, _>(&[2, 2], &mut rng(0));
        assert_eq!(k.data(), &[0.25; 4]);
        // an empty layer still gets a finite scale
        let e = Init::HeNormal.array::<f64, _>(&[0, 3], &mut rng(0));
        assert_eq!(e.numel(), 0);
    }
}
