//! Gradients as tensors: [`grad`] (PyTorch's `torch.autograd.grad`, with `create_graph`),
//! and the helpers built on it: [`hvp`], [`jacobian`], [`hessian`].
//!
//! [`Tensor::backward`] computes gradients as plain arrays on its fast path (pooled buffers,
//! no nodes). [`grad`] walks the same tape in reverse but evaluates every op's rule with tensor
//! ops, so each gradient is itself a node on the tape: it can enter a loss and be
//! differentiated again, to any order. The tensor form of each rule is `rule` below, one arm
//! per [`Op`] variant in the order of `backward.rs`, with the same derivative in its comment
//! (the smooth elementwise ops share one definition with it, in `derivatives.rs`);
//! the property tests of `tests/grad_of_grad.rs` check, for every op, that the two forms give
//! the same first-order gradient and that the recorded gradient's own gradient matches
//! central differences of the first-order one.
//!
//! Masks of piecewise-linear ops (relu, abs, leaky_relu, max's arg-max) enter as constants,
//! so their second derivatives are 0 (as PyTorch's); so do `max_pool2d`'s arg-max positions,
//! the fixed indices of a scatter-add of `g`.
//!
//! A linear structural op whose gradient is another linear op records that gradient as its
//! own op, the adjoint, whose rule is the first op again: `narrow` ↔ `narrow_backward`,
//! `gather` ↔ `scatter_add`, `avg_pool2d` ↔ `avg_pool2d_backward`.

use crate::array::Array;
use crate::derivatives as d;
use crate::element::Element;
use crate::error::{AnomalyPhase, Error, Result};
use crate::kernels;
use crate::op::{Activation, NodeId, Op};
use crate::shape::Shape;
use crate::tape::{Tape, Tensor};
use std::panic::Location;

/// The gradients of `outputs` with respect to `inputs`, as tensors on the same tape
/// (PyTorch's `torch.autograd.grad`).
///
/// Each output `y_k` is weighted by its `grad_outputs[k]` (a tensor of `y_k`'s shape; `None`
/// means every output is a scalar, weighted by 1), and the result holds, per input `x`,
/// `Σ_k grad_outputs[k] · ∂y_k/∂x` in `x`'s shape. An input may be any tensor of the tape
/// (a `var`, a bound `Param`, or an intermediate result); its entry is `None` when no
/// gradient reaches it (the outputs do not depend on it through nodes that need one).
///
/// With `create_graph`, the gradients are recorded from tape ops: they depend on the inputs
/// (and on `grad_outputs`) and can be differentiated again, to any order. Without it they are
/// detached constants, like [`Tensor::backward`]'s arrays (which stay the fast path for
/// training). Either way the reverse pass is recorded on the tape: its nodes stay there until
/// [`Tape::reset`].
///
/// ```
/// use tapegrad_core::{grad, Array, Tape};
/// # fn main() -> tapegrad_core::Result<()> {
/// let tape = Tape::<f64>::new();
/// let x = tape.var(Array::scalar(2.0));
/// let y = x.powf(3.0); // y = x³
/// let dy = grad(&[y], &[x], None, true)?[0].expect("y depends on x"); // 3x² = 12
/// let d2y = grad(&[dy], &[x], None, false)?[0].expect("3x² depends on x"); // 6x = 12
/// assert_eq!(dy.item()?, 12.0);
/// assert_eq!(d2y.item()?, 12.0);
/// # Ok(()) }
/// ```
///
/// # Errors
/// - [`Error::InvalidArgument`] when `outputs` is empty, or `grad_outputs` does not hold one
///   tensor per output;
/// - [`Error::NotScalar`] when `grad_outputs` is `None` and an output has more than one
///   element;
/// - [`Error::Shape`] when a `grad_outputs` tensor does not have its output's shape;
/// - [`Error::TapeMismatch`] when the tensors do not all come from one tape;
/// - in anomaly mode ([`Tape::set_detect_anomaly`]), [`Error::Anomaly`] for the first NaN or
///   infinity in a recorded value or in a gradient passed on.
///
/// Each names the line of the caller.
#[track_caller]
pub fn grad<'t, T: Element>(
    outputs: &[Tensor<'t, T>],
    inputs: &[Tensor<'t, T>],
    grad_outputs: Option<&[Tensor<'t, T>]>,
    create_graph: bool,
) -> Result<Vec<Option<Tensor<'t, T>>>> {
    let location = Location::caller();
    let Some(first) = outputs.first() else {
        return Err(Error::invalid("grad", "needs at least one output"));
    };
    let tape = first.tape;
    let anomaly = tape.detect_anomaly();
    if anomaly {
        tape.check_anomaly()?;
    }
    let all = outputs
        .iter()
        .chain(inputs)
        .chain(grad_outputs.unwrap_or(&[]));
    if all.clone().any(|t| !std::ptr::eq(t.tape, tape)) {
        return Err(Error::TapeMismatch {
            op: "grad",
            location,
        });
    }
    let seeds: Vec<Tensor<'t, T>> = match grad_outputs {
        Some(gs) => {
            if gs.len() != outputs.len() {
                return Err(Error::invalid(
                    "grad",
                    format!(
                        "grad_outputs holds {} tensors for {} outputs",
                        gs.len(),
                        outputs.len()
                    ),
                ));
            }
            for (k, (y, g)) in outputs.iter().zip(gs).enumerate() {
                let (ys, gs) = (y.shape(), g.shape());
                if ys != gs {
                    return Err(Error::Shape {
                        op: "grad",
                        lhs: ys,
                        rhs: gs,
                        reason: format!("grad_outputs[{k}] must have the shape of outputs[{k}]"),
                        location,
                    });
                }
            }
            gs.to_vec()
        }
        None => {
            let mut v = Vec::with_capacity(outputs.len());
            for y in outputs {
                let shape = y.shape();
                if shape.numel() != 1 {
                    return Err(Error::NotScalar { shape, location });
                }
                v.push(tape.constant(Array::ones(shape)));
            }
            v
        }
    };
    let top = outputs
        .iter()
        .map(|y| y.id)
        .max()
        .expect("internal: outputs not empty");
    let bottom = inputs.iter().map(|x| x.id).min().unwrap_or(top + 1);
    // Which nodes lead to an input: only their gradients are worth recording (a gradient
    // with respect to `x` alone computes no weight gradients on the way).
    let mut leads = vec![false; (top + 1).saturating_sub(bottom)];
    {
        let nodes = tape.nodes.borrow();
        for x in inputs {
            leads[x.id - bottom] = nodes[x.id].requires_grad;
        }
        for id in bottom..=top {
            let node = &nodes[id];
            if !leads[id - bottom] && node.requires_grad {
                leads[id - bottom] = node
                    .op
                    .inputs()
                    .iter()
                    .any(|&j| j >= bottom && leads[j - bottom]);
            }
        }
    }
    let need = |i: NodeId| i >= bottom && leads[i - bottom];
    let mut slots: Vec<Option<Tensor<'t, T>>> = vec![None; top + 1];
    for (y, g) in outputs.iter().zip(seeds) {
        if need(y.id) {
            accumulate(&mut slots[y.id], g)?;
        }
    }
    let mut result: Vec<Option<Tensor<'t, T>>> = vec![None; inputs.len()];
    for id in (bottom..=top).rev() {
        let Some(g) = slots[id].take() else { continue };
        for (r, x) in result.iter_mut().zip(inputs) {
            if x.id == id {
                *r = Some(g);
            }
        }
        let op = tape.nodes.borrow()[id].op.clone();
        if op.is_leaf() {
            continue;
        }
        rule(tape, id, &op, g, &need, &mut |input, gi| {
            if anomaly {
                backward_anomaly(tape, id, Some(gi), location)?;
            }
            if need(input) {
                accumulate(&mut slots[input], gi)?;
            }
            Ok(())
        })?;
        if anomaly {
            backward_anomaly(tape, id, None, location)?;
        }
    }
    if !create_graph {
        for r in result.iter_mut().flatten() {
            *r = r.detach();
        }
    }
    Ok(result)
}

