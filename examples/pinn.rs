//! A physics-informed neural network (PINN): a small tanh network learns the solution of a
//! boundary value problem from the differential equation alone, with no sample of the solution.
//!
//! ```text
//! cargo run --release --example pinn
//! cargo run --release --example pinn -- --help
//! ```
//!
//! # The problem
//!
//! Find `u` on `[0, 1]` with
//!
//! ```text
//! u''(x) = -π² sin(πx),    u(0) = u(1) = 0.
//! ```
//!
//! Its exact solution is `u(x) = sin(πx)`; the program uses it only to measure the error at the
//! end, never to train.
//!
//! # What a PINN is
//!
//! An ordinary regression network learns `u` from pairs `(x, u(x))`. A PINN has no such pairs:
//! it learns from the *equation*. Take a network `N(x)` and build a trial solution `u(x)` from
//! it. At a set of collocation points `x₁ … x_n` in the interval, the equation's residual
//!
//! ```text
//! r(xᵢ) = u''(xᵢ) + π² sin(πxᵢ)
//! ```
//!
//! is zero for the true solution. The loss is the mean of `r(xᵢ)²` (plus the boundary
//! conditions, see below); gradient descent on the network's weights drives the residual to
//! zero, and with it `u` to the solution.
//!
//! # Why it needs a gradient of a gradient
//!
//! The loss contains `u''`, the second derivative of the network's *output* with respect to its
//! *input* `x`. The training step then needs the derivative of that loss with respect to the
//! *weights*. So three derivatives are stacked: `∂/∂w` of a function of `∂²u/∂x²`. A plain
//! `backward` returns gradients as numbers, which cannot be differentiated again. tapegrad's
//! [`grad`] with `create_graph = true` (PyTorch's `torch.autograd.grad(..., create_graph=True)`)
//! walks the tape in reverse but records every step of that walk as new tape operations, so the
//! gradient it returns is an ordinary tensor on the same tape, built from the weights and `x`:
//!
//! ```text
//! x   = tape.var(points)                    a leaf: we differentiate with respect to it
//! u   = x·(1 - x)·N(x)                      recorded forward
//! u'  = grad(u,  x, ones, create_graph)     the reverse pass, recorded as new nodes
//! u'' = grad(u', x, ones, create_graph)     a reverse pass over that reverse pass
//! loss = mean((u'' + π² sin πx)²)           more forward nodes on top
//! loss.backward()                           one reverse pass through all of it: ∂loss/∂w
//! ```
//!
//! Each collocation point is its own row, and row `i` of `u` depends only on row `i` of `x`, so
//! weighting every output by one (`ones`) gives exactly `du(xᵢ)/dxᵢ` in row `i`. The source
//! term `-π² sin(πx)` does not depend on the weights: it is a constant, computed once.
//!
//! # The boundary conditions: a hard constraint (default) or a penalty
//!
//! - `--boundary ansatz` (the default) builds them into the trial solution,
//!   `u(x) = x·(1 - x)·N(x)`, which is 0 at both ends whatever the weights are. The loss is the
//!   residual alone, and the optimizer cannot trade the boundary against the interior. This is
//!   the more accurate choice when the boundary has such a simple form.
//! - `--boundary penalty` uses `u(x) = N(x)` and adds `λ·(u(0)² + u(1)²)` to the loss
//!   (`--bc-weight λ`): the general recipe, for boundaries too irregular for an ansatz. It
//!   trains too, but balancing the two terms makes it slower and less accurate.
//!
//! # Training
//!
//! A 1-H-H-1 tanh network (`--hidden H`, 16 by default: 321 weights; tanh because its
//! derivatives are smooth: the loss needs `N''`, and ReLU's second derivative is 0 almost
//! everywhere) in `f64`, trained by Adam on `--points` evenly spaced interior collocation
//! points, one full batch per step, for `--epochs` steps, with a learning rate annealed by a
//! cosine from `--lr` (0.03) down to `--final-lr` (lr/1000). At a fixed rate Adam keeps jittering
//! around the minimum; the annealing lets it settle (with the defaults: max error 7.5e-6, against
//! 1.5e-5 with `--final-lr 0.03`). `f64` keeps rounding far below what is measured here: the
//! residual compares `u''`, of size ~10, with the source term to a few parts in 10⁴, and the
//! error is 1e-5 of a solution of size 1, close to where `f32`'s seven digits end.
//!
//! Prints the loss every few hundred steps, the maximum error `|u - sin(πx)|` over 1001 evenly
//! spaced points of `[0, 1]` (target ≤ 1e-3), a table of `u` against the exact solution, and
//! writes `solution.png` (u and the exact solution), `error.png` (u - sin(πx)), `loss.png`
//! (the loss per step) and `history.csv` to `out/pinn/` (or `--out DIR`).

