//! XOR with a 2-4-1 network (tanh hidden layer, sigmoid output), trained by the shared loop
//! `tapegrad::train::fit`: MSE, plain SGD (lr 0.5), the four rows as one full batch, 5000 steps.
//!
//! ```text
//! cargo run --release --example xor
//! cargo run --release --example xor -- --help
//! ```
//!
//! Prints the truth table with the network's outputs and the final loss; writes the loss curve
//! (`loss.png`), the decision boundary (`boundary.png`) and the per-epoch history
//! (`history.csv`) to `out/xor/` (or `--out DIR`).

mod common;

use clap::{Parser, ValueEnum};
use common::plot::{self, Axes};
use common::{CommonArgs, Progress};
use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use tapegrad::nn::optim::{Adam, Optimizer, Sgd};
use tapegrad::nn::{Activation, Mlp};
use tapegrad::train::{fit, predict, Accuracy, Data, FitConfig, History, Loss};
use tapegrad::{data, rng, Array, Result};

/// The optimizers this example offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Opt {
    /// Plain stochastic gradient descent.
    Sgd,
    /// Adam.
    Adam,
}

/// XOR learned by a 2-H-1 network (tanh, sigmoid) with MSE through tapegrad's training loop.
#[derive(Parser, Debug, Clone)]
#[command(long_about = None)]
pub struct Args {
    /// Training steps (epochs of one full batch of the four rows)
    #[arg(long, default_value_t = 5000)]
    pub epochs: usize,
    /// Learning rate
    #[arg(long, default_value_t = 0.5)]
    pub lr: f64,
    /// Rows per step (4 = the full batch)
    #[arg(long, default_value_t = 4)]
    pub batch_size: usize,
    /// Hidden units
    #[arg(long, default_value_t = 4)]
    pub hidden: usize,
    /// Optimizer
    #[arg(long, value_enum, default_value_t = Opt::Sgd)]
    pub optimizer: Opt,
    /// Seed of the initial weights
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print the loss every N steps (0 = never)
    #[arg(long, default_value_t = 500, value_name = "N")]
    pub log_every: usize,
    /// The output folder and quiet flags.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// One row of the truth table.
#[derive(Clone, Debug)]
pub struct Row {
    /// The two inputs.
    pub x: [f32; 2],
    /// The target (0 or 1).
    pub target: f32,
    /// The network's output (a probability).
    pub output: f32,
}

impl Row {
    /// Whether the output is on the target's side of 0.5.
    pub fn correct(&self) -> bool {
        (self.output > 0.5) == (self.target > 0.5)
    }
}

/// What a run produced.
#[derive(Clone, Debug)]
pub struct Report {
    /// The truth table with the outputs.
    pub rows: Vec<Row>,
    /// The loss of the last step.
    pub final_loss: f64,
    /// How many of the four rows are right.
    pub correct: usize,
    /// Training time in seconds (the `fit` call).
    pub train_seconds: f64,
    /// The per-epoch history.
    pub history: History,
    /// The files written.
    pub files: Vec<PathBuf>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, " x1  x2 | target | output | predicted")?;
        writeln!(f, "--------+--------+--------+----------")?;
        for r in &self.rows {
            writeln!(
                f,
                "  {}   {} |   {}    | {:.4} |     {}{}",
                r.x[0],
                r.x[1],
                r.target,
                r.output,
                u8::from(r.output > 0.5),
                if r.correct() { "" } else { "  (wrong)" }
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "{}/4 correct, final loss {:.6}",
            self.correct, self.final_loss
        )?;
        writeln!(
            f,
            "trained {} steps in {}",
            self.history.len(),
            common::fmt_seconds(self.train_seconds)
        )?;
        common::write_files(f, "wrote ", &self.files)
    }
}

/// Trains the network and writes the figures.
///
/// # Errors
/// Bad flags (e.g. a batch size of 0), a diverging loss (a too large learning rate), files that
/// cannot be written.
pub fn run(args: &Args) -> Result<Report> {
    let out = common::out_dir("xor", &args.common)?;
    let ds = data::synthetic::xor(); // the 4 rows, labels 0 1 1 0
    let x = ds.x.clone();
    let y = ds.label_column(); // [4, 1] of 0.0 / 1.0

    let mut model = Mlp::<f32>::new(
        &[2, args.hidden, 1],
        Activation::Tanh,
        Activation::Sigmoid,
        &mut rng(args.seed),
    )?;
    let mut opt: Box<dyn Optimizer<f32>> = match args.optimizer {
        Opt::Sgd => Box::new(Sgd::new(args.lr)),
        Opt::Adam => Box::new(Adam::new(args.lr)),
    };
    let config = FitConfig::new(Loss::Mse)
        .epochs(args.epochs)
        .batch_size(args.batch_size)
        .seed(args.seed)
        .accuracy(Accuracy::Threshold(0.5));
    let mut progress = Progress::new(args.common.quiet).epoch_lines(args.log_every);

    let start = Instant::now();
    let history = fit(
        &mut model,
        opt.as_mut(),
        Data::values(&x, &y),
        None,
        &config,
        &mut progress,
    )?;
    let train_seconds = start.elapsed().as_secs_f64();

    let out_prob = predict(&mut model, &x, 4)?;
    let rows: Vec<Row> = (0..4)
        .map(|i| Row {
            x: [x.data()[2 * i], x.data()[2 * i + 1]],
            target: y.data()[i],
            output: out_prob.data()[i],
        })
        .collect();
    let correct = rows.iter().filter(|r| r.correct()).count();
    let final_loss = history.last().map_or(f64::NAN, |e| e.train_loss);

    let mut files = vec![common::save_history(&out, "history.csv", &history)?];
    files.push(plot::loss_curve(
        &out.join("loss.png"),
        "XOR: training loss (MSE)",
        &history,
    )?);
    let points: Vec<(f64, f64)> = rows
        .iter()
        .map(|r| (r.x[0] as f64, r.x[1] as f64))
        .collect();
    let mut prob = |grid: &[(f64, f64)]| -> Result<Vec<f64>> {
        let g = Array::<f32>::from_vec(
            grid.iter()
                .flat_map(|&(a, b)| [a as f32, b as f32])
                .collect(),
            [grid.len(), 2],
        )?;
        let p = predict(&mut model, &g, 4096)?;
        Ok(p.data().iter().map(|&v| v as f64).collect())
    };
    files.push(plot::decision_boundary(
        &out.join("boundary.png"),
        &Axes {
            title: "XOR: network output (blue 0, orange 1)",
            x_label: "x1",
            y_label: "x2",
            log_y: false,
            integer_x: false,
        },
        &mut prob,
        &points,
        &ds.y,
        120,
    )?);

    Ok(Report {
        rows,
        final_loss,
        correct,
        train_seconds,
        history,
        files,
    })
}

fn main() -> ExitCode {
    common::main_with(|| {
        let args = Args::parse();
        let report = run(&args)?;
        print!("{report}");
        Ok(())
    })
}
