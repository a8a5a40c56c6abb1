//! What `fit`, `evaluate` and `predict` refuse, and where their errors point: a NaN input in a
//! ReLU network stops `fit` naming the epoch and the step (through the loss or, when the loss
//! stays finite, through the parameters the step made NaN); no rows; a learning rate that is
//! not positive and finite; errors that name the caller's line and the module.

#[allow(dead_code)] // `main` and some helpers are only used by the program
#[path = "../examples/xor.rs"]
mod xor;

use clap::Parser;

mod common;
use common::{example_argv, TempDir};
use tapegrad::data::{synthetic, train_test_split, Dataset};
use tapegrad::nn::optim::{Adam, Optimizer, RmsProp, Sgd};
use tapegrad::nn::Activation::{Identity, Relu};
use tapegrad::nn::ParamPath;
use tapegrad::nn::{Dense, Init, Mlp, Module, Sequential};
use tapegrad::train::{evaluate, fit, predict, Data, FitConfig, Loss};
use tapegrad::{rng, Array, Error, Result};

fn moons() -> (Dataset, Dataset) {
    let ds = synthetic::two_moons(200, 0.15, 3).unwrap();
    train_test_split(&ds, 0.25, 1, true).unwrap()
}

fn relu_mlp() -> Mlp<f32> {
    Mlp::new(&[2, 16, 16, 2], Relu, Identity, &mut rng(0)).unwrap()
}

/// `fit` with no callback, which must fail: its error (located at the caller's line).
#[track_caller]
fn fit_err(
    model: &mut dyn Module<f32>,
    opt: &mut dyn Optimizer<f32>,
    train: Data<'_, f32>,
    val: Option<Data<'_, f32>>,
    config: &FitConfig,
) -> Error {
    fit(model, opt, train, val, config, &mut ()).unwrap_err()
}

/// [`fit_err`] with Adam at a learning rate of 0.01.
#[track_caller]
fn adam_err(
    model: &mut dyn Module<f32>,
    train: Data<'_, f32>,
    val: Option<Data<'_, f32>>,
    config: &FitConfig,
) -> Error {
    fit_err(model, &mut Adam::new(0.01), train, val, config)
}

/// Asserts that `err` says `needle` and, when `line` is given, that it points at that line
/// of this file.
#[track_caller]
fn says(err: &Error, needle: &str, line: Option<u32>) {
    assert!(err.to_string().contains(needle), "{err}");
    if let Some(line) = line {
        assert!(this_file(err, line), "{err}");
    }
}

/// As [`says`], and `err` starts with `prefix`.
#[track_caller]
fn starts(err: &Error, prefix: &str, line: Option<u32>) {
    assert!(err.to_string().starts_with(prefix), "{err}");
    says(err, prefix, line);
}

fn this_file(err: &Error, line: u32) -> bool {
    err.to_string()
        .contains(&format!("(at tests/fit_guards.rs:{line}:"))
}

#[test]
fn a_nan_input_in_a_relu_network_stops_fit_naming_the_epoch_and_the_step() {
    // the probe: one NaN entry, a ReLU MLP. Whether the NaN reaches the loss (ReLU
    // propagates NaN) or only the weights (the step's gradient is NaN), `fit` must stop at
    // the step that saw it: row 9 without shuffling, batches of 4, so epoch 1, step 3.
    let (train, _) = moons();
    let mut x = train.x.clone();
    x.data_mut()[9 * 2 + 1] = f32::NAN;
    let config = FitConfig::new(Loss::CrossEntropy)
        .batch_size(4)
        .shuffle(false);
    let optimizers: Vec<Box<dyn Optimizer<f32>>> = vec![
        Box::new(Sgd::new(0.1)),
        Box::new(Adam::new(0.01)),
        Box::new(RmsProp::new(0.01)),
    ];
    for mut opt in optimizers {
        let mut model = relu_mlp();
        let err = fit_err(
            &mut model,
            &mut *opt,
            Data::classes(&x, &train.y),
            None,
            &config,
        );
        match &err {
            Error::NonFinite { what, value } => {
                assert!(what.ends_with("at epoch 1, step 3"), "{what}");
                assert!(value.is_nan(), "{err}");
            }
            e => panic!("expected NonFinite, got {e}"),
        }
    }
}

/// An optimizer that does not check its updates and writes +inf into the first weight at its
/// second step.
struct Overflowing(usize);

impl Optimizer<f32> for Overflowing {
    fn step(&mut self, model: &mut dyn Module<f32>, _: &tapegrad::Gradients<f32>) -> Result<()> {
        self.0 += 1;
        if self.0 == 2 {
            model.visit_mut(&mut ParamPath::new(), &mut |_, p| {
                p.value_mut().data_mut()[0] = f32::INFINITY
            });
        }
        Ok(())
    }
    fn lr(&self) -> f64 {
        0.1
    }
    fn set_lr(&mut self, _: f64) {}
}

#[test]
fn fit_checks_the_parameters_after_an_optimizer_that_does_not() {
    let (train, _) = moons();
    let mut model = Mlp::<f32>::new(&[2, 4, 2], Relu, Identity, &mut rng(0)).unwrap();
    let err = fit_err(
        &mut model,
        &mut Overflowing(0),
        Data::classes(&train.x, &train.y),
        None,
        &FitConfig::new(Loss::CrossEntropy).batch_size(16),
    );
    assert_eq!(
        err.to_string(),
        "parameter `0.weight` after the optimizer step at epoch 1, step 2: value is inf (not finite)"
    );
}

