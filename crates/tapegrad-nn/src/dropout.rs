//! `Dropout`: inverted dropout in training mode, the identity in evaluation mode; seeded.

use crate::module::Module;
use crate::onnx::OnnxGraph;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::cell::RefCell;
use tapegrad_core::{Array, Element, Error, Result, Tensor};

/// Inverted dropout (as `torch.nn.Dropout(p)`): in training mode each element is zeroed with
/// probability `p` and the survivors are scaled by `1 / (1 - p)`, so the expected output equals
/// the input; in evaluation mode it returns the input unchanged. `p = 1` zeroes everything.
///
/// The mask is a constant on the tape multiplied with the input, so the gradient (the same
/// mask) comes from the tape's `mul` rule. Masks come from a generator seeded at construction:
/// the same seed and the same sequence of calls give the same masks. A new module starts in
/// training mode, as in torch.
///
/// ```
/// use tapegrad_core::{Array, Tape};
/// use tapegrad_nn::{Dropout, Module};
/// # fn main() -> tapegrad_core::Result<()> {
/// let mut drop = Dropout::new(0.5, 42)?;
/// let tape = Tape::<f32>::new();
/// let x = tape.constant(Array::ones([1000]));
/// let y = drop.forward(x)?.to_array();
/// assert!(y.data().iter().all(|&v| v == 0.0 || v == 2.0)); // survivors scaled by 1/(1-p)
/// drop.set_training(false); // evaluation mode
/// assert_eq!(drop.forward(x)?.id(), x.id()); // the identity, nothing recorded
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Dropout {
    p: f64,
    seed: u64,
    training: bool,
    rng: RefCell<StdRng>,
}

impl Dropout {
    /// Dropout with probability `p` of zeroing each element, masks seeded by `seed`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless `0 <= p <= 1`.
    #[track_caller]
    pub fn new(p: f64, seed: u64) -> Result<Self> {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::invalid(
                "Dropout::new",
                format!("p must be in [0, 1], got {p}"),
            ));
        }
        Ok(Dropout {
            p,
            seed,
            training: true,
            rng: RefCell::new(StdRng::seed_from_u64(seed)),
        })
    }

    /// The drop probability.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// Training mode (`true`: drop) or evaluation mode (`false`: the identity).
    pub fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    /// Whether the module is in training mode.
    pub fn is_training(&self) -> bool {
        self.training
    }

    /// Restarts the mask sequence from the construction seed.
    pub fn reset_rng(&mut self) {
        *self.rng.get_mut() = StdRng::seed_from_u64(self.seed);
    }
}

impl Clone for Dropout {
    /// A copy whose generator continues from the same state.
    fn clone(&self) -> Self {
        Dropout {
            p: self.p,
            seed: self.seed,
            training: self.training,
            rng: RefCell::new(self.rng.borrow().clone()),
        }
    }
}

impl<T: Element> Module<T> for Dropout {
    fn forward<'t>(&self, x: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        if !self.training || self.p == 0.0 {
            return Ok(x);
        }
        let shape = x.shape();
        let keep = 1.0 - self.p;
        let scale = if keep > 0.0 {
            T::of(1.0 / keep)
        } else {
            T::zero()
        };
        let mut rng = self.rng.borrow_mut();
        let mask = Array::from_fn(shape, |_| {
            if rng.random::<f64>() < keep {
                scale
            } else {
                T::zero()
            }
        });
        x.mul(x.tape().constant(mask))
    }

    /// Nothing: the exported graph is the evaluation, where dropout is the identity.
    fn export_onnx(&self, g: &mut OnnxGraph, input: &str) -> Result<String> {
        g.dims(input)?;
        Ok(input.to_string())
    }

    crate::module::no_params!(T);

    fn set_training(&mut self, training: bool) {
        self.training = training;
    }

    /// Restarts the masks from `(seed, stream)`: what `fit` calls before every step, so that a
    /// resumed run draws the masks of an uninterrupted one.
    fn reseed(&mut self, stream: u64) {
        *self.rng.get_mut() = StdRng::seed_from_u64(crate::mix_seed(self.seed, stream));
    }

    fn describe(&self) -> String {
        format!("Dropout(p={})", self.p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tapegrad_core::Tape;

    #[test]
    fn rate_scale_and_seed() -> Result<()> {
        let d = Dropout::new(0.3, 5)?;
        let tape = Tape::<f64>::new();
        let x = tape.constant(Array::ones([20_000]));
        let y = Module::<f64>::forward(&d, x)?.to_array();
        let zeros = y.data().iter().filter(|&&v| v == 0.0).count() as f64 / 20_000.0;
        assert!((zeros - 0.3).abs() < 0.02, "dropped fraction {zeros}");
        let mean = y.data().iter().sum::<f64>() / 20_000.0;
        assert!((mean - 1.0).abs() < 0.03, "mean {mean}"); // inverted: expectation kept
                                                           // the same seed gives the same mask; the next call a new one
        let d2 = Dropout::new(0.3, 5)?;
        assert_eq!(Module::<f64>::forward(&d2, x)?.to_array(), y);
        assert_ne!(Module::<f64>::forward(&d2, x)?.to_array(), y);
        Ok(())
    }

    #[test]
    fn extremes_and_bad_p() -> Result<()> {
        let tape = Tape::<f32>::new();
        let x = tape.constant(Array::ones([10]));
        let all = Dropout::new(1.0, 0)?;
        assert_eq!(
            Module::<f32>::forward(&all, x)?.to_array().data(),
            &[0.0; 10]
        );
        let none = Dropout::new(0.0, 0)?;
        assert_eq!(Module::<f32>::forward(&none, x)?.id(), x.id());
        assert!(Dropout::new(1.5, 0).is_err());
        assert!(Dropout::new(f64::NAN, 0).is_err());
        assert_eq!(Module::<f32>::describe(&all), "Dropout(p=1)");
        Ok(())
    }
}
