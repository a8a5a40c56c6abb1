//! The shared training loop `tapegrad::train`: learning, early stopping with the best weights
//! put back, the NaN-loss error, the history CSV, the callback protocol, determinism, the input
//! transform and noise, evaluation and prediction.

use tapegrad::data::{self, synthetic, train_test_split};
use tapegrad::nn::optim::{Adam, Sgd};
use tapegrad::nn::Activation::{Identity, Relu, Sigmoid, Tanh};
use tapegrad::nn::{Autoencoder, Dense, Dropout, Init, Mlp, Module, Sequential};
use tapegrad::train::{
    evaluate, fit, fit_with, predict, predict_classes, Accuracy, Callback, Data, EarlyStopping,
    EpochStats, FitConfig, History, InputTransform, Loss, Monitor,
};
use tapegrad::{rng, Array, Error};

mod common;
use common::{fit_classes, fit_classes_validated};

fn moons() -> (data::Dataset, data::Dataset) {
    let ds = synthetic::two_moons(200, 0.15, 3).unwrap();
    train_test_split(&ds, 0.25, 1, true).unwrap()
}

fn mlp(seed: u64) -> Mlp<f32> {
    Mlp::new(&[2, 16, 2], Tanh, Identity, &mut rng(seed)).unwrap()
}

fn weights(m: &dyn Module<f32>) -> Vec<Array<f32>> {
    m.named_params()
        .into_iter()
        .map(|(_, p)| p.value().clone())
        .collect()
}

/// An epoch's figures without its duration.
type Figures = (f64, Option<f64>, Option<f64>, Option<f64>);

