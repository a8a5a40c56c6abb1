//! Helpers shared by the example programs (`xor`, `digits`, `mnist`, `cnn`, `autoencoder`,
//! `pinn`): an example includes them with `mod common;` (a folder example,
//! `examples/NAME/main.rs`, with `#[path = "../common/mod.rs"] mod common;`).
//!
//! - [`CommonArgs`]: the `--out DIR` and `--quiet` flags, to `#[command(flatten)]` into an
//!   example's clap `Args`.
//! - [`images`]: MNIST when asked for, else the bundled 8x8 digits, split and ready to draw.
//! - [`out_dir`]: creates the output folder (default `out/NAME/`).
//! - [`Progress`]: a [`Callback`](tapegrad::train::Callback) for
//!   [`fit`](tapegrad::train::fit) that draws one progress bar over the whole run with the loss
//!   and accuracy in its message, and optionally prints a summary line every few epochs. It
//!   draws nothing with `--quiet` or when stdout is not a terminal.
//! - [`plot`]: PNG figures with plotters (text rendered with the bundled DejaVu Sans, no
//!   system library): curves ([`plot::history`], [`plot::line_chart`]), a confusion matrix
//!   heatmap, an image grid with captions, a 2-D scatter by class and a 2-D decision boundary.
//!   Every function returns the path it wrote.
//! - [`main_with`]: runs an example's body and turns an error into a clean message on stderr
//!   and exit code 1 (no panic, no backtrace).
//!
//! A typical example:
//!
//! ```text
//! mod common;
//! use common::{CommonArgs, Progress};
//!
//! #[derive(clap::Parser, Debug, Clone)]
//! pub struct Args {
//!     #[arg(long, default_value_t = 20)]
//!     pub epochs: usize,
//!     #[command(flatten)]
//!     pub common: CommonArgs,
//! }
//!
//! pub fn run(args: &Args) -> tapegrad::Result<Report> {
//!     let out = common::out_dir("mnist", &args.common)?;
//!     let mut progress = Progress::new(args.common.quiet).epoch_lines(1);
//!     let history = fit(&mut model, &mut opt, train, Some(val), &config, &mut progress)?;
//!     history.to_csv(out.join("history.csv"))?;
//!     let figure = common::plot::history(&out.join("curves.png"), "MNIST MLP", &history)?;
//!     ...
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     common::main_with(|| {
//!         let args = Args::parse();
//!         let report = run(&args)?;
//!         println!("{report}");
//!         Ok(())
//!     })
//! }
//! ```
#![allow(dead_code)] // each example uses a subset of the helpers

pub mod images;
pub mod mnist_data;
pub mod optimizer;
pub mod plot;
mod progress;

pub use progress::Progress;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tapegrad::train::History;
use tapegrad::{Error, Result};

/// The flags every example has: where to write its figures, and whether to stay quiet.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct CommonArgs {
    /// Folder for the figures and the history CSV [default: out/<example name>]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// No progress bar and no per-epoch lines (the final report is still printed)
    #[arg(long, short)]
    pub quiet: bool,
}

/// Creates (if needed) and returns the output folder: `common.out`, or `out/NAME` under the
/// current directory.
///
/// # Errors
/// [`Error::Io`] naming the folder when it cannot be created.
pub fn out_dir(name: &str, common: &CommonArgs) -> Result<PathBuf> {
    let dir = common
        .out
        .clone()
        .unwrap_or_else(|| Path::new("out").join(name));
    std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
        path: dir.clone(),
        source,
    })?;
    Ok(dir)
}

/// Writes `history` to `out/NAME` as CSV and returns that path.
///
/// # Errors
/// [`Error::Io`] naming the file when it cannot be written.
pub fn save_history(out: &Path, name: &str, history: &History) -> Result<PathBuf> {
    let path = out.join(name);
    history.to_csv(&path)?;
    Ok(path)
}

/// Writes one line `PREFIX<path>` per file, for a report's list of the files it wrote.
pub fn write_files(f: &mut fmt::Formatter<'_>, prefix: &str, files: &[PathBuf]) -> fmt::Result {
    for p in files {
        writeln!(f, "{prefix}{}", p.display())?;
    }
    Ok(())
}

/// Writes `history` as a table, one line per epoch: the training loss and accuracy, the
/// validation loss and accuracy (headed `VAL loss`, `VAL acc`, e.g. `test`) and the seconds.
pub fn write_epoch_table(f: &mut fmt::Formatter<'_>, history: &History, val: &str) -> fmt::Result {
    writeln!(
        f,
        "{:>5} {:>10} {:>10} {:>10} {:>9} {:>8}",
        "epoch",
        "train loss",
        "train acc",
        format!("{val} loss"),
        format!("{val} acc"),
        "seconds"
    )?;
    for e in &history.epochs {
        let pct = |a: Option<f64>| a.map_or("-".into(), |a| format!("{:.2}%", 100.0 * a));
        writeln!(
            f,
            "{:>5} {:>10.4} {:>10} {:>10.4} {:>9} {:>8.2}",
            e.epoch,
            e.train_loss,
            pct(e.train_accuracy),
            e.val_loss.unwrap_or(f64::NAN),
            pct(e.val_accuracy),
            e.seconds
        )?;
    }
    Ok(())
}

/// Runs `body`; on error prints `error: <message>` (and its chain of causes) to stderr and
/// returns exit code 1, otherwise exit code 0.
pub fn main_with(body: impl FnOnce() -> Result<()>) -> ExitCode {
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let shown = e.to_string();
            eprintln!("error: {shown}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                // `Error::Io` already prints its cause after the path: don't repeat it.
                let cause = s.to_string();
                if !shown.contains(&cause) {
                    eprintln!("  caused by: {cause}");
                }
                source = s.source();
            }
            ExitCode::FAILURE
        }
    }
}

/// Seconds as `0.84 s` or `1 min 12 s`.
pub fn fmt_seconds(s: f64) -> String {
    if s < 60.0 {
        format!("{s:.2} s")
    } else {
        format!("{} min {:.0} s", (s / 60.0).floor(), s % 60.0)
    }
}
