//! The study example at tiny size on the bundled digits: every study writes its CSV (one row
//! per run, with its settings), its PNG and its table; a second invocation reuses the rows;
//! a torn last line is recovered and its run recomputed to the same number; rows made with
//! other settings are ignored; bad arguments are clean errors (exit code 1).

#[allow(dead_code)]
#[path = "../examples/study/main.rs"]
mod study;

use study::{launch, run, Args, Report};

mod common;
use common::{check_written, file_names, TempDir};

fn args(name: &str, out: &TempDir, extra: &[&str]) -> Args {
    let mut argv = vec![
        "study".to_string(),
        name.into(),
        "--digits".into(),
        "--quiet".into(),
        "--out".into(),
        out.0.display().to_string(),
    ];
    argv.extend(extra.iter().map(|s| s.to_string()));
    <Args as clap::Parser>::parse_from(argv)
}

fn run_study(name: &str, out: &TempDir, extra: &[&str]) -> Report {
    run(&args(name, out, extra)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The CSV's lines (header first).
fn csv_lines(out: &TempDir, name: &str) -> Vec<String> {
    std::fs::read_to_string(out.0.join(format!("{name}.csv")))
        .expect("the CSV exists")
        .lines()
        .map(String::from)
        .collect()
}

/// Column `col` (by header name) of every data line.
fn column(lines: &[String], col: &str) -> Vec<String> {
    let i = lines[0]
        .split(',')
        .position(|h| h == col)
        .unwrap_or_else(|| panic!("no column {col}"));
    lines[1..]
        .iter()
        .map(|l| l.split(',').nth(i).unwrap().to_string())
        .collect()
}

/// Checks an MLP study run with 1 run of `epochs` epochs: one row per setting, each with its
/// label, the digits, the epochs and a test accuracy in [0, 1]; the table lists each label;
/// the CSV and PNG were written.
fn check_mlp_study(name: &str, labels: &[&str], epochs: usize, r: &Report, out: &TempDir) {
    let lines = csv_lines(out, name);
    assert_eq!(lines.len(), 1 + labels.len(), "{lines:?}");
    assert_eq!(column(&lines, "study"), vec![name; labels.len()]);
    // the rows come in the order the runs finished
    let mut settings = column(&lines, "setting");
    settings.sort();
    let mut want: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
    want.sort();
    assert_eq!(settings, want);
    assert!(column(&lines, "dataset").iter().all(|d| d == "digits"));
    assert!(column(&lines, "epochs")
        .iter()
        .all(|e| *e == epochs.to_string()));
    for m in column(&lines, "metric") {
        let acc: f64 = m.parse().unwrap();
        assert!((0.0..=1.0).contains(&acc), "{acc}");
    }
    let shown = r.to_string();
    for l in labels {
        assert!(shown.contains(l), "{l} missing from {shown}");
    }
    for col in ["median", "IQR", "min", "max", "s/run", "s/epoch"] {
        assert!(shown.contains(col), "{col} missing from {shown}");
    }
    assert_eq!(r.summaries.len(), labels.len());
    assert_eq!((r.computed, r.reused), (labels.len(), 0));
    let names = file_names(&r.files);
    assert_eq!(names[..2], [format!("{name}.csv"), format!("{name}.png")]);
    check_written(&r.files, &out.0, 2_000, None);
}

#[test]
fn activations_batch_and_hidden_sizes_at_tiny_size() {
    let out = TempDir::new("example-study", "mlp");
    let tiny = ["--runs", "1", "--epochs", "1"];
    let r = run_study("activations", &out, &tiny);
    check_mlp_study(
        "activations",
        &["ReLU", "sigmoid", "tanh", "GELU", "SiLU"],
        1,
        &r,
        &out,
    );
    let r = run_study("batch-size", &out, &tiny);
    let batches = [
        "batch 8",
        "batch 16",
        "batch 32",
        "batch 64",
        "batch 128",
        "batch 256",
    ];
    check_mlp_study("batch-size", &batches, 1, &r, &out);
    let lines = csv_lines(&out, "batch-size");
    for (setting, batch) in column(&lines, "setting")
        .iter()
        .zip(column(&lines, "batch"))
    {
        assert_eq!(*setting, format!("batch {batch}"));
    }
    let r = run_study("hidden-size", &out, &tiny);
    check_mlp_study(
        "hidden-size",
        &["16-16", "32-32", "64-64", "128-128"],
        1,
        &r,
        &out,
    );
    let lines = csv_lines(&out, "hidden-size");
    let configs = column(&lines, "config");
    let i = column(&lines, "setting")
        .iter()
        .position(|s| s == "16-16")
        .unwrap();
    assert!(
        configs[i].starts_with("64-16-16-10 ReLU Adam"),
        "{configs:?}"
    );
}

#[test]
fn hidden_layers_learn_the_digits() {
    // 2 runs of 20 epochs: the 128-128 network is far above chance and the median lies
    // between the quartiles.
    let out = TempDir::new("example-study", "learn");
    let r = run_study("hidden-size", &out, &["--runs", "2", "--epochs", "20"]);
    let wide = &r.summaries[3];
    assert_eq!((wide.label.as_str(), wide.runs), ("128-128", 2));
    assert!(wide.median > 0.8, "{wide:?}");
    assert!(wide.min <= wide.quartiles.0 && wide.quartiles.0 <= wide.median);
    assert!(wide.median <= wide.quartiles.1 && wide.quartiles.1 <= wide.max);
}

#[test]
fn optimizers_write_loss_curves() {
    let out = TempDir::new("example-study", "optimizers");
    let r = run_study("optimizers", &out, &["--runs", "2", "--epochs", "2"]);
    let labels = [
        "SGD 0.01",
        "SGD+momentum 0.01",
        "Adam 1e-3",
        "AdamW 1e-3",
        "RMSProp 1e-3",
    ];
    let lines = csv_lines(&out, "optimizers");
    assert_eq!(lines.len(), 1 + 2 * labels.len());
    // every run measured its validation and training loss after each of its 2 epochs
    for col in ["train_curve", "val_curve"] {
        for curve in column(&lines, col) {
            let v: Vec<f64> = curve.split(';').map(|x| x.parse().unwrap()).collect();
            assert_eq!(v.len(), 2, "{curve}");
            assert!(v.iter().all(|x| x.is_finite() && *x > 0.0), "{curve}");
        }
    }
    assert_eq!(r.summaries.len(), 5);
    assert!(r.summaries.iter().all(|s| s.runs == 2));
    let names = file_names(&r.files);
    assert_eq!(
        names,
        ["optimizers.csv", "optimizers.png", "optimizers_curves.png"]
    );
    check_written(&r.files, &out.0, 2_000, None);
    let shown = r.to_string();
    assert!(shown.contains("median final validation loss"), "{shown}");
}

#[test]
fn latent_fills_both_heatmaps() {
    let out = TempDir::new("example-study", "latent");
    let r = run_study("latent", &out, &["--epochs", "1"]);
    let lines = csv_lines(&out, "latent");
    assert_eq!(lines.len(), 1 + 50);
    let settings = column(&lines, "setting");
    let mut sorted = settings.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 50);
    let configs = column(&lines, "config");
    let i = settings
        .iter()
        .position(|s| s == "BCE latent 64 depth 1")
        .unwrap();
    assert_eq!(
        configs[i],
        "64-128x1-64-128x1-64 ReLU sigmoid Adam 0.001 BCE"
    );
    assert_eq!(
        r.summaries.last().unwrap().label,
        "BCE latent 64 depth 5",
        "the table follows the grid's order"
    );
    // test reconstruction losses: MSE of [0, 1] pixels below 1, BCE positive
    for (s, m) in settings.iter().zip(column(&lines, "metric")) {
        let loss: f64 = m.parse().unwrap();
        assert!(loss.is_finite() && loss > 0.0, "{s}: {loss}");
        if s.starts_with("MSE") {
            assert!(loss < 1.0, "{s}: {loss}");
        }
    }
    assert_eq!(r.summaries.len(), 50);
    assert_eq!(file_names(&r.files), ["latent.csv", "latent.png"]);
    check_written(&r.files, &out.0, 5_000, None);
}

#[test]
fn tsne_maps_the_codes_and_scores_them() {
    let out = TempDir::new("example-study", "tsne");
    let r = run_study("tsne", &out, &["--quick"]);
    let lines = csv_lines(&out, "tsne");
    assert_eq!(lines[0], "x,y,label");
    assert_eq!(lines.len(), 1 + 360, "every bundled test digit is mapped");
    let labels = column(&lines, "label");
    for d in 0..10 {
        assert!(
            labels.iter().any(|l| *l == d.to_string()),
            "digit {d} is drawn"
        );
    }
    assert!(column(&lines, "x")
        .iter()
        .all(|v| v.parse::<f64>().unwrap().is_finite()));
    // the map keeps the codes' neighbourhoods: its 5-NN accuracy is the codes' within a few
    // points (the codes of the bundled digits score 0.86)
    let acc = |what: &str| -> f64 {
        let line = r.table.lines().find(|l| l.contains(what)).unwrap();
        line.split_whitespace().last().unwrap().parse().unwrap()
    };
    let (codes, map) = (acc("in the 4-D codes"), acc("in the 2-D map"));
    assert!(
        codes > 0.7 && map > 0.7 && (codes - map).abs() < 0.05,
        "{codes} {map}"
    );
    assert!(r.notes[0].starts_with("seconds: autoencoder training"));
    assert_eq!(
        file_names(&r.files),
        [
            "tsne.csv",
            "tsne.png",
            "tsne_codes.npy",
            "tsne_labels.npy",
            "tsne_map.npy"
        ]
    );
    check_written(&r.files[..2], &out.0, 5_000, Some(361));
    // the .npy files for scripts/tsne_compare.py: the codes, labels and map of the CSV
    let codes = tapegrad::data::npy::read_npy::<f32>(&r.files[2]).unwrap();
    let labels = tapegrad::data::npy::read_npy_labels(&r.files[3]).unwrap();
    let map = tapegrad::data::npy::read_npy::<f32>(&r.files[4]).unwrap();
    assert_eq!((codes.dims(), map.dims()), (&[360, 4][..], &[360, 2][..]));
    let csv_labels = column(&lines, "label");
    assert!(labels
        .iter()
        .zip(&csv_labels)
        .all(|(l, c)| l.to_string() == *c));
    assert_eq!(labels.len(), 360);
    let xs = column(&lines, "x");
    assert!(xs
        .iter()
        .zip(map.data().chunks(2))
        .all(|(x, p)| x.parse::<f32>().unwrap() == p[0]));
}

#[test]
fn gradcheck_table_agrees_with_finite_differences() {
    let out = TempDir::new("example-study", "gradcheck");
    let r = run_study("gradcheck", &out, &[]);
    let lines = csv_lines(&out, "gradcheck");
    assert_eq!(
        lines[0],
        "parameter,shape,elements,checked,tape_norm,fd_norm,rel_error"
    );
    assert_eq!(
        column(&lines, "parameter"),
        ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    );
    assert_eq!(
        column(&lines, "shape"),
        ["64x64", "64", "64x32", "32", "32x10", "10"]
    );
    for l in &lines[1..] {
        let f: Vec<&str> = l.split(',').collect();
        let (tape, fd, rel): (f64, f64, f64) = (
            f[4].parse().unwrap(),
            f[5].parse().unwrap(),
            f[6].parse().unwrap(),
        );
        assert!(tape > 0.0 && (tape - fd).abs() < 1e-6 * tape, "{l}");
        assert!(rel < 1e-6, "{l}");
        assert_eq!(
            f[2], f[3],
            "every element of the digits MLP is checked: {l}"
        );
    }
    assert!(r.to_string().contains("|finite diff|"), "{r}");
    check_written(&r.files, &out.0, 2_000, Some(7));
}

#[test]
fn resumes_from_the_csv_and_recovers_a_torn_line() {
    let out = TempDir::new("example-study", "resume");
    let tiny = ["--runs", "2", "--epochs", "1"];
    let first = run_study("activations", &out, &tiny);
    assert_eq!((first.computed, first.reused), (10, 0));
    let path = out.0.join("activations.csv");
    let written = std::fs::read_to_string(&path).unwrap();

    // Again: every row is reused, nothing is appended.
    let again = run_study("activations", &out, &tiny);
    assert_eq!((again.computed, again.reused), (0, 10));
    assert!(again.to_string().contains("0 computed now, 10 reused"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), written);
    let values =
        |r: &Report| -> Vec<Vec<f64>> { r.summaries.iter().map(|s| s.values.clone()).collect() };
    assert_eq!(values(&again), values(&first));

    // A torn last line (stopped while writing it): cut off, and its run done again, to the
    // same test accuracy (the seed comes from study, setting and run).
    std::fs::write(&path, &written[..written.len() - 12]).unwrap();
    let torn = run_study("activations", &out, &tiny);
    assert!(torn.recovered_torn_line);
    assert_eq!((torn.computed, torn.reused), (1, 9));
    assert!(torn.to_string().contains("torn last line"));
    let lines = csv_lines(&out, "activations");
    let before: Vec<String> = written.lines().map(String::from).collect();
    assert_eq!(lines.len(), before.len());
    assert_eq!(lines[..10], before[..10]);
    assert_eq!(column(&lines, "metric"), column(&before, "metric"));
    assert_eq!(column(&lines, "seed"), column(&before, "seed"));

    // Other epochs: the old rows are not reused (and stay in the file).
    let other = run_study("activations", &out, &["--runs", "2", "--epochs", "2"]);
    assert_eq!((other.computed, other.reused, other.ignored), (10, 0, 10));
    assert_eq!(csv_lines(&out, "activations").len(), 21);
}

#[test]
fn bad_arguments_are_clean_errors() {
    let out = TempDir::new("example-study", "bad");
    let dir = out.0.display().to_string();
    let argv = |extra: &[&str]| -> Vec<String> {
        ["study", "--quiet", "--digits", "--out", &dir]
            .iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect()
    };
    assert_eq!(launch(argv(&["no-such-study"])), 1);
    assert_eq!(launch(argv(&["activations", "--runs", "0"])), 1);
    assert_eq!(launch(argv(&["activations", "--epochs", "0"])), 1);
    let err = <Args as clap::Parser>::try_parse_from(argv(&["no-such-study"])).unwrap_err();
    assert!(err.to_string().contains("no-such-study"), "{err}");
    let err = run(&args("activations", &out, &["--runs", "0"])).unwrap_err();
    assert!(err.to_string().contains("--runs"), "{err}");
    // Nothing was written by the refused runs.
    assert_eq!(std::fs::read_dir(&out.0).unwrap().count(), 0);

    // A file at the CSV's place that is not a study's CSV is left alone.
    let csv = out.0.join("activations.csv");
    std::fs::write(&csv, "a,b\n1,2\n").unwrap();
    let err = run(&args(
        "activations",
        &out,
        &["--runs", "1", "--epochs", "1"],
    ))
    .unwrap_err();
    assert!(
        err.to_string().contains(&csv.display().to_string()),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), "a,b\n1,2\n");
}