#[test]
fn no_rows_are_errors() {
    let mut model = relu_mlp();
    let config = FitConfig::new(Loss::CrossEntropy);
    let empty = Array::<f32>::zeros([0, 2]);
    let (train, _) = moons();
    let rows = || Data::classes(&train.x, &train.y);
    let no_rows = || Data::classes(&empty, &[]);

    let line = line!() + 1;
    let err = adam_err(&mut model, no_rows(), None, &config);
    starts(
        &err,
        "train: the training set has no rows (inputs of shape [0, 2])",
        Some(line),
    );

    let err = adam_err(&mut model, rows(), Some(no_rows()), &config);
    says(&err, "the validation set has no rows", None);

    let err = evaluate(&mut model, no_rows(), &config).unwrap_err();
    says(&err, "the evaluation set has no rows", None);
    let err = predict(&mut model, &empty, 8).unwrap_err();
    let line = line!() - 1;
    starts(
        &err,
        "predict: the inputs have no rows (shape [0, 2])",
        Some(line),
    );

    // drop_last with fewer rows than a batch leaves no step at all
    let err = adam_err(
        &mut model,
        rows(),
        None,
        &config.clone().batch_size(1000).drop_last(true),
    );
    says(
        &err,
        "drop_last with a batch size of 1000 leaves no batch of the 150 training rows",
        None,
    );
}

#[test]
fn learning_rates_that_are_not_positive_and_finite_are_refused_before_training() {
    let (train, _) = moons();
    for lr in [0.0, -0.01, f64::NAN, f64::INFINITY] {
        let mut model = relu_mlp();
        let before = model.layers()[0].weight().value().clone();
        let mut opt = Adam::new(0.01);
        opt.set_lr(lr);
        let line = line!() + 1;
        let err = fit_err(
            &mut model,
            &mut opt,
            Data::classes(&train.x, &train.y),
            None,
            &FitConfig::new(Loss::CrossEntropy),
        );
        assert!(
            err.to_string().starts_with(&format!(
                "fit: the optimizer's learning rate must be positive and finite, got {lr}"
            )),
            "{err}"
        );
        assert!(this_file(&err, line), "{err}");
        assert_eq!(
            model.layers()[0].weight().value(),
            &before,
            "nothing trained"
        );
    }
}

#[test]
fn the_examples_lr_flag_of_0_is_a_one_line_error() {
    let out = TempDir::new("fit-guards", "xor");
    let args = xor::Args::parse_from(example_argv("xor", &out.0, &["--lr", "0"]));
    let err = xor::run(&args).unwrap_err().to_string();
    assert!(
        err.starts_with(
            "fit: the optimizer's learning rate must be positive and finite, got 0 (at "
        ),
        "{err}"
    );
    assert!(
        err.contains("examples/xor.rs:"),
        "the example's line: {err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// A model whose second dense layer expects 15 inputs but gets 16: its forward pass fails.
fn mismatched_model() -> Sequential<f32> {
    let mut r = rng(0);
    Sequential::<f32>::new()
        .with(Dense::new(2, 16, Init::HeNormal, &mut r))
        .with(Relu)
        .with(Dense::new(15, 2, Init::HeNormal, &mut r))
}

#[test]
fn errors_during_fit_name_the_callers_line_and_the_module() {
    let (train, _) = moons();
    let mut model = mismatched_model();
    let line = line!() + 1;
    let err = adam_err(
        &mut model,
        Data::classes(&train.x, &train.y),
        None,
        &FitConfig::new(Loss::CrossEntropy),
    );
    says(
        &err,
        "(in module `2`: Dense(in=15, out=2, bias))",
        Some(line),
    );

    // the optimizer's argument errors, through `fit`, name the caller's line too
    let mut model = relu_mlp();
    let line = line!() + 1;
    let err = fit_err(
        &mut model,
        &mut Sgd::new(0.1).momentum(1.0),
        Data::classes(&train.x, &train.y),
        None,
        &FitConfig::new(Loss::CrossEntropy),
    );
    starts(&err, "sgd: momentum must be in [0, 1), got 1", Some(line));
}

#[test]
fn errors_during_evaluate_and_predict_name_the_callers_line_and_the_module() {
    // the forward pass and the loss run inside the batch loop's closure; their errors still
    // name the line that called `evaluate` or `predict`
    let (train, _) = moons();
    let mut model = mismatched_model();
    let config = FitConfig::new(Loss::CrossEntropy);
    let line = line!() + 1;
    let err = evaluate(&mut model, Data::classes(&train.x, &train.y), &config).unwrap_err();
    assert!(
        err.to_string()
            .contains("(in module `2`: Dense(in=15, out=2, bias))"),
        "{err}"
    );
    assert!(this_file(&err, line), "{err}");
    let line = line!() + 1;
    let err = predict(&mut model, &train.x, 64).unwrap_err();
    assert!(
        err.to_string()
            .contains("(in module `2`: Dense(in=15, out=2, bias))"),
        "{err}"
    );
    assert!(this_file(&err, line), "{err}");

    // a loss error (value targets of the wrong shape for MSE) names the caller's line too
    let mut model = relu_mlp(); // outputs [N, 2]
    let y = Array::<f32>::zeros([train.x.dims()[0], 3]);
    let line = line!() + 1;
    let err = evaluate(
        &mut model,
        Data::values(&train.x, &y),
        &FitConfig::new(Loss::Mse),
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("mse: "), "{err}");
    assert!(this_file(&err, line), "{err}");
}