mod common;

use clap::{Parser, ValueEnum};
use common::plot::{self, Axes};
use common::{CommonArgs, Progress};
use std::f64::consts::PI;
use std::fmt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use tapegrad::nn::optim::{Adam, Optimizer};
use tapegrad::nn::schedule::{Cosine, LrSchedule};
use tapegrad::nn::{train_step, Activation, Mlp, Module};
use tapegrad::train::{Callback, EpochStats, History};
use tapegrad::{grad, rng, Array, Error, Result, Tape, Tensor};

/// How the boundary conditions `u(0) = u(1) = 0` are imposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Boundary {
    /// Built into the trial solution: `u = x(1 - x)·N(x)` (exact at the ends).
    Ansatz,
    /// `u = N(x)` with `bc_weight · (u(0)² + u(1)²)` added to the loss.
    Penalty,
}

impl fmt::Display for Boundary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Boundary::Ansatz => "ansatz u = x(1-x)·N(x)",
            Boundary::Penalty => "penalty on u(0)² + u(1)²",
        })
    }
}

/// A physics-informed network solving u'' = -π² sin(πx) on [0, 1], u(0) = u(1) = 0.
#[derive(Parser, Debug, Clone)]
#[command(long_about = None)]
pub struct Args {
    /// Training steps (each one full batch of the collocation points)
    #[arg(long, default_value_t = 3000)]
    pub epochs: usize,
    /// Initial learning rate of Adam
    #[arg(long, default_value_t = 0.03)]
    pub lr: f64,
    /// Learning rate at the last step: a cosine anneals from --lr down to it [default: lr/1000]
    #[arg(long, value_name = "LR")]
    pub final_lr: Option<f64>,
    /// Units in each of the two hidden tanh layers
    #[arg(long, default_value_t = 16)]
    pub hidden: usize,
    /// Collocation points (evenly spaced inside (0, 1))
    #[arg(long, default_value_t = 64)]
    pub points: usize,
    /// How the boundary conditions are imposed
    #[arg(long, value_enum, default_value_t = Boundary::Ansatz)]
    pub boundary: Boundary,
    /// Weight of the boundary penalty (with --boundary penalty)
    #[arg(long, default_value_t = 100.0)]
    pub bc_weight: f64,
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

/// One row of the result table.
#[derive(Clone, Debug)]
pub struct Row {
    /// The point.
    pub x: f64,
    /// The network's solution there.
    pub u: f64,
    /// The exact solution `sin(πx)`.
    pub exact: f64,
}

impl Row {
    /// `|u - exact|`.
    pub fn error(&self) -> f64 {
        (self.u - self.exact).abs()
    }
}

/// What a run produced.
#[derive(Clone, Debug)]
pub struct Report {
    /// How the boundary conditions were imposed.
    pub boundary: Boundary,
    /// The network's solution against the exact one at a few points.
    pub rows: Vec<Row>,
    /// The largest `|u - sin(πx)|` over the evaluation grid.
    pub max_error: f64,
    /// Where it is reached.
    pub max_error_at: f64,
    /// The number of points of the evaluation grid (evenly spaced over [0, 1], ends included).
    pub grid_points: usize,
    /// The largest `|u'' + π² sin(πx)|` (the equation's residual) over the evaluation grid.
    pub max_residual: f64,
    /// The loss of the last step.
    pub final_loss: f64,
    /// The number of scalar weights.
    pub weights: usize,
    /// Training time in seconds.
    pub train_seconds: f64,
    /// The loss of every step.
    pub history: History,
    /// The files written.
    pub files: Vec<PathBuf>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "    x    |  u (network)  | sin(πx) exact |   error")?;
        writeln!(f, "---------+---------------+---------------+----------")?;
        for r in &self.rows {
            writeln!(
                f,
                "  {:.3}  | {:>13.8} | {:>13.8} | {:.2e}",
                r.x,
                r.u,
                r.exact,
                r.error()
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "max error {:.2e} (at x = {:.3}) over {} points; max residual |u'' + π² sin πx| {:.2e}",
            self.max_error, self.max_error_at, self.grid_points, self.max_residual
        )?;
        writeln!(
            f,
            "boundary: {}; final loss {:.3e}; {} weights",
            self.boundary, self.final_loss, self.weights
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

/// The trial solution at the points `x` (a `[n, 1]` tensor): `x(1 - x)·N(x)` or `N(x)`.
#[track_caller]
fn trial<'t>(model: &Mlp<f64>, x: Tensor<'t, f64>, boundary: Boundary) -> Result<Tensor<'t, f64>> {
    let n = model.forward(x)?;
    match boundary {
        Boundary::Ansatz => x.mul(x.neg().add_scalar(1.0))?.mul(n),
        Boundary::Penalty => Ok(n),
    }
}

/// `u` and `u''` at the points `x` (a `[n, 1]` tensor that is a `tape.var`), both on the tape:
/// two calls of [`grad`] with `create_graph`, so `u''` can be differentiated again.
#[track_caller]
fn u_and_u_xx<'t>(
    model: &Mlp<f64>,
    tape: &'t Tape<f64>,
    x: Tensor<'t, f64>,
    boundary: Boundary,
) -> Result<(Tensor<'t, f64>, Tensor<'t, f64>)> {
    let u = trial(model, x, boundary)?;
    // Row i of u depends on row i of x only, so weighting every row by 1 gives du_i/dx_i.
    let ones = tape.constant(Array::ones(u.shape()));
    let no_path = || Error::invalid("pinn", "u does not depend on x");
    let u_x = grad(&[u], &[x], Some(&[ones]), true)?[0].ok_or_else(no_path)?;
    let u_xx = grad(&[u_x], &[x], Some(&[ones]), true)?[0].ok_or_else(no_path)?;
    Ok((u, u_xx))
}

