//! [`Report`]: what a run measured and wrote, and how it is printed.

use super::common;
use super::TARGET;
use std::fmt;
use std::path::PathBuf;
use tapegrad::data::ConfusionMatrix;
use tapegrad::train::History;

/// What a run measured and wrote.
#[derive(Clone, Debug)]
pub struct Report {
    /// The images trained on (`MNIST`, `digits (8x8, bundled)`).
    pub dataset: String,
    /// Training, validation and test rows.
    pub rows: (usize, usize, usize),
    /// The network's parameter count.
    pub parameters: usize,
    /// Test accuracy after the last epoch (the test rows' only use).
    pub test_accuracy: f64,
    /// The first epoch whose validation accuracy reached [`TARGET`], if any.
    pub target_epoch: Option<usize>,
    /// The test confusion matrix (rows: true class, columns: predicted).
    pub confusion: ConfusionMatrix,
    /// The per-epoch history (validation: rows carved from the training set).
    pub history: History,
    /// Seconds spent in `fit` (training and the per-epoch validation pass).
    pub train_seconds: f64,
    /// Seconds for the whole run (loading, training, evaluating, figures).
    pub total_seconds: f64,
    /// The files written.
    pub files: Vec<PathBuf>,
}

impl Report {
    /// The mean seconds of an epoch (its training steps and its validation pass).
    pub fn seconds_per_epoch(&self) -> f64 {
        self.train_seconds / self.history.len().max(1) as f64
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (ntr, nva, nte) = self.rows;
        writeln!(
            f,
            "LeNet on {} ({ntr} training / {nva} validation / {nte} test images)",
            self.dataset
        )?;
        writeln!(f)?;
        common::write_epoch_table(f, &self.history, "val")?;
        writeln!(f)?;
        writeln!(
            f,
            "confusion matrix (rows: true class, columns: predicted):"
        )?;
        writeln!(f, "{}", self.confusion)?;
        let right = (self.test_accuracy * nte as f64).round() as usize;
        let target = match self.target_epoch {
            Some(e) => format!("on validation first at epoch {e}"),
            None => "not reached".into(),
        };
        let rows = [
            (
                "test accuracy",
                format!("{:.2}% ({right} of {nte})", 100.0 * self.test_accuracy),
            ),
            (
                "epochs",
                format!("{} ({:.1}% {target})", self.history.len(), 100.0 * TARGET),
            ),
            (
                "time per epoch",
                format!("{:.2} s", self.seconds_per_epoch()),
            ),
            ("parameters", self.parameters.to_string()),
            ("whole run", common::fmt_seconds(self.total_seconds)),
        ];
        writeln!(f, "result:")?;
        for (k, v) in rows {
            writeln!(f, "  {k:<16} {v}")?;
        }
        writeln!(f, "files:")?;
        common::write_files(f, "  ", &self.files)
    }
}
