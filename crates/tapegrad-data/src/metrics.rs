//! Metrics: accuracy, confusion matrix, per-class precision/recall/F1 with macro and weighted
//! averages (printed like scikit-learn's `classification_report`), MSE and PSNR.
//!
//! ```
//! use tapegrad_data::{accuracy, ClassificationReport, ConfusionMatrix};
//! # fn main() -> tapegrad_core::Result<()> {
//! let truth = [0, 0, 1, 1, 2];
//! let pred = [0, 1, 1, 1, 2];
//! assert_eq!(accuracy(&pred, &truth)?, 0.8);
//! let cm = ConfusionMatrix::new(&pred, &truth, 3)?;
//! assert_eq!(cm.get(0, 1), 1); // one true 0 predicted as 1
//! let report = ClassificationReport::new(&pred, &truth, 3)?;
//! assert!((report.per_class[1].precision - 2.0 / 3.0).abs() < 1e-12);
//! println!("{cm}\n{report}");
//! # Ok(()) }
//! ```

use std::fmt;
use tapegrad_core::{Array, Element, Error, Result};

#[track_caller]
fn check_pair(op: &'static str, pred: &[usize], truth: &[usize]) -> Result<()> {
    if pred.len() != truth.len() {
        return Err(Error::invalid(
            op,
            format!("{} predictions but {} true labels", pred.len(), truth.len()),
        ));
    }
    if pred.is_empty() {
        return Err(Error::invalid(op, "no predictions"));
    }
    Ok(())
}

/// The fraction of predictions equal to the true labels.
///
/// # Errors
/// [`Error::InvalidArgument`] when the lengths differ or there are no predictions.
#[track_caller]
pub fn accuracy(pred: &[usize], truth: &[usize]) -> Result<f64> {
    check_pair("accuracy", pred, truth)?;
    let hits = pred.iter().zip(truth).filter(|(p, t)| p == t).count();
    Ok(hits as f64 / pred.len() as f64)
}

/// Counts of (true class, predicted class) pairs: rows are true classes, columns predicted
/// ones (as scikit-learn). `Display` prints it as a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfusionMatrix {
    classes: usize,
    counts: Vec<usize>,
    names: Vec<String>,
}

impl ConfusionMatrix {
    /// Counts predictions against true labels for `classes` classes.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the lengths differ, there are no predictions, or a
    /// label is not below `classes`.
    #[track_caller]
    pub fn new(pred: &[usize], truth: &[usize], classes: usize) -> Result<Self> {
        check_pair("ConfusionMatrix::new", pred, truth)?;
        let mut counts = vec![0; classes * classes];
        for (i, (&p, &t)) in pred.iter().zip(truth).enumerate() {
            if p >= classes || t >= classes {
                return Err(Error::invalid(
                    "ConfusionMatrix::new",
                    format!(
                        "item {i}: predicted {p}, true {t}: out of range for {classes} classes"
                    ),
                ));
            }
            counts[t * classes + p] += 1;
        }
        Ok(ConfusionMatrix {
            classes,
            counts,
            names: (0..classes).map(|c| c.to_string()).collect(),
        })
    }

    /// The same matrix with class names for printing (one per class).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the number of names is not the number of classes.
    #[track_caller]
    pub fn with_names<S: AsRef<str>>(mut self, names: &[S]) -> Result<Self> {
        if names.len() != self.classes {
            return Err(Error::invalid(
                "ConfusionMatrix::with_names",
                format!("{} names given for {} classes", names.len(), self.classes),
            ));
        }
        self.names = names.iter().map(|s| s.as_ref().to_string()).collect();
        Ok(self)
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// How many items of true class `truth` were predicted as `pred` (0 out of range).
    pub fn get(&self, truth: usize, pred: usize) -> usize {
        if truth < self.classes && pred < self.classes {
            self.counts[truth * self.classes + pred]
        } else {
            0
        }
    }

    /// All counts, row-major `[true class][predicted class]`.
    pub fn counts(&self) -> &[usize] {
        &self.counts
    }

    /// The class names used for printing.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The number of items counted.
    pub fn total(&self) -> usize {
        self.counts.iter().sum()
    }

    /// The fraction of items on the diagonal.
    pub fn accuracy(&self) -> f64 {
        let hits: usize = (0..self.classes).map(|c| self.get(c, c)).sum();
        hits as f64 / self.total().max(1) as f64
    }
}

/// The width of a table's name column: the longest of `names` and `header`, in characters.
fn name_width(names: &[String], header: &str) -> usize {
    names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0)
        .max(header.len())
}

