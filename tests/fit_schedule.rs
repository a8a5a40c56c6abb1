//! Learning rates in `fit`: a `FitConfig::schedule` per step or per epoch (recorded in the
//! history, continued exactly by a resumed run), and a callback that sets the rate through
//! `Callback::on_step_begin`.

use tapegrad::data::{synthetic, Dataset};
use tapegrad::nn::optim::{Optimizer, Sgd};
use tapegrad::nn::schedule::{Cosine, LrSchedule, StepDecay, WarmUp};
use tapegrad::nn::Activation::{Identity, Tanh};
use tapegrad::nn::{Mlp, Module};
use tapegrad::train::{fit, Callback, Data, Every, FitConfig, History, Loss, LrControl};
use tapegrad::{rng, Array};

mod common;
use common::{fit_classes, TempDir};

/// 96 rows: 3 steps of 32 per epoch.
fn moons() -> Dataset {
    synthetic::two_moons(96, 0.15, 5).unwrap()
}

fn mlp() -> Mlp<f32> {
    Mlp::new(&[2, 8, 2], Tanh, Identity, &mut rng(2)).unwrap()
}

fn weights(m: &dyn Module<f32>) -> Vec<Array<f32>> {
    m.named_params()
        .into_iter()
        .map(|(_, p)| p.value().clone())
        .collect()
}

fn lrs(h: &History) -> Vec<f64> {
    h.epochs.iter().map(|e| e.lr).collect()
}

fn config(epochs: usize) -> FitConfig {
    FitConfig::new(Loss::CrossEntropy)
        .epochs(epochs)
        .batch_size(32)
        .seed(4)
}

/// Halves the learning rate before the first step of epoch 2, and records every rate it saw.
#[derive(Default)]
struct HalveAtEpoch2 {
    seen: Vec<(usize, usize, f64)>,
}

impl Callback for HalveAtEpoch2 {
    fn on_step_begin(&mut self, epoch: usize, step: usize, lr: &mut dyn LrControl) {
        if (epoch, step) == (2, 1) {
            lr.set_lr(lr.lr() / 2.0);
        }
        self.seen.push((epoch, step, lr.lr()));
    }
}

/// 0.2 in epoch 1 (index 0), 0.1 afterwards.
struct HalfAfterFirst;

impl LrSchedule for HalfAfterFirst {
    fn lr_at(&self, epoch: usize) -> f64 {
        if epoch == 0 {
            0.2
        } else {
            0.1
        }
    }
}

#[test]
fn a_callback_that_halves_the_lr_at_epoch_2_trains_as_the_schedule_does() {
    let ds = moons();
    let data = Data::classes(&ds.x, &ds.y);
    // the callback
    let (mut m1, mut opt1, mut cb) = (mlp(), Sgd::new(0.2), HalveAtEpoch2::default());
    let h1 = fit(&mut m1, &mut opt1, data, None, &config(3), &mut cb).unwrap();
    assert_eq!(lrs(&h1), [0.2, 0.1, 0.1]);
    assert_eq!(opt1.lr(), 0.1);
    assert_eq!(cb.seen.len(), 9);
    assert_eq!(cb.seen[2], (1, 3, 0.2));
    assert_eq!(cb.seen[3], (2, 1, 0.1));
    assert_eq!(cb.seen[8], (3, 3, 0.1));
    // the same rates from a per-epoch schedule: bit-identical weights and losses
    let (mut m2, mut opt2) = (mlp(), Sgd::new(0.2));
    let sched = config(3).schedule(HalfAfterFirst, Every::Epoch);
    let h2 = fit_classes(&mut m2, &mut opt2, &ds, &sched).unwrap();
    assert_eq!(lrs(&h2), [0.2, 0.1, 0.1]);
    assert_eq!(weights(&m1), weights(&m2));
    let train_losses = |h: &History| h.epochs.iter().map(|e| e.train_loss).collect::<Vec<_>>();
    assert_eq!(train_losses(&h1), train_losses(&h2));
    // and not those of a constant 0.2: the halving changed the trajectory from epoch 2 on
    let (mut m3, mut opt3) = (mlp(), Sgd::new(0.2));
    let h3 = fit_classes(&mut m3, &mut opt3, &ds, &config(3)).unwrap();
    assert_eq!(h3.epochs[0].train_loss, h1.epochs[0].train_loss);
    assert_ne!(h3.epochs[1].train_loss, h1.epochs[1].train_loss);
    assert_ne!(weights(&m1), weights(&m3));
}

