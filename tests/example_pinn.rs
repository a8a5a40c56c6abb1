//! examples/pinn.rs run in full (3000 steps, well under a second with optimizations) as a
//! library: the network solves u'' = -π² sin(πx), u(0) = u(1) = 0 to a max error ≤ 1e-3 over
//! 1001 points with either way of imposing the boundary, deterministically; the figures and the
//! history are written; bad flags are errors.

#[allow(dead_code)] // `main` and some helpers are only used by the program
#[path = "../examples/pinn.rs"]
mod pinn;

use clap::Parser;

mod common;
use common::{check_written, example_argv, file_names, TempDir};

/// The example's arguments: `--quiet --out <out>`, then `extra`.
fn args(out: &TempDir, extra: &[&str]) -> pinn::Args {
    pinn::Args::parse_from(example_argv("pinn", &out.0, extra))
}

#[test]
fn pinn_solves_the_boundary_value_problem_and_writes_its_figures() {
    let out = TempDir::new("example-pinn", "full");
    let args = args(&out, &[]);
    assert_eq!(
        (args.epochs, args.lr, args.hidden, args.points, args.seed),
        (3000, 0.03, 16, 64, 0)
    );
    assert_eq!(args.boundary, pinn::Boundary::Ansatz);
    let report = pinn::run(&args).unwrap();
    // the brief's target is 1e-3; the defaults reach ~7.5e-6
    assert!(report.max_error <= 1e-4, "{report}");
    assert_eq!(report.grid_points, 1001);
    assert_eq!(report.history.len(), 3000);
    // the loss fell by orders of magnitude, and the equation holds on the fine grid
    let first = report.history.epochs[0].train_loss;
    assert!(report.final_loss < 1e-6 * first, "{first} -> {report}");
    assert!(report.max_residual < 0.1, "{report}");
    // the ansatz holds the boundary values exactly (x(1 - x) is 0 there, up to rounding)
    let ends: Vec<&pinn::Row> = report
        .rows
        .iter()
        .filter(|r| r.x == 0.0 || r.x == 1.0)
        .collect();
    assert_eq!(ends.len(), 2);
    for r in ends {
        assert!(r.u.abs() < 1e-12, "{report}");
    }
    for r in &report.rows {
        assert!(r.error() <= report.max_error, "{report}");
        assert!((r.exact - (std::f64::consts::PI * r.x).sin()).abs() < 1e-15);
    }
    assert_eq!(
        file_names(&report.files),
        ["history.csv", "solution.png", "error.png", "loss.png"]
    );
    check_written(&report.files, &out.0, 0, Some(3001));
    let text = report.to_string();
    assert!(text.contains("max error"), "{text}");
    assert!(text.contains("over 1001 points"), "{text}");
    assert!(text.contains("sin(πx) exact"), "{text}");
    assert!(text.contains("trained 3000 steps"), "{text}");

    // deterministic given the seed: a second run gives the same numbers, bit for bit
    let again = pinn::run(&args).unwrap();
    assert_eq!(again.max_error.to_bits(), report.max_error.to_bits());
    assert_eq!(again.final_loss.to_bits(), report.final_loss.to_bits());
}

#[test]
fn pinn_with_a_boundary_penalty_also_reaches_the_target() {
    let out = TempDir::new("example-pinn", "penalty");
    let args = args(&out, &["--boundary", "penalty"]);
    let report = pinn::run(&args).unwrap();
    assert!(report.max_error <= 1e-3, "{report}");
    // the penalty holds the ends only approximately, but well within the target
    for r in report.rows.iter().filter(|r| r.x == 0.0 || r.x == 1.0) {
        assert!(r.u.abs() <= 1e-3, "{report}");
    }
    assert!(report.to_string().contains("penalty"));
}

#[test]
fn pinn_reports_bad_flags_as_errors() {
    let out = TempDir::new("example-pinn", "bad");
    for (flag, value, needle) in [
        ("--points", "1", "points"),
        ("--epochs", "0", "epochs"),
        ("--hidden", "0", "hidden"),
        ("--final-lr", "1.0", "final_lr"),
    ] {
        let err = pinn::run(&args(&out, &[flag, value])).unwrap_err();
        assert!(err.to_string().contains(needle), "{flag}: {err}");
    }
    // a learning rate that makes the loss blow up is an error naming the step, not a panic
    let err = pinn::run(&args(&out, &["--lr", "1e300", "--epochs", "200"])).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("at step"), "{text}");
    assert!(text.contains("examples/pinn.rs"), "{text}");
}