/// In anomaly mode, during `grad`'s reverse pass at node `id`: an [`Error::Anomaly`] of phase
/// backward when the gradient `gi` the node's rule passes on, or any value the rule recorded
/// on the way (kept on the tape as a forward anomaly), holds a NaN or infinity.
fn backward_anomaly<T: Element>(
    tape: &Tape<T>,
    id: NodeId,
    gi: Option<Tensor<'_, T>>,
    location: &'static Location<'static>,
) -> Result<()> {
    let pending = match tape.check_anomaly() {
        Err(Error::Anomaly { value, .. }) => Some(value),
        _ => None,
    };
    let e = match gi {
        Some(gi) => tape.anomaly_in(id, &gi.value_ref(), AnomalyPhase::Backward, location),
        None => None,
    };
    if let Some(e) = e {
        return Err(e);
    }
    match pending {
        Some(value) => Err(tape.anomaly_at(id, value, AnomalyPhase::Backward, location)),
        None => Ok(()),
    }
}

/// The Hessian-vector products `H·v` of a scalar `output` with respect to `inputs`: entry `i`
/// is `Σ_j ∂²y/∂x_i∂x_j · v_j` in `x_i`'s shape, `None` where it is identically 0 (the
/// gradient does not depend on `x_i`, e.g. through a piecewise-linear op). Computed as the
/// gradient of `Σ_j ⟨∂y/∂x_j, v_j⟩`: a recorded reverse pass, then a reverse pass through it
/// seeded with `v` (no Hessian is formed); with
/// `create_graph` the products are recorded and can be differentiated again.
///
/// ```
/// use tapegrad_core::{hvp, Array, Tape};
/// # fn main() -> tapegrad_core::Result<()> {
/// let tape = Tape::<f64>::new();
/// let x = tape.var(Array::from_vec(vec![1.0, 2.0], [2])?);
/// let y = x.powf(3.0).sum(); // H = diag(6x) = diag(6, 12)
/// let v = tape.constant(Array::from_vec(vec![1.0, -1.0], [2])?);
/// let hv = hvp(y, &[x], &[v], false)?[0].expect("y is cubic in x");
/// assert_eq!(hv.to_array().data(), &[6.0, -12.0]);
/// # Ok(()) }
/// ```
///
/// # Errors
/// As [`grad`] (`output` must be a scalar); [`Error::InvalidArgument`] when `v` does not hold
/// one tensor per input, [`Error::Shape`] when `v[i]` does not have `inputs[i]`'s shape.
#[track_caller]
pub fn hvp<'t, T: Element>(
    output: Tensor<'t, T>,
    inputs: &[Tensor<'t, T>],
    v: &[Tensor<'t, T>],
    create_graph: bool,
) -> Result<Vec<Option<Tensor<'t, T>>>> {
    let location = Location::caller();
    if v.len() != inputs.len() {
        return Err(Error::invalid(
            "hvp",
            format!("v holds {} tensors for {} inputs", v.len(), inputs.len()),
        ));
    }
    for (i, (x, vi)) in inputs.iter().zip(v).enumerate() {
        if !std::ptr::eq(vi.tape, output.tape) {
            return Err(Error::TapeMismatch {
                op: "hvp",
                location,
            });
        }
        let (xs, vs) = (x.shape(), vi.shape());
        if xs != vs {
            return Err(Error::Shape {
                op: "hvp",
                lhs: xs,
                rhs: vs,
                reason: format!("v[{i}] must have the shape of inputs[{i}]"),
                location,
            });
        }
    }
    // The first pass records its products lazily: the gradients it returns only seed the
    // second pass, which reads a product's operands, not its value (so `∂y/∂W` of a first
    // layer, the largest product, is never computed); whatever reads a value computes it.
    let tape = output.tape;
    tape.lazy_products.set(true);
    let gs = grad(&[output], inputs, None, true);
    tape.lazy_products.set(false);
    let gs = gs?;
    // The gradient of Σ_j ⟨g_j, v_j⟩ is the reverse pass from the g_j seeded with v_j: no
    // product or sum of it is recorded.
    let (outs, seeds): (Vec<_>, Vec<_>) = gs
        .iter()
        .zip(v)
        .filter_map(|(g, vi)| g.map(|g| (g, *vi)))
        .unzip();
    if outs.is_empty() {
        return Ok(vec![None; inputs.len()]);
    }
    grad(&outs, inputs, Some(&seeds), create_graph)
}

