//! examples/xor.rs run in full (5000 steps) as a library: 4/4 correct, final loss < 0.01, the
//! figures and the history written.

#[allow(dead_code)] // `main` and some helpers are only used by the program
#[path = "../examples/xor.rs"]
mod xor;

use clap::Parser;

mod common;
use common::{check_written, example_argv, file_names, TempDir};

#[test]
fn xor_learns_the_truth_table_and_writes_its_figures() {
    let out = TempDir::new("example-xor", "full");
    let args = xor::Args::parse_from(example_argv("xor", &out.0, &[]));
    assert_eq!((args.epochs, args.lr, args.batch_size), (5000, 0.5, 4));
    let report = xor::run(&args).unwrap();
    assert_eq!(report.correct, 4, "{report}");
    assert!(report.final_loss < 0.01, "{report}");
    assert_eq!(report.history.len(), 5000);
    for r in &report.rows {
        assert!((r.output - r.target).abs() < 0.2, "{report}");
    }
    assert_eq!(
        file_names(&report.files),
        ["history.csv", "loss.png", "boundary.png"]
    );
    check_written(&report.files, &out.0, 0, Some(5001));
    // the report prints the truth table
    let text = report.to_string();
    assert!(text.contains("4/4 correct"), "{text}");
}

#[test]
fn xor_reports_bad_flags_as_an_error() {
    let out = TempDir::new("example-xor", "bad");
    let args = xor::Args::parse_from(example_argv("xor", &out.0, &["--batch-size", "0"]));
    let err = xor::run(&args).unwrap_err();
    assert!(err.to_string().contains("batch_size"), "{err}");
    // the error points at the example's call of `fit`, not into the library
    assert!(err.to_string().contains("examples/xor.rs"), "{err}");
}
