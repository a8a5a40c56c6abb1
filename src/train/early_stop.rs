//! Early stopping: its settings ([`EarlyStopping`], [`Monitor`]) and the tracker that watches
//! the monitored quantity, keeps the best weights and saves its state in a checkpoint.

use super::EpochStats;
use crate::nn::{Checkpoint, Module, ParamPath};
use crate::{Array, Element, Error, Result};
use std::collections::BTreeMap;

/// The checkpoint entries of the early-stopping state: its counters, and the best weights
/// (`best.<parameter name>`).
const TRACKER: &str = "fit.early_stopping";
const BEST: &str = "best.";

/// Stops training when the monitored quantity (the validation loss, or the training loss when
/// there is no validation set) has not improved by more than `min_delta` for `patience` epochs
/// in a row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlyStopping {
    /// How many epochs without improvement are tolerated before stopping (at least 1).
    pub patience: usize,
    /// The smallest decrease of the monitored loss (or increase of the monitored accuracy)
    /// that counts as an improvement.
    pub min_delta: f64,
    /// Put back the weights of the best epoch when training ends (whether it stopped early
    /// or ran all its epochs), with the model's buffers of that epoch (BatchNorm's running
    /// statistics).
    pub restore_best: bool,
    /// What is watched.
    pub monitor: Monitor,
}

impl EarlyStopping {
    /// Patience `patience`, `min_delta` 0, restoring the best weights, watching the
    /// validation loss.
    pub fn new(patience: usize) -> Self {
        EarlyStopping {
            patience,
            min_delta: 0.0,
            restore_best: true,
            monitor: Monitor::ValLoss,
        }
    }
}

/// The quantity that [`EarlyStopping`] watches (and [`History::best_epoch`](super::History::best_epoch) reports on).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Monitor {
    /// The validation loss (lower is better); the training loss when there is no validation set.
    #[default]
    ValLoss,
    /// The validation accuracy (higher is better); the training accuracy without a validation
    /// set. Needs an [`Accuracy`](super::Accuracy) other than none.
    ValAccuracy,
}

/// Watches the monitored quantity, remembers the best epoch (and its weights when asked).
pub(super) struct Tracker<T: Element> {
    es: Option<EarlyStopping>,
    monitor: Monitor,
    best: Option<f64>,
    pub(super) best_epoch: Option<usize>,
    wait: usize,
    weights: Option<Vec<Array<T>>>,
    /// the buffers (BatchNorm's running statistics) at the best epoch, kept with `weights`
    buffers: Vec<Array<T>>,
    best_is_last: bool,
}

impl<T: Element> Tracker<T> {
    pub(super) fn new(es: Option<EarlyStopping>) -> Self {
        Tracker {
            es,
            monitor: es.map(|e| e.monitor).unwrap_or_default(),
            best: None,
            best_epoch: None,
            wait: 0,
            weights: None,
            buffers: Vec::new(),
            best_is_last: true,
        }
    }

    /// Records an epoch; returns whether to stop.
    pub(super) fn update(&mut self, s: &EpochStats, model: &dyn Module<T>) -> bool {
        // Score: lower is better (accuracy negated).
        let score = match self.monitor {
            Monitor::ValLoss => Some(s.val_loss.unwrap_or(s.train_loss)),
            Monitor::ValAccuracy => s.val_accuracy.or(s.train_accuracy).map(|a| -a),
        };
        let Some(score) = score.filter(|v| v.is_finite()) else {
            return false;
        };
        let min_delta = self.es.map_or(0.0, |e| e.min_delta);
        let improved = self.best.is_none_or(|b| score < b - min_delta);
        if improved {
            self.best = Some(score);
            self.best_epoch = Some(s.epoch);
            self.wait = 0;
            self.best_is_last = true;
            if self.es.is_some_and(|e| e.restore_best) {
                let mut w = self.weights.take().unwrap_or_default();
                w.clear();
                model.visit(&mut ParamPath::new(), &mut |_, p| w.push(p.value().clone()));
                self.weights = Some(w);
                let b = &mut self.buffers;
                b.clear();
                model.visit_buffers(&mut ParamPath::new(), &mut |_, a| b.push(a.clone()));
            }
        } else {
            self.wait += 1;
            self.best_is_last = false;
        }
        self.es.is_some_and(|e| self.wait >= e.patience)
    }

    /// Whether early stopping has already decided to stop (a resumed run).
    pub(super) fn should_stop(&self) -> bool {
        self.es.is_some_and(|e| self.wait >= e.patience)
    }

