//! `optimizers`: the reports' MLP trained with SGD (0.01), SGD with momentum 0.9 (0.01), Adam
//! (1e-3), AdamW (1e-3, weight decay 0.01) and RMSProp (1e-3); a box plot of the test accuracy
//! and the median loss per epoch (validation solid, training dashed).

use super::figures;
use super::mlp::{self, Extras, MlpSpec, OptSpec};
use super::summary::{quantile, sorted, Report};
use super::Context;
use tapegrad::Result;

/// The optimizers compared, with their labels.
pub const OPTIMIZERS: [(&str, OptSpec); 5] = [
    ("SGD 0.01", OptSpec::Sgd(0.01)),
    ("SGD+momentum 0.01", OptSpec::SgdMomentum(0.01)),
    ("Adam 1e-3", OptSpec::Adam(1e-3)),
    ("AdamW 1e-3", OptSpec::AdamW(1e-3)),
    ("RMSProp 1e-3", OptSpec::RmsProp(1e-3)),
];

/// The median over the runs of each epoch's value of `curves` (one curve per run; epochs
/// missing from a run are left out of that epoch's median).
pub fn median_curve(curves: &[&[f64]]) -> Vec<f64> {
    let epochs = curves.iter().map(|c| c.len()).max().unwrap_or(0);
    (0..epochs)
        .map(|e| {
            quantile(
                &sorted(curves.iter().filter_map(|c| c.get(e).copied())),
                0.5,
            )
        })
        .collect()
}

/// Runs the study.
///
/// # Errors
/// As [`mlp::run_study`]; an I/O error naming the curves' figure.
pub fn run(ctx: &Context) -> Result<Report> {
    let settings = OPTIMIZERS
        .iter()
        .map(|&(label, opt)| {
            let spec = MlpSpec {
                opt,
                ..MlpSpec::default()
            };
            (label.to_string(), spec)
        })
        .collect();
    let extras = Extras {
        validate: true,
        times: false,
    };
    let done = mlp::run_study(ctx, "optimizers", "optimizer", settings, extras)?;
    let mut report = done.report;
    let curves: Vec<figures::Curves> = report
        .summaries
        .iter()
        .zip(&done.results.rows)
        .map(|(s, rows)| figures::Curves {
            label: s.label.clone(),
            val: median_curve(&rows.iter().map(|r| &r.val_curve[..]).collect::<Vec<_>>()),
            train: median_curve(&rows.iter().map(|r| &r.train_curve[..]).collect::<Vec<_>>()),
        })
        .collect();
    report.files.push(figures::median_curves(
        &ctx.file("optimizers_curves", "png"),
        &format!(
            "median loss per epoch over {} runs ({}; validation solid, training dashed)",
            report.summaries.first().map_or(0, |s| s.runs),
            done.dataset
        ),
        &curves,
    )?);
    let last = |c: &[f64]| c.last().copied().unwrap_or(f64::NAN);
    for c in &curves {
        report.notes.push(format!(
            "{}: median final validation loss {:.4}, training loss {:.4}",
            c.label,
            last(&c.val),
            last(&c.train)
        ));
    }
    Ok(report)
}
