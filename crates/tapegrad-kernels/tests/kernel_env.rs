//! `TAPEGRAD_KERNEL` picks the kernel path when the process starts: each case runs this test
//! binary again as a child process with the variable set, and the child reports the path its
//! kernels run and what they compute. Not under Miri, which cannot start processes (the
//! paths themselves are tested under Miri by the GEMM and SIMD unit tests).
#![cfg(not(miri))]

use std::process::Command;
use tapegrad_kernels::{gemm, kernel_path, KernelPath, MatRef, ENV_VAR};

/// Set in the child: the child prints what it sees instead of spawning.
const CHILD: &str = "TAPEGRAD_KERNEL_TEST_CHILD";

/// In the child: prints `path=<name> product=<value>` (a 64x64x64 product's checksum, so
/// every path is seen computing). In the parent: nothing.
#[test]
fn child_reports_its_path() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let n = 64;
    let a: Vec<f32> = (0..n * n).map(|i| (i % 7) as f32 - 3.0).collect();
    let b: Vec<f32> = (0..n * n).map(|i| (i % 5) as f32 - 2.0).collect();
    let mut c = vec![0.0f32; n * n];
    gemm(
        n,
        n,
        n,
        &mut c,
        false,
        MatRef::rows(&a, n),
        MatRef::rows(&b, n),
    );
    let sum: f64 = c
        .iter()
        .enumerate()
        .map(|(i, &v)| v as f64 * (i % 13) as f64)
        .sum();
    println!("path={} product={sum}", kernel_path());
}

/// Runs the child with `TAPEGRAD_KERNEL=value` (or unset) and returns (stdout, stderr).
fn run_child(value: Option<&str>) -> (String, String) {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut cmd = Command::new(exe);
    cmd.args([
        "--exact",
        "child_reports_its_path",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD, "1");
    match value {
        Some(v) => cmd.env(ENV_VAR, v),
        None => cmd.env_remove(ENV_VAR),
    };
    let out = cmd.output().expect("the child runs");
    assert!(out.status.success(), "child failed: {out:?}");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `path=... product=...` line of a child's output.
fn report(stdout: &str) -> (String, String) {
    let at = stdout
        .find("path=")
        .unwrap_or_else(|| panic!("no report in {stdout:?}"));
    let line = stdout[at..].lines().next().unwrap_or_default();
    let (path, product) = line.split_once(' ').unwrap();
    (
        path.trim_start_matches("path=").to_string(),
        product.to_string(),
    )
}

#[test]
fn unset_runs_the_best_path() {
    let (out, err) = run_child(None);
    assert_eq!(report(&out).0, KernelPath::best().name());
    assert!(!err.contains("tapegrad:"), "unexpected warning: {err}");
}

#[test]
fn each_path_the_cpu_has_is_taken_and_computes_the_same() {
    let mut products = Vec::new();
    for path in KernelPath::available() {
        let (out, err) = run_child(Some(path.name()));
        let (got, product) = report(&out);
        assert_eq!(got, path.name());
        assert!(!err.contains("tapegrad:"), "unexpected warning: {err}");
        products.push(product);
    }
    // small integers: every path computes the product exactly
    assert!(products.windows(2).all(|w| w[0] == w[1]), "{products:?}");
}

#[test]
fn a_missing_path_falls_back_with_a_warning() {
    for path in KernelPath::ALL {
        if path.is_supported() {
            continue;
        }
        let (out, err) = run_child(Some(path.name()));
        assert!(KernelPath::available()
            .iter()
            .any(|p| p.name() == report(&out).0));
        assert!(err.contains("this CPU lacks"), "{err}");
    }
}

#[test]
fn an_unknown_value_warns_and_runs_the_best_path() {
    let (out, err) = run_child(Some("neon-ultra"));
    assert_eq!(report(&out).0, KernelPath::best().name());
    assert!(
        err.contains("unknown kernel path \"neon-ultra\": expected avx512, avx2 or portable"),
        "{err}"
    );
}

#[test]
fn case_and_spaces_do_not_matter() {
    let (out, _) = run_child(Some(" Portable "));
    assert_eq!(report(&out).0, "portable");
}