/// The Jacobian of `output` with respect to `input`, as an array of shape
/// `output.dims ++ input.dims` (as `torch.autograd.functional.jacobian`): element
/// `[i…, j…]` is `∂output[i…]/∂input[j…]`. One reverse pass per output element, each recorded
/// on the tape: meant for small tensors.
///
/// ```
/// use tapegrad_core::{jacobian, Array, Tape};
/// # fn main() -> tapegrad_core::Result<()> {
/// let tape = Tape::<f64>::new();
/// let a = tape.constant(Array::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [3, 2])?);
/// let x = tape.var(Array::from_vec(vec![0.5, -1.0], [2, 1])?);
/// let j = jacobian(a.matmul(x)?, x)?; // d(A·x)/dx = A, here of shape [3, 1, 2, 1]
/// assert_eq!(j.dims(), &[3, 1, 2, 1]);
/// assert_eq!(j.data(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::TapeMismatch`] when the tensors come from two tapes; [`Error::InvalidArgument`]
/// when the result's shape would hold too many elements.
#[track_caller]
pub fn jacobian<'t, T: Element>(output: Tensor<'t, T>, input: Tensor<'t, T>) -> Result<Array<T>> {
    if !std::ptr::eq(output.tape, input.tape) {
        return Err(Error::TapeMismatch {
            op: "jacobian",
            location: Location::caller(),
        });
    }
    let (os, is) = (output.shape(), input.shape());
    let dims: Vec<usize> = os.dims().iter().chain(is.dims()).copied().collect();
    let shape = Shape::new(&dims);
    let Some(len) = shape.try_numel() else {
        return Err(Error::invalid(
            "jacobian",
            format!("the Jacobian's shape {shape} holds too many elements"),
        ));
    };
    let (m, n) = (os.numel(), is.numel());
    let mut data = Vec::with_capacity(len);
    for i in 0..m {
        let e = output.tape.constant(Array::from_fn(os.clone(), |k| {
            if k == i {
                T::one()
            } else {
                T::zero()
            }
        }));
        match grad(&[output], &[input], Some(&[e]), false)?[0] {
            Some(row) => data.extend_from_slice(row.value_ref().data()),
            None => data.resize(data.len() + n, T::zero()),
        }
    }
    Array::from_vec(data, shape)
}

/// The Hessian of a scalar `output` with respect to `input`, as an array of shape
/// `input.dims ++ input.dims`: the [`jacobian`] of the recorded gradient. One reverse pass per
/// input element: meant for small tensors.
///
/// ```
/// use tapegrad_core::{hessian, Array, Tape};
/// # fn main() -> tapegrad_core::Result<()> {
/// // the quadratic form xᵀAx has the Hessian A + Aᵀ
/// let tape = Tape::<f64>::new();
/// let a = tape.constant(Array::from_vec(vec![1.0, 2.0, 3.0, 4.0], [2, 2])?);
/// let x = tape.var(Array::from_vec(vec![0.5, -1.5], [2, 1])?);
/// let q = x.t()?.matmul(a.matmul(x)?)?.sum();
/// let h = hessian(q, x)?;
/// assert_eq!(h.dims(), &[2, 1, 2, 1]);
/// assert_eq!(h.data(), &[2.0, 5.0, 5.0, 8.0]); // A + Aᵀ
/// # Ok(()) }
/// ```
///
/// # Errors
/// As [`grad`] (`output` must be a scalar) and [`jacobian`].
#[track_caller]
pub fn hessian<'t, T: Element>(output: Tensor<'t, T>, input: Tensor<'t, T>) -> Result<Array<T>> {
    let g = grad(&[output], &[input], None, true)?[0];
    match g {
        Some(g) => jacobian(g, input),
        None => {
            let is = input.shape();
            let dims: Vec<usize> = is.dims().iter().chain(is.dims()).copied().collect();
            let shape = Shape::new(&dims);
            if shape.try_numel().is_none() {
                return Err(Error::invalid(
                    "hessian",
                    format!("the Hessian's shape {shape} holds too many elements"),
                ));
            }
            Ok(Array::zeros(shape))
        }
    }
}