/// What [`train_step`]'s [`Error::NonFinite`] says when the loss (not an update) is NaN or
/// infinite: that error becomes the advice to lower the learning rate.
const NON_FINITE_LOSS: &str = "train_step: the loss";

/// The source term `f(x) = -π² sin(πx)` at the points of `x`.
fn source(x: &Array<f64>) -> Array<f64> {
    x.map(|v| -PI * PI * (PI * v).sin())
}

/// Checks the flags.
fn check(args: &Args) -> Result<()> {
    let bad = |what: &str| Err(Error::invalid("pinn", what.to_string()));
    if args.epochs == 0 {
        return bad("epochs must be at least 1");
    }
    if args.points < 2 {
        return bad("points must be at least 2");
    }
    if args.hidden == 0 {
        return bad("hidden must be at least 1");
    }
    if !(args.lr > 0.0 && args.lr.is_finite()) {
        return bad(&format!("lr must be positive and finite, got {}", args.lr));
    }
    if let Some(lr) = args.final_lr {
        if !(lr > 0.0 && lr <= args.lr) {
            return bad(&format!(
                "final_lr must be positive and at most lr ({}), got {lr}",
                args.lr
            ));
        }
    }
    if !(args.bc_weight >= 0.0 && args.bc_weight.is_finite()) {
        return bad(&format!(
            "bc_weight must be non-negative and finite, got {}",
            args.bc_weight
        ));
    }
    Ok(())
}

