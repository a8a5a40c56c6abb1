//! The training loop: [`fit`] and [`fit_with`].

use super::callback::OptimizerLr;
use super::early_stop::Tracker;
use super::loss;
use super::{at_caller, evaluate, Callback, Data, EpochStats, FitConfig, History, Targets};
use crate::nn::optim::Optimizer;
use crate::nn::{clip_grad_norm, mix_seed as mix, Checkpoint, Module, ParamPath, Progress};
use crate::{rng, Array, Element, Error, Result, Tape};
use std::panic::Location;
use std::time::Instant;
use tapegrad_data::Batches;

/// Trains `model` with `opt` on `train` as `config` says, measuring `val` after each epoch;
/// returns the [`History`]. See [`fit_with`] to transform each training batch's inputs.
///
/// The model is put in training mode before each epoch's steps and in evaluation mode for
/// the validation pass (so it is in evaluation mode on return when there is a validation set).
///
/// Each step, before the forward pass, calls [`Module::reseed`] with a number derived from
/// `(seed, epoch, step)`, so dropout masks depend only on where training stands (and a run
/// resumed from a checkpoint draws what an uninterrupted one draws).
///
/// # Errors
/// - [`Error::NonFinite`] when a training loss is NaN or infinite: `training loss at epoch 3,
///   step 17: value is NaN (not finite)` (the weights are those after the previous step); when
///   an optimizer step leaves a parameter NaN or infinite: `sgd: parameter `0.weight` after
///   the update at epoch 3, step 17: value is NaN (not finite)` (the weights are those after
///   that step); when the gradients' norm is not finite while clipping; or when the
///   validation loss is not finite.
/// - [`Error::InvalidArgument`] for a bad configuration (a batch size of 0, a patience of 0, ...),
///   an optimizer whose learning rate is not positive and finite, a training or validation set
///   with no rows (or no batch, with `drop_last`), targets that do not suit the loss (labels for
///   MSE, values for cross-entropy), or inputs and targets with different numbers of rows.
///   Each names the line that called `fit`.
/// - The model's shape errors when the inputs or targets do not fit it (naming the module and
///   the line that called `fit`), the optimizer's errors.
/// - With [`FitConfig::resume`]: [`Checkpoint::load_all`]'s errors, and
///   [`Error::InvalidArgument`] when the checkpoint was written with another configuration or
///   not at the end of an epoch (the model may hold the checkpoint's weights then). With
///   [`FitConfig::checkpoint`]: [`Error::Io`] when it cannot be written, and the optimizer's
///   [`Optimizer::export_state`] error when it cannot be checkpointed.
#[track_caller]
pub fn fit<T: Element>(
    model: &mut dyn Module<T>,
    opt: &mut dyn Optimizer<T>,
    train: Data<'_, T>,
    val: Option<Data<'_, T>>,
    config: &FitConfig,
    callback: &mut dyn Callback,
) -> Result<History> {
    fit_with(model, opt, train, val, config, callback, &mut |_, _, _| {
        Ok(())
    })
}

/// A change made to each training batch's inputs by [`fit_with`]: called as
/// `transform(inputs, epoch, step)` (epoch and step from 1); an error stops training.
pub type InputTransform<'a, T> = dyn FnMut(&mut Array<T>, usize, usize) -> Result<()> + 'a;

