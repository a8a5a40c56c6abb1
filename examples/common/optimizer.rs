//! [`OptKind`]: an `--optimizer` flag (clap `ValueEnum`) and the optimizer it names;
//! [`ScheduleKind`]: a `--schedule` flag and the learning-rate schedule it names;
//! [`Scheduled`]: an optimizer that follows a schedule step by step (inside `fit`).

use clap::ValueEnum;
use std::fmt;
use tapegrad::nn::optim::{Adam, AdamW, Optimizer, OptimizerState, RmsProp, Sgd};
use tapegrad::nn::schedule::{Constant, Cosine, LrSchedule};
use tapegrad::nn::Module;
use tapegrad::{Gradients, Result};

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
    /// The schedule from `lr` over `steps` optimizer steps.
    ///
    /// # Errors
    /// [`tapegrad::Error::InvalidArgument`] for a rate that is not positive and finite, or no
    /// steps.
    #[track_caller]
    pub fn build(self, lr: f64, steps: usize) -> Result<Box<dyn LrSchedule>> {
        Ok(match self {
            ScheduleKind::Constant => Box::new(Constant(lr)),
            // the last step (steps - 1) lands on lr / 100
            ScheduleKind::Cosine => Box::new(Cosine::new(lr, lr / 100.0, (steps - 1).max(1))?),
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

/// An optimizer whose learning rate follows `schedule`: before its `n`-th step (from 0) it
/// sets the rate to `schedule.lr_at(n)`, so a schedule runs inside
/// [`fit`](tapegrad::train::fit), which only calls [`Optimizer::step`]. The step count is
/// not checkpointed (a resumed run would restart the schedule).
pub struct Scheduled {
    inner: Box<dyn Optimizer<f32>>,
    schedule: Box<dyn LrSchedule>,
    steps: usize,
}

impl Scheduled {
    /// `inner` following `schedule`, its rate set to the schedule's first.
    pub fn new(mut inner: Box<dyn Optimizer<f32>>, schedule: Box<dyn LrSchedule>) -> Self {
        inner.set_lr(schedule.lr_at(0));
        Scheduled {
            inner,
            schedule,
            steps: 0,
        }
    }

    /// The optimizer steps taken.
    pub fn steps(&self) -> usize {
        self.steps
    }
}

impl Optimizer<f32> for Scheduled {
    #[track_caller]
    fn step(&mut self, model: &mut dyn Module<f32>, grads: &Gradients<f32>) -> Result<()> {
        self.inner.set_lr(self.schedule.lr_at(self.steps));
        self.steps += 1;
        self.inner.step(model, grads)
    }
    fn lr(&self) -> f64 {
        self.inner.lr()
    }
    fn set_lr(&mut self, lr: f64) {
        self.inner.set_lr(lr);
    }
    fn checks_finite(&self) -> bool {
        self.inner.checks_finite()
    }
    #[track_caller]
    fn export_state(&self, model: &dyn Module<f32>) -> Result<OptimizerState<f32>> {
        self.inner.export_state(model)
    }
    #[track_caller]
    fn import_state(&mut self, model: &dyn Module<f32>, state: &OptimizerState<f32>) -> Result<()> {
        self.inner.import_state(model, state)
    }
}