fn losses(h: &History) -> Vec<Figures> {
    h.epochs
        .iter()
        .map(|e| (e.train_loss, e.train_accuracy, e.val_loss, e.val_accuracy))
        .collect()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("tapegrad-train-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn fit_reduces_the_loss_and_learns() {
    let (train, val) = moons();
    let mut model = mlp(0);
    let config = FitConfig::new(Loss::CrossEntropy).epochs(40).batch_size(16);
    let before = evaluate(&mut model, Data::classes(&val.x, &val.y), &config).unwrap();
    let h = fit_classes_validated(
        &mut model,
        &mut Adam::new(0.02),
        &train,
        Some(&val),
        &config,
    )
    .unwrap();
    assert_eq!(h.len(), 40);
    assert!(!h.stopped_early);
    let (first, last) = (&h.epochs[0], h.last().unwrap());
    assert_eq!((first.epoch, last.epoch), (1, 40));
    assert!(
        last.train_loss < first.train_loss / 3.0,
        "{} -> {}",
        first.train_loss,
        last.train_loss
    );
    assert!(last.val_accuracy.unwrap() > 0.95, "{last:?}");
    assert!(last.train_accuracy.unwrap() > 0.95, "{last:?}");
    // evaluate agrees with the history's last validation figures and with predict_classes
    let after = evaluate(&mut model, Data::classes(&val.x, &val.y), &config).unwrap();
    assert!(after.loss < before.loss / 3.0);
    assert!((after.loss - last.val_loss.unwrap()).abs() < 1e-9);
    let pred = predict_classes(&mut model, &val.x, 7).unwrap();
    let acc = data::accuracy(&pred, &val.y).unwrap();
    assert_eq!(Some(acc), after.accuracy);
    assert_eq!(last.val_accuracy, after.accuracy);
}

#[test]
fn evaluate_and_predict_do_not_depend_on_the_batch_size() {
    let (train, _) = moons();
    let mut model = mlp(4);
    let full = predict(&mut model, &train.x, 1000).unwrap();
    let small = predict(&mut model, &train.x, 7).unwrap();
    assert_eq!(full.dims(), &[150, 2]);
    assert!(full.approx_eq(&small, 1e-6, 1e-6));
    let a = evaluate(
        &mut model,
        Data::classes(&train.x, &train.y),
        &FitConfig::new(Loss::CrossEntropy).eval_batch_size(1000),
    )
    .unwrap();
    let b = evaluate(
        &mut model,
        Data::classes(&train.x, &train.y),
        &FitConfig::new(Loss::CrossEntropy).eval_batch_size(9),
    )
    .unwrap();
    assert!((a.loss - b.loss).abs() < 1e-6, "{a:?} {b:?}");
    assert_eq!(a.accuracy, b.accuracy);
    // no rows: an error (tests/fit_guards.rs)
    let empty = Array::<f32>::zeros([0, 2]);
    assert!(predict(&mut model, &empty, 8).is_err());
}

/// A validation set whose labels are the training labels flipped: the better the model fits
/// the training set, the worse the validation loss, so early stopping must trigger.
fn early_stopping_run(restore_best: bool, epochs: usize) -> (History, Vec<Array<f32>>) {
    let (train, _) = moons();
    let flipped: Vec<usize> = train.y.iter().map(|&c| 1 - c).collect();
    let mut model = mlp(1);
    let es = EarlyStopping {
        patience: 3,
        min_delta: 0.0,
        restore_best,
        monitor: Monitor::ValLoss,
    };
    let mut config = FitConfig::new(Loss::CrossEntropy)
        .epochs(epochs)
        .batch_size(16)
        .seed(5);
    if epochs > 10 {
        config = config.early_stopping(es);
    }
    let h = fit(
        &mut model,
        &mut Adam::new(0.02),
        Data::classes(&train.x, &train.y),
        Some(Data::classes(&train.x, &flipped)),
        &config,
        &mut (),
    )
    .unwrap();
    (h, weights(&model))
}

#[test]
fn early_stopping_stops_and_restores_the_best_weights() {
    let (h, restored) = early_stopping_run(true, 100);
    assert!(h.stopped_early, "{h:?}");
    let best = h.best_epoch.expect("a best epoch");
    assert_eq!(h.len(), best + 3, "stops `patience` epochs after the best");
    assert!(h.restored_best);
    let best_loss = h.best().unwrap().val_loss.unwrap();
    for e in &h.epochs {
        assert!(e.val_loss.unwrap() >= best_loss);
    }
    // The restored weights are exactly the weights after the best epoch: train the same model
    // with the same seed for `best` epochs only.
    let (h_short, snapshot) = early_stopping_run(true, best);
    assert_eq!(h_short.len(), best);
    assert_eq!(losses(&h_short), losses(&h)[..best].to_vec());
    assert_eq!(restored.len(), snapshot.len());
    for (r, s) in restored.iter().zip(&snapshot) {
        assert_eq!(r, s, "restored weights differ from the best epoch's");
    }
    // Without restoring, the weights are those of the last epoch, which differ.
    let (h_last, last) = early_stopping_run(false, 100);
    assert_eq!(h_last.len(), h.len());
    assert!(!h_last.restored_best);
    assert!(last.iter().zip(&restored).any(|(a, b)| a != b));
}

#[test]
fn early_stopping_on_accuracy_without_validation_watches_the_training_figure() {
    let (train, _) = moons();
    let mut model = mlp(2);
    let config = FitConfig::new(Loss::CrossEntropy)
        .epochs(200)
        .batch_size(150)
        .early_stopping(EarlyStopping {
            patience: 5,
            min_delta: 0.0,
            restore_best: true,
            monitor: Monitor::ValAccuracy,
        });
    let h = fit_classes(&mut model, &mut Sgd::new(0.1), &train, &config).unwrap();
    let best = h.best().unwrap().train_accuracy.unwrap();
    assert!(h.epochs.iter().all(|e| e.train_accuracy.unwrap() <= best));
    assert!(h.stopped_early && h.len() < 200);
}

#[test]
fn a_nan_loss_names_the_epoch_and_the_step() {
    // A NaN in row 9: without shuffling, batches of 4 put it in step 3 of epoch 1.
    let (train, _) = moons();
    let mut x = train.x.clone();
    x.data_mut()[9 * 2] = f32::NAN;
    let config = FitConfig::new(Loss::CrossEntropy)
        .batch_size(4)
        .shuffle(false);
    let before = weights(&mlp(0));
    let mut model = mlp(0);
    let err = fit(
        &mut model,
        &mut Sgd::new(0.1),
        Data::classes(&x, &train.y),
        None,
        &config,
        &mut (),
    )
    .unwrap_err();
    match &err {
        Error::NonFinite { what, value } => {
            assert_eq!(what, "training loss at epoch 1, step 3");
            assert!(value.is_nan());
        }
        e => panic!("expected NonFinite, got {e}"),
    }
    assert_eq!(
        err.to_string(),
        "training loss at epoch 1, step 3: value is NaN (not finite)"
    );
    // the two steps before the NaN updated the weights, the NaN step did not
    let after = weights(&model);
    assert!(after.iter().all(|w| w.data().iter().all(|v| v.is_finite())));
    assert_ne!(before, after);

    // A learning rate of 1e30 blows the weights of a regression up: the squared error
    // overflows f32 on the next step.
    let mut model = Mlp::<f32>::new(&[2, 16, 1], Relu, Identity, &mut rng(0)).unwrap();
    let y = train.label_column();
    let err = fit(
        &mut model,
        &mut Sgd::new(1e30),
        Data::values(&train.x, &y),
        None,
        &FitConfig::new(Loss::Mse).epochs(5),
        &mut (),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, Error::NonFinite { .. })
            && msg.starts_with("training loss at epoch 1, step 2:"),
        "{msg}"
    );
}