/// As [`fit`], calling `transform(inputs, epoch, step)` on each training batch's inputs before
/// the forward pass (after [`FitConfig::input_noise`], if set). The targets are taken before the
/// transform, so with [`Targets::Input`] the model learns to undo it (a denoising or inpainting
/// autoencoder). Validation uses the untransformed inputs.
///
/// ```
/// use tapegrad::nn::optim::Adam;
/// use tapegrad::nn::{Activation, Autoencoder};
/// use tapegrad::train::{fit_with, Data, FitConfig, Loss};
/// use tapegrad::{rng, Array};
/// # fn main() -> tapegrad::Result<()> {
/// let x = Array::<f32>::rand_uniform([64, 8], 0.0, 1.0, &mut rng(0));
/// let mut ae = Autoencoder::new(8, &[4], 2, Activation::Relu, Activation::Sigmoid, &mut rng(1))?;
/// let config = FitConfig::new(Loss::Mse).epochs(3).batch_size(16);
/// // masking: zero the first feature of every input, keep the clean target
/// let mut mask = |xb: &mut Array<f32>, _epoch: usize, _step: usize| {
///     for row in xb.data_mut().chunks_mut(8) {
///         row[0] = 0.0;
///     }
///     Ok(())
/// };
/// let h = fit_with(&mut ae, &mut Adam::new(1e-3), Data::autoencoder(&x), None, &config,
///                  &mut (), &mut mask)?;
/// assert_eq!(h.len(), 3);
/// # Ok(()) }
/// ```
///
/// # Errors
/// As [`fit`], and whatever `transform` returns (training stops then).
#[track_caller]
pub fn fit_with<T: Element>(
    model: &mut dyn Module<T>,
    opt: &mut dyn Optimizer<T>,
    train: Data<'_, T>,
    val: Option<Data<'_, T>>,
    config: &FitConfig,
    callback: &mut dyn Callback,
    transform: &mut InputTransform<'_, T>,
) -> Result<History> {
    if let Err(m) = config.problem() {
        return Err(Error::invalid("FitConfig", m));
    }
    let lr = opt.lr();
    if !(lr > 0.0 && lr.is_finite()) {
        return Err(Error::invalid(
            "fit",
            format!("the optimizer's learning rate must be positive and finite, got {lr}"),
        ));
    }
    train.check("training", config.loss)?;
    if let Some(v) = &val {
        v.check("validation", config.loss)?;
    }
    let mut batches = Batches::new(
        train.len(),
        config.batch_size,
        config.shuffle.then_some(config.seed),
        config.drop_last,
    )?;
    let steps = batches.len();
    if steps == 0 {
        let (size, rows) = (config.batch_size, train.len());
        let msg = format!("drop_last with a batch size of {size} leaves no batch of the {rows} ");
        return Err(Error::invalid("fit", msg + "training rows"));
    }
    let mut tape = Tape::new();
    let caller = Location::caller();
    let mut history = History::default();
    let mut tracker = Tracker::new(config.early_stopping);
    let fingerprint = config.fingerprint(train.len());
    let (mut first_epoch, mut global_step) = (1, 0u64);
    if let Some(path) = &config.resume {
        let ckpt = Checkpoint::load_all(path, model, opt)?;
        let p = ckpt.progress;
        let shown = path.display();
        if p.step != 0 {
            return Err(Error::invalid(
                "fit",
                format!(
                    "{shown}: fit resumes at the end of an epoch, the checkpoint is at step {} \
                     of epoch {}",
                    p.step,
                    p.epoch + 1
                ),
            ));
        }
        let theirs = ckpt.extra.get(FINGERPRINT).map_or("(none)", String::as_str);
        if theirs != fingerprint {
            return Err(Error::invalid(
                "fit",
                format!(
                    "{shown}: the checkpoint was written by another configuration, so resuming \
                     would not continue that run: it has `{theirs}`, this run `{fingerprint}`"
                ),
            ));
        }
        let previous = ckpt.extra.get(HISTORY).map(String::as_str).unwrap_or("");
        history.epochs = History::from_csv(previous).map_err(|m| {
            Error::invalid("fit", format!("{shown}: the checkpoint's history: {m}"))
        })?;
        tracker.load(&ckpt, &*model).map_err(|m| {
            Error::invalid(
                "fit",
                format!("{shown}: the checkpoint's early stopping: {m}"),
            )
        })?;
        history.best_epoch = tracker.best_epoch;
        first_epoch = p.epoch + 1;
        global_step = p.global_step;
    }
    let transforms = config.input_noise.is_some_and(|s| s > 0.0);
    callback.on_train_begin(config.epochs, steps);

    // a run resumed after early stopping has stopped: nothing more to train
    let mut stopped = tracker.should_stop();
    if stopped {
        history.stopped_early = history.last().is_some_and(|e| e.epoch < config.epochs);
    }
    let mut epoch = first_epoch;
    while epoch <= config.epochs && !stopped {
        let start = Instant::now();
        callback.on_epoch_begin(epoch);
        model.train();
        let mut lr = opt.lr();
        let (mut loss_sum, mut rows) = (0.0, 0usize);
        let (mut hits, mut judged, mut has_acc) = (0usize, 0usize, false);
        for (s, idx) in batches.epoch(epoch as u64 - 1).enumerate() {
            let step = s + 1;
            if let Some(lr) = config
                .schedule
                .as_ref()
                .and_then(|s| s.lr(epoch, step, global_step))
            {
                opt.set_lr(lr);
            }
            callback.on_step_begin(epoch, step, &mut OptimizerLr(&mut *opt));
            if step == 1 {
                lr = opt.lr();
            }
            let mut xb = train.x.select_rows(idx)?;
            let clean = (transforms || matches!(train.targets, Targets::Input)).then(|| xb.clone());
            let stream = mix(mix(config.seed, epoch as u64), step as u64);
            if let Some(sigma) = config.input_noise.filter(|&s| s > 0.0) {
                let noise = Array::<T>::randn(xb.shape().clone(), 0.0, sigma, &mut rng(stream));
                for (a, &n) in xb.data_mut().iter_mut().zip(noise.data()) {
                    *a += n;
                }
            }
            transform(&mut xb, epoch, step)?;
            model.reseed(mix(stream, DROPOUT_STREAM));
            let target = train.batch_targets(idx, clean.as_ref())?;
            // record, backward and reset as one call (the tape is empty after it, on errors
            // too); the gradients are clipped and applied below
            let mut correct = None;
            let (value, mut grads) = tape
                .value_and_grad(|tape| {
                    let pred = model.forward(tape.constant(xb))?;
                    correct = target.correct(&pred.value(), config.accuracy, config.loss)?;
                    loss::apply(config.loss, tape, pred, target)
                })
                .map_err(|e| at_caller(e, caller))?;
            let value = value.as_f64();
            if !value.is_finite() {
                return Err(Error::NonFinite {
                    what: format!("training loss at epoch {epoch}, step {step}"),
                    value,
                });
            }
            let stepped = match config
                .clip_grad_norm
                .map(|max| clip_grad_norm(&mut grads, max))
            {
                Some(Err(e)) => Err(e),
                _ => opt.step(model, &grads),
            };
            if let Err(e) = stepped {
                return Err(at_step(e, epoch, step));
            }
            if !opt.checks_finite() {
                check_params(&*model, epoch, step)?;
            }
            global_step += 1;
            loss_sum += value * idx.len() as f64;
            rows += idx.len();
            if let Some((c, n)) = correct {
                hits += c;
                judged += n;
                has_acc = true;
            }
            callback.on_batch_end(epoch, step, steps, value);
        }
        let (val_loss, val_accuracy) = match &val {
            Some(v) => {
                let e = evaluate(model, *v, config)?;
                if !e.loss.is_finite() {
                    return Err(Error::NonFinite {
                        what: format!("validation loss at epoch {epoch}"),
                        value: e.loss,
                    });
                }
                (Some(e.loss), e.accuracy)
            }
            None => (None, None),
        };
        let stats = EpochStats {
            epoch,
            train_loss: loss_sum / rows.max(1) as f64,
            train_accuracy: (has_acc && judged > 0).then(|| hits as f64 / judged as f64),
            val_loss,
            val_accuracy,
            lr,
            seconds: start.elapsed().as_secs_f64(),
        };
        stopped = tracker.update(&stats, &*model);
        history.best_epoch = tracker.best_epoch;
        callback.on_epoch_end(&stats);
        history.epochs.push(stats);
        if let Some(path) = &config.checkpoint {
            let progress = Progress {
                epoch,
                step: 0,
                global_step,
                seed: config.seed,
            };
            let mut ckpt = Checkpoint::capture(&*model, &*opt, progress)?;
            ckpt.extra
                .insert(FINGERPRINT.to_string(), fingerprint.clone());
            ckpt.extra
                .insert(HISTORY.to_string(), history.to_csv_string());
            tracker.save(&mut ckpt, &*model);
            ckpt.write(path, &*model)?;
        }
        if stopped {
            history.stopped_early = epoch < config.epochs;
        }
        epoch += 1;
    }
    history.restored_best = tracker.restore(model)?;
    callback.on_train_end(&history);
    Ok(history)
}

