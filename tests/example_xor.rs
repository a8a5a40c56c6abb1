//! examples/xor.rs run in full (5000 steps) as a library: 4/4 correct, final loss < 0.01, the
//! figures and the history written.

#[allow(dead_code)] // `main` and some helpers are only used by the program
#[path = "../examples/xor.rs"]
mod xor;

use clap::Parser;

#[test]
fn xor_learns_the_truth_table_and_writes_its_figures() {
    let out = std::env::temp_dir().join(format!("tapegrad-example-xor-{}", std::process::id()));
    let args = xor::Args::parse_from(["xor", "--quiet", "--out", out.to_str().unwrap()]);
    assert_eq!((args.epochs, args.lr, args.batch_size), (5000, 0.5, 4));
    let report = xor::run(&args).unwrap();
    assert_eq!(report.correct, 4, "{report}");
    assert!(report.final_loss < 0.01, "{report}");
    assert_eq!(report.history.len(), 5000);
    for r in &report.rows {
        assert!((r.output - r.target).abs() < 0.2, "{report}");
    }
    let names: Vec<String> = report
        .files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["history.csv", "loss.png", "boundary.png"]);
    for p in &report.files {
        let bytes = std::fs::read(p).unwrap();
        if p.extension().unwrap() == "png" {
            assert_eq!(&bytes[1..4], b"PNG", "{}", p.display());
        } else {
            assert_eq!(String::from_utf8(bytes).unwrap().lines().count(), 5001);
        }
    }
    // the report prints the truth table
    let text = report.to_string();
    assert!(text.contains("4/4 correct"), "{text}");
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn xor_reports_bad_flags_as_an_error() {
    let out = std::env::temp_dir().join(format!("tapegrad-example-xor-bad-{}", std::process::id()));
    let args = xor::Args::parse_from([
        "xor",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
        "--batch-size",
        "0",
    ]);
    let err = xor::run(&args).unwrap_err();
    assert!(err.to_string().contains("batch_size"), "{err}");
    // the error points at the example's call of `fit`, not into the library
    assert!(err.to_string().contains("examples/xor.rs"), "{err}");
    let _ = std::fs::remove_dir_all(&out);
}
