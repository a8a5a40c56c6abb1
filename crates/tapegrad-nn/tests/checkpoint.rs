//! Checkpoints: the model, the optimizer's state and the progress in one safetensors file;
//! resuming from one continues bit for bit (in this process here; in a fresh process in the
//! facade's `tests/resume.rs`); the model part stays a plain, PyTorch-named safetensors file;
//! files that do not fit are errors that change nothing.

use std::fs;
use tapegrad_core::{rng, Array, Error, Result};
use tapegrad_nn::optim::{Adagrad, Adam, AdamW, Optimizer, RmsProp, Sgd};
use tapegrad_nn::Activation::{Identity, Tanh};
use tapegrad_nn::{load, save, Checkpoint, Mlp, Module, Progress};

mod common;

/// A fresh folder for one test, removed when the test ends.
fn scratch(name: &str) -> common::Scratch {
    common::Scratch::new("ckpt", name)
}

/// A folder for one test, the path `run.safetensors` in it, and an MLP drawn from `seed` and
/// trained `steps` steps by Adam at rate 0.01, with that Adam.
fn trained(
    name: &str,
    seed: u64,
    steps: usize,
) -> Result<(common::Scratch, std::path::PathBuf, Mlp<f32>, Adam<f32>)> {
    let dir = scratch(name);
    let path = dir.join("run.safetensors");
    let mut m = mlp(seed);
    let mut opt = Adam::new(0.01);
    train(&mut opt, &mut m, steps)?;
    Ok((dir, path, m, opt))
}

/// The message of the error `Checkpoint::load` must give for `path`.
fn load_err(path: &std::path::Path, m: &mut Mlp<f32>, opt: &mut dyn Optimizer<f32>) -> String {
    Checkpoint::load(path, m, opt).unwrap_err().to_string()
}

fn mlp(seed: u64) -> Mlp<f32> {
    Mlp::new(&[3, 6, 2], Tanh, Identity, &mut rng(seed)).expect("sizes")
}

fn params(m: &dyn Module<f32>) -> Vec<(String, Array<f32>)> {
    m.named_params()
        .into_iter()
        .map(|(n, p)| (n, p.value().clone()))
        .collect()
}

/// `steps` steps on a fixed regression.
fn train(opt: &mut dyn Optimizer<f32>, model: &mut Mlp<f32>, steps: usize) -> Result<()> {
    let x = Array::<f32>::randn([16, 3], 0.0, 1.0, &mut rng(5));
    let y = Array::<f32>::randn([16, 2], 0.0, 1.0, &mut rng(6));
    common::regress(opt, model, &x, &y, steps)
}

fn optimizers(lr: f64) -> Vec<Box<dyn Optimizer<f32>>> {
    vec![
        Box::new(Sgd::new(lr)),
        Box::new(Sgd::new(lr).momentum(0.9).weight_decay(1e-3)),
        Box::new(Adam::new(lr)),
        Box::new(AdamW::new(lr)),
        Box::new(RmsProp::new(lr).centered(true).momentum(0.3)),
        Box::new(Adagrad::new(lr)),
    ]
}

#[test]
fn save_and_load_continue_every_optimizer_exactly() -> Result<()> {
    let dir = scratch("continue");
    for (k, ((mut straight, mut first), mut second)) in optimizers(0.02)
        .into_iter()
        .zip(optimizers(0.02))
        .zip(optimizers(0.9))
        .enumerate()
    {
        let mut a = mlp(0);
        train(&mut *straight, &mut a, 8)?;

        let mut b = mlp(0);
        train(&mut *first, &mut b, 4)?;
        let path = dir.join(format!("{k}.safetensors"));
        let progress = Progress {
            epoch: 2,
            step: 1,
            global_step: 4,
            seed: 77,
        };
        Checkpoint::save(&path, &b, &*first, &progress)?;
        let mut c = mlp(1); // other weights: they must come from the file
        assert_eq!(Checkpoint::load(&path, &mut c, &mut *second)?, progress);
        assert_eq!(second.lr(), 0.02, "the learning rate comes back");
        assert_eq!(params(&b), params(&c));
        train(&mut *second, &mut c, 4)?;
        assert_eq!(params(&a), params(&c), "optimizer {k}");
    }
    Ok(())
}

