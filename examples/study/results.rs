//! The CSV of a study's runs ([`ResultsFile`]): one row per finished run, appended and flushed
//! as soon as the run ends, read back on start so an interrupted study resumes where it stood.
//!
//! Each row carries what made it (the study, the setting, the run, its seed, the data set,
//! the epochs, the batch size and a `config` string naming the rest), so a row is reused only
//! by a job with the very same key; rows made with other settings stay in the file and are
//! ignored. A torn last line (no final newline: the program was stopped while writing it) is
//! cut off before anything is appended.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use tapegrad::nn::write_file_atomic;
use tapegrad::{Error, Result};

/// The CSV header (the columns of a [`Row`]).
pub const HEADER: &str = "study,setting,run,seed,dataset,epochs,batch,config,metric,seconds,\
seconds_per_epoch,train_curve,val_curve";

/// One finished run.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The study's name (`activations`).
    pub study: String,
    /// The setting's label (`ReLU`).
    pub setting: String,
    /// The run, counted from 0.
    pub run: usize,
    /// The seed of the run (derived from study, setting and run).
    pub seed: u64,
    /// The data set's name.
    pub dataset: String,
    /// Training epochs.
    pub epochs: usize,
    /// Rows per training step.
    pub batch: usize,
    /// Everything else that made the run (model, optimizer, ...), without commas.
    pub config: String,
    /// The final metric (test accuracy, or test loss).
    pub metric: f64,
    /// Wall-clock seconds of the run (training and the final test).
    pub seconds: f64,
    /// Mean seconds per training epoch.
    pub seconds_per_epoch: f64,
    /// The training loss of every epoch (empty when not kept).
    pub train_curve: Vec<f64>,
    /// The validation loss of every epoch (empty when not measured).
    pub val_curve: Vec<f64>,
}

impl Row {
    /// Whether `self` was made by the job `key` describes.
    pub fn matches(&self, key: &Row) -> bool {
        self.study == key.study
            && self.setting == key.setting
            && self.run == key.run
            && self.seed == key.seed
            && self.dataset == key.dataset
            && self.epochs == key.epochs
            && self.batch == key.batch
            && self.config == key.config
    }

    /// The row as one CSV line (with its newline).
    pub fn to_line(&self) -> String {
        let curve = |c: &[f64]| {
            c.iter()
                .map(|v| format!("{v:e}"))
                .collect::<Vec<_>>()
                .join(";")
        };
        format!(
            "{},{},{},{},{},{},{},{},{:e},{:.3},{:.4},{},{}\n",
            clean(&self.study),
            clean(&self.setting),
            self.run,
            self.seed,
            clean(&self.dataset),
            self.epochs,
            self.batch,
            clean(&self.config),
            self.metric,
            self.seconds,
            self.seconds_per_epoch,
            curve(&self.train_curve),
            curve(&self.val_curve)
        )
    }

    /// Parses one CSV line (without its newline); `None` when it is not a whole row.
    pub fn parse(line: &str) -> Option<Row> {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != 13 {
            return None;
        }
        let curve = |s: &str| -> Option<Vec<f64>> {
            if s.is_empty() {
                return Some(Vec::new());
            }
            s.split(';').map(|v| v.parse().ok()).collect()
        };
        Some(Row {
            study: f[0].into(),
            setting: f[1].into(),
            run: f[2].parse().ok()?,
            seed: f[3].parse().ok()?,
            dataset: f[4].into(),
            epochs: f[5].parse().ok()?,
            batch: f[6].parse().ok()?,
            config: f[7].into(),
            metric: f[8].parse().ok()?,
            seconds: f[9].parse().ok()?,
            seconds_per_epoch: f[10].parse().ok()?,
            train_curve: curve(f[11])?,
            val_curve: curve(f[12])?,
        })
    }
}

/// `s` with the characters a CSV field cannot hold here (commas, newlines) replaced.
pub fn clean(s: &str) -> String {
    s.replace(',', ";").replace(['\n', '\r'], " ")
}

/// A study's CSV, opened for appending after the rows already in it were read.
pub struct ResultsFile {
    /// Where it is.
    pub path: PathBuf,
    /// The whole rows found in it on opening.
    pub rows: Vec<Row>,
    /// Whether a torn last line was cut off on opening.
    pub recovered_torn_line: bool,
    file: File,
}

/// The error for a file at `path` that is not a study's CSV.
fn not_ours(path: &Path) -> Error {
    Error::invalid(
        "study",
        format!(
            "{} is not a study results file (its first line is not `{HEADER}`); move it away \
             or choose another --out",
            path.display()
        ),
    )
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl ResultsFile {
    /// Opens (or creates, with its header) the CSV at `path`: reads its rows, cuts off a torn
    /// last line, and positions it for appending.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file when it cannot be read or written;
    /// [`Error::InvalidArgument`] when its first line is not this program's header (it is
    /// left alone then).
    pub fn open(path: &Path) -> Result<ResultsFile> {
        let text = match std::fs::read(path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io(path)(e)),
        };
        // Everything up to the last newline is whole; anything after it is a torn line.
        let whole = &text[..text.rfind('\n').map_or(0, |end| end + 1)];
        let mut rows = Vec::new();
        let mut recovered = false;
        if whole.is_empty() {
            // A new file, or one whose header itself was torn.
            if !HEADER.starts_with(&text) {
                return Err(not_ours(path));
            }
            write_file_atomic(path, format!("{HEADER}\n").as_bytes())?;
        } else {
            if whole.lines().next() != Some(HEADER) {
                return Err(not_ours(path));
            }
            if whole.len() < text.len() {
                // The last line has no newline: it was being written when the program stopped.
                recovered = true;
                write_file_atomic(path, whole.as_bytes())?;
            }
            rows = whole.lines().skip(1).filter_map(Row::parse).collect();
        }
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(io(path))?;
        Ok(ResultsFile {
            path: path.to_path_buf(),
            rows,
            recovered_torn_line: recovered,
            file,
        })
    }

    /// The row of the job `key` describes, if one was read.
    pub fn find(&self, key: &Row) -> Option<&Row> {
        self.rows.iter().find(|r| r.matches(key))
    }

    /// Appends `row` and flushes it to the file.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file.
    pub fn append(&mut self, row: &Row) -> Result<()> {
        let path = self.path.clone();
        self.file
            .write_all(row.to_line().as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(io(&path))
    }
}