/// Adds `g` into a gradient slot (a tensor used several times gets the sum).
fn accumulate<'t, T: Element>(slot: &mut Option<Tensor<'t, T>>, g: Tensor<'t, T>) -> Result<()> {
    *slot = Some(match slot.take() {
        Some(acc) => acc.add(g)?,
        None => g,
    });
    Ok(())
}

/// `g` summed over the axes broadcasting stretched, back to `target` (the tensor form of
/// `kernels::sum_to_shape`).
fn sum_to<'t, T: Element>(g: Tensor<'t, T>, target: &Shape) -> Result<Tensor<'t, T>> {
    let mut g = g;
    let mut gs = g.shape();
    if &gs == target {
        return Ok(g);
    }
    while gs.rank() > target.rank() {
        g = g.sum_axis(0, false)?;
        gs = g.shape();
    }
    for (i, &d) in target.dims().iter().enumerate() {
        if d == 1 && gs.dim(i) != 1 {
            g = g.sum_axis(i as isize, true)?;
        }
    }
    Ok(g)
}

/// `g` of a reduction's output shape repeated along the reduced axis back to `x_shape` (the
/// tensor form of `kernels::broadcast_back`).
fn broadcast_back<'t, T: Element>(
    g: Tensor<'t, T>,
    x_shape: &Shape,
    axis: Option<usize>,
) -> Result<Tensor<'t, T>> {
    g.reshape(x_shape.reduced(axis, true))?
        .broadcast_to(x_shape.clone())
}

/// A constant of `x`'s shape, `f` of each element of `x`: the masks of piecewise-linear rules.
fn mask<'t, T: Element>(x: Tensor<'t, T>, f: impl Fn(T) -> T) -> Tensor<'t, T> {
    let m = x.value_ref().map(f);
    x.tape.constant(m)
}

