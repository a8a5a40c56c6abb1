//! What a study prints: per setting, the median, interquartile range, minimum and maximum of
//! the final metric over the runs, and the time per run and per epoch ([`Summary`], [`table`]);
//! and the [`Report`] that [`run`](super::run) returns.

use super::results::Row;
use std::fmt;
use std::path::PathBuf;

/// The `q` quantile (0..=1) of `sorted` (ascending), interpolated linearly between the two
/// nearest values (NumPy's default); NaN for no values.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let (lo, frac) = (pos.floor() as usize, pos.fract());
            let hi = (lo + 1).min(n - 1);
            sorted[lo] + (sorted[hi] - sorted[lo]) * frac
        }
    }
}

/// `values` sorted ascending (NaN last).
pub fn sorted(values: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = values.into_iter().collect();
    v.sort_by(|a, b| a.total_cmp(b));
    v
}

/// One setting's runs, summarized.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// The setting's label.
    pub label: String,
    /// The number of runs.
    pub runs: usize,
    /// Every run's metric, ascending.
    pub values: Vec<f64>,
    /// The median metric.
    pub median: f64,
    /// The first and third quartiles.
    pub quartiles: (f64, f64),
    /// The smallest metric.
    pub min: f64,
    /// The largest metric.
    pub max: f64,
    /// The median seconds per run.
    pub seconds_per_run: f64,
    /// The median seconds per training epoch.
    pub seconds_per_epoch: f64,
}

impl Summary {
    /// The summary of one setting's rows.
    pub fn of(label: &str, rows: &[Row]) -> Summary {
        let values = sorted(rows.iter().map(|r| r.metric));
        let secs = sorted(rows.iter().map(|r| r.seconds));
        let per_epoch = sorted(rows.iter().map(|r| r.seconds_per_epoch));
        Summary {
            label: label.into(),
            runs: rows.len(),
            median: quantile(&values, 0.5),
            quartiles: (quantile(&values, 0.25), quantile(&values, 0.75)),
            min: values.first().copied().unwrap_or(f64::NAN),
            max: values.last().copied().unwrap_or(f64::NAN),
            values,
            seconds_per_run: quantile(&secs, 0.5),
            seconds_per_epoch: quantile(&per_epoch, 0.5),
        }
    }

    /// The interquartile range (Q3 - Q1).
    pub fn iqr(&self) -> f64 {
        self.quartiles.1 - self.quartiles.0
    }
}

/// How a study's metric is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// An accuracy in [0, 1], shown in percent.
    Accuracy,
    /// A loss, shown with 5 decimals.
    Loss,
}

impl Metric {
    /// `v` as this metric is shown (`97.31%`, `0.01234`).
    pub fn show(self, v: f64) -> String {
        match self {
            Metric::Accuracy => format!("{:.2}%", 100.0 * v),
            Metric::Loss => format!("{v:.5}"),
        }
    }

    /// A spread `v` (the IQR) as this metric is shown (`0.31 pt`).
    pub fn show_spread(self, v: f64) -> String {
        match self {
            Metric::Accuracy => format!("{:.2} pt", 100.0 * v),
            Metric::Loss => format!("{v:.5}"),
        }
    }
}

/// The table of `summaries`: setting, runs, median, IQR, min, max, seconds per run and per
/// epoch, with `metric` (e.g. `test accuracy`) in the heading.
pub fn table(summaries: &[Summary], metric: Metric, name: &str) -> String {
    let w = summaries
        .iter()
        .map(|s| s.label.len())
        .max()
        .unwrap_or(7)
        .max(7);
    let mut out = format!(
        "{:<w$} {:>4} {:>10} {:>10} {:>10} {:>10} {:>9} {:>9}\n",
        "setting", "runs", "median", "IQR", "min", "max", "s/run", "s/epoch"
    );
    for s in summaries {
        out += &format!(
            "{:<w$} {:>4} {:>10} {:>10} {:>10} {:>10} {:>9.2} {:>9.3}\n",
            s.label,
            s.runs,
            metric.show(s.median),
            metric.show_spread(s.iqr()),
            metric.show(s.min),
            metric.show(s.max),
            s.seconds_per_run,
            s.seconds_per_epoch
        );
    }
    format!("({name} per setting over its runs)\n{out}")
}

/// What a study did: its table, the files it wrote and how many runs it reused.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The heading: the study, the data, the settings shared by every run.
    pub heading: String,
    /// The table, as printed.
    pub table: String,
    /// One summary per setting (empty for `gradcheck`).
    pub summaries: Vec<Summary>,
    /// Runs read back from the CSV.
    pub reused: usize,
    /// Runs computed by this invocation.
    pub computed: usize,
    /// CSV rows made with other settings, ignored.
    pub ignored: usize,
    /// Whether a torn last CSV line was cut off.
    pub recovered_torn_line: bool,
    /// Extra lines (timings, notes).
    pub notes: Vec<String>,
    /// The CSV and the figures written.
    pub files: Vec<PathBuf>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.heading)?;
        write!(f, "{}", self.table)?;
        if self.reused + self.computed > 0 {
            writeln!(
                f,
                "runs: {} computed now, {} reused from the CSV",
                self.computed, self.reused
            )?;
        }
        if self.ignored > 0 {
            writeln!(
                f,
                "({} CSV rows made with other settings were left in the file and ignored)",
                self.ignored
            )?;
        }
        if self.recovered_torn_line {
            writeln!(f, "(a torn last line of the CSV was cut off)")?;
        }
        for n in &self.notes {
            writeln!(f, "{n}")?;
        }
        writeln!(f, "wrote:")?;
        for p in &self.files {
            writeln!(f, "  {}", p.display())?;
        }
        Ok(())
    }
}