#[test]
fn schedules_set_the_rate_per_step_or_per_epoch_before_the_callback() {
    let ds = moons();
    let schedule = StepDecay::new(0.4, 2, 0.5).unwrap(); // halves every 2 steps
    let (mut m, mut opt) = (mlp(), Sgd::new(1.0));
    let mut cb = HalveAtEpoch2::default(); // also halves, after the schedule, at (2, 1)
    let per_step = config(3).schedule(schedule, Every::Step);
    let h = fit(
        &mut m,
        &mut opt,
        Data::classes(&ds.x, &ds.y),
        None,
        &per_step,
        &mut cb,
    )
    .unwrap();
    // global steps 0..9: 0.4, 0.4, 0.2, 0.2, 0.1, ...; at (2, 1) (global step 3) the callback
    // halves the schedule's 0.2 for that step only
    let seen: Vec<f64> = cb.seen.iter().map(|s| s.2).collect();
    assert_eq!(seen, [0.4, 0.4, 0.2, 0.1, 0.1, 0.1, 0.05, 0.05, 0.025]);
    assert_eq!(lrs(&h), [0.4, 0.1, 0.05]);
    assert_eq!(opt.lr(), 0.025);
    // per epoch, the schedule sets the rate before each epoch's first step only: the
    // callback's halving holds to the end of epoch 2
    let (mut m, mut opt) = (mlp(), Sgd::new(1.0));
    let mut cb = HalveAtEpoch2::default();
    let per_epoch = config(3).schedule(HalfAfterFirst, Every::Epoch);
    fit(
        &mut m,
        &mut opt,
        Data::classes(&ds.x, &ds.y),
        None,
        &per_epoch,
        &mut cb,
    )
    .unwrap();
    let seen: Vec<f64> = cb.seen.iter().map(|s| s.2).collect();
    assert_eq!(seen, [0.2, 0.2, 0.2, 0.05, 0.05, 0.05, 0.1, 0.1, 0.1]);
}

#[test]
fn a_resumed_run_continues_the_schedule() {
    let ds = moons();
    let dir = TempDir::new("fit-schedule", "resume");
    let ckpt = dir.0.join("ckpt.safetensors");
    let schedule = WarmUp::new(2, Cosine::new(0.5, 0.01, 10).unwrap()).unwrap();
    for every in [Every::Step, Every::Epoch] {
        let config = config(4).schedule(schedule, every);
        // 4 epochs in one go
        let (mut whole, mut opt) = (mlp(), Sgd::new(0.1).momentum(0.9));
        let h = fit_classes(&mut whole, &mut opt, &ds, &config).unwrap();
        // 2 epochs and a checkpoint, then 2 more from it with a fresh model and optimizer
        let (mut first, mut opt) = (mlp(), Sgd::new(0.1).momentum(0.9));
        let half = config.clone().epochs(2).checkpoint(&ckpt);
        fit_classes(&mut first, &mut opt, &ds, &half).unwrap();
        let mut resumed = Mlp::new(&[2, 8, 2], Tanh, Identity, &mut rng(99)).unwrap();
        let mut opt = Sgd::new(0.3).momentum(0.9); // its rate comes from the schedule
        let rest = config.clone().resume(&ckpt);
        let h2 = fit_classes(&mut resumed, &mut opt, &ds, &rest).unwrap();
        assert_eq!(weights(&whole), weights(&resumed), "{every:?}");
        assert_eq!(lrs(&h), lrs(&h2), "{every:?}");
        let want: Vec<f64> = match every {
            Every::Step => (0..4).map(|e| schedule.lr_at(3 * e)).collect(),
            Every::Epoch => (0..4).map(|e| schedule.lr_at(e)).collect(),
        };
        assert_eq!(lrs(&h), want, "{every:?}");
    }
}

#[test]
fn fit_configs_with_a_schedule_compare_by_the_shared_schedule() {
    let a = config(2).schedule(StepDecay::new(0.1, 1, 0.5).unwrap(), Every::Step);
    assert_eq!(a, a.clone());
    let b = config(2).schedule(StepDecay::new(0.1, 1, 0.5).unwrap(), Every::Step);
    assert_ne!(a, b, "another schedule (by pointer)");
    assert!(format!("{a:?}").contains("Schedule { every: Step, .. }"));
    assert_eq!(config(2).schedule, None);
}