#[test]
fn the_file_is_plain_safetensors_and_the_model_part_loads_alone() -> Result<()> {
    let (dir, path, m, mut opt) = trained("layout", 2, 3)?;
    Checkpoint::save(
        &path,
        &m,
        &opt,
        &Progress {
            epoch: 1,
            ..Progress::default()
        },
    )?;
    let bytes = fs::read(&path).expect("written");
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + n]).expect("a UTF-8 header");
    for needle in [
        r#""0.weight":{"dtype":"F32","shape":[3,6]"#,
        r#""optimizer.state.0.weight.exp_avg":{"dtype":"F32","shape":[3,6]"#,
        r#""optimizer.state.2.bias.exp_avg_sq":{"dtype":"F32","shape":[2]"#,
        r#""tapegrad.checkpoint":"1""#,
        r#""tapegrad.optimizer":"adam""#,
        r#""tapegrad.optimizer.lr":"0.01""#,
        r#""tapegrad.optimizer.state.0.weight.step":"3""#,
        r#""tapegrad.epoch":"1""#,
        r#""format":"pt""#,
    ] {
        assert!(header.contains(needle), "{needle} in {header}");
    }
    // `load` takes the model part of a checkpoint
    let mut copy = mlp(3);
    load(&mut copy, &path)?;
    assert_eq!(params(&copy), params(&m));
    // a plain model file is not a checkpoint
    let plain = dir.join("plain.safetensors");
    save(&m, &plain)?;
    let err = Checkpoint::load(&plain, &mut copy, &mut opt).unwrap_err();
    assert!(
        matches!(&err, Error::Format { path, .. } if *path == plain)
            && err.to_string().contains("not a tapegrad checkpoint"),
        "{err}"
    );
    Ok(())
}

#[test]
fn a_checkpoint_that_does_not_fit_changes_nothing() -> Result<()> {
    let (dir, path, mut m, mut adam) = trained("misfit", 4, 2)?;
    Checkpoint::save(&path, &m, &adam, &Progress::default())?;

    // another optimizer kind: an error naming the file; neither the model nor the optimizer
    // changed
    let mut other = mlp(5);
    let before = params(&other);
    let mut sgd = Sgd::<f32>::new(0.5).momentum(0.5);
    let err = Checkpoint::load(&path, &mut other, &mut sgd).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Format { .. }), "{msg}");
    assert!(
        msg.starts_with(&format!("{}: the checkpoint's optimizer state does not fit: cannot take the state of a adam optimizer", path.display())),
        "{msg}"
    );
    assert_eq!(params(&other), before);
    assert_eq!(sgd.lr(), 0.5);
    // another architecture: the model's error, naming the tensor
    let mut wide = Mlp::<f32>::new(&[3, 7, 2], Tanh, Identity, &mut rng(0))?;
    let before = params(&wide);
    let mut adam2 = Adam::new(0.3);
    let err = load_err(&path, &mut wide, &mut adam2);
    assert!(
        err.contains("tensor `0.weight` has shape [3, 6] in the file but [3, 7] in the model"),
        "{err}"
    );
    assert_eq!((params(&wide), adam2.lr()), (before, 0.3));
    // a counter that does not parse
    let mut bytes = fs::read(&path).expect("written");
    let needle = br#""tapegrad.epoch":"0""#;
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the epoch in the header");
    bytes[at + needle.len() - 2] = b'x'; // same length: only the value is wrong
    let bad = dir.join("bad.safetensors");
    fs::write(&bad, &bytes).expect("write");
    let err = load_err(&bad, &mut m, &mut adam);
    assert!(
        err.ends_with("metadata `tapegrad.epoch` = `x` is not a whole number"),
        "{err}"
    );
    Ok(())
}
