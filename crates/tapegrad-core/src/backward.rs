//! Backward: the reverse walk over the tape, and the one place where every op's gradient rule
//! lives (one `match` arm per [`Op`] variant, its derivative in a comment).
//!
//! Notation in the comments: `g` is the gradient arriving at the op's output `y`; `N` the
//! number of elements a mean divides by. Rules for broadcasting ops reduce their result back
//! to each input's shape with `sum_to_shape`.

use crate::array::Array;
use crate::derivatives as d;
use crate::element::Element;
use crate::error::{AnomalyPhase, Error, Result};
use crate::gradients::{Gradients, LeafGrads, Trace, TraceStep};
use crate::kernels::{self, sum_to_shape};
use crate::op::{Activation, NodeId, Op};
use crate::ops::{view, MatmulDims};
use crate::tape::{Node, Tensor};
use std::panic::Location;

impl<'t, T: Element> Tensor<'t, T> {
    /// Computes the gradient of this scalar with respect to every variable and parameter it
    /// depends on, by replaying the tape in reverse. A tensor used several times gets the sum
    /// of its gradients. Intermediate gradients are freed as soon as they are passed on.
    ///
    /// # Errors
    /// [`Error::NotScalar`] when the tensor has more than one element; in anomaly mode
    /// ([`Tape::set_detect_anomaly`](crate::Tape::set_detect_anomaly)), [`Error::Anomaly`]
    /// for the first NaN or infinity in a recorded value or in a gradient passed on.
    #[track_caller]
    pub fn backward(&self) -> Result<Gradients<T>> {
        run(self, None)
    }

    /// Like [`Tensor::backward`], and also returns the trace: one line per node as its
    /// gradient is passed on (op, gradient shape and norm): the chain rule made visible.
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::from_vec(vec![0.5, -1.0], [2])?);
    /// let (_grads, trace) = x.tanh().sum().backward_trace()?;
    /// print!("{trace}");
    /// assert_eq!(trace.steps().len(), 3); // sum, tanh, then the leaf x
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// As [`Tensor::backward`].
    #[track_caller]
    pub fn backward_trace(&self) -> Result<(Gradients<T>, Trace)> {
        let mut trace = Trace::default();
        let g = run(self, Some(&mut trace))?;
        Ok((g, trace))
    }
}

#[track_caller]
fn run<T: Element>(root: &Tensor<'_, T>, mut trace: Option<&mut Trace>) -> Result<Gradients<T>> {
    let tape = root.tape;
    let location = Location::caller();
    let anomaly = tape.detect_anomaly();
    if anomaly {
        tape.check_anomaly()?;
    }
    let nodes = tape.nodes.borrow();
    let shape = nodes[root.id].value.shape();
    if shape.numel() != 1 {
        return Err(Error::NotScalar {
            shape: shape.clone(),
            location,
        });
    }
    // the working gradients, one slot per node: the tape keeps this vector between steps
    let mut grads = tape.scratch.take();
    grads.clear();
    grads.resize_with(root.id + 1, || None);
    let mut leaves = LeafGrads::new();
    if nodes[root.id].requires_grad {
        grads[root.id] = Some(Array::ones(shape.clone()));
    }
    for id in (0..=root.id).rev() {
        let Some(g) = grads[id].take() else { continue };
        let node = &nodes[id];
        if let Some(t) = trace.as_deref_mut() {
            t.push(TraceStep {
                id,
                op: node.op.to_string(),
                grad_shape: g.shape().clone(),
                grad_norm: g.norm(),
            });
        }
        if node.op.is_leaf() {
            leaves.push((id, g)); // kept: leaves are what the caller asks for
            continue;
        }
        let mut bad = false;
        rule(&nodes, node, g, &mut |input, gi| {
            if !nodes[input].requires_grad {
                return;
            }
            if anomaly && !bad {
                bad = gi.data().iter().any(|v| !v.is_finite());
            }
            match &mut grads[input] {
                Some(acc) => {
                    for (a, &b) in acc.data_mut().iter_mut().zip(gi.data()) {
                        *a += b;
                    }
                }
                slot => *slot = Some(gi),
            }
        });
        if bad {
            // name the node whose rule produced the gradient, and the first bad element
            let first = node
                .op
                .inputs()
                .into_iter()
                .filter_map(|i| grads.get(i)?.as_ref())
                .find_map(|a| a.data().iter().copied().find(|v| !v.is_finite()))
                .map_or(f64::NAN, T::as_f64);
            let input_shapes = node
                .op
                .inputs()
                .iter()
                .map(|&i| nodes[i].value.shape().clone())
                .collect();
            grads.clear();
            tape.scratch.replace(grads);
            return Err(Error::Anomaly {
                node: id,
                op: node.op.name(),
                input_shapes,
                phase: AnomalyPhase::Backward,
                value: first,
                location,
            });
        }
    }
    grads.clear();
    tape.scratch.replace(grads);
    Ok(Gradients::from_backward(
        leaves,
        tape.bound_params(),
        tape.uid(),
    ))
}