#[test]
fn history_csv_is_written_whole() {
    let (train, val) = moons();
    let mut model = mlp(0);
    let config = FitConfig::new(Loss::CrossEntropy).epochs(3);
    let mut adam = Adam::new(0.01);
    let h = fit_classes_validated(&mut model, &mut adam, &train, Some(&val), &config).unwrap();
    let dir = temp_dir("csv");
    let path = dir.join("history.csv");
    h.to_csv(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr,seconds"
    );
    assert_eq!(lines.len(), 4);
    for (i, line) in lines[1..].iter().enumerate() {
        let f: Vec<f64> = line.split(',').map(|v| v.parse().unwrap()).collect();
        let e = &h.epochs[i];
        assert_eq!(f.len(), 7);
        assert_eq!(f[0] as usize, i + 1);
        assert_eq!(f[1], e.train_loss);
        assert_eq!(Some(f[3]), e.val_loss);
        assert_eq!(f[5], 0.01);
    }
    // no temporary file is left behind
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("history.csv")]);
    // a missing figure is an empty field
    let h2 = fit(
        &mut mlp(0),
        &mut Adam::new(0.01),
        Data::classes(&train.x, &train.y),
        None,
        &FitConfig::new(Loss::CrossEntropy)
            .epochs(1)
            .accuracy(Accuracy::None),
        &mut (),
    )
    .unwrap();
    let line = h2.to_csv_string().lines().nth(1).unwrap().to_string();
    assert!(line.starts_with("1,") && line.contains(",,,,"), "{line}");
    // an unwritable path is an Io error naming the file
    let bad = dir.join("no-such-dir").join("h.csv");
    match h.to_csv(&bad).unwrap_err() {
        Error::Io { path, .. } => assert!(path.starts_with(dir.join("no-such-dir"))),
        e => panic!("expected Io, got {e}"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[derive(Default)]
struct Recorder {
    begin: Vec<(usize, usize)>,
    epochs_begun: Vec<usize>,
    batches: Vec<(usize, usize, usize)>,
    epochs: Vec<EpochStats>,
    ends: usize,
}

impl Callback for Recorder {
    fn on_train_begin(&mut self, epochs: usize, steps: usize) {
        self.begin.push((epochs, steps));
    }
    fn on_epoch_begin(&mut self, epoch: usize) {
        self.epochs_begun.push(epoch);
    }
    fn on_batch_end(&mut self, epoch: usize, step: usize, steps: usize, loss: f64) {
        assert!(loss.is_finite());
        self.batches.push((epoch, step, steps));
    }
    fn on_epoch_end(&mut self, stats: &EpochStats) {
        self.epochs.push(stats.clone());
    }
    fn on_train_end(&mut self, _: &History) {
        self.ends += 1;
    }
}

#[test]
fn the_callback_hears_every_step_and_epoch() {
    let x = Array::<f32>::from_fn([10, 3], |i| (i % 7) as f32 / 7.0);
    let y = Array::<f32>::from_fn([10, 1], |i| i as f32 / 10.0);
    for (drop_last, steps) in [(false, 3), (true, 2)] {
        let mut rec = Recorder::default();
        let mut model = Mlp::<f32>::new(&[3, 4, 1], Tanh, Identity, &mut rng(0)).unwrap();
        let h = fit(
            &mut model,
            &mut Sgd::new(0.1),
            Data::values(&x, &y),
            None,
            &FitConfig::new(Loss::Mse)
                .epochs(5)
                .batch_size(4)
                .drop_last(drop_last),
            &mut rec,
        )
        .unwrap();
        assert_eq!(rec.begin, vec![(5, steps)]);
        assert_eq!(rec.epochs_begun, vec![1, 2, 3, 4, 5]);
        let expected: Vec<(usize, usize, usize)> = (1..=5)
            .flat_map(|e| (1..=steps).map(move |s| (e, s, steps)))
            .collect();
        assert_eq!(rec.batches, expected);
        assert_eq!(rec.epochs, h.epochs);
        assert_eq!(rec.ends, 1);
        assert_eq!(h.last().unwrap().train_accuracy, None); // MSE reports no accuracy
    }
}

#[test]
fn the_same_seed_gives_the_same_history() {
    let (train, val) = moons();
    let run = |seed: u64| {
        let mut model = mlp(9);
        let config = FitConfig::new(Loss::CrossEntropy)
            .epochs(5)
            .batch_size(8)
            .seed(seed);
        let mut adam = Adam::new(0.01);
        let h = fit_classes_validated(&mut model, &mut adam, &train, Some(&val), &config).unwrap();
        (losses(&h), weights(&model))
    };
    let (a, wa) = run(1);
    let (b, wb) = run(1);
    let (c, _) = run(2);
    assert_eq!(a, b);
    assert_eq!(wa, wb);
    assert_ne!(a, c, "another shuffling seed gives another history");
}

#[test]
fn targets_must_suit_the_loss_and_the_rows() {
    let (train, _) = moons();
    let mut model = mlp(0);
    let y = train.one_hot();
    let cases: Vec<(Loss, Data<'_, f32>, &str)> = vec![
        (
            Loss::Mse,
            Data::classes(&train.x, &train.y),
            "needs value targets",
        ),
        (
            Loss::CrossEntropy,
            Data::values(&train.x, &y),
            "needs class labels",
        ),
        (
            Loss::CrossEntropy,
            Data::classes(&train.x, &train.y[..10]),
            "150 input rows but 10 targets",
        ),
    ];
    for (l, d, msg) in cases {
        let err = fit(
            &mut model,
            &mut Sgd::new(0.1),
            d,
            None,
            &FitConfig::new(l),
            &mut (),
        )
        .unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument { .. }) && err.to_string().contains(msg),
            "{err}"
        );
    }
    // bad settings
    for config in [
        FitConfig::new(Loss::CrossEntropy).batch_size(0),
        FitConfig::new(Loss::CrossEntropy).early_stopping(EarlyStopping::new(0)),
        FitConfig::new(Loss::CrossEntropy).input_noise(-1.0),
        FitConfig::new(Loss::CrossEntropy).clip_grad_norm(0.0),
        FitConfig::new(Loss::Mse).early_stopping(EarlyStopping {
            monitor: Monitor::ValAccuracy,
            ..EarlyStopping::new(2)
        }),
    ] {
        let err = fit_classes(&mut model, &mut Sgd::new(0.1), &train, &config).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
    }
    // a value target of the wrong width is the loss's shape error
    let y3 = Array::<f32>::zeros([150, 3]);
    let err = fit(
        &mut model,
        &mut Sgd::new(0.1),
        Data::values(&train.x, &y3),
        None,
        &FitConfig::new(Loss::Mse),
        &mut (),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Shape { op: "mse", .. }), "{err}");
}

