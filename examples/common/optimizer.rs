//! [`OptKind`]: an `--optimizer` flag (clap `ValueEnum`) and the optimizer it names;
//! [`ScheduleKind`]: a `--schedule` flag and the learning-rate schedule it names;

use clap::ValueEnum;
use std::fmt;
use tapegrad::nn::optim::{Adam, AdamW, Optimizer, RmsProp, Sgd};
use tapegrad::nn::schedule::Cosine;
use tapegrad::train::{Every, FitConfig};
use tapegrad::Result;

/// The optimizers an example offers on its command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OptKind {
    /// Adam (PyTorch's defaults: betas 0.9, 0.999, eps 1e-8)
    Adam,
    /// AdamW (decoupled weight decay 0.01)
    Adamw,
    /// SGD with momentum 0.9
    Sgd,
    /// RMSProp (alpha 0.99)
    Rmsprop,
}

impl OptKind {
    /// The optimizer with learning rate `lr`.
    pub fn build(self, lr: f64) -> Box<dyn Optimizer<f32>> {
        match self {
            OptKind::Adam => Box::new(Adam::new(lr)),
            OptKind::Adamw => Box::new(AdamW::new(lr)),
            OptKind::Sgd => Box::new(Sgd::new(lr).momentum(0.9)),
            OptKind::Rmsprop => Box::new(RmsProp::new(lr)),
        }
    }
}

impl fmt::Display for OptKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OptKind::Adam => "Adam",
            OptKind::Adamw => "AdamW",
            OptKind::Sgd => "SGD (momentum 0.9)",
            OptKind::Rmsprop => "RMSProp",
        })
    }
}

/// The learning-rate schedules an example offers on its command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScheduleKind {
    /// The same rate at every step
    Constant,
    /// Cosine annealing from the rate down to a hundredth of it over the whole run
    Cosine,
}

impl ScheduleKind {
    /// `config` with this schedule from `lr` over `steps` optimizer steps, set by
    /// [`fit`](tapegrad::train::fit) before every step ([`Every::Step`]); the constant
    /// schedule leaves `config` as it is (the optimizer keeps its rate).
    ///
    /// # Errors
    /// [`tapegrad::Error::InvalidArgument`] for a rate that is not positive and finite.
    #[track_caller]
    pub fn apply(self, config: FitConfig, lr: f64, steps: usize) -> Result<FitConfig> {
        Ok(match self {
            // the optimizer's own rate, set once
            ScheduleKind::Constant => config,
            // the last step (steps - 1) lands on lr / 100
            ScheduleKind::Cosine => config.schedule(
                Cosine::new(lr, lr / 100.0, (steps - 1).max(1))?,
                Every::Step,
            ),
        })
    }
}

impl fmt::Display for ScheduleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ScheduleKind::Constant => "constant",
            ScheduleKind::Cosine => "cosine to 1/100",
        })
    }
}