/// The checkpoint entries `fit` adds: the configuration's fingerprint, the history (CSV); the
/// early-stopping state is added by the tracker.
const FINGERPRINT: &str = "fit.config";
const HISTORY: &str = "fit.history";
/// Mixed into a step's stream for the modules' random draws (so that they differ from the
/// input noise's).
const DROPOUT_STREAM: u64 = 0xD0_0D;

/// Adds the epoch and step to a non-finite error.
fn at_step(e: Error, epoch: usize, step: usize) -> Error {
    match e {
        Error::NonFinite { what, value } => Error::NonFinite {
            what: format!("{what} at epoch {epoch}, step {step}"),
            value,
        },
        e => e,
    }
}

/// After the step of an optimizer that does not check its own updates: an error naming the
/// first parameter that is not finite.
fn check_params<T: Element>(model: &dyn Module<T>, epoch: usize, step: usize) -> Result<()> {
    let mut finite = true;
    model.visit(&mut ParamPath::new(), &mut |_, p| {
        finite &= crate::vectorized(|| {
            p.value()
                .data()
                .iter()
                .fold(true, |ok, v| ok & v.is_finite())
        });
    });
    if finite {
        return Ok(());
    }
    let mut bad = None;
    model.visit(&mut ParamPath::new(), &mut |name, p| {
        if bad.is_none() {
            if let Some(v) = p.value().data().iter().find(|v| !v.is_finite()) {
                bad = Some(Error::NonFinite {
                    what: format!(
                        "parameter `{name}` after the optimizer step at epoch {epoch}, step {step}"
                    ),
                    value: v.as_f64(),
                });
            }
        }
    });
    Err(bad.expect("internal: a parameter is not finite"))
}
