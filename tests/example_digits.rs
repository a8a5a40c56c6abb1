//! examples/digits.rs as a library at reduced size: a few epochs reach > 90 % test accuracy,
//! and every figure is written.

#[allow(dead_code)] // `main` and some helpers are only used by the program
#[path = "../examples/digits.rs"]
mod digits;

use clap::Parser;

mod common;
use common::{check_written, example_argv, file_names, TempDir};

#[test]
fn digits_reaches_90_percent_in_a_few_epochs() {
    let out = TempDir::new("example-digits", "full");
    let args = digits::Args::parse_from(example_argv("digits", &out.0, &["--epochs", "5"]));
    let report = digits::run(&args).unwrap();
    assert!(report.test_accuracy > 0.90, "{report}");
    // 80/20 into training and test rows, then a tenth of the training rows for validation
    assert_eq!(report.rows, (1293, 144, 360));
    assert_eq!(report.sizes, vec![64, 64, 32, 10]);
    assert_eq!(report.history.len(), 5);
    assert_eq!(report.confusion.total(), 360);
    assert!((report.confusion.accuracy() - report.test_accuracy).abs() < 1e-12);
    // the curves are the validation rows' (the test rows are measured once, at the end)
    let last = report.history.last().unwrap();
    assert!(last.val_accuracy.is_some_and(|a| a > 0.85), "{last:?}");
    assert_eq!(
        file_names(&report.files),
        [
            "history.csv",
            "curves.png",
            "confusion.png",
            "misclassified.png"
        ]
    );
    check_written(&report.files, &out.0, 1000, None);
    let text = report.to_string();
    assert!(
        text.contains("precision") && text.contains("true\\pred"),
        "{text}"
    );
}

#[test]
fn digits_rejects_bad_flags_with_an_error() {
    let out = TempDir::new("example-digits", "bad");
    for flags in [
        ["--hidden", "64,0"],
        ["--test-fraction", "1.5"],
        ["--val-fraction", "0"],
        ["--batch-size", "0"],
    ] {
        let argv = example_argv("digits", &out.0, &[&["--epochs", "1"], &flags[..]].concat());
        let err = digits::run(&digits::Args::parse_from(argv)).unwrap_err();
        assert!(
            matches!(err, tapegrad::Error::InvalidArgument { .. }),
            "{flags:?}: {err}"
        );
    }
}

#[test]
fn digits_reports_a_diverging_learning_rate_as_an_error() {
    let out = TempDir::new("example-digits", "nan");
    let args = digits::Args::parse_from(example_argv("digits", &out.0, &["--lr", "1e38"]));
    let err = digits::run(&args).unwrap_err();
    // the first step already leaves the weights NaN: the optimizer's check stops it there
    assert_eq!(
        err.to_string(),
        "adamw: parameter `0.weight` after the update at epoch 1, step 1: value is NaN (not finite)"
    );
}