/// Trains the network and writes the figures.
///
/// # Errors
/// Bad flags (e.g. 0 collocation points), a diverging loss (a too large learning rate), files
/// that cannot be written.
pub fn run(args: &Args) -> Result<Report> {
    check(args)?;
    let out = common::out_dir("pinn", &args.common)?;
    let n = args.points;
    // collocation points: evenly spaced inside (0, 1), as a column [n, 1]
    let xs = Array::from_fn([n, 1], |i| (i + 1) as f64 / (n + 1) as f64);
    let f = source(&xs);
    let ends = Array::from_vec(vec![0.0, 1.0], [2, 1])?;

    let mut model = Mlp::<f64>::new(
        &[1, args.hidden, args.hidden, 1],
        Activation::Tanh,
        Activation::Identity,
        &mut rng(args.seed),
    )?;
    let weights = model.param_count();
    let mut opt = Adam::new(args.lr);
    let final_lr = args.final_lr.unwrap_or(args.lr / 1000.0);
    let schedule = Cosine::new(args.lr, final_lr, (args.epochs - 1).max(1))?;
    let mut progress = Progress::new(args.common.quiet).epoch_lines(args.log_every);
    let mut history = History::default();
    let mut tape = Tape::<f64>::new();

    let start = Instant::now();
    progress.on_train_begin(args.epochs, 1);
    for epoch in 1..=args.epochs {
        let step_start = Instant::now();
        progress.on_epoch_begin(epoch);
        let lr = schedule.lr_at(epoch - 1);
        opt.set_lr(lr);
        // one reverse pass through the forward, both recorded reverse passes, and the loss;
        // then Adam's update
        let loss = train_step(&mut tape, &mut model, &mut opt, |tape, model| {
            let x = tape.var(xs.clone());
            let (_, u_xx) = u_and_u_xx(model, tape, x, args.boundary)?;
            // the residual of u'' = f, squared and averaged
            let r = u_xx.sub(tape.constant(f.clone()))?;
            let mut loss = r.square().mean();
            if args.boundary == Boundary::Penalty {
                let u_ends = model.forward(tape.constant(ends.clone()))?;
                loss = loss.add(u_ends.square().sum().mul_scalar(args.bc_weight))?;
            }
            Ok(loss)
        })
        .map_err(|e| match e {
            Error::NonFinite { what, value } if what == NON_FINITE_LOSS => Error::invalid(
                "pinn",
                format!("the loss is {value} at step {epoch}: try a smaller --lr"),
            ),
            e => e,
        })?;
        progress.on_batch_end(epoch, 0, 1, loss);
        let stats = EpochStats {
            epoch,
            train_loss: loss,
            train_accuracy: None,
            val_loss: None,
            val_accuracy: None,
            lr,
            seconds: step_start.elapsed().as_secs_f64(),
        };
        progress.on_epoch_end(&stats);
        history.epochs.push(stats);
    }
    progress.on_train_end(&history);
    let train_seconds = start.elapsed().as_secs_f64();
    let final_loss = history.last().map_or(f64::NAN, |e| e.train_loss);

    // evaluation on a fine grid, ends included: u, and u'' for the residual
    let grid_points = 1001;
    let grid = Array::from_fn([grid_points, 1], |i| i as f64 / (grid_points - 1) as f64);
    let (u, u_xx) = {
        let x = tape.var(grid.clone());
        let (u, u_xx) = u_and_u_xx(&model, &tape, x, args.boundary)?;
        (u.to_array(), u_xx.to_array())
    };
    tape.reset();
    let exact: Vec<f64> = grid.data().iter().map(|&x| (PI * x).sin()).collect();
    let (mut max_error, mut max_error_at) = (0.0f64, 0.0);
    for ((&x, &u), &e) in grid.data().iter().zip(u.data()).zip(&exact) {
        if (u - e).abs() > max_error || !(u - e).abs().is_finite() {
            (max_error, max_error_at) = ((u - e).abs(), x);
        }
    }
    let max_residual = u_xx
        .data()
        .iter()
        .zip(source(&grid).data())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    let rows: Vec<Row> = [0, 100, 250, 400, 500, 600, 750, 900, 1000]
        .iter()
        .map(|&i| Row {
            x: grid.data()[i],
            u: u.data()[i],
            exact: exact[i],
        })
        .collect();

    let mut files = vec![common::save_history(&out, "history.csv", &history)?];
    let xs_grid = grid.data();
    let curve =
        |v: &[f64]| -> Vec<(f64, f64)> { xs_grid.iter().zip(v).map(|(&x, &y)| (x, y)).collect() };
    files.push(plot::line_chart(
        &out.join("solution.png"),
        (720, 460),
        &Axes {
            title: "PINN: u'' = -π² sin(πx), u(0) = u(1) = 0",
            x_label: "x",
            y_label: "u(x)",
            log_y: false,
            integer_x: false,
        },
        &[
            plot::Series::new("exact sin(πx)", curve(&exact), plot::color(0)),
            plot::Series::new("network", curve(u.data()), plot::color(1)).dashed(),
        ],
    )?);
    let err: Vec<f64> = u.data().iter().zip(&exact).map(|(a, b)| a - b).collect();
    files.push(plot::line_chart(
        &out.join("error.png"),
        (720, 460),
        &Axes {
            title: "PINN: error u(x) - sin(πx)",
            x_label: "x",
            y_label: "error",
            log_y: false,
            integer_x: false,
        },
        &[plot::Series::new("u - exact", curve(&err), plot::color(3))],
    )?);
    files.push(plot::loss_curve(
        &out.join("loss.png"),
        "PINN: loss (mean squared residual)",
        &history,
    )?);

    Ok(Report {
        boundary: args.boundary,
        rows,
        max_error,
        max_error_at,
        grid_points,
        max_residual,
        final_loss,
        weights,
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
