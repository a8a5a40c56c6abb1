//! `gradcheck_module`: the core's finite-difference check, extended to a module's parameters,
//! so a layer's gradients (which come from the tape) can be proved for its input *and* every
//! weight.

use crate::module::Module;
use crate::ParamPath;
use rand::{rngs::StdRng, SeedableRng};
use tapegrad_core::{
    Array, Element, GradcheckOptions, GradcheckReport, InputReport, Result, Tape, Tensor,
};

/// `sum(y · r)` with fixed random `r` (as the core's gradcheck), so every output element's
/// gradient matters.
fn reduce<'t, T: Element>(tape: &'t Tape<T>, y: Tensor<'t, T>, seed: u64) -> Result<Tensor<'t, T>> {
    let r = Array::rand_uniform(y.shape(), -1.0, 1.0, &mut StdRng::seed_from_u64(seed));
    Ok(y.mul(tape.constant(r))?.sum())
}

fn eval<T: Element>(model: &dyn Module<T>, x: &Array<T>, seed: u64) -> Result<f64> {
    let tape = Tape::new();
    let y = model.forward(tape.constant(x.clone()))?;
    Ok(reduce(&tape, y, seed)?.item()?.as_f64())
}

/// Sets element `j` of parameter `k` (in visiting order) to `v` if given; returns the old value.
fn poke<T: Element>(model: &mut dyn Module<T>, k: usize, j: usize, v: Option<T>) -> T {
    let mut idx = 0;
    let mut old = T::zero();
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

/// Compares the tape's gradients of a module's output with central finite differences, for
/// the input `x` (report 0) and every parameter in visiting order (reports 1, 2, ...). The
/// output is reduced to `sum(y · r)` with fixed random weights `r` (seeded by `opts.seed`), so
/// a rule that ignores its incoming gradient cannot pass. Parameters are perturbed in place
/// and restored.
///
/// The module must be deterministic: put modules with dropout in evaluation mode first.
///
/// ```
/// use tapegrad_core::{rng, Array, GradcheckOptions};
/// use tapegrad_nn::{gradcheck_module, Activation, Mlp};
/// # fn main() -> tapegrad_core::Result<()> {
/// let mut mlp = Mlp::<f64>::new(&[3, 4, 2], Activation::Tanh, Activation::Softmax(-1), &mut rng(0))?;
/// let x = Array::randn([5, 3], 0.0, 1.0, &mut rng(1));
/// let report = gradcheck_module(&mut mlp, &x, GradcheckOptions::f64())?;
/// assert_eq!(report.inputs.len(), 1 + 4); // x, then 0.weight, 0.bias, 2.weight, 2.bias
/// assert!(report.passes(), "{report}");
/// # Ok(()) }
/// ```
/// # Errors
/// Whatever the module's forward returns.
pub fn gradcheck_module<T: Element>(
    model: &mut dyn Module<T>,
    x: &Array<T>,
    opts: GradcheckOptions,
) -> Result<GradcheckReport> {
    // the tape's gradients
    let (gx, gparams) = {
        let tape = Tape::new();
        let xt = tape.var(x.clone());
        let y = model.forward(xt)?;
        let grads = reduce(&tape, y, opts.seed)?.backward()?;
        let gx = grads
            .get(xt)
            .cloned()
            .unwrap_or_else(|| Array::zeros(x.shape()));
        let mut gp = Vec::new();
        model.visit(&mut ParamPath::new(), &mut |_, p| {
            gp.push(
                grads
                    .param(p)
                    .cloned()
                    .unwrap_or_else(|| Array::zeros(p.value().shape())),
            );
        });
        (gx, gp)
    };
    let step = |v: T| opts.eps * v.as_f64().abs().max(1.0);
    let mut reports = Vec::with_capacity(1 + gparams.len());

    // the input
    let mut rep = InputReport::default();
    let mut xs = x.clone();
    for j in 0..xs.numel() {
        let x0 = xs.data()[j];
        let h = step(x0);
        xs.data_mut()[j] = T::of(x0.as_f64() + h);
        let up = eval(&*model, &xs, opts.seed)?;
        xs.data_mut()[j] = T::of(x0.as_f64() - h);
        let down = eval(&*model, &xs, opts.seed)?;
        xs.data_mut()[j] = x0;
        rep.record(j, gx.data()[j].as_f64(), (up - down) / (2.0 * h), &opts);
    }
    reports.push(rep);

    // each parameter, element by element
    for (k, g) in gparams.iter().enumerate() {
        let mut rep = InputReport::default();
        for j in 0..g.numel() {
            let p0 = poke(model, k, j, None);
            let h = step(p0);
            poke(model, k, j, Some(T::of(p0.as_f64() + h)));
            let up = eval(&*model, x, opts.seed);
            poke(model, k, j, Some(T::of(p0.as_f64() - h)));
            let down = eval(&*model, x, opts.seed);
            poke(model, k, j, Some(p0)); // restored before any error is returned
            let (up, down) = (up?, down?);
            rep.record(j, g.data()[j].as_f64(), (up - down) / (2.0 * h), &opts);
        }
        reports.push(rep);
    }
    Ok(GradcheckReport {
        inputs: reports,
        bounds: (opts.atol, opts.rtol),
    })
}
