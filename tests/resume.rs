//! Exact resume: 6 epochs in one go give bit-identical weights to 3 epochs + a checkpoint +
//! 3 more epochs **in a fresh process** that loads it, for SGD, SGD with momentum and Adam
//! (a training loop of one's own with `Checkpoint::save` / `Checkpoint::load`) and through
//! `fit` (`FitConfig::checkpoint` / `FitConfig::resume`, with dropout, input noise,
//! shuffling, validation and early stopping that restores the best weights).
//!
//! The fresh process is this test binary run again with `TAPEGRAD_RESUME_CHILD=<case>|<dir>`:
//! then only the test `resume_child` does anything: it runs the second half of `<case>` from
//! `<dir>/ckpt.safetensors` and writes the weights to `<dir>/resumed.safetensors` (and `fit`'s
//! history to `<dir>/history.csv`).

use std::path::{Path, PathBuf};
use std::process::Command;
use tapegrad::data::{synthetic, train_test_split, Batches, Dataset};
use tapegrad::nn::optim::{Adam, Optimizer, Sgd};
use tapegrad::nn::{
    load, loss, save, Activation, Checkpoint, Dense, Dropout, Init, Module, Progress, Reduction,
    Sequential,
};
use tapegrad::train::{fit, Data, EarlyStopping, FitConfig, History, Loss};
use tapegrad::{rng, Result, Tape};

const CHILD: &str = "TAPEGRAD_RESUME_CHILD";
const SEED: u64 = 11;

mod common;
use common::fit_classes;

fn moons() -> (Dataset, Dataset) {
    let ds = synthetic::two_moons(120, 0.2, 4).unwrap();
    train_test_split(&ds, 0.25, 2, true).unwrap()
}

/// A small network with dropout; `init` seeds its weights (the resumed process builds it
/// with other weights: they must come from the checkpoint).
fn model(init: u64) -> Sequential<f32> {
    let mut r = rng(init);
    Sequential::new()
        .with(Dense::new(2, 16, Init::XavierUniform, &mut r))
        .with(Activation::Tanh)
        .with(Dropout::new(0.2, 5).unwrap())
        .with(Dense::new(16, 2, Init::XavierUniform, &mut r))
}

fn optimizer(case: &str, lr_scale: f64) -> Box<dyn Optimizer<f32>> {
    match case {
        "sgd" => Box::new(Sgd::new(0.1 * lr_scale)),
        "momentum" => Box::new(Sgd::new(0.05 * lr_scale).momentum(0.9).nesterov(true)),
        "adam" | "fit" | "fit-early-stopping" => Box::new(Adam::new(0.01 * lr_scale)),
        c => panic!("unknown case {c}"),
    }
}

/// Epochs `from..=to` of a hand-written loop: shuffled batches from `(SEED, epoch)`, dropout
/// reseeded from `(SEED, epoch, step)`; returns the number of steps taken.
fn hand_loop(
    model: &mut Sequential<f32>,
    opt: &mut dyn Optimizer<f32>,
    from: usize,
    to: usize,
) -> Result<u64> {
    let (train, _) = moons();
    let mut batches = Batches::new(train.len(), 16, Some(SEED), false)?;
    let mut tape = Tape::new();
    let mut steps = 0;
    model.train();
    for epoch in from..=to {
        for (s, idx) in batches.epoch(epoch as u64).enumerate() {
            model.reseed(tapegrad::nn::mix_seed(
                tapegrad::nn::mix_seed(SEED, epoch as u64),
                s as u64,
            ));
            let xb = train.x.select_rows(idx)?;
            let yb: Vec<usize> = idx.iter().map(|&i| train.y[i]).collect();
            let grads = {
                let logits = model.forward(tape.constant(xb))?;
                loss::cross_entropy_with_logits(logits, &yb, Reduction::Mean)?.backward()?
            };
            tape.reset();
            opt.step(model, &grads)?;
            steps += 1;
        }
    }
    Ok(steps)
}

fn config(case: &str, epochs: usize) -> FitConfig {
    let c = FitConfig::new(Loss::CrossEntropy)
        .epochs(epochs)
        .batch_size(16)
        .seed(SEED)
        .input_noise(0.05);
    if case == "fit-early-stopping" {
        // patience beyond the run: it never stops, but the best weights are put back at the
        // end, and which epoch was best comes from the first half
        c.early_stopping(EarlyStopping::new(20))
    } else {
        c
    }
}

/// `epochs` epochs through `fit` (resuming from `resume` if given, checkpointing to `ckpt`).
fn fit_run(
    case: &str,
    model: &mut Sequential<f32>,
    opt: &mut dyn Optimizer<f32>,
    epochs: usize,
    ckpt: Option<&Path>,
    resume: Option<&Path>,
) -> Result<History> {
    let (train, mut val) = moons();
    if case == "fit-early-stopping" {
        // flipped validation labels: the better the fit, the worse the validation loss, so
        // the best epoch is an early one, known to the second half only from the checkpoint
        val.y.iter_mut().for_each(|c| *c = 1 - *c);
    }
    let mut c = config(case, epochs);
    c.checkpoint = ckpt.map(Path::to_path_buf);
    c.resume = resume.map(Path::to_path_buf);
    fit(
        model,
        opt,
        Data::classes(&train.x, &train.y),
        Some(Data::classes(&val.x, &val.y)),
        &c,
        &mut (),
    )
}