/// The tensor form of every op's gradient rule: sends `g` (the gradient of node `id`'s output
/// `y`) to its inputs through `emit(input, gradient)`, each gradient recorded from tape ops.
/// The arms follow `backward.rs`'s `rule`, which holds the array form of the same derivatives.
fn rule<'t, T: Element>(
    tape: &'t Tape<T>,
    id: NodeId,
    op: &Op,
    g: Tensor<'t, T>,
    need: &dyn Fn(NodeId) -> bool,
    emit: &mut dyn FnMut(NodeId, Tensor<'t, T>) -> Result<()>,
) -> Result<()> {
    let t = |i: NodeId| Tensor { tape, id: i };
    let y = t(id);
    let zero = T::zero();
    match op {
        Op::Constant | Op::Var | Op::Param(_) => unreachable!("internal: leaves have no rule"),
        // d(a+b)/da = 1, d(a+b)/db = 1, summed over broadcast axes
        Op::Add(a, b) => {
            if need(*b) {
                emit(*b, sum_to(g, &t(*b).shape())?)?;
            }
            if need(*a) {
                emit(*a, sum_to(g, &t(*a).shape())?)?;
            }
        }
        // d(a-b)/da = 1, d(a-b)/db = -1
        Op::Sub(a, b) => {
            if need(*b) {
                emit(*b, sum_to(g.neg(), &t(*b).shape())?)?;
            }
            if need(*a) {
                emit(*a, sum_to(g, &t(*a).shape())?)?;
            }
        }
        // d(ab)/da = b, d(ab)/db = a
        Op::Mul(a, b) => {
            if need(*a) {
                emit(*a, sum_to(g.mul(t(*b))?, &t(*a).shape())?)?;
            }
            if need(*b) {
                emit(*b, sum_to(g.mul(t(*a))?, &t(*b).shape())?)?;
            }
        }
        // d(a/b)/da = 1/b, d(a/b)/db = -a/b² = -y/b
        Op::Div(a, b) => {
            if need(*a) {
                emit(*a, sum_to(g.div(t(*b))?, &t(*a).shape())?)?;
            }
            if need(*b) {
                let d = g.mul(y)?.div(t(*b))?.neg();
                emit(*b, sum_to(d, &t(*b).shape())?)?;
            }
        }
        // d(x+c)/dx = 1
        Op::AddScalar(x, _) => emit(*x, g)?,
        // d(cx)/dx = c
        Op::MulScalar(x, k) => emit(*x, g.mul_scalar(*k))?,
        // d(x^p)/dx = p·x^(p-1); 0 everywhere for p = 0
        Op::Powf(x, p) if *p == 0.0 => emit(*x, tape.constant(Array::zeros(t(*x).shape())))?,
        Op::Powf(x, p) => emit(*x, d::powf(g, t(*x), *p))?,
        // d(-x)/dx = -1
        Op::Neg(x) => emit(*x, g.neg())?,
        // the smooth elementwise ops: `g · f′` from the table in derivatives.rs, recorded
        // d(e^x)/dx = e^x = y
        Op::Exp(x) => emit(*x, d::exp(g, y))?,
        // d(ln x)/dx = 1/x
        Op::Log(x) => emit(*x, d::log(g, t(*x)))?,
        // d(√x)/dx = 1/(2y)
        Op::Sqrt(x) => emit(*x, d::sqrt(g, y))?,
        // d(x²)/dx = 2x
        Op::Square(x) => emit(*x, d::square(g, t(*x)))?,
        // d|x|/dx = sign(x), 0 at 0 (a constant mask: second derivative 0)
        Op::Abs(x) => {
            let s = mask(t(*x), |v| {
                if v > zero {
                    T::one()
                } else if v < zero {
                    -T::one()
                } else {
                    zero
                }
            });
            emit(*x, g.mul(s)?)?
        }
        // d relu(x)/dx = 0 if x <= 0 else 1 (NaN passes g on)
        Op::Relu(x) => {
            let m = mask(t(*x), |v| if v <= zero { zero } else { T::one() });
            emit(*x, g.mul(m)?)?
        }
        // d leaky(x)/dx = 1 if x > 0 else slope
        Op::LeakyRelu(x, s) => {
            let s = T::of(*s);
            let m = mask(t(*x), |v| if v > zero { T::one() } else { s });
            emit(*x, g.mul(m)?)?
        }
        // d σ(x)/dx = y(1 - y)
        Op::Sigmoid(x) => emit(*x, d::sigmoid(g, y))?,
        // d tanh(x)/dx = 1 - y²
        Op::Tanh(x) => emit(*x, d::tanh(g, y))?,
        // d(AB)/dA = G·Bᵀ, d(AB)/dB = Aᵀ·G; a shared operand sums over the batch
        // 2-D: dA = G·Bᵀ, dB = Aᵀ·G, the transposes read through strides
        Op::Matmul(a, b) if t(*a).shape().rank() == 2 && t(*b).shape().rank() == 2 => {
            if need(*a) {
                emit(*a, g.matmul_t(t(*b), false, true)?)?;
            }
            if need(*b) {
                emit(*b, t(*a).matmul_t(g, true, false)?)?;
            }
        }
        // C = op(A)·op(B): dop(A) = G·op(B)ᵀ, dop(B) = op(A)ᵀ·G, transposed back where the
        // operand was read transposed
        Op::MatmulT { a, b, ta, tb } => {
            let (av, bv) = (t(*a), t(*b));
            if need(*a) {
                emit(
                    *a,
                    if *ta {
                        bv.matmul_t(g, *tb, true)?
                    } else {
                        g.matmul_t(bv, false, !*tb)?
                    },
                )?;
            }
            if need(*b) {
                emit(
                    *b,
                    if *tb {
                        g.matmul_t(av, true, *ta)?
                    } else {
                        av.matmul_t(g, !*ta, false)?
                    },
                )?;
            }
        }
        Op::Matmul(a, b) => {
            let (ta, tb) = (t(*a), t(*b));
            let (ra, rb) = (ta.shape().rank(), tb.shape().rank());
            let tr = |m: Tensor<'t, T>, r: usize| {
                if r == 3 {
                    m.transpose(1, 2)
                } else {
                    m.t()
                }
            };
            if need(*a) {
                let d = g.matmul(tr(tb, rb)?)?;
                let d = if ra == 2 && rb == 3 {
                    d.sum_axis(0, false)?
                } else {
                    d
                };
                emit(*a, d)?;
            }
            if need(*b) {
                let d = if ra == 3 && rb == 2 {
                    let (bt, m, k) = {
                        let s = ta.shape();
                        (s.dim(0), s.dim(1), s.dim(2))
                    };
                    let n = tb.shape().dim(1);
                    ta.reshape([bt * m, k])?
                        .t()?
                        .matmul(g.reshape([bt * m, n])?)?
                } else {
                    tr(ta, ra)?.matmul(g)?
                };
                emit(*b, d)?;
            }
        }
        // d(Σx)/dx_i = 1: repeat g along the reduced axis
        Op::Sum { x, axis } => emit(*x, broadcast_back(g, &t(*x).shape(), *axis)?)?,
        // d(mean x)/dx_i = 1/N
        Op::Mean { x, axis } => {
            let xs = t(*x).shape();
            let n = axis.map_or(xs.numel(), |a| xs.dim(a));
            emit(
                *x,
                broadcast_back(g, &xs, *axis)?.mul_scalar(1.0 / n as f64),
            )?
        }
        // d(max x)/dx_i = 1/k at the k positions holding the max (a constant mask)
        Op::Max { x, axis } => {
            let m = {
                let (xv, yv) = (t(*x).value_ref(), y.value_ref());
                let ones = Array::ones(yv.shape().clone());
                kernels::max_backward(&xv, &yv, &ones, *axis)
            };
            let m = tape.constant(m);
            let xs = t(*x).shape();
            emit(*x, broadcast_back(g, &xs, *axis)?.mul(m)?)?
        }
        // reshape: the gradient takes the input's shape back
        Op::Reshape(x) => emit(*x, g.reshape(t(*x).shape())?)?,
        // permute: permuted back by the inverse permutation
        Op::Permute(x, perm) => {
            let mut inv = vec![0; perm.len()];
            for (i, &p) in perm.iter().enumerate() {
                inv[p] = i;
            }
            emit(*x, g.permute(&inv)?)?
        }
        // broadcast_to: sum over the stretched axes
        Op::BroadcastTo(x) => emit(*x, sum_to(g, &t(*x).shape())?)?,
        // concat: each input gets its slice of g
        Op::Concat { xs, axis } => {
            let mut start = 0;
            for &x in xs {
                let len = t(x).shape().dim(*axis);
                if need(x) {
                    emit(x, g.narrow_at(*axis, start, len))?;
                }
                start += len;
            }
        }
        // index_select: scatter-add g's rows back, as S·g with the constant 0/1 matrix
        // S[r, k] = 1 where row k picked row r
        Op::IndexSelect { x, indices } => {
            let xs = t(*x).shape();
            let rows = xs.dim(0);
            let rest = xs.numel() / rows.max(1);
            let s = Array::from_fn([rows, indices.len()], |i| {
                let (r, k) = (i / indices.len().max(1), i % indices.len().max(1));
                if indices[k] == r {
                    T::one()
                } else {
                    zero
                }
            });
            let d = tape
                .constant(s)
                .matmul(g.reshape([indices.len(), rest])?)?
                .reshape(xs)?;
            emit(*x, d)?
        }
        // d softmax: y · (g - Σ g·y)
        Op::Softmax { x, axis } => {
            let s = g.mul(y)?.sum_axis(*axis as isize, true)?;
            emit(*x, g.sub(s)?.mul(y)?)?
        }
        // d log_softmax: g - e^y · Σ g
        Op::LogSoftmax { x, axis } => {
            let s = g.sum_axis(*axis as isize, true)?;
            emit(*x, g.sub(y.exp().mul(s)?)?)?
        }
        // d mean((p-t)²)/dp = 2(p - t)/N, d/dt = -2(p - t)/N
        Op::Mse(p, tt) => {
            let n = t(*p).shape().numel().max(1);
            let dp = t(*p).sub(t(*tt))?.mul(g)?.mul_scalar(2.0 / n as f64);
            if need(*tt) {
                emit(*tt, dp.neg())?;
            }
            if need(*p) {
                emit(*p, dp)?;
            }
        }
        // d bce/dx = (σ(x) - t)/N, d bce/dt = -x/N
        Op::BceWithLogits(x, tt) => {
            let inv = 1.0 / t(*x).shape().numel().max(1) as f64;
            if need(*x) {
                let d = t(*x).sigmoid().sub(t(*tt))?.mul(g)?.mul_scalar(inv);
                emit(*x, d)?;
            }
            if need(*tt) {
                emit(*tt, t(*x).mul(g)?.mul_scalar(-inv))?;
            }
        }
        // d CE/d logits = (softmax(row) - onehot(target))/N
        Op::CrossEntropy { logits, targets } => {
            let l = t(*logits);
            let ls = l.shape();
            let c = ls.dim(1);
            let onehot = Array::from_fn(ls, |i| {
                if targets[i / c.max(1)] == i % c.max(1) {
                    T::one()
                } else {
                    zero
                }
            });
            let inv = 1.0 / targets.len().max(1) as f64;
            let d = l
                .softmax(1)?
                .sub(tape.constant(onehot))?
                .mul(g)?
                .mul_scalar(inv);
            emit(*logits, d)?
        }
        // z = x·w + b, y = act(z): dz = g·act'(z) (from y), dx = dz·wᵀ, dw = xᵀ·dz, db = Σ_rows dz
        Op::Linear { x, w, b, act } => {
            let dz = match act {
                Activation::Identity => g,
                Activation::Relu => g.mul(mask(y, |v| if v <= zero { zero } else { T::one() }))?,
                Activation::Sigmoid => d::sigmoid(g, y),
                Activation::Tanh => d::tanh(g, y),
                a => {
                    unreachable!("internal: linear records only the activations that fuse, not {a}")
                }
            };
            if let Some(b) = b {
                if need(*b) {
                    emit(*b, dz.sum_axis(0, false)?)?;
                }
            }
            if need(*w) {
                emit(*w, t(*x).matmul_t(dz, true, false)?)?;
            }
            if need(*x) {
                emit(*x, dz.matmul_t(t(*w), false, true)?)?;
            }
        }
        // d min(a, b)/da = 1 where a < b, 1/2 where a = b, 0 where a > b (max: the mirror);
        // b's share is the same rule with the roles swapped (constant masks)
        Op::Minimum(a, b) | Op::Maximum(a, b) => {
            let lower = matches!(op, Op::Minimum(..));
            let (ta, tb) = (t(*a), t(*b));
            let out = y.shape();
            let share = |p: Tensor<'t, T>, q: Tensor<'t, T>| {
                let m = {
                    let (pv, qv) = (p.value_ref(), q.value_ref());
                    kernels::binary(&pv, &qv, &out, |p, q| kernels::pair_share(p, q, lower))
                };
                tape.constant(m)
            };
            if need(*b) {
                emit(*b, sum_to(g.mul(share(tb, ta))?, &tb.shape())?)?;
            }
            if need(*a) {
                emit(*a, sum_to(g.mul(share(ta, tb))?, &ta.shape())?)?;
            }
        }
        // d where(c, a, b)/da = 1 where c != 0, d/db = 1 where c = 0; c gets none (constant
        // masks of c's shape, broadcast by the product)
        Op::Where {
            cond,
            on_true,
            on_false,
        } => {
            let c = t(*cond);
            if need(*on_false) {
                let m = mask(c, |v| if v != zero { zero } else { T::one() });
                emit(*on_false, sum_to(g.mul(m)?, &t(*on_false).shape())?)?;
            }
            if need(*on_true) {
                let m = mask(c, |v| if v != zero { T::one() } else { zero });
                emit(*on_true, sum_to(g.mul(m)?, &t(*on_true).shape())?)?;
            }
        }
        // d clamp(x, lo, hi)/dx = 1 where lo <= x <= hi (bounds included), else 0
        Op::Clamp { x, lo, hi } => {
            let (lo, hi) = (lo.map(T::of), hi.map(T::of));
            let m = mask(t(*x), |v| {
                if lo.is_none_or(|l| v >= l) && hi.is_none_or(|h| v <= h) {
                    T::one()
                } else {
                    zero
                }
            });
            emit(*x, g.mul(m)?)?
        }
        // d(min x)/dx_i = 1/k at the k positions holding the min (a constant mask)
        Op::Min { x, axis } => {
            let m = {
                let (xv, yv) = (t(*x).value_ref(), y.value_ref());
                let ones = Array::ones(yv.shape().clone());
                kernels::max_backward(&xv, &yv, &ones, *axis)
            };
            let m = tape.constant(m);
            let xs = t(*x).shape();
            emit(*x, broadcast_back(g, &xs, *axis)?.mul(m)?)?
        }
        // d var/dx_i = 2(x_i - mean)/(N - correction)
        Op::Variance {
            x,
            axis,
            correction,
        } => {
            let (xc, xs) = centred(t(*x), *axis)?;
            let k = 2.0 / divisor(&xs, *axis, *correction);
            emit(*x, broadcast_back(g, &xs, *axis)?.mul(xc)?.mul_scalar(k))?
        }
        // d std/dx_i = (x_i - mean)/((N - correction)·std), 0 where std = 0: there x - mean
        // is exactly 0, and std is replaced by 1 (a constant added) so nothing divides by 0
        Op::StdDev {
            x,
            axis,
            correction,
        } => {
            let (xc, xs) = centred(t(*x), *axis)?;
            let k = 1.0 / divisor(&xs, *axis, *correction);
            let safe = y.add(mask(y, |v| if v == zero { T::one() } else { zero }))?;
            let d = broadcast_back(g.div(safe)?, &xs, *axis)?.mul(xc)?;
            emit(*x, d.mul_scalar(k))?
        }
        // d logsumexp/dx_i = softmax(x)_i (a recorded softmax; 0 for a lane of all -inf)
        Op::LogSumExp { x, axis } => {
            let (x, xs) = (t(*x), t(*x).shape());
            let softmax = |z: Tensor<'t, T>| match axis {
                Some(a) => z.softmax(*a as isize),
                None => z.reshape([xs.numel()])?.softmax(0)?.reshape(xs.clone()),
            };
            let ninf = T::neg_infinity();
            let dead = y.value_ref().data().contains(&ninf);
            let sm = if dead {
                // lanes of all -inf: the softmax is read at 0 there (finite), then masked to 0
                let live = mask(y, |v| if v == ninf { zero } else { T::one() });
                let live = broadcast_back(live, &xs, *axis)?;
                let zeros = tape.constant(Array::zeros(xs.clone()));
                softmax(live.where_cond(x, zeros)?)?.mul(live)?
            } else {
                softmax(x)?
            };
            emit(x.id, broadcast_back(g, &xs, *axis)?.mul(sm)?)?
        }
        // narrow: g goes back to positions start..start + len of the axis, 0 elsewhere
        Op::Narrow { x, axis, start, .. } => {
            let size = t(*x).shape().dim(*axis);
            emit(*x, g.narrow_backward(*axis, *start, size))?
        }
        // narrow_backward (narrow's adjoint, linear): its gradient is g narrowed again
        Op::NarrowBackward {
            g: src,
            axis,
            start,
            ..
        } => {
            let len = t(*src).shape().dim(*axis);
            emit(*src, g.narrow_at(*axis, *start, len))?
        }
        // gather: g scatter-added back to the picked positions (repeated indices add up)
        Op::Gather { x, axis, index } => {
            emit(*x, g.scatter_add(*axis, index.clone(), &t(*x).shape()))?
        }
        // scatter_add (gather's adjoint, linear): its gradient is g gathered at the same indices
        Op::ScatterAdd {
            g: src,
            axis,
            index,
        } => emit(*src, g.gather_at(*axis, index.clone(), &t(*src).shape()))?,
        // max_pool2d: each output's g goes to its window's first maximum: a scatter-add of
        // the flattened g to the flat arg-max positions (linear in g: second derivative 0)
        Op::MaxPool2d {
            x,
            kernel,
            stride,
            padding,
        } => {
            let xs = t(*x).shape();
            let flat = Shape::new(&[xs.numel()]);
            let p = kernels::Pool2d::new(xs.dims(), *kernel, *stride, *padding);
            let argmax: std::sync::Arc<[usize]> =
                kernels::max_pool2d_argmax(&t(*x).value_ref(), &y.value_ref(), &p).into();
            let d = g
                .reshape([argmax.len()])?
                .scatter_add(0, argmax.clone(), &flat)
                .reshape(xs)?;
            emit(*x, d)?
        }
        // avg_pool2d: each output's g / (kh·kw) added over its window
        Op::AvgPool2d {
            x,
            kernel,
            stride,
            padding,
        } => {
            let xs = t(*x).shape();
            let size = (xs.dim(2), xs.dim(3));
            emit(*x, g.avg_pool2d_backward(*kernel, *stride, *padding, size))?
        }
        // avg_pool2d_backward (avg_pool2d's adjoint, linear): its gradient is avg_pool2d of g
        Op::AvgPool2dBackward {
            g: src,
            kernel,
            stride,
            padding,
            ..
        } => emit(*src, g.avg_pool2d(*kernel, *stride, *padding)?)?,
        // y = conv(x, w): dx = conv's transpose of g (input_grad), dw = weight_grad(x, g)
        Op::Conv2d { x, w, geo } => {
            if need(*x) {
                emit(*x, g.conv2d_input_grad(t(*w), *geo))?;
            }
            if need(*w) {
                emit(*w, t(*x).conv2d_weight_grad(g, *geo))?;
            }
        }
        // y = input_grad(s, w), linear in each: ds = conv(u, w), dw = weight_grad(u, s)
        Op::Conv2dInputGrad { g: src, w, geo } => {
            if need(*src) {
                emit(*src, g.conv2d_raw(t(*w), *geo))?;
            }
            if need(*w) {
                emit(*w, g.conv2d_weight_grad(t(*src), *geo))?;
            }
        }
        // y = weight_grad(x, s), linear in each: ds = conv(x, u), dx = input_grad(s, u)
        Op::Conv2dWeightGrad { x, g: src, geo } => {
            if need(*src) {
                emit(*src, t(*x).conv2d_raw(g, *geo))?;
            }
            if need(*x) {
                emit(*x, t(*src).conv2d_input_grad(g, *geo))?;
            }
        }
        // d sin x/dx = cos x
        Op::Sin(x) => emit(*x, d::sin(g, t(*x)))?,
        // d cos x/dx = -sin x
        Op::Cos(x) => emit(*x, d::cos(g, t(*x)))?,
        // d ln(1 + x)/dx = 1/(1 + x)
        Op::Log1p(x) => emit(*x, d::log1p(g, t(*x)))?,
        // d(e^x - 1)/dx = e^x = y + 1
        Op::Expm1(x) => emit(*x, d::expm1(g, y))?,
        // d(1/x)/dx = -1/x² = -y²
        Op::Reciprocal(x) => emit(*x, d::reciprocal(g, y))?,
        // d x^(-1/2)/dx = -x^(-3/2)/2 = -y³/2
        Op::Rsqrt(x) => emit(*x, d::rsqrt(g, y))?,
        // d x·σ(x)/dx = σ(x)(1 + x(1 - σ(x)))
        Op::Silu(x) => emit(*x, d::silu(g, t(*x)))?,
        // d elu(x)/dx = 1 for x > 0, else α·e^x = y + α (the mask a constant)
        Op::Elu(x, a) => emit(*x, d::elu(g, t(*x), y, *a))?,
        // d softplus(x)/dx = σ(βx), 1 where βx > threshold (the mask a constant)
        Op::Softplus { x, beta, threshold } => emit(*x, d::softplus(g, t(*x), *beta, *threshold))?,
        // d erf x/dx = 2/√π · e^(-x²)
        Op::Erf(x) => emit(*x, d::erf(g, t(*x)))?,
        // d x·Φ(x)/dx = Φ(x) + x·φ(x)
        Op::Gelu(x) => emit(*x, d::gelu(g, t(*x)))?,
        // t = tanh(k(x + κx³)): (1 + t)/2 + x/2 · (1 - t²) · k(1 + 3κx²)
        Op::GeluTanh(x) => emit(*x, d::gelu_tanh(g, t(*x)))?,
    }
    Ok(())
}

/// The deviations `x - mean` along `axis` (all elements for `None`), recorded as
/// `(x - c) - mean(x - c)` with `c` the exact lane means as a constant: 0 exactly in a lane of
/// equal elements (as the array form), and the derivative of a centring either way.
fn centred<'t, T: Element>(
    x: Tensor<'t, T>,
    axis: Option<usize>,
) -> Result<(Tensor<'t, T>, Shape)> {
    let xs = x.shape();
    let c = {
        let xv = x.value_ref();
        kernels::lane_means(&xv, axis)
    };
    let d = x.sub(x.tape.constant(c))?;
    let m = match axis {
        Some(a) => d.mean_axis(a as isize, true)?,
        None => d.mean(),
    };
    Ok((d.sub(m)?, xs))
}

/// The divisor of a variance, `max(N - correction, 0)`.
fn divisor(xs: &Shape, axis: Option<usize>, correction: usize) -> f64 {
    let n = axis.map_or(xs.numel(), |a| xs.dim(a));
    n.saturating_sub(correction) as f64
}
