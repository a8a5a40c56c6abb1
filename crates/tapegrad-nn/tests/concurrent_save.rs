//! Several savers writing different models to one path at once (threads of this process and a
//! second process), while a reader loads it in a loop: every save succeeds, every load
//! succeeds and reads the whole file of one of the savers, and no temporary file is left.
//!
//! The second process is this test binary run again with `TAPEGRAD_SAVER_CHILD=<path>`: the
//! test then only saves in a loop until `<path>.stop` exists.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use tapegrad_core::{rng, Array};
use tapegrad_nn::Activation::{Identity, Tanh};
use tapegrad_nn::{load, save, Mlp, Module};

mod common;

const CHILD: &str = "TAPEGRAD_SAVER_CHILD";
/// The seed of the second process's model.
const CHILD_SEED: u64 = 100;
/// How long the savers run (a loop bound, not a timing assertion).
const RUN: Duration = Duration::from_secs(3);

/// A model big enough that a save takes a while (about 400 KB), so that writes overlap.
fn model(seed: u64) -> Mlp<f32> {
    Mlp::new(&[256, 384, 8], Tanh, Identity, &mut rng(seed)).expect("sizes")
}

fn values(m: &Mlp<f32>) -> Vec<Array<f32>> {
    m.named_params()
        .into_iter()
        .map(|(_, p)| p.value().clone())
        .collect()
}

fn stop_file(path: &Path) -> PathBuf {
    path.with_extension("stop")
}

#[test]
#[cfg_attr(miri, ignore)] // threads, a second process and 3 s of file I/O
fn concurrent_saves_and_loads_of_one_path() {
    if let Ok(path) = std::env::var(CHILD) {
        // the second process: save until told to stop (with a safety bound)
        let path = PathBuf::from(path);
        let m = model(CHILD_SEED);
        let start = Instant::now();
        while !stop_file(&path).exists() && start.elapsed() < RUN * 10 {
            save(&m, &path).expect("the child's save");
        }
        return;
    }
    let dir = std::env::temp_dir().join(format!("tapegrad-concurrent-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("shared.safetensors");
    save(&model(0), &path).expect("the first save");

    let child = Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            "--exact",
            "concurrent_saves_and_loads_of_one_path",
            "--test-threads=1",
        ])
        .env(CHILD, &path)
        .spawn();
    let seeds = [1u64, 2, 3];
    let mut expected: Vec<Vec<Array<f32>>> = seeds.iter().map(|&s| values(&model(s))).collect();
    expected.push(values(&model(0)));
    expected.push(values(&model(CHILD_SEED)));

    let done = Arc::new(AtomicBool::new(false));
    let saves = Arc::new(AtomicUsize::new(0));
    let savers: Vec<_> = seeds
        .iter()
        .map(|&seed| {
            let (path, done, saves) = (path.clone(), done.clone(), saves.clone());
            thread::spawn(move || {
                let m = model(seed);
                let mut failures = Vec::new();
                while !done.load(Ordering::Relaxed) {
                    match save(&m, &path) {
                        Ok(()) => {
                            saves.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => failures.push(e.to_string()),
                    }
                }
                failures
            })
        })
        .collect();
    let reader = {
        let (path, done) = (path.clone(), done.clone());
        thread::spawn(move || {
            let mut m = model(7);
            let mut loads = 0usize;
            let mut failures = Vec::new();
            let mut foreign = 0usize;
            while !done.load(Ordering::Relaxed) {
                match load(&mut m, &path) {
                    Ok(()) => {
                        loads += 1;
                        if !expected.contains(&values(&m)) {
                            foreign += 1;
                        }
                    }
                    Err(e) => failures.push(e.to_string()),
                }
            }
            (loads, failures, foreign)
        })
    };
    thread::sleep(RUN);
    done.store(true, Ordering::Relaxed);
    let save_failures: Vec<String> = savers
        .into_iter()
        .flat_map(|h| h.join().expect("a saver thread"))
        .collect();
    let (loads, load_failures, foreign) = reader.join().expect("the reader thread");
    fs::write(stop_file(&path), b"").expect("the stop file");
    if let Ok(mut child) = child {
        let status = child.wait().expect("the child process");
        assert!(status.success(), "the saving process failed: {status}");
    }
    assert!(
        save_failures.is_empty(),
        "{} saves failed, e.g. {:?}",
        save_failures.len(),
        save_failures.first()
    );
    assert!(
        load_failures.is_empty(),
        "{} of {} loads failed, e.g. {:?}",
        load_failures.len(),
        loads + load_failures.len(),
        load_failures.first()
    );
    assert_eq!(foreign, 0, "loads that read no saver's whole model");
    assert!(saves.load(Ordering::Relaxed) > 0 && loads > 0);
    common::assert_entries(&dir, &["shared.safetensors", "shared.stop"]);
    fs::remove_dir_all(&dir).ok();
}
