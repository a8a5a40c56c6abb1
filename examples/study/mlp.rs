//! What the four MLP studies share: the reports' network and training ([`MlpSpec`]: a
//! 784-64-32-10 ReLU MLP, Adam 1e-3, batches of 128), one run ([`train_run`]: fit on the
//! training rows, the test accuracy measured once at the end), and a whole study
//! ([`run_study`]: every setting's runs, the table and the box plot).

use super::data::{self, StudyData};
use super::figures;
use super::runner::{self, Outcome, Plan, Results, Setting};
use super::summary::{table, Metric, Report, Summary};
use super::Context;
use std::fmt;
use std::time::Instant;
use tapegrad::nn::optim::{Adam, AdamW, Optimizer, RmsProp, Sgd};
use tapegrad::nn::{mix_seed, Activation, Mlp};
use tapegrad::train::{evaluate, fit, Data, FitConfig, Loss};
use tapegrad::{rng, Result};

/// The reports' defaults: 15 runs of 50 epochs per setting.
pub const RUNS: usize = 15;
/// The reports' epochs.
pub const EPOCHS: usize = 50;
/// `--quick`'s runs, and its epochs on MNIST.
pub const QUICK: usize = 2;
/// `--quick`'s epochs on the bundled digits (11 steps an epoch).
pub const QUICK_DIGITS_EPOCHS: usize = 20;

/// An optimizer and its learning rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptSpec {
    /// Plain SGD.
    Sgd(f64),
    /// SGD with momentum 0.9.
    SgdMomentum(f64),
    /// Adam (betas 0.9, 0.999).
    Adam(f64),
    /// AdamW (decoupled weight decay 0.01).
    AdamW(f64),
    /// RMSProp (alpha 0.99).
    RmsProp(f64),
}

impl OptSpec {
    /// A fresh optimizer.
    pub fn build(self) -> Box<dyn Optimizer<f32>> {
        match self {
            OptSpec::Sgd(lr) => Box::new(Sgd::new(lr)),
            OptSpec::SgdMomentum(lr) => Box::new(Sgd::new(lr).momentum(0.9)),
            OptSpec::Adam(lr) => Box::new(Adam::new(lr)),
            OptSpec::AdamW(lr) => Box::new(AdamW::new(lr).weight_decay(0.01)),
            OptSpec::RmsProp(lr) => Box::new(RmsProp::new(lr)),
        }
    }
}

impl fmt::Display for OptSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptSpec::Sgd(lr) => write!(f, "SGD {lr}"),
            OptSpec::SgdMomentum(lr) => write!(f, "SGD+momentum {lr}"),
            OptSpec::Adam(lr) => write!(f, "Adam {lr}"),
            OptSpec::AdamW(lr) => write!(f, "AdamW {lr}"),
            OptSpec::RmsProp(lr) => write!(f, "RMSProp {lr}"),
        }
    }
}

/// One MLP setting: hidden sizes, activation, optimizer, batch size.
#[derive(Clone, Debug, PartialEq)]
pub struct MlpSpec {
    /// The hidden layers' sizes.
    pub hidden: Vec<usize>,
    /// The hidden layers' activation.
    pub act: Activation,
    /// The optimizer.
    pub opt: OptSpec,
    /// Rows per step.
    pub batch: usize,
}

impl Default for MlpSpec {
    /// The reports' network: hidden 64, 32, ReLU, Adam 1e-3, batches of 128.
    fn default() -> Self {
        MlpSpec {
            hidden: vec![64, 32],
            act: Activation::Relu,
            opt: OptSpec::Adam(1e-3),
            batch: 128,
        }
    }
}

impl MlpSpec {
    /// The layer sizes for `features` inputs and `classes` outputs.
    pub fn sizes(&self, features: usize, classes: usize) -> Vec<usize> {
        let mut s = vec![features];
        s.extend(&self.hidden);
        s.push(classes);
        s
    }

    /// The CSV's `config`: `784-64-32-10 ReLU Adam 0.001`.
    pub fn config(&self, data: &StudyData) -> String {
        let sizes: Vec<String> = self
            .sizes(data.features(), data.train.classes)
            .iter()
            .map(|s| s.to_string())
            .collect();
        format!("{} {} {}", sizes.join("-"), self.act, self.opt)
    }
}