/// The second half, in the fresh process.
#[test]
fn resume_child() {
    let Ok(spec) = std::env::var(CHILD) else {
        return; // only the fresh process runs this
    };
    let (case, dir) = spec.split_once('|').expect("<case>|<dir>");
    let dir = PathBuf::from(dir);
    let ckpt = dir.join("ckpt.safetensors");
    let mut m = model(999);
    let mut opt = optimizer(case, 7.0); // other settings: they must come from the checkpoint
    if case.starts_with("fit") {
        let h = fit_run(case, &mut m, &mut *opt, 6, None, Some(&ckpt)).unwrap();
        h.to_csv(dir.join("history.csv")).unwrap();
    } else {
        let progress = Checkpoint::load(&ckpt, &mut m, &mut *opt).unwrap();
        assert_eq!((progress.epoch, progress.seed), (3, SEED));
        hand_loop(&mut m, &mut *opt, progress.epoch + 1, 6).unwrap();
    }
    save(&m, dir.join("resumed.safetensors")).unwrap();
}

fn bits(m: &dyn Module<f32>) -> Vec<(String, Vec<u32>)> {
    m.named_params()
        .into_iter()
        .map(|(n, p)| (n, p.value().data().iter().map(|v| v.to_bits()).collect()))
        .collect()
}

/// The history without the durations.
fn figures(csv: &str) -> Vec<String> {
    csv.lines()
        .map(|l| l.rsplit_once(',').expect("7 fields").0.to_string())
        .collect()
}

#[test]
#[cfg_attr(miri, ignore)] // runs this binary again in a fresh process
fn six_epochs_equal_three_plus_three_in_a_fresh_process() {
    for case in ["sgd", "momentum", "adam", "fit", "fit-early-stopping"] {
        let dir =
            std::env::temp_dir().join(format!("tapegrad-resume-{}-{case}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ckpt = dir.join("ckpt.safetensors");

        // six epochs in one go
        let mut straight = model(1);
        let mut opt = optimizer(case, 1.0);
        let mut straight_history = None;
        if case.starts_with("fit") {
            let h = fit_run(case, &mut straight, &mut *opt, 6, None, None).unwrap();
            straight_history = Some(h);
        } else {
            hand_loop(&mut straight, &mut *opt, 1, 6).unwrap();
        }

        // three epochs and a checkpoint
        let mut first = model(1);
        let mut opt = optimizer(case, 1.0);
        if case.starts_with("fit") {
            fit_run(case, &mut first, &mut *opt, 3, Some(&ckpt), None).unwrap();
        } else {
            let steps = hand_loop(&mut first, &mut *opt, 1, 3).unwrap();
            let progress = Progress {
                epoch: 3,
                step: 0,
                global_step: steps,
                seed: SEED,
            };
            Checkpoint::save(&ckpt, &first, &*opt, &progress).unwrap();
        }

        // three more in a fresh process
        let status = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "resume_child", "--test-threads=1", "--nocapture"])
            .env(CHILD, format!("{case}|{}", dir.display()))
            .status()
            .unwrap();
        assert!(status.success(), "{case}: the resuming process failed");
        let mut resumed = model(2);
        load(&mut resumed, dir.join("resumed.safetensors")).unwrap();
        assert!(
            bits(&straight) == bits(&resumed),
            "{case}: the resumed weights differ from the uninterrupted run's"
        );
        if case != "fit-early-stopping" {
            // (with early stopping both end on the restored best weights, of an early epoch)
            assert_ne!(
                bits(&first),
                bits(&resumed),
                "{case}: the second half trained"
            );
        }
        if let Some(h) = straight_history {
            let resumed_csv = std::fs::read_to_string(dir.join("history.csv")).unwrap();
            assert_eq!(
                figures(&h.to_csv_string()),
                figures(&resumed_csv),
                "{case}: the history continues"
            );
            if case == "fit-early-stopping" {
                assert!(h.restored_best, "{h:?}");
                assert!(h.best_epoch.is_some_and(|b| b <= 3), "{h:?}");
            }
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[test]
fn resuming_with_another_configuration_is_refused() {
    let dir = std::env::temp_dir().join(format!("tapegrad-resume-{}-other", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ckpt = dir.join("ckpt.safetensors");
    let mut m = model(1);
    fit_run("fit", &mut m, &mut Adam::new(0.01), 1, Some(&ckpt), None).unwrap();
    let (train, _) = moons();
    let other = config("fit", 4).batch_size(8).resume(&ckpt);
    let err = fit_classes(&mut m, &mut Adam::new(0.01), &train, &other)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the checkpoint was written by another configuration")
            && err.contains("batch_size=16")
            && err.contains("batch_size=8"),
        "{err}"
    );
    // a plain model file is no checkpoint
    let plain = dir.join("plain.safetensors");
    save(&m, &plain).unwrap();
    let err = fit_classes(
        &mut m,
        &mut Adam::new(0.01),
        &train,
        &config("fit", 4).resume(&plain),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("not a tapegrad checkpoint"), "{err}");
    // resuming a finished run trains nothing more
    let before = bits(&m);
    let h = fit_run("fit", &mut m, &mut Adam::new(0.01), 1, None, Some(&ckpt)).unwrap();
    assert_eq!(h.len(), 1, "the history of the checkpoint");
    assert_eq!(bits(&m), before);
    std::fs::remove_dir_all(&dir).ok();
}
