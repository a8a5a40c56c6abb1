//! `gradcheck`: the tape's gradients of the reports' MLP (in f64, ReLU, cross-entropy on 16
//! training images) against central finite differences, one line per parameter: the norm of
//! the tape gradient, the norm of the finite-difference estimate and their relative error
//! `|tape - fd| / max(|tape|, |fd|)` (norms over the checked elements). A parameter with more
//! than [`MAX_CHECKED`] elements is checked on a seeded sample of that many.

use super::data;
use super::figures;
use super::summary::Report;
use super::Context;
use rand::seq::index::sample;
use tapegrad::nn::loss::cross_entropy_with_logits;
use tapegrad::nn::{Activation, Mlp, Module, ParamPath, Reduction};
use tapegrad::{rng, Array, Result, Tape};

/// The most elements checked per parameter.
pub const MAX_CHECKED: usize = 5_000;
/// The images the loss is measured on.
pub const ROWS: usize = 16;
/// The finite-difference step, relative to `max(|p|, 1)`.
pub const EPS: f64 = 1e-6;

/// One parameter's line.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// The parameter's name (`0.weight`).
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its elements.
    pub elements: usize,
    /// The elements checked.
    pub checked: usize,
    /// The norm of the tape gradient over the checked elements.
    pub tape_norm: f64,
    /// The norm of the finite-difference gradient over the checked elements.
    pub fd_norm: f64,
    /// `|tape - fd| / max(|tape|, |fd|)`.
    pub rel_error: f64,
}

/// The mean cross-entropy of `model` on `x` with `labels`.
fn loss(model: &Mlp<f64>, x: &Array<f64>, labels: &[usize]) -> Result<f64> {
    let tape = Tape::new();
    let y = model.forward(tape.constant(x.clone()))?;
    cross_entropy_with_logits(y, labels, Reduction::Mean)?.item()
}

/// Sets element `j` of parameter `k` (in visiting order) to `v`; returns the old value.
fn poke(model: &mut Mlp<f64>, k: usize, j: usize, v: Option<f64>) -> f64 {
    let (mut idx, mut old) = (0, 0.0);
    model.visit_mut(&mut ParamPath::new(), &mut |_, p| {
        if idx == k {
            let d = p.value_mut().data_mut();
            old = d[j];
            if let Some(v) = v {
                d[j] = v;
            }
        }
        idx += 1;
    });
    old
}

/// Checks every parameter of `model` on `x` and `labels`.
///
/// # Errors
/// The model's and the loss's errors.
pub fn check(model: &mut Mlp<f64>, x: &Array<f64>, labels: &[usize]) -> Result<Vec<Line>> {
    let named: Vec<(String, Vec<usize>)> = model
        .named_params()
        .into_iter()
        .map(|(name, p)| (name, p.value().dims().to_vec()))
        .collect();
    let grads = {
        let tape = Tape::new();
        let y = model.forward(tape.constant(x.clone()))?;
        let g = cross_entropy_with_logits(y, labels, Reduction::Mean)?.backward()?;
        model
            .named_params()
            .into_iter()
            .map(|(_, p)| {
                g.param(p)
                    .cloned()
                    .unwrap_or_else(|| Array::zeros(p.value().shape()))
            })
            .collect::<Vec<_>>()
    };
    let mut lines = Vec::new();
    for (k, ((name, shape), g)) in named.iter().zip(&grads).enumerate() {
        let n = g.numel();
        let idx: Vec<usize> = if n > MAX_CHECKED {
            let mut v = sample(&mut rng(k as u64), n, MAX_CHECKED).into_vec();
            v.sort_unstable();
            v
        } else {
            (0..n).collect()
        };
        let (mut t2, mut f2, mut d2) = (0.0, 0.0, 0.0);
        for &j in &idx {
            let p0 = poke(model, k, j, None);
            let h = EPS * p0.abs().max(1.0);
            poke(model, k, j, Some(p0 + h));
            let up = loss(model, x, labels);
            poke(model, k, j, Some(p0 - h));
            let down = loss(model, x, labels);
            poke(model, k, j, Some(p0));
            let fd = (up? - down?) / (2.0 * h);
            let t = g.data()[j];
            t2 += t * t;
            f2 += fd * fd;
            d2 += (t - fd) * (t - fd);
        }
        let (tape_norm, fd_norm) = (t2.sqrt(), f2.sqrt());
        lines.push(Line {
            name: name.clone(),
            shape: shape.clone(),
            elements: n,
            checked: idx.len(),
            tape_norm,
            fd_norm,
            rel_error: d2.sqrt() / tape_norm.max(fd_norm).max(f64::MIN_POSITIVE),
        });
    }
    Ok(lines)
}

/// Runs the study.
///
/// # Errors
/// MNIST's reading errors; I/O errors naming the CSV or the figure.
pub fn run(ctx: &Context) -> Result<Report> {
    let data = data::load(ctx)?;
    let rows: Vec<usize> = (0..ROWS.min(data.train.len())).collect();
    let x = data.train.x.select_rows(&rows)?.cast::<f64>();
    let labels: Vec<usize> = rows.iter().map(|&i| data.train.y[i]).collect();
    let sizes = [data.features(), 64, 32, data.train.classes];
    let mut model = Mlp::<f64>::new(&sizes, Activation::Relu, Activation::Identity, &mut rng(0))?;
    let lines = check(&mut model, &x, &labels)?;

    let mut csv = String::from("parameter,shape,elements,checked,tape_norm,fd_norm,rel_error\n");
    let mut table = format!(
        "{:<10} {:>9} {:>9} {:>14} {:>14} {:>10}\n",
        "parameter", "shape", "checked", "|tape grad|", "|finite diff|", "rel error"
    );
    for l in &lines {
        let shape: Vec<String> = l.shape.iter().map(|d| d.to_string()).collect();
        let shape = shape.join("x");
        csv += &format!(
            "{},{shape},{},{},{:e},{:e},{:e}\n",
            l.name, l.elements, l.checked, l.tape_norm, l.fd_norm, l.rel_error
        );
        table += &format!(
            "{:<10} {:>9} {:>9} {:>14.6e} {:>14.6e} {:>10.2e}\n",
            l.name,
            shape,
            format!("{}/{}", l.checked, l.elements),
            l.tape_norm,
            l.fd_norm,
            l.rel_error
        );
    }
    let csv_path = ctx.file("gradcheck", "csv");
    tapegrad::nn::write_file_atomic(&csv_path, csv.as_bytes())?;
    let sizes: Vec<String> = sizes.iter().map(|s| s.to_string()).collect();
    let figure = figures::error_bars(
        &ctx.file("gradcheck", "png"),
        &format!(
            "gradient check, {} MLP (f64, ReLU, cross-entropy on {} {} images)",
            sizes.join("-"),
            x.dims()[0],
            data.name
        ),
        &lines
            .iter()
            .map(|l| (l.name.clone(), l.rel_error))
            .collect::<Vec<_>>(),
    )?;
    let worst = lines.iter().map(|l| l.rel_error).fold(0.0, f64::max);
    Ok(Report {
        heading: format!(
            "study gradcheck: {} MLP in f64 (ReLU), mean cross-entropy of {} {} training \
             images; central differences, step {EPS:e}·max(|p|, 1); at most {MAX_CHECKED} \
             elements per parameter (a seeded sample)",
            sizes.join("-"),
            x.dims()[0],
            data.name
        ),
        table,
        notes: vec![format!("largest relative error: {worst:.2e}")],
        files: vec![csv_path, figure],
        ..Report::default()
    })
}
