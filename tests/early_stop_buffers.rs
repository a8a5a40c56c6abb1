//! Early stopping with `restore_best` puts back a model's buffers (BatchNorm's running
//! statistics) together with its weights: the restored model is the best epoch's in full.

use tapegrad::data::{synthetic, train_test_split};
use tapegrad::nn::optim::Adam;
use tapegrad::nn::{Activation, BatchNorm1d, Dense, Init, Module, Sequential};
use tapegrad::train::{fit, Data, EarlyStopping, FitConfig, History, Loss, Monitor};
use tapegrad::{rng, Array};

fn model() -> Sequential<f32> {
    let mut r = rng(3);
    Sequential::new()
        .with(Dense::new(2, 16, Init::XavierUniform, &mut r))
        .with(BatchNorm1d::new(16))
        .with(Activation::Tanh)
        .with(Dense::new(16, 2, Init::XavierUniform, &mut r))
}

/// A model's buffers with their names.
type Buffers = Vec<(String, Array<f32>)>;

/// Trains on two moons with the validation labels flipped (the better the fit, the worse the
/// validation loss, so early stopping triggers), for `epochs` epochs, with early stopping
/// (restoring the best epoch) or without; returns the history, the weights and the buffers.
fn run(epochs: usize, early: bool) -> (History, Vec<Array<f32>>, Buffers) {
    let ds = synthetic::two_moons(120, 0.2, 4).unwrap();
    let (train, _) = train_test_split(&ds, 0.25, 2, true).unwrap();
    let flipped: Vec<usize> = train.y.iter().map(|&c| 1 - c).collect();
    let mut m = model();
    let mut config = FitConfig::new(Loss::CrossEntropy)
        .epochs(epochs)
        .batch_size(16)
        .seed(5);
    if early {
        config = config.early_stopping(EarlyStopping {
            patience: 3,
            min_delta: 0.0,
            restore_best: true,
            monitor: Monitor::ValLoss,
        });
    }
    let h = fit(
        &mut m,
        &mut Adam::new(0.02),
        Data::classes(&train.x, &train.y),
        Some(Data::classes(&train.x, &flipped)),
        &config,
        &mut (),
    )
    .unwrap();
    let weights = m
        .named_params()
        .into_iter()
        .map(|(_, p)| p.value().clone())
        .collect();
    (h, weights, m.named_buffers())
}

#[test]
fn restoring_the_best_epoch_restores_the_running_statistics_too() {
    let (h, weights, buffers) = run(100, true);
    assert!(h.stopped_early && h.restored_best, "{h:?}");
    let best = h.best_epoch.expect("a best epoch");
    // the same run stopped after `best` epochs: weights and buffers are the restored ones
    let (_, best_weights, best_buffers) = run(best, false);
    assert_eq!(weights, best_weights);
    let names: Vec<&str> = buffers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["1.running_mean", "1.running_var", "1.num_batches_tracked"]
    );
    for ((name, got), (_, want)) in buffers.iter().zip(&best_buffers) {
        assert_eq!(got, want, "buffer `{name}` is not the best epoch's");
    }
    // and they are not the last epoch's: training went on after the best epoch
    let (_, _, last_buffers) = run(h.len(), false);
    assert!(buffers
        .iter()
        .zip(&last_buffers)
        .any(|((_, a), (_, b))| a != b));
}
