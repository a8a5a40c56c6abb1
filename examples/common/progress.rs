//! [`Progress`]: a training callback drawing an indicatif progress bar.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};
use tapegrad::train::{Callback, EpochStats, History};

/// A [`Callback`] for [`fit`](tapegrad::train::fit): one bar over every step of the run, its
/// message showing the epoch, the running mean of the epoch's loss, and the last epoch's
/// validation figures; plus, with [`Progress::epoch_lines`], a summary line every `n` epochs
/// (printed above the bar, or alone when there is no bar).
///
/// Quiet (no bar, no lines) when built with `quiet = true`. Without a terminal on stdout there
/// is no bar, but the epoch lines are still printed (they suit a log file).
pub struct Progress {
    bar: Option<ProgressBar>,
    /// Whether to draw the bar (not quiet, stdout is a terminal).
    draw_bar: bool,
    /// Whether to print lines at all (not quiet).
    print: bool,
    every: usize,
    epochs: usize,
    epoch_loss: f64,
    epoch_steps: usize,
    last_val: String,
    last_draw: Option<Instant>,
}

impl Progress {
    /// A progress bar, unless `quiet` or stdout is not a terminal.
    pub fn new(quiet: bool) -> Self {
        Progress {
            bar: None,
            draw_bar: !quiet && std::io::stdout().is_terminal(),
            print: !quiet,
            every: 0,
            epochs: 0,
            epoch_loss: 0.0,
            epoch_steps: 0,
            last_val: String::new(),
            last_draw: None,
        }
    }

    /// Also prints a one-line summary of every `n`-th epoch (and of the last one); 0 = never.
    /// Nothing is printed when quiet.
    pub fn epoch_lines(mut self, n: usize) -> Self {
        self.every = n;
        self
    }

    fn line(&self, s: String) {
        match &self.bar {
            Some(b) => b.println(s),
            None => println!("{s}"),
        }
    }
}

/// A loss with four decimals (`0.1234`), or in scientific notation below 0.001 (`2.371e-4`),
/// where four decimals would show nothing.
pub fn fmt_loss(v: f64) -> String {
    if v != 0.0 && v.abs() < 1e-3 {
        format!("{v:.3e}")
    } else {
        format!("{v:.4}")
    }
}

/// `epoch 3/20  loss 0.1234  acc 96.1%  val_loss 0.1500  val_acc 95.0%  (0.52 s)`.
pub fn epoch_summary(s: &EpochStats, epochs: usize) -> String {
    let w = epochs.to_string().len();
    let mut line = format!(
        "epoch {:>w$}/{epochs}  loss {}",
        s.epoch,
        fmt_loss(s.train_loss)
    );
    if let Some(a) = s.train_accuracy {
        line += &format!("  acc {:.1}%", 100.0 * a);
    }
    if let Some(v) = s.val_loss {
        line += &format!("  val_loss {}", fmt_loss(v));
    }
    if let Some(a) = s.val_accuracy {
        line += &format!("  val_acc {:.1}%", 100.0 * a);
    }
    line + &format!("  ({:.2} s)", s.seconds)
}

impl Callback for Progress {
    fn on_train_begin(&mut self, epochs: usize, steps_per_epoch: usize) {
        self.epochs = epochs;
        if !self.draw_bar {
            return;
        }
        let bar = ProgressBar::with_draw_target(
            Some((epochs * steps_per_epoch) as u64),
            ProgressDrawTarget::stderr_with_hz(10),
        );
        let style = ProgressStyle::with_template(
            "{bar:30.cyan/blue} {percent:>3}% [{elapsed_precise}<{eta_precise}] {msg}",
        )
        .expect("internal: a valid progress template")
        .progress_chars("=> ");
        bar.set_style(style);
        self.bar = Some(bar);
    }

    fn on_epoch_begin(&mut self, _epoch: usize) {
        self.epoch_loss = 0.0;
        self.epoch_steps = 0;
    }

    fn on_batch_end(&mut self, epoch: usize, _step: usize, _steps: usize, loss: f64) {
        self.epoch_loss += loss;
        self.epoch_steps += 1;
        if let Some(bar) = &self.bar {
            bar.inc(1);
            if self
                .last_draw
                .is_none_or(|t| t.elapsed() >= Duration::from_millis(100))
            {
                self.last_draw = Some(Instant::now());
                let mean = self.epoch_loss / self.epoch_steps as f64;
                bar.set_message(format!(
                    "epoch {epoch}/{}  loss {}{}",
                    self.epochs,
                    fmt_loss(mean),
                    self.last_val
                ));
            }
        }
    }

    fn on_epoch_end(&mut self, s: &EpochStats) {
        self.last_val = match (s.val_loss, s.val_accuracy) {
            (Some(l), Some(a)) => {
                format!("  val_loss {}  val_acc {:.1}%", fmt_loss(l), 100.0 * a)
            }
            (Some(l), None) => format!("  val_loss {}", fmt_loss(l)),
            _ => String::new(),
        };
        let due = self.print
            && self.every != 0
            && (s.epoch.is_multiple_of(self.every) || s.epoch == self.epochs);
        if due {
            self.line(epoch_summary(s, self.epochs));
        }
    }

    fn on_train_end(&mut self, history: &History) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if history.stopped_early && self.print {
            let best = history
                .best_epoch
                .map_or(String::new(), |b| format!(", best epoch {b}"));
            let restored = if history.restored_best {
                " (its weights restored)"
            } else {
                ""
            };
            println!(
                "early stopping after epoch {}{best}{restored}",
                history.len()
            );
        }
    }
}
