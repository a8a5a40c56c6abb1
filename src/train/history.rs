//! [`EpochStats`] and [`History`]: what training measured, and the history as CSV.

use crate::nn::write_file_atomic;
use crate::Result;
use std::path::Path;

/// What one epoch measured.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochStats {
    /// The epoch, counted from 1.
    pub epoch: usize,
    /// The mean training loss over the epoch's steps (weighted by batch size), measured while
    /// the weights changed (as Keras reports it).
    pub train_loss: f64,
    /// The training accuracy over the epoch's batches, measured as the loss is.
    pub train_accuracy: Option<f64>,
    /// The validation loss after the epoch.
    pub val_loss: Option<f64>,
    /// The validation accuracy after the epoch.
    pub val_accuracy: Option<f64>,
    /// The learning rate of the epoch's first step (as the [schedule](super::FitConfig::schedule)
    /// and the callback set it; with a per-step schedule the later steps' differ).
    pub lr: f64,
    /// Wall-clock seconds of the epoch (training and validation).
    pub seconds: f64,
}

/// Every epoch's [`EpochStats`], and how training ended.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// One entry per epoch run, in order.
    pub epochs: Vec<EpochStats>,
    /// The epoch (from 1) with the best monitored quantity: the validation loss (or accuracy, as
    /// [`EarlyStopping::monitor`](super::EarlyStopping::monitor) says; the training figure without a validation set).
    pub best_epoch: Option<usize>,
    /// Whether early stopping ended training before the last epoch.
    pub stopped_early: bool,
    /// Whether the best epoch's weights were put back at the end.
    pub restored_best: bool,
}

impl History {
    /// The last epoch's stats.
    pub fn last(&self) -> Option<&EpochStats> {
        self.epochs.last()
    }

    /// The best epoch's stats (see [`History::best_epoch`]).
    pub fn best(&self) -> Option<&EpochStats> {
        self.best_epoch
            .and_then(|e| self.epochs.iter().find(|s| s.epoch == e))
    }

    /// The number of epochs run.
    pub fn len(&self) -> usize {
        self.epochs.len()
    }

    /// Whether no epoch ran.
    pub fn is_empty(&self) -> bool {
        self.epochs.is_empty()
    }

    /// The history as CSV: a header
    /// `epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds` and one line per
    /// epoch; a missing figure is an empty field.
    pub fn to_csv_string(&self) -> String {
        let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        let mut s =
            String::from("epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds\n");
        for e in &self.epochs {
            s += &format!(
                "{},{},{},{},{},{},{:.6}\n",
                e.epoch,
                e.train_loss,
                opt(e.train_accuracy),
                opt(e.val_loss),
                opt(e.val_accuracy),
                e.lr,
                e.seconds
            );
        }
        s
    }

    /// Writes [`History::to_csv_string`] to `path` atomically
    /// ([`write_file_atomic`]: a unique temporary file in the
    /// same folder, flushed and renamed over `path`), so a reader never sees half a file.
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) naming the file when it cannot be written.
    pub fn to_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        write_file_atomic(path.as_ref(), self.to_csv_string().as_bytes())
    }

    /// Parses [`History::to_csv_string`]'s output (the epochs only).
    pub(super) fn from_csv(s: &str) -> std::result::Result<Vec<EpochStats>, String> {
        let mut out = Vec::new();
        for (i, line) in s.lines().enumerate().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let bad = || format!("history line {}: `{line}`", i + 1);
            if f.len() != 7 {
                return Err(bad());
            }
            let num = |v: &str| v.parse::<f64>().map_err(|_| bad());
            let opt = |v: &str| {
                if v.is_empty() {
                    Ok(None)
                } else {
                    num(v).map(Some)
                }
            };
            out.push(EpochStats {
                epoch: f[0].parse().map_err(|_| bad())?,
                train_loss: num(f[1])?,
                train_accuracy: opt(f[2])?,
                val_loss: opt(f[3])?,
                val_accuracy: opt(f[4])?,
                lr: num(f[5])?,
                seconds: num(f[6])?,
            });
        }
        Ok(out)
    }
}
