//! `gradcheck`: compares the tape's gradients with central finite differences, for any
//! function of tensors. The property tests use it for every op; use it for your own
//! expressions too.

use crate::array::Array;
use crate::element::Element;
use crate::error::Result;
use crate::tape::{Tape, Tensor};
use rand::{rngs::StdRng, SeedableRng};
use std::fmt;

/// How one input's tape gradient compared with the finite-difference estimate. The default is
/// the report of no element (all zeros), to which [`InputReport::record`] adds them.
#[derive(Clone, Debug, Default)]
pub struct InputReport {
    /// The largest |tape - numeric| over the input's elements.
    pub max_abs_err: f64,
    /// The largest |tape - numeric| / max(|numeric|, 1e-12).
    pub max_rel_err: f64,
    /// The flat index of the element with the largest excess over the bound (see
    /// [`GradcheckReport::passes`]), and its tape and numeric values.
    pub worst: (usize, f64, f64),
    /// The largest `|tape - numeric| / (atol + rtol·|numeric|)`: at most 1 means within bounds.
    pub worst_ratio: f64,
}

impl InputReport {
    /// Adds element `j`, whose tape gradient is `tape` and finite-difference estimate
    /// `numeric`, measured against the bounds of `opts` (a NaN counts as the worst).
    pub fn record(&mut self, j: usize, tape: f64, numeric: f64, opts: &GradcheckOptions) {
        let err = (tape - numeric).abs();
        let ratio = err / (opts.atol + opts.rtol * numeric.abs());
        self.max_abs_err = self.max_abs_err.max(err);
        self.max_rel_err = self.max_rel_err.max(err / numeric.abs().max(1e-12));
        if ratio > self.worst_ratio || ratio.is_nan() {
            self.worst_ratio = if ratio.is_nan() { f64::INFINITY } else { ratio };
            self.worst = (j, tape, numeric);
        }
    }
}

/// The result of [`gradcheck`]: one [`InputReport`] per input.
#[derive(Clone, Debug)]
pub struct GradcheckReport {
    /// Per input, in order.
    pub inputs: Vec<InputReport>,
    /// The bounds the ratios were measured against: (atol, rtol).
    pub bounds: (f64, f64),
}

impl GradcheckReport {
    /// Whether every element satisfies `|tape - numeric| <= atol + rtol·|numeric|`.
    pub fn passes(&self) -> bool {
        self.inputs.iter().all(|r| r.worst_ratio <= 1.0)
    }
}

impl fmt::Display for GradcheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (atol, rtol) = self.bounds;
        writeln!(
            f,
            "gradcheck (bound |tape - numeric| <= {atol:e} + {rtol:e}·|numeric|):"
        )?;
        for (i, r) in self.inputs.iter().enumerate() {
            writeln!(
                f,
                "  input {i}: max abs err {:.3e}, max rel err {:.3e}, worst element {} (tape {:.9}, numeric {:.9}), ratio {:.3}",
                r.max_abs_err, r.max_rel_err, r.worst.0, r.worst.1, r.worst.2, r.worst_ratio
            )?;
        }
        Ok(())
    }
}

/// Settings for [`gradcheck`].
#[derive(Clone, Copy, Debug)]
pub struct GradcheckOptions {
    /// The finite-difference step (relative to `max(|x|, 1)`).
    pub eps: f64,
    /// Absolute tolerance.
    pub atol: f64,
    /// Relative tolerance.
    pub rtol: f64,
    /// Seed of the random weights that reduce a non-scalar output to a scalar.
    pub seed: u64,
}

impl GradcheckOptions {
    /// Tight bounds for `f64`: eps 1e-6, `|tape - numeric| <= 1e-6 + 1e-4·|numeric|`.
    pub fn f64() -> Self {
        GradcheckOptions {
            eps: 1e-6,
            atol: 1e-6,
            rtol: 1e-4,
            seed: 0,
        }
    }

    /// Bounds suited to `f32` rounding: eps 1e-2, `|tape - numeric| <= 1e-2 + 2e-2·|numeric|`.
    pub fn f32() -> Self {
        GradcheckOptions {
            eps: 1e-2,
            atol: 1e-2,
            rtol: 2e-2,
            seed: 0,
        }
    }
}

fn reduce<'t, T: Element>(tape: &'t Tape<T>, y: Tensor<'t, T>, seed: u64) -> Result<Tensor<'t, T>> {
    let shape = y.shape();
    if shape.numel() == 1 {
        return Ok(y.sum());
    }
    // sum(y · r) with random r: a rule that ignores its incoming gradient cannot pass
    let r = Array::rand_uniform(shape, -1.0, 1.0, &mut StdRng::seed_from_u64(seed));
    Ok(y.mul(tape.constant(r))?.sum())
}

/// Compares the gradient the tape computes for `f(inputs)` with central finite differences
/// `(f(x + h) - f(x - h)) / 2h`, element by element. A non-scalar output is reduced to
/// `sum(y · r)` with fixed random weights `r`, so every output element's gradient matters.
///
/// ```
/// use tapegrad_core::{gradcheck, Array, GradcheckOptions};
/// # fn main() -> tapegrad_core::Result<()> {
/// let x = Array::<f64>::from_vec(vec![0.3, -1.2, 2.0], [3])?;
/// let report = gradcheck(|_tape, xs| Ok(xs[0].tanh().square()), &[x], GradcheckOptions::f64())?;
/// assert!(report.passes(), "{report}");
/// # Ok(()) }
/// ```
/// # Errors
/// Whatever `f` returns.
pub fn gradcheck<T, F>(f: F, inputs: &[Array<T>], opts: GradcheckOptions) -> Result<GradcheckReport>
where
    T: Element,
    F: for<'t> Fn(&'t Tape<T>, &[Tensor<'t, T>]) -> Result<Tensor<'t, T>>,
{
    let eval = |xs: &[Array<T>]| -> Result<f64> {
        let tape = Tape::new();
        let ts: Vec<_> = xs.iter().map(|x| tape.constant(x.clone())).collect();
        let y = f(&tape, &ts)?;
        Ok(reduce(&tape, y, opts.seed)?.item()?.as_f64())
    };
    let analytic: Vec<Array<T>> = {
        let tape = Tape::new();
        let ts: Vec<_> = inputs.iter().map(|x| tape.var(x.clone())).collect();
        let y = f(&tape, &ts)?;
        let grads = reduce(&tape, y, opts.seed)?.backward()?;
        ts.iter()
            .zip(inputs)
            .map(|(t, x)| {
                grads
                    .get(*t)
                    .cloned()
                    .unwrap_or_else(|| Array::zeros(x.shape().clone()))
            })
            .collect()
    };
    let mut reports = Vec::new();
    let mut xs = inputs.to_vec();
    for i in 0..xs.len() {
        let mut rep = InputReport::default();
        for j in 0..xs[i].numel() {
            let x0 = xs[i].data()[j];
            let h = opts.eps * x0.as_f64().abs().max(1.0);
            xs[i].data_mut()[j] = T::of(x0.as_f64() + h);
            let up = eval(&xs)?;
            xs[i].data_mut()[j] = T::of(x0.as_f64() - h);
            let down = eval(&xs)?;
            xs[i].data_mut()[j] = x0;
            let numeric = (up - down) / (2.0 * h);
            rep.record(j, analytic[i].data()[j].as_f64(), numeric, &opts);
        }
        reports.push(rep);
    }
    Ok(GradcheckReport {
        inputs: reports,
        bounds: (opts.atol, opts.rtol),
    })
}
