//! examples/digits.rs as a library at reduced size: a few epochs reach > 90 % test accuracy,
//! and every figure is written.

#[allow(dead_code)] // `main` and some helpers are only used by the program
#[path = "../examples/digits.rs"]
mod digits;

use clap::Parser;

#[test]
fn digits_reaches_90_percent_in_a_few_epochs() {
    let out = std::env::temp_dir().join(format!("tapegrad-example-digits-{}", std::process::id()));
    let args = digits::Args::parse_from([
        "digits",
        "--quiet",
        "--epochs",
        "5",
        "--out",
        out.to_str().unwrap(),
    ]);
    let report = digits::run(&args).unwrap();
    assert!(report.test_accuracy > 0.90, "{report}");
    assert_eq!(report.rows, (1437, 360));
    assert_eq!(report.sizes, vec![64, 64, 32, 10]);
    assert_eq!(report.history.len(), 5);
    assert_eq!(report.confusion.total(), 360);
    assert!((report.confusion.accuracy() - report.test_accuracy).abs() < 1e-12);
    let last = report.history.last().unwrap();
    assert_eq!(last.val_accuracy, Some(report.test_accuracy));
    let names: Vec<String> = report
        .files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "history.csv",
            "curves.png",
            "confusion.png",
            "misclassified.png"
        ]
    );
    for p in report
        .files
        .iter()
        .filter(|p| p.extension().unwrap() == "png")
    {
        let bytes = std::fs::read(p).unwrap();
        assert!(
            bytes.len() > 1000 && &bytes[1..4] == b"PNG",
            "{}",
            p.display()
        );
    }
    let text = report.to_string();
    assert!(
        text.contains("precision") && text.contains("true\\pred"),
        "{text}"
    );
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn digits_rejects_bad_flags_with_an_error() {
    let out = std::env::temp_dir().join(format!(
        "tapegrad-example-digits-bad-{}",
        std::process::id()
    ));
    for flags in [
        vec!["--hidden", "64,0"],
        vec!["--test-fraction", "1.5"],
        vec!["--batch-size", "0"],
    ] {
        let mut argv = vec![
            "digits",
            "--quiet",
            "--epochs",
            "1",
            "--out",
            out.to_str().unwrap(),
        ];
        argv.extend(flags.iter().copied());
        let err = digits::run(&digits::Args::parse_from(argv)).unwrap_err();
        assert!(
            matches!(err, tapegrad::Error::InvalidArgument { .. }),
            "{flags:?}: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn digits_reports_a_diverging_learning_rate_as_an_error() {
    let out = std::env::temp_dir().join(format!(
        "tapegrad-example-digits-nan-{}",
        std::process::id()
    ));
    let args = digits::Args::parse_from([
        "digits",
        "--quiet",
        "--lr",
        "1e38",
        "--out",
        out.to_str().unwrap(),
    ]);
    let err = digits::run(&args).unwrap_err();
    // the first step already leaves the weights NaN: the optimizer's check stops it there
    assert_eq!(
        err.to_string(),
        "adamw: parameter `0.weight` after the update at epoch 1, step 1: value is NaN (not finite)"
    );
    let _ = std::fs::remove_dir_all(&out);
}
