//! [`OptKind`]: an `--optimizer` flag (clap `ValueEnum`) and the optimizer it names.

use clap::ValueEnum;
use std::fmt;
use tapegrad::nn::optim::{Adam, AdamW, Optimizer, RmsProp, Sgd};

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