/// Trains the autoencoder `ae` to reproduce `x` with Adam at rate 0.01, passing every training
/// batch through `transform` first, and validating on `x` when `validate` is set.
fn fit_autoencoder(
    ae: &mut Autoencoder<f32>,
    x: &Array<f32>,
    validate: bool,
    config: &FitConfig,
    transform: &mut InputTransform<'_, f32>,
) -> tapegrad::Result<History> {
    let val = validate.then(|| Data::autoencoder(x));
    fit_with(
        ae,
        &mut Adam::new(0.01),
        Data::autoencoder(x),
        val,
        config,
        &mut (),
        transform,
    )
}

#[test]
fn the_transform_sees_every_training_batch_and_the_target_stays_clean() {
    let x = Array::<f32>::rand_uniform([40, 6], 0.0, 1.0, &mut rng(0));
    let mut ae = Autoencoder::<f32>::new(6, &[4], 3, Relu, Identity, &mut rng(1)).unwrap();
    let config = FitConfig::new(Loss::Mse).epochs(3).batch_size(16);
    let mut calls = Vec::new();
    let mut poison = |xb: &mut Array<f32>, epoch: usize, step: usize| {
        calls.push((epoch, step, xb.dims()[0]));
        xb.data_mut().iter_mut().for_each(|v| *v = 0.0); // the model sees zeros only
        Ok(())
    };
    let h = fit_autoencoder(&mut ae, &x, true, &config, &mut poison).unwrap();
    let expected: Vec<(usize, usize, usize)> = (1..=3)
        .flat_map(|e| [(e, 1, 16), (e, 2, 16), (e, 3, 8)])
        .collect();
    assert_eq!(calls, expected);
    // From zeros the best output is the mean input: the training loss is the inputs' variance
    // (about 1/12), not 0 as it would be if the target had been zeroed too.
    let last = h.last().unwrap();
    assert!(last.train_loss > 0.02, "{last:?}");
    // an error from the transform stops training
    let err = fit_autoencoder(&mut ae, &x, false, &config, &mut |_, e, s| {
        if (e, s) == (2, 2) {
            Err(Error::invalid("transform", "stop here"))
        } else {
            Ok(())
        }
    })
    .unwrap_err();
    assert!(err.to_string().contains("stop here"), "{err}");
}

