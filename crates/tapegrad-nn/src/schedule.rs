//! Learning-rate schedules: the learning rate as a function of the step (or epoch) count.
//! Set it on an optimizer before each step: `opt.set_lr(schedule.lr_at(step))`.
//!
//! A schedule is a pure function of the step, so a run resumed from a
//! [`Checkpoint`](crate::Checkpoint) continues it with
//! [`Progress::global_step`](crate::Progress::global_step). The constructors refuse a base rate
//! that is not positive and finite; a rate a schedule reaches later that is 0 (a cosine with
//! `min = 0` at its end, or beyond) is refused by the optimizer's next `step`, naming the value.
//!
//! ```
//! use tapegrad_nn::schedule::{Cosine, LrSchedule, StepDecay, WarmUp};
//! # fn main() -> tapegrad_core::Result<()> {
//! let s = StepDecay::new(0.1, 10, 0.5)?; // halve every 10 steps
//! assert_eq!((s.lr_at(0), s.lr_at(9), s.lr_at(10), s.lr_at(25)), (0.1, 0.1, 0.05, 0.025));
//! let w = WarmUp::new(4, Cosine::new(1.0, 0.0, 100)?)?; // 4 steps up, then cosine down
//! assert_eq!((w.lr_at(0), w.lr_at(1), w.lr_at(3), w.lr_at(4)), (0.25, 0.5, 1.0, 1.0));
//! assert_eq!(w.lr_at(104), 0.0);
//! # Ok(()) }
//! ```

use tapegrad_core::{Error, Result};

/// A learning rate for every step (or epoch) number, counted from 0.
pub trait LrSchedule {
    /// The learning rate at `step`.
    fn lr_at(&self, step: usize) -> f64;
}

#[track_caller]
fn check(op: &'static str, what: &str, v: f64, ok: bool) -> Result<()> {
    if ok && v.is_finite() {
        Ok(())
    } else {
        Err(Error::invalid(op, format!("{what} is out of range: {v}")))
    }
}

/// The same learning rate at every step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Constant(pub f64);

impl LrSchedule for Constant {
    fn lr_at(&self, _step: usize) -> f64 {
        self.0
    }
}

/// `base · gamma^⌊step / step_size⌋` (as `torch.optim.lr_scheduler.StepLR`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepDecay {
    base: f64,
    step_size: usize,
    gamma: f64,
}

impl StepDecay {
    /// Multiplies `base` by `gamma` every `step_size` steps.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a `step_size` of 0, a `base` or `gamma` that is not
    /// positive and finite.
    #[track_caller]
    pub fn new(base: f64, step_size: usize, gamma: f64) -> Result<Self> {
        check("StepDecay::new", "base", base, base > 0.0)?;
        check("StepDecay::new", "gamma", gamma, gamma > 0.0)?;
        if step_size == 0 {
            return Err(Error::invalid(
                "StepDecay::new",
                "step_size must be at least 1",
            ));
        }
        Ok(StepDecay {
            base,
            step_size,
            gamma,
        })
    }
}

impl LrSchedule for StepDecay {
    fn lr_at(&self, step: usize) -> f64 {
        self.base * self.gamma.powf((step / self.step_size) as f64)
    }
}

/// `base · gamma^step` (as `torch.optim.lr_scheduler.ExponentialLR`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Exponential {
    base: f64,
    gamma: f64,
}

impl Exponential {
    /// Multiplies `base` by `gamma` every step.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a `base` or `gamma` that is not positive and finite.
    #[track_caller]
    pub fn new(base: f64, gamma: f64) -> Result<Self> {
        check("Exponential::new", "base", base, base > 0.0)?;
        check("Exponential::new", "gamma", gamma, gamma > 0.0)?;
        Ok(Exponential { base, gamma })
    }
}

impl LrSchedule for Exponential {
    fn lr_at(&self, step: usize) -> f64 {
        self.base * self.gamma.powf(step as f64)
    }
}

/// Cosine annealing from `base` down to `min` over `total` steps, then `min` (as
/// `torch.optim.lr_scheduler.CosineAnnealingLR` without restarts):
/// `min + (base - min) · (1 + cos(π · step / total)) / 2`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Cosine {
    base: f64,
    min: f64,
    total: usize,
}