/// Trains one MLP as `spec` says for `epochs` epochs from `seed` on `data.train` (measuring
/// the validation loss after each epoch when `validate`), then measures the test accuracy.
///
/// # Errors
/// Training's errors (a NaN loss, ...).
pub fn train_run(
    data: &StudyData,
    spec: &MlpSpec,
    epochs: usize,
    seed: u64,
    validate: bool,
) -> Result<Outcome> {
    let sizes = spec.sizes(data.features(), data.train.classes);
    let mut model = Mlp::<f32>::new(&sizes, spec.act, Activation::Identity, &mut rng(seed))?;
    let mut opt = spec.opt.build();
    let config = FitConfig::new(Loss::CrossEntropy)
        .epochs(epochs)
        .batch_size(spec.batch)
        .seed(mix_seed(seed, 1));
    let val = validate.then(|| Data::classes(&data.val.x, &data.val.y));
    let start = Instant::now();
    let history = fit(
        &mut model,
        &mut *opt,
        Data::classes(&data.train.x, &data.train.y),
        val,
        &config,
        &mut (),
    )?;
    let train_seconds = start.elapsed().as_secs_f64();
    let test = evaluate(
        &mut model,
        Data::classes(&data.test.x, &data.test.y),
        &config,
    )?;
    Ok(Outcome {
        metric: test.accuracy.unwrap_or(f64::NAN),
        train_seconds,
        train_curve: history.epochs.iter().map(|e| e.train_loss).collect(),
        val_curve: history.epochs.iter().filter_map(|e| e.val_loss).collect(),
    })
}

/// An MLP study's results: the report (without figures yet), the rows, one summary per
/// setting.
pub struct Done {
    /// The report; the study adds its figures to `files`.
    pub report: Report,
    /// Every run's row.
    pub results: Results,
    /// The data set's name.
    pub dataset: String,
}

/// What a study measures beyond the test accuracy.
#[derive(Clone, Copy, Debug, Default)]
pub struct Extras {
    /// Measure the validation loss after each epoch (for curves).
    pub validate: bool,
    /// Draw the seconds per epoch beside the box plot.
    pub times: bool,
}

/// Runs study `name` over `settings` (label, spec) and draws the box plot of the test
/// accuracy as `NAME.png` (titled with `what`; with `extras.times`, the seconds per epoch
/// beside it).
///
/// # Errors
/// As [`runner::execute`] and [`data::load`]; an I/O error naming the figure.
pub fn run_study(
    ctx: &Context,
    name: &'static str,
    what: &str,
    settings: Vec<(String, MlpSpec)>,
    extras: Extras,
) -> Result<Done> {
    let data = data::load(ctx)?;
    let quick_epochs = if data.mnist {
        QUICK
    } else {
        QUICK_DIGITS_EPOCHS
    };
    let (runs, epochs) = (ctx.runs(RUNS, QUICK), ctx.epochs(EPOCHS, quick_epochs));
    let plan = Plan {
        study: name,
        settings: settings
            .iter()
            .map(|(label, spec)| Setting {
                label: label.clone(),
                batch: spec.batch,
                config: spec.config(&data),
            })
            .collect(),
        runs,
        epochs,
        dataset: data.name.clone(),
    };
    let csv = ctx.file(name, "csv");
    let job = |s: usize, seed: u64| train_run(&data, &settings[s].1, epochs, seed, extras.validate);
    let results = runner::execute(&plan, &csv, ctx.progress, &job)?;
    let summaries: Vec<Summary> = plan
        .settings
        .iter()
        .zip(&results.rows)
        .map(|(s, rows)| Summary::of(&s.label, rows))
        .collect();
    let base = MlpSpec::default();
    let sizes: Vec<String> = base
        .sizes(data.features(), data.train.classes)
        .iter()
        .map(|s| s.to_string())
        .collect();
    let heading = format!(
        "study {name}: {what}; {}, {} MLP, {}, {}, batch {} unless varied; {runs} runs x \
         {epochs} epochs; {} workers x {} thread(s)",
        data.name,
        sizes.join("-"),
        base.act,
        base.opt,
        base.batch,
        results.workers.0,
        results.workers.1
    );
    let figure = figures::box_plot(
        &ctx.file(name, "png"),
        &format!(
            "{what}: test accuracy, {runs} runs x {epochs} epochs ({})",
            data.name
        ),
        &summaries,
        "test accuracy (%)",
        100.0,
        extras.times,
    )?;
    let report = Report {
        heading,
        table: table(&summaries, Metric::Accuracy, "test accuracy"),
        summaries,
        reused: results.reused,
        computed: results.computed,
        ignored: results.ignored,
        recovered_torn_line: results.recovered_torn_line,
        notes: Vec::new(),
        files: vec![csv, figure],
    };
    Ok(Done {
        report,
        results,
        dataset: data.name,
    })
}