#[test]
fn input_noise_trains_a_denoising_autoencoder() {
    let x = Array::<f32>::rand_uniform([64, 8], 0.0, 1.0, &mut rng(3));
    let run = |noise: Option<f64>| {
        let mut ae = Autoencoder::<f32>::new(8, &[16], 8, Relu, Identity, &mut rng(1)).unwrap();
        let mut config = FitConfig::new(Loss::Mse).epochs(30).batch_size(16);
        config.input_noise = noise;
        let h = fit_autoencoder(&mut ae, &x, true, &config, &mut |_, _, _| Ok(())).unwrap();
        h.last().unwrap().clone()
    };
    let clean = run(None);
    let noisy = run(Some(0.5));
    let noisy_again = run(Some(0.5));
    assert_eq!(
        noisy.train_loss, noisy_again.train_loss,
        "the noise is seeded"
    );
    // noise makes the training task harder (a higher training loss), while the clean
    // validation inputs are still reconstructed
    assert!(noisy.train_loss > clean.train_loss, "{noisy:?} {clean:?}");
    assert!(noisy.val_loss.unwrap() < noisy.train_loss, "{noisy:?}");
}

#[test]
fn threshold_accuracy_and_clipping() {
    let ds = synthetic::xor();
    let y = ds.label_column();
    let mut model = Mlp::<f32>::new(&[2, 4, 1], Tanh, Sigmoid, &mut rng(0)).unwrap();
    let h = fit(
        &mut model,
        &mut Sgd::new(0.5),
        Data::values(&ds.x, &y),
        None,
        &FitConfig::new(Loss::Mse)
            .epochs(3000)
            .batch_size(4)
            .clip_grad_norm(10.0)
            .accuracy(Accuracy::Threshold(0.5)),
        &mut (),
    )
    .unwrap();
    let last = h.last().unwrap();
    assert_eq!(last.train_accuracy, Some(1.0));
    assert!(last.train_loss < 0.01, "{last:?}");
    // BCE on the same sigmoid outputs: the model is already right, the loss is small
    let e = evaluate(
        &mut model,
        Data::values(&ds.x, &y),
        &FitConfig::new(Loss::Bce).accuracy(Accuracy::Threshold(0.5)),
    )
    .unwrap();
    assert_eq!(e.accuracy, Some(1.0));
    assert!(e.loss < 0.2, "{e:?}");
}

#[test]
fn predict_runs_in_evaluation_mode() {
    // dropout is the identity in evaluation mode: two predictions agree
    let mut model = Sequential::<f32>::new();
    model.push(Dense::new(4, 8, Init::XavierUniform, &mut rng(0)));
    model.push(Dropout::new(0.5, 1).unwrap());
    model.push(Dense::new(8, 2, Init::XavierUniform, &mut rng(1)));
    let x = Array::<f32>::rand_uniform([16, 4], -1.0, 1.0, &mut rng(2));
    model.train();
    let a = predict(&mut model, &x, 5).unwrap();
    let b = predict(&mut model, &x, 16).unwrap();
    assert!(a.approx_eq(&b, 1e-6, 1e-6));
}