    /// Puts the state into a checkpoint: the counters as a value, the best weights as arrays
    /// (`best.<parameter name>`).
    pub(super) fn save(&self, ckpt: &mut Checkpoint<T>, model: &dyn Module<T>) {
        let opt = |v: Option<String>| v.unwrap_or_else(|| "none".into());
        ckpt.extra.insert(
            TRACKER.to_string(),
            format!(
                "best={} best_epoch={} wait={} best_is_last={}",
                opt(self.best.map(|b| b.to_string())),
                opt(self.best_epoch.map(|b| b.to_string())),
                self.wait,
                self.best_is_last
            ),
        );
        if let Some(w) = &self.weights {
            let mut it = w.iter();
            model.visit(&mut ParamPath::new(), &mut |name, _| {
                if let Some(a) = it.next() {
                    ckpt.extra_tensors
                        .insert(format!("{BEST}{name}"), a.clone());
                }
            });
            let mut it = self.buffers.iter();
            model.visit_buffers(&mut ParamPath::new(), &mut |name, _| {
                if let Some(a) = it.next() {
                    ckpt.extra_tensors
                        .insert(format!("{BEST}{name}"), a.clone());
                }
            });
        }
    }

    /// Takes the state from a checkpoint written by [`Tracker::save`].
    pub(super) fn load(
        &mut self,
        ckpt: &Checkpoint<T>,
        model: &dyn Module<T>,
    ) -> std::result::Result<(), String> {
        let text = ckpt
            .extra
            .get(TRACKER)
            .ok_or_else(|| format!("`{TRACKER}` is missing"))?;
        let mut fields = BTreeMap::new();
        for kv in text.split(' ') {
            let (k, v) = kv.split_once('=').ok_or_else(|| format!("`{text}`"))?;
            fields.insert(k, v);
        }
        let get = |k: &str| {
            fields
                .get(k)
                .copied()
                .ok_or_else(|| format!("`{text}` lacks {k}"))
        };
        let bad = |k: &str| format!("`{text}`: a bad {k}");
        self.best = match get("best")? {
            "none" => None,
            v => Some(v.parse::<f64>().map_err(|_| bad("best"))?),
        };
        self.best_epoch = match get("best_epoch")? {
            "none" => None,
            v => Some(v.parse::<usize>().map_err(|_| bad("best_epoch"))?),
        };
        self.wait = get("wait")?.parse().map_err(|_| bad("wait"))?;
        self.best_is_last = get("best_is_last")?
            .parse()
            .map_err(|_| bad("best_is_last"))?;
        let mut w = Vec::new();
        let mut missing = None;
        model.visit(&mut ParamPath::new(), &mut |name, p| match ckpt
            .extra_tensors
            .get(&format!("{BEST}{name}"))
        {
            Some(a) if a.shape() == p.value().shape() => w.push(a.clone()),
            _ => missing = missing.take().or(Some(name.to_string())),
        });
        let mut buffers = Vec::new();
        model.visit_buffers(&mut ParamPath::new(), &mut |name, b| match ckpt
            .extra_tensors
            .get(&format!("{BEST}{name}"))
        {
            Some(a) if a.shape() == b.shape() => buffers.push(a.clone()),
            _ => missing = missing.take().or(Some(name.to_string())),
        });
        self.buffers = buffers;
        self.weights = match missing {
            None if !w.is_empty() => Some(w),
            None => None,
            Some(name) if w.is_empty() => {
                let _ = name;
                None
            }
            Some(name) => {
                return Err(format!(
                    "the best value of `{name}` is missing or misshapen"
                ))
            }
        };
        Ok(())
    }

    /// Puts the best weights back if they were kept and are not the current ones.
    pub(super) fn restore(&mut self, model: &mut dyn Module<T>) -> Result<bool> {
        let Some(w) = self.weights.take() else {
            return Ok(false);
        };
        if self.best_is_last {
            return Ok(false);
        }
        let mut it = w.into_iter();
        let mut err = None;
        model.visit_mut(&mut ParamPath::new(), &mut |name, p| {
            if err.is_some() {
                return;
            }
            match it.next() {
                Some(v) => {
                    if let Err(e) = p.set(v) {
                        err = Some(e);
                    }
                }
                None => {
                    err = Some(Error::invalid(
                        "fit",
                        format!("parameter `{name}` appeared during training"),
                    ))
                }
            }
        });
        // the buffers kept with the best weights (BatchNorm's running statistics)
        let mut it = std::mem::take(&mut self.buffers).into_iter();
        model.visit_buffers_mut(&mut ParamPath::new(), &mut |_, b| {
            if let Some(v) = it.next().filter(|v| v.shape() == b.shape()) {
                *b = v;
            }
        });
        match err {
            Some(e) => Err(e),
            None => Ok(true),
        }
    }
}