fn map2<T: Element>(a: &Array<T>, b: &Array<T>, f: impl Fn(T, T) -> T + Sync) -> Array<T> {
    kernels::binary(a, b, a.shape(), f)
}

/// `f` of the elements of three arrays of one shape, in one fused loop.
fn map3<T: Element>(
    a: &Array<T>,
    b: &Array<T>,
    c: &Array<T>,
    f: impl Fn(T, T, T) -> T + Sync,
) -> Array<T> {
    let (ad, bd, cd) = (a.data(), b.data(), c.data());
    // every element is written below: no zero fill first
    let mut out = kernels::pool::scratch(ad.len());
    kernels::parallel::for_each_run(&mut out, kernels::simd::COSTLY_GRAIN, 1, |at, dst| {
        let to = at + dst.len();
        let (a, b, c) = (&ad[at..to], &bd[at..to], &cd[at..to]);
        kernels::simd::vectorized(|| {
            for (((d, &a), &b), &c) in dst.iter_mut().zip(a).zip(b).zip(c) {
                *d = f(a, b, c);
            }
        })
    });
    Array::from_parts(out, a.shape().clone())
}

/// Sends the gradient `g` of `node`'s output to its inputs through `emit(input, gradient)`.
/// Shapes were checked at forward time, so nothing here can fail.
fn rule<T: Element>(
    nodes: &[Node<T>],
    node: &Node<T>,
    g: Array<T>,
    emit: &mut dyn FnMut(NodeId, Array<T>),
) {
    let val = |i: NodeId| -> &Array<T> { &nodes[i].value };
    let need = |i: NodeId| nodes[i].requires_grad;
    let y: &Array<T> = &node.value;
    let c = T::of;
    match &node.op {
        Op::Constant | Op::Var | Op::Param(_) => unreachable!("internal: leaves have no rule"),
        // d(a+b)/da = 1, d(a+b)/db = 1, summed over broadcast axes
        Op::Add(a, b) => {
            if need(*b) {
                emit(*b, sum_to_shape(g.clone(), val(*b).shape()));
            }
            if need(*a) {
                emit(*a, sum_to_shape(g, val(*a).shape()));
            }
        }
        // d(a-b)/da = 1, d(a-b)/db = -1
        Op::Sub(a, b) => {
            if need(*b) {
                emit(*b, sum_to_shape(g.map(|v| -v), val(*b).shape()));
            }
            if need(*a) {
                emit(*a, sum_to_shape(g, val(*a).shape()));
            }
        }
        // d(ab)/da = b, d(ab)/db = a
        Op::Mul(a, b) => {
            if need(*a) {
                emit(
                    *a,
                    sum_to_shape(
                        kernels::binary(&g, val(*b), g.shape(), |g, b| g * b),
                        val(*a).shape(),
                    ),
                );
            }
            if need(*b) {
                emit(
                    *b,
                    sum_to_shape(
                        kernels::binary(&g, val(*a), g.shape(), |g, a| g * a),
                        val(*b).shape(),
                    ),
                );
            }
        }
        // d(a/b)/da = 1/b, d(a/b)/db = -a/b² = -y/b
        Op::Div(a, b) => {
            if need(*a) {
                emit(
                    *a,
                    sum_to_shape(
                        kernels::binary(&g, val(*b), g.shape(), |g, b| g / b),
                        val(*a).shape(),
                    ),
                );
            }
            if need(*b) {
                let gy = map2(&g, y, |g, y| g * y);
                emit(
                    *b,
                    sum_to_shape(
                        kernels::binary(&gy, val(*b), g.shape(), |gy, b| -gy / b),
                        val(*b).shape(),
                    ),
                );
            }
        }
        // d(x+c)/dx = 1
        Op::AddScalar(x, _) => emit(*x, g),
        // d(cx)/dx = c
        Op::MulScalar(x, k) => emit(*x, g.map(|v| v * c(*k))),
        // d(x^p)/dx = p·x^(p-1); for p = 0 it is 0 everywhere, x = 0 included (as PyTorch),
        // where the formula would give 0·inf = NaN
        Op::Powf(x, p) if *p == 0.0 => emit(*x, Array::zeros(val(*x).shape().clone())),
        Op::Powf(x, p) => emit(*x, map2(&g, val(*x), |g, x| d::powf(g, x, *p))),
        // d(-x)/dx = -1
        Op::Neg(x) => emit(*x, g.map(|v| -v)),
        // the smooth elementwise ops: `g · f′` from the table in derivatives.rs, one fused loop
        // d(e^x)/dx = e^x = y
        Op::Exp(x) => emit(*x, map2(&g, y, d::exp)),
        // d(ln x)/dx = 1/x
        Op::Log(x) => emit(*x, map2(&g, val(*x), d::log)),
        // d(√x)/dx = 1/(2√x) = 1/(2y)
        Op::Sqrt(x) => emit(*x, map2(&g, y, d::sqrt)),
        // d(x²)/dx = 2x
        Op::Square(x) => emit(*x, map2(&g, val(*x), d::square)),
        // d|x|/dx = sign(x), 0 at 0
        Op::Abs(x) => emit(
            *x,
            map2(&g, val(*x), |g, x| {
                if x > T::zero() {
                    g
                } else if x < T::zero() {
                    -g
                } else {
                    T::zero()
                }
            }),
        ),
        // d relu(x)/dx = 0 if x <= 0 else 1 (NaN passes g on, as torch's threshold_backward)
        Op::Relu(x) => emit(
            *x,
            map2(
                &g,
                val(*x),
                |g, x| if x <= T::zero() { T::zero() } else { g },
            ),
        ),
        // d leaky(x)/dx = 1 if x > 0 else slope
        Op::LeakyRelu(x, s) => {
            let s = c(*s);
            emit(
                *x,
                map2(&g, val(*x), |g, x| if x > T::zero() { g } else { g * s }),
            )
        }
        // d σ(x)/dx = σ(x)(1 - σ(x)) = y(1 - y)
        Op::Sigmoid(x) => emit(*x, map2(&g, y, d::sigmoid)),
        // d tanh(x)/dx = 1 - tanh² = 1 - y²
        Op::Tanh(x) => emit(*x, map2(&g, y, d::tanh)),
        // d(AB)/dA = G·Bᵀ, d(AB)/dB = Aᵀ·G (transposes as strides; shared operands sum)
        Op::Matmul(a, b) => {
            let (av, bv) = (val(*a), val(*b));
            let (d, _) = MatmulDims::of(av.shape(), bv.shape())
                .expect("internal: matmul shapes were checked");
            if need(*a) {
                let mut da = Array::scratch(av.shape().clone());
                d.grad_a(g.data(), bv.data(), da.data_mut());
                emit(*a, da);
            }
            if need(*b) {
                let mut db = Array::scratch(bv.shape().clone());
                d.grad_b(g.data(), av.data(), db.data_mut());
                emit(*b, db);
            }
        }
        // C = op(A)·op(B): dop(A) = G·op(B)ᵀ, dop(B) = op(A)ᵀ·G, transposed back where the
        // operand was read transposed (all transposes as strides)
        Op::MatmulT { a, b, ta, tb } => {
            let (av, bv) = (val(*a), val(*b));
            let (ac, bc) = (av.dims()[1], bv.dims()[1]);
            let (m, n) = (g.dims()[0], g.dims()[1]);
            let k = if *ta { av.dims()[0] } else { ac };
            if need(*a) {
                let mut da = Array::scratch(av.shape().clone());
                if *ta {
                    // dA = op(B)·Gᵀ: [k, m]
                    kernels::gemm(
                        k,
                        m,
                        n,
                        da.data_mut(),
                        false,
                        view(bv.data(), bc, *tb),
                        kernels::MatRef::transposed(g.data(), n),
                    );
                } else {
                    // dA = G·op(B)ᵀ: [m, k]
                    kernels::gemm(
                        m,
                        k,
                        n,
                        da.data_mut(),
                        false,
                        kernels::MatRef::rows(g.data(), n),
                        view(bv.data(), bc, !*tb),
                    );
                }
                emit(*a, da);
            }
            if need(*b) {
                let mut db = Array::scratch(bv.shape().clone());
                if *tb {
                    // dB = Gᵀ·op(A): [n, k]
                    kernels::gemm(
                        n,
                        k,
                        m,
                        db.data_mut(),
                        false,
                        kernels::MatRef::transposed(g.data(), n),
                        view(av.data(), ac, *ta),
                    );
                } else {
                    // dB = op(A)ᵀ·G: [k, n]
                    kernels::gemm(
                        k,
                        n,
                        m,
                        db.data_mut(),
                        false,
                        view(av.data(), ac, !*ta),
                        kernels::MatRef::rows(g.data(), n),
                    );
                }
                emit(*b, db);
            }
        }
        // d(Σx)/dx_i = 1: repeat g along the reduced axis
        Op::Sum { x, axis } => emit(*x, kernels::broadcast_back(&g, val(*x).shape(), *axis)),
        // d(mean x)/dx_i = 1/N
        Op::Mean { x, axis } => {
            let xs = val(*x).shape();
            let n = axis.map_or(xs.numel(), |a| xs.dim(a));
            let inv = T::one() / c(n as f64);
            let mut d = kernels::broadcast_back(&g, xs, *axis);
            d.data_mut().iter_mut().for_each(|v| *v *= inv);
            emit(*x, d)
        }
        // d(max x)/dx_i = 1/k at the k positions holding the max, 0 elsewhere
        Op::Max { x, axis } => emit(*x, kernels::max_backward(val(*x), y, &g, *axis)),
        // reshape moves no data: the gradient takes the input's shape back
        Op::Reshape(x) => emit(*x, Array::from_parts(g.into_vec(), val(*x).shape().clone())),
        // permute's gradient is permuted back by the inverse permutation
        Op::Permute(x, perm) => {
            let mut inv: smallvec::SmallVec<[usize; 4]> = smallvec::smallvec![0; perm.len()];
            for (i, &p) in perm.iter().enumerate() {
                inv[p] = i;
            }
            emit(*x, kernels::permute(&g, &inv))
        }
        // broadcast_to: sum over the stretched axes
        Op::BroadcastTo(x) => emit(*x, sum_to_shape(g, val(*x).shape())),
        // concat: each input gets its slice of g
        Op::Concat { xs, axis } => {
            let mut start = 0;
            for &x in xs {
                let len = val(x).dims()[*axis];
                if need(x) {
                    emit(x, kernels::slice_axis(&g, *axis, start, len));
                }
                start += len;
            }
        }
        // index_select: scatter-add g's rows back to the picked rows
        Op::IndexSelect { x, indices } => {
            emit(*x, kernels::scatter_add_rows(&g, indices, val(*x).shape()))
        }
        // d softmax: y · (g - Σ g·y)
        Op::Softmax { x, axis } => emit(*x, kernels::softmax_backward(y, &g, *axis)),
        // d log_softmax: g - softmax(x) · Σ g, with softmax(x) = e^y
        Op::LogSoftmax { x, axis } => emit(*x, kernels::log_softmax_backward(y, &g, *axis)),
        // d mean((p-t)²)/dp = 2(p - t)/N, d/dt = -2(p - t)/N
        Op::Mse(p, t) => {
            let s = g.data()[0] * c(2.0 / val(*p).numel().max(1) as f64);
            let dp = map2(val(*p), val(*t), |p, t| s * (p - t));
            if need(*t) {
                emit(*t, dp.map(|v| -v));
            }
            if need(*p) {
                emit(*p, dp);
            }
        }
        // d bce/dx = (σ(x) - t)/N, d bce/dt = -x/N
        Op::BceWithLogits(x, t) => {
            let s = g.data()[0] / c(val(*x).numel().max(1) as f64);
            if need(*x) {
                emit(*x, map2(val(*x), val(*t), |x, t| s * (x.sigmoid() - t)));
            }
            if need(*t) {
                emit(*t, val(*x).map(|x| -s * x));
            }
        }
        // d CE/d logits = (softmax(row) - onehot(target))/N
        Op::CrossEntropy { logits, targets } => {
            let s = g.data()[0] / c(targets.len().max(1) as f64);
            let mut d = kernels::softmax(val(*logits), 1);
            let cls = d.dims()[1].max(1);
            for (row, &t) in d.data_mut().chunks_mut(cls).zip(targets) {
                row[t] -= T::one();
                row.iter_mut().for_each(|v| *v *= s);
            }
            emit(*logits, d)
        }
        // z = x·w + b, y = act(z): dz = g·act'(z) (from y), dx = dz·wᵀ, dw = xᵀ·dz, db = Σ_rows dz
        Op::Linear { x, w, b, act } => {
            let dz = match act {
                Activation::Identity => g,
                Activation::Relu => map2(&g, y, |g, y| if y <= T::zero() { T::zero() } else { g }),
                Activation::Sigmoid => map2(&g, y, d::sigmoid),
                Activation::Tanh => map2(&g, y, d::tanh),
                a => {
                    unreachable!("internal: linear records only the activations that fuse, not {a}")
                }
            };
            let (xv, wv) = (val(*x), val(*w));
            let (n, i, o) = (xv.dims()[0], xv.dims()[1], wv.dims()[1]);
            if let Some(b) = b {
                if need(*b) {
                    // db = Σ_rows dz: a column sum of the borrowed dz, no copy of it
                    emit(*b, kernels::sum_axis(&dz, Some(0), val(*b).shape()));
                }
            }
            if need(*w) {
                let mut dw = Array::scratch(wv.shape().clone());
                kernels::gemm(
                    i,
                    o,
                    n,
                    dw.data_mut(),
                    false,
                    kernels::MatRef::transposed(xv.data(), i),
                    kernels::MatRef::rows(dz.data(), o),
                );
                emit(*w, dw);
            }
            if need(*x) {
                let mut dx = Array::scratch(xv.shape().clone());
                kernels::gemm(
                    n,
                    i,
                    o,
                    dx.data_mut(),
                    false,
                    kernels::MatRef::rows(dz.data(), o),
                    kernels::MatRef::transposed(wv.data(), o),
                );
                emit(*x, dx);
            }
        }
        // d min(a, b)/da = 1 where a < b, 1/2 where a = b, 0 where a > b (max: the mirror);
        // b's share is the same rule with the roles swapped; summed over broadcast axes
        Op::Minimum(a, b) | Op::Maximum(a, b) => {
            let lower = matches!(node.op, Op::Minimum(..));
            let (av, bv) = (val(*a), val(*b));
            if need(*b) {
                let s = kernels::binary(bv, av, g.shape(), |b, a| kernels::pair_share(b, a, lower));
                emit(*b, sum_to_shape(map2(&g, &s, |g, s| g * s), bv.shape()));
            }
            if need(*a) {
                let s = kernels::binary(av, bv, g.shape(), |a, b| kernels::pair_share(a, b, lower));
                emit(*a, sum_to_shape(map2(&g, &s, |g, s| g * s), av.shape()));
            }
        }
        // d where(c, a, b)/da = 1 where c != 0, d/db = 1 where c = 0; c gets none
        Op::Where {
            cond,
            on_true,
            on_false,
        } => {
            let cv = val(*cond);
            let zero = T::zero();
            if need(*on_false) {
                let d = kernels::binary(&g, cv, g.shape(), |g, c| if c != zero { zero } else { g });
                emit(*on_false, sum_to_shape(d, val(*on_false).shape()));
            }
            if need(*on_true) {
                let d = kernels::binary(&g, cv, g.shape(), |g, c| if c != zero { g } else { zero });
                emit(*on_true, sum_to_shape(d, val(*on_true).shape()));
            }
        }
        // d clamp(x, lo, hi)/dx = 1 where lo <= x <= hi (bounds included), else 0
        Op::Clamp { x, lo, hi } => {
            let (lo, hi) = (lo.map(c), hi.map(c));
            emit(
                *x,
                map2(&g, val(*x), |g, x| {
                    if lo.is_none_or(|l| x >= l) && hi.is_none_or(|h| x <= h) {
                        g
                    } else {
                        T::zero()
                    }
                }),
            )
        }
        // d(min x)/dx_i = 1/k at the k positions holding the min, 0 elsewhere
        Op::Min { x, axis } => emit(*x, kernels::max_backward(val(*x), y, &g, *axis)),
        // d var/dx_i = 2(x_i - mean)/(N - correction)
        Op::Variance {
            x,
            axis,
            correction,
        } => emit(
            *x,
            kernels::var_backward(val(*x), y, &g, *axis, *correction),
        ),
        // d std/dx_i = (x_i - mean)/((N - correction)·std), 0 where std = 0
        Op::StdDev {
            x,
            axis,
            correction,
        } => emit(
            *x,
            kernels::std_backward(val(*x), y, &g, *axis, *correction),
        ),
        // d logsumexp/dx_i = softmax(x)_i (0 for a lane of all -inf)
        Op::LogSumExp { x, axis } => emit(*x, kernels::logsumexp_backward(val(*x), y, &g, *axis)),
        // narrow: g goes back to positions start..start + len of the axis, 0 elsewhere
        Op::Narrow { x, axis, start, .. } => emit(
            *x,
            kernels::pad_axis(&g, *axis, *start, val(*x).dims()[*axis]),
        ),
        // narrow_backward (narrow's adjoint, linear): its gradient is g narrowed again
        Op::NarrowBackward {
            g: src,
            axis,
            start,
            ..
        } => emit(
            *src,
            kernels::slice_axis(&g, *axis, *start, val(*src).dims()[*axis]),
        ),
        // gather: g scatter-added back to the picked positions (repeated indices add up)
        Op::Gather { x, axis, index } => {
            emit(*x, kernels::scatter_add(&g, val(*x).shape(), *axis, index))
        }
        // scatter_add (gather's adjoint, linear): its gradient is g gathered at the same indices
        Op::ScatterAdd {
            g: src,
            axis,
            index,
        } => emit(*src, kernels::gather(&g, val(*src).shape(), *axis, index)),
        // max_pool2d: each output's g goes to its window's first maximum (a scatter-add)
        Op::MaxPool2d {
            x,
            kernel,
            stride,
            padding,
        } => {
            let p = kernels::Pool2d::new(val(*x).dims(), *kernel, *stride, *padding);
            emit(*x, kernels::max_pool2d_backward(&g, val(*x), y, &p))
        }
        // avg_pool2d: each output's g / (kh·kw) added over its window
        Op::AvgPool2d {
            x,
            kernel,
            stride,
            padding,
        } => {
            let p = kernels::Pool2d::new(val(*x).dims(), *kernel, *stride, *padding);
            emit(*x, kernels::avg_pool2d_backward(&g, &p))
        }
        // avg_pool2d_backward (avg_pool2d's adjoint, linear): its gradient is avg_pool2d of g
        Op::AvgPool2dBackward {
            g: src,
            kernel,
            stride,
            padding,
            ..
        } => {
            let p = kernels::Pool2d::new(y.dims(), *kernel, *stride, *padding);
            emit(*src, kernels::avg_pool2d(&g, &p))
        }
        // y = conv(x, w): dx = conv's transpose of g (input_grad), dw = weight_grad(x, g)
        Op::Conv2d { x, w, geo } => {
            let (xv, wv) = (val(*x), val(*w));
            let c_out = wv.dims()[0];
            if need(*x) {
                let dx = kernels::conv2d_input_grad(g.data(), wv.data(), geo, c_out);
                emit(*x, Array::from_parts(dx, xv.shape().clone()));
            }
            if need(*w) {
                let dw = kernels::conv2d_weight_grad(xv.data(), g.data(), geo, c_out);
                emit(*w, Array::from_parts(dw, wv.shape().clone()));
            }
        }
        // y = input_grad(s, w), linear in each: <u, y> = <conv(u, w), s>, so
        // ds = conv(u, w) and dw = weight_grad(u, s)
        Op::Conv2dInputGrad { g: src, w, geo } => {
            let (sv, wv) = (val(*src), val(*w));
            let c_out = wv.dims()[0];
            if need(*src) {
                let ds = kernels::conv2d(g.data(), wv.data(), geo, c_out);
                emit(*src, Array::from_parts(ds, sv.shape().clone()));
            }
            if need(*w) {
                let dw = kernels::conv2d_weight_grad(g.data(), sv.data(), geo, c_out);
                emit(*w, Array::from_parts(dw, wv.shape().clone()));
            }
        }
        // y = weight_grad(x, s), linear in each: <u, y> = <conv(x, u), s>, so
        // ds = conv(x, u) and dx = input_grad(s, u)
        Op::Conv2dWeightGrad { x, g: src, geo } => {
            let (xv, sv) = (val(*x), val(*src));
            let c_out = sv.dims()[1];
            if need(*src) {
                let ds = kernels::conv2d(xv.data(), g.data(), geo, c_out);
                emit(*src, Array::from_parts(ds, sv.shape().clone()));
            }
            if need(*x) {
                let dx = kernels::conv2d_input_grad(sv.data(), g.data(), geo, c_out);
                emit(*x, Array::from_parts(dx, xv.shape().clone()));
            }
        }
        // d sin x/dx = cos x
        Op::Sin(x) => emit(*x, map2(&g, val(*x), d::sin)),
        // d cos x/dx = -sin x
        Op::Cos(x) => emit(*x, map2(&g, val(*x), d::cos)),
        // d ln(1 + x)/dx = 1/(1 + x)
        Op::Log1p(x) => emit(*x, map2(&g, val(*x), d::log1p)),
        // d(e^x - 1)/dx = e^x = y + 1
        Op::Expm1(x) => emit(*x, map2(&g, y, d::expm1)),
        // d(1/x)/dx = -1/x² = -y²
        Op::Reciprocal(x) => emit(*x, map2(&g, y, d::reciprocal)),
        // d x^(-1/2)/dx = -x^(-3/2)/2 = -y³/2
        Op::Rsqrt(x) => emit(*x, map2(&g, y, d::rsqrt)),
        // d x·σ(x)/dx = σ(x)(1 + x(1 - σ(x)))
        Op::Silu(x) => emit(*x, map2(&g, val(*x), d::silu)),
        // d elu(x)/dx = 1 for x > 0, else α·e^x = y + α
        Op::Elu(x, a) => emit(*x, map3(&g, val(*x), y, |g, x, y| d::elu(g, x, y, *a))),
        // d softplus(x)/dx = σ(βx), 1 where βx > threshold
        Op::Softplus { x, beta, threshold } => emit(
            *x,
            map2(&g, val(*x), |g, x| d::softplus(g, x, *beta, *threshold)),
        ),
        // d erf x/dx = 2/√π · e^(-x²)
        Op::Erf(x) => emit(*x, map2(&g, val(*x), d::erf)),
        // d x·Φ(x)/dx = Φ(x) + x·φ(x)
        Op::Gelu(x) => emit(*x, map2(&g, val(*x), d::gelu)),
        // t = tanh(k(x + κx³)): (1 + t)/2 + x/2 · (1 - t²) · k(1 + 3κx²)
        Op::GeluTanh(x) => emit(*x, map2(&g, val(*x), d::gelu_tanh)),
    }
}