impl fmt::Display for ConfusionMatrix {
    /// A table: a row per true class, a column per predicted class.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = "true\\pred";
        let name_w = name_width(&self.names, label);
        let cell_w = self
            .counts
            .iter()
            .map(|c| c.to_string().len())
            .chain(self.names.iter().map(|n| n.chars().count()))
            .max()
            .unwrap_or(1)
            .max(3);
        write!(f, "{label:>name_w$}")?;
        for n in &self.names {
            write!(f, " {n:>cell_w$}")?;
        }
        writeln!(f)?;
        for (t, n) in self.names.iter().enumerate() {
            write!(f, "{n:>name_w$}")?;
            for p in 0..self.classes {
                write!(f, " {:>cell_w$}", self.get(t, p))?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// Precision, recall, F1 and support of one class.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClassMetrics {
    /// Of the items predicted as this class, the fraction that are (0 when none predicted).
    pub precision: f64,
    /// Of the items of this class, the fraction predicted as it (0 when there are none).
    pub recall: f64,
    /// The harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
    /// The number of items of this class.
    pub support: usize,
}

/// Per-class precision, recall, F1 and support, with their macro (unweighted) and weighted
/// (by support) averages, and the accuracy. `Display` prints it like scikit-learn's
/// `classification_report`. A ratio whose denominator is 0 counts as 0 (scikit-learn's
/// default, which also warns).
#[derive(Clone, Debug, PartialEq)]
pub struct ClassificationReport {
    /// One entry per class.
    pub per_class: Vec<ClassMetrics>,
    /// The means of the per-class metrics (support: the total).
    pub macro_avg: ClassMetrics,
    /// The support-weighted means of the per-class metrics (support: the total).
    pub weighted_avg: ClassMetrics,
    /// The fraction of correct predictions.
    pub accuracy: f64,
    /// The class names, for printing.
    pub names: Vec<String>,
}

impl ClassificationReport {
    /// The report for predictions against true labels of `classes` classes.
    ///
    /// # Errors
    /// As [`ConfusionMatrix::new`].
    #[track_caller]
    pub fn new(pred: &[usize], truth: &[usize], classes: usize) -> Result<Self> {
        Ok(Self::from_confusion(&ConfusionMatrix::new(
            pred, truth, classes,
        )?))
    }

    /// The report from a confusion matrix (its class names come along).
    pub fn from_confusion(cm: &ConfusionMatrix) -> Self {
        let k = cm.classes();
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let per_class: Vec<ClassMetrics> = (0..k)
            .map(|c| {
                let tp = cm.get(c, c);
                let predicted: usize = (0..k).map(|t| cm.get(t, c)).sum();
                let support: usize = (0..k).map(|p| cm.get(c, p)).sum();
                let precision = ratio(tp, predicted);
                let recall = ratio(tp, support);
                let f1 = if precision + recall > 0.0 {
                    2.0 * precision * recall / (precision + recall)
                } else {
                    0.0
                };
                ClassMetrics {
                    precision,
                    recall,
                    f1,
                    support,
                }
            })
            .collect();
        let total = cm.total();
        let avg = |w: &dyn Fn(&ClassMetrics) -> f64| {
            let norm: f64 = per_class.iter().map(w).sum();
            let mean = |m: &dyn Fn(&ClassMetrics) -> f64| {
                if norm == 0.0 {
                    0.0
                } else {
                    per_class.iter().map(|c| w(c) * m(c)).sum::<f64>() / norm
                }
            };
            ClassMetrics {
                precision: mean(&|c| c.precision),
                recall: mean(&|c| c.recall),
                f1: mean(&|c| c.f1),
                support: total,
            }
        };
        let macro_avg = avg(&|_| 1.0);
        let weighted_avg = avg(&|c| c.support as f64);
        ClassificationReport {
            accuracy: cm.accuracy(),
            macro_avg,
            weighted_avg,
            per_class,
            names: cm.names().to_vec(),
        }
    }

    /// The same report with class names for printing (one per class).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the number of names is not the number of classes.
    #[track_caller]
    pub fn with_names<S: AsRef<str>>(mut self, names: &[S]) -> Result<Self> {
        if names.len() != self.per_class.len() {
            return Err(Error::invalid(
                "ClassificationReport::with_names",
                format!(
                    "{} names given for {} classes",
                    names.len(),
                    self.per_class.len()
                ),
            ));
        }
        self.names = names.iter().map(|s| s.as_ref().to_string()).collect();
        Ok(self)
    }
}

impl fmt::Display for ClassificationReport {
    /// scikit-learn's layout, with 2 decimals unless a precision is given (`{:.4}`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = f.precision().unwrap_or(2);
        let name_w = name_width(&self.names, "weighted avg");
        let w = (digits + 2).max(9);
        let total = self.macro_avg.support;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, m: &ClassMetrics| {
            writeln!(
                f,
                "{name:>name_w$}  {:>w$.digits$} {:>w$.digits$} {:>w$.digits$} {:>w$}",
                m.precision, m.recall, m.f1, m.support
            )
        };
        writeln!(
            f,
            "{:>name_w$}  {:>w$} {:>w$} {:>w$} {:>w$}",
            "", "precision", "recall", "f1-score", "support"
        )?;
        writeln!(f)?;
        for (name, m) in self.names.iter().zip(&self.per_class) {
            row(f, name, m)?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "{:>name_w$}  {:>w$} {:>w$} {:>w$.digits$} {:>w$}",
            "accuracy", "", "", self.accuracy, total
        )?;
        row(f, "macro avg", &self.macro_avg)?;
        row(f, "weighted avg", &self.weighted_avg)
    }
}

#[track_caller]
fn check_same_shape<T: Element>(op: &'static str, a: &Array<T>, b: &Array<T>) -> Result<()> {
    if a.shape() != b.shape() {
        return Err(Error::shape(op, a.shape(), b.shape(), "shapes must match"));
    }
    if a.numel() == 0 {
        return Err(Error::invalid(op, "no elements"));
    }
    Ok(())
}

/// The mean squared error over all elements (summed in `f64`), as PyTorch's `mse_loss`.
///
/// # Errors
/// [`Error::Shape`] when the shapes differ; [`Error::InvalidArgument`] when they are empty.
#[track_caller]
pub fn mse<T: Element>(pred: &Array<T>, target: &Array<T>) -> Result<f64> {
    check_same_shape("mse", pred, target)?;
    let sum: f64 = pred
        .data()
        .iter()
        .zip(target.data())
        .map(|(&p, &t)| (p.as_f64() - t.as_f64()).powi(2))
        .sum();
    Ok(sum / pred.numel() as f64)
}

/// Peak signal-to-noise ratio in dB: `10 · log10(max_value² / mse)`, e.g. `max_value = 1` for
/// images in `[0, 1]`. Identical arrays give `f64::INFINITY`.
///
/// ```
/// use tapegrad_core::Array;
/// # fn main() -> tapegrad_core::Result<()> {
/// let a = Array::<f32>::from_vec(vec![0.0, 1.0], [2])?;
/// let b = Array::<f32>::from_vec(vec![0.1, 0.9], [2])?; // mse 0.01
/// assert!((tapegrad_data::psnr(&a, &b, 1.0)? - 20.0).abs() < 1e-4);
/// # Ok(()) }
/// ```
///
/// # Errors
/// As [`mse`], and [`Error::InvalidArgument`] when `max_value` is not positive and finite.
#[track_caller]
pub fn psnr<T: Element>(pred: &Array<T>, target: &Array<T>, max_value: f64) -> Result<f64> {
    if !(max_value > 0.0 && max_value.is_finite()) {
        return Err(Error::invalid(
            "psnr",
            format!("max_value must be positive and finite, got {max_value}"),
        ));
    }
    let m = mse(pred, target)?;
    Ok(if m == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (max_value * max_value / m).log10()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_values_and_errors() {
        assert_eq!(accuracy(&[1, 2, 3, 4], &[1, 2, 0, 0]).unwrap(), 0.5);
        let e = accuracy(&[1], &[1, 2]).unwrap_err().to_string();
        assert!(e.contains("1 predictions but 2 true labels"), "{e}");
        assert!(accuracy(&[], &[]).is_err());
    }

    #[test]
    fn confusion_matrix_counts_and_display() {
        // truth: 0 0 0 1 1 2; pred: 0 1 0 1 1 0
        let cm = ConfusionMatrix::new(&[0, 1, 0, 1, 1, 0], &[0, 0, 0, 1, 1, 2], 3).unwrap();
        assert_eq!(cm.counts(), &[2, 1, 0, 0, 2, 0, 1, 0, 0]);
        assert_eq!((cm.get(2, 0), cm.get(5, 0), cm.total()), (1, 0, 6));
        assert!((cm.accuracy() - 4.0 / 6.0).abs() < 1e-12);
        let s = cm.with_names(&["cat", "dog", "emu"]).unwrap().to_string();
        let want = "true\\pred cat dog emu\n      cat   2   1   0\n      dog   0   2   0\n      \
                    emu   1   0   0\n";
        assert_eq!(s, want);
        let e = ConfusionMatrix::new(&[3], &[0], 3).unwrap_err().to_string();
        assert!(
            e.contains("item 0: predicted 3, true 0: out of range for 3 classes"),
            "{e}"
        );
    }

    #[test]
    fn report_values() {
        // truth: 0 0 0 1 1 2; pred: 0 1 0 1 1 0
        let r = ClassificationReport::new(&[0, 1, 0, 1, 1, 0], &[0, 0, 0, 1, 1, 2], 3).unwrap();
        let c0 = r.per_class[0]; // tp 2, predicted 3, support 3
        assert!((c0.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((c0.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((c0.f1 - 2.0 / 3.0).abs() < 1e-12);
        let c1 = r.per_class[1]; // tp 2, predicted 3, support 2
        assert!((c1.precision - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(c1.recall, 1.0);
        assert!((c1.f1 - 0.8).abs() < 1e-12);
        let c2 = r.per_class[2]; // never predicted: 0 by convention
        assert_eq!(
            (c2.precision, c2.recall, c2.f1, c2.support),
            (0.0, 0.0, 0.0, 1)
        );
        assert!((r.macro_avg.precision - 4.0 / 9.0).abs() < 1e-12);
        assert!((r.macro_avg.recall - 5.0 / 9.0).abs() < 1e-12);
        assert!((r.macro_avg.f1 - (2.0 / 3.0 + 0.8) / 3.0).abs() < 1e-12);
        assert!((r.weighted_avg.recall - 4.0 / 6.0).abs() < 1e-12); // = accuracy
        assert!((r.weighted_avg.f1 - (3.0 * 2.0 / 3.0 + 2.0 * 0.8) / 6.0).abs() < 1e-12);
        assert_eq!(r.macro_avg.support, 6);
        assert!((r.accuracy - 4.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn report_display_like_sklearn() {
        let r = ClassificationReport::new(&[0, 1, 0, 1, 1, 0], &[0, 0, 0, 1, 1, 2], 3).unwrap();
        let s = r.to_string();
        // Exactly scikit-learn's classification_report for these labels.
        let want = "              precision    recall  f1-score   support

           0       0.67      0.67      0.67         3
           1       0.67      1.00      0.80         2
           2       0.00      0.00      0.00         1

    accuracy                           0.67         6
   macro avg       0.44      0.56      0.49         6
weighted avg       0.56      0.67      0.60         6
";
        assert_eq!(s, want);
        let named = r.with_names(&["a", "b", "c"]).unwrap();
        assert!(format!("{named:.3}").contains("           a      0.667     0.667"));
        assert!(named.with_names(&["x"]).is_err());
    }

    #[test]
    fn mse_and_psnr() {
        let a = Array::<f32>::from_vec(vec![1., 2., 3., 4.], [2, 2]).unwrap();
        let b = Array::<f32>::from_vec(vec![1., 0., 3., 5.], [2, 2]).unwrap();
        assert_eq!(mse(&a, &b).unwrap(), 5.0 / 4.0);
        let p = psnr(&a, &b, 4.0).unwrap();
        assert!((p - 10.0 * (16.0f64 / 1.25).log10()).abs() < 1e-12);
        assert_eq!(psnr(&a, &a, 1.0).unwrap(), f64::INFINITY);
        let c = Array::<f32>::zeros([4]);
        let e = mse(&a, &c).unwrap_err().to_string();
        assert!(e.contains("mse: [2, 2] and [4]: shapes must match"), "{e}");
        assert!(psnr(&a, &b, 0.0).is_err());
        assert!(mse(&Array::<f32>::zeros([0]), &Array::zeros([0])).is_err());
    }
}