impl Cosine {
    /// Anneals from `base` to `min` over `total` steps. With `min = 0` (torch's default) the
    /// rate is 0 from step `total` on, which an optimizer refuses: run steps `0..total`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a `total` of 0, a `base` that is not positive and finite,
    /// or a `min` that is negative, not finite, or above `base`.
    #[track_caller]
    pub fn new(base: f64, min: f64, total: usize) -> Result<Self> {
        check("Cosine::new", "base", base, base > 0.0)?;
        check("Cosine::new", "min", min, min <= base)?;
        check("Cosine::new", "min", min, min >= 0.0)?;
        if total == 0 {
            return Err(Error::invalid("Cosine::new", "total must be at least 1"));
        }
        Ok(Cosine { base, min, total })
    }
}

impl LrSchedule for Cosine {
    fn lr_at(&self, step: usize) -> f64 {
        let t = step.min(self.total) as f64 / self.total as f64;
        self.min + (self.base - self.min) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
    }
}

/// Linear warm-up in front of another schedule: for `step < warmup` the learning rate is
/// `inner.lr_at(0) · (step + 1) / warmup` (so the last warm-up step reaches the full rate and
/// the first is not wasted at 0); afterwards `inner.lr_at(step - warmup)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WarmUp<S> {
    warmup: usize,
    inner: S,
}

impl<S: LrSchedule> WarmUp<S> {
    /// `warmup` steps of linear warm-up, then `inner` (started from its step 0).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a `warmup` of 0.
    #[track_caller]
    pub fn new(warmup: usize, inner: S) -> Result<Self> {
        if warmup == 0 {
            return Err(Error::invalid(
                "WarmUp::new",
                "warmup must be at least 1 step",
            ));
        }
        Ok(WarmUp { warmup, inner })
    }
}

impl<S: LrSchedule> LrSchedule for WarmUp<S> {
    fn lr_at(&self, step: usize) -> f64 {
        if step < self.warmup {
            self.inner.lr_at(0) * (step + 1) as f64 / self.warmup as f64
        } else {
            self.inner.lr_at(step - self.warmup)
        }
    }
}

impl LrSchedule for Box<dyn LrSchedule + '_> {
    fn lr_at(&self, step: usize) -> f64 {
        (**self).lr_at(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() -> Result<()> {
        let e = Exponential::new(1.0, 0.5)?;
        assert_eq!((e.lr_at(0), e.lr_at(3)), (1.0, 0.125));
        let c = Cosine::new(0.1, 0.01, 10)?;
        assert!((c.lr_at(0) - 0.1).abs() < 1e-15);
        assert!((c.lr_at(5) - 0.055).abs() < 1e-15); // halfway: the midpoint
        assert!((c.lr_at(10) - 0.01).abs() < 1e-15);
        assert!((c.lr_at(50) - 0.01).abs() < 1e-15);
        assert_eq!(Constant(0.3).lr_at(1000), 0.3);
        let boxed: Box<dyn LrSchedule> = Box::new(WarmUp::new(2, Constant(1.0))?);
        assert_eq!(
            (boxed.lr_at(0), boxed.lr_at(1), boxed.lr_at(7)),
            (0.5, 1.0, 1.0)
        );
        Ok(())
    }

    #[test]
    fn bad_settings() {
        assert!(StepDecay::new(0.1, 0, 0.5).is_err());
        assert!(StepDecay::new(-0.1, 1, 0.5).is_err());
        assert!(Exponential::new(0.1, f64::NAN).is_err());
        assert!(Cosine::new(0.1, 0.0, 0).is_err());
        assert!(WarmUp::new(0, Constant(0.1)).is_err());
        // rates that an optimizer would refuse are refused at construction
        assert!(StepDecay::new(0.0, 1, 0.5).is_err());
        assert!(StepDecay::new(0.1, 1, 0.0).is_err());
        assert!(Exponential::new(0.0, 0.5).is_err());
        assert!(Exponential::new(f64::INFINITY, 0.5).is_err());
        assert!(Cosine::new(0.0, 0.0, 10).is_err());
        assert!(Cosine::new(0.1, 0.2, 10).is_err());
    }
}
