//! `grad` (gradients as tensors, `create_graph`), `hvp`, `jacobian` and `hessian`: known
//! answers, any order, parameters as inputs, gradient penalties, and the error paths (each
//! naming this file as the caller).

use tapegrad_core::{
    grad, gradcheck, hessian, hvp, jacobian, Activation, Array, Error, GradcheckOptions, Param,
    Tape, Tensor,
};

mod common;

/// This file, as it appears in the location of an error raised by a call in it.
const HERE: &str = "grad_api.rs";

fn arr(v: &[f64], dims: &[usize]) -> Array<f64> {
    Array::from_vec(v.to_vec(), dims).expect("length matches")
}

fn close(a: &Array<f64>, b: &Array<f64>, tol: f64) -> bool {
    a.shape() == b.shape()
        && a.data()
            .iter()
            .zip(b.data())
            .all(|(x, y)| (x - y).abs() <= tol)
}

#[test]
fn derivatives_of_any_order() {
    // y = x⁴ at 1.5: 4x³ = 13.5, 12x² = 27, 24x = 36, 24, then 0
    let tape = Tape::<f64>::new();
    let x = tape.var(Array::scalar(1.5));
    let mut d = x.powf(4.0);
    let mut got = Vec::new();
    for _ in 0..4 {
        d = grad(&[d], &[x], None, true).unwrap()[0].expect("depends on x");
        got.push(d.item().unwrap());
    }
    assert_eq!(got, [13.5, 27.0, 36.0, 24.0]);
    // the fifth is 0 (24·x⁰ still depends on x on the tape, through powf(0)'s zero rule)
    let d5 = grad(&[d], &[x], None, true).unwrap()[0];
    assert_eq!(d5.map_or(0.0, |t| t.item().unwrap()), 0.0);
}

#[test]
fn create_graph_false_gives_constants_equal_to_backward() {
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[0.3, -1.2, 2.0], &[3]));
    let y = x.tanh().mul(x).unwrap().sum();
    let g = grad(&[y], &[x], None, false).unwrap()[0].unwrap();
    assert!(!g.requires_grad());
    let b = y.backward().unwrap();
    assert!(close(&g.to_array(), b.get(x).unwrap(), 1e-15));
    let g2 = grad(&[y], &[x], None, true).unwrap()[0].unwrap();
    assert!(g2.requires_grad());
}

#[test]
fn unused_and_intermediate_inputs() {
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[1.0, 2.0], &[2]));
    let unused = tape.var(arr(&[5.0], &[1]));
    let c = tape.constant(arr(&[3.0], &[1]));
    let h = x.square(); // intermediate
    let y = h.mul(c).unwrap().sum(); // y = 3 Σ x²
    let gs = grad(&[y], &[x, unused, h, c], None, false).unwrap();
    assert_eq!(gs[0].unwrap().to_array().data(), &[6.0, 12.0]);
    assert!(gs[1].is_none(), "y does not depend on it");
    assert_eq!(gs[2].unwrap().to_array().data(), &[3.0, 3.0]);
    assert!(gs[3].is_none(), "constants take no gradient");
}

#[test]
fn several_outputs_weighted_by_grad_outputs() {
    // outputs y1 = 2x, y2 = x² with weights w1, w2: gradient 2·w1 + 2x·w2
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[1.0, -2.0], &[2]));
    let (y1, y2) = (x.mul_scalar(2.0), x.square());
    let w1 = tape.constant(arr(&[1.0, 10.0], &[2]));
    let w2 = tape.var(arr(&[0.5, 1.0], &[2])); // a weight that itself needs a gradient
    let g = grad(&[y1, y2], &[x], Some(&[w1, w2]), true).unwrap()[0].unwrap();
    assert_eq!(g.to_array().data(), &[3.0, 16.0]);
    // the gradient is differentiable in the weights too: d Σ g / d w2 = 2x
    let dw2 = grad(&[g.sum()], &[w2], None, false).unwrap()[0].unwrap();
    assert_eq!(dw2.to_array().data(), &[2.0, -4.0]);
    // the same output twice: its weights add up
    let g = grad(&[y2, y2], &[x], Some(&[w1, w1]), false).unwrap()[0].unwrap();
    assert_eq!(g.to_array().data(), &[4.0, -80.0]);
}

/// A small MLP with tanh (as the `hvp` workload's, at toy size) on bound parameters.
fn mlp_loss<'t>(
    tape: &'t Tape<f64>,
    ps: &[Tensor<'t, f64>],
    x: Tensor<'t, f64>,
) -> Tensor<'t, f64> {
    let h = x.linear(ps[0], Some(ps[1]), Activation::Tanh).unwrap();
    let h = h.matmul(ps[2]).unwrap().add(ps[3]).unwrap().tanh();
    let logits = h.linear(ps[4], Some(ps[5]), Activation::Identity).unwrap();
    let _ = tape;
    logits.cross_entropy_with_logits(&[0, 2, 1, 2]).unwrap()
}

fn mlp_params(seed: u64) -> Vec<Param<f64>> {
    let mut rng = tapegrad_core::rng(seed);
    [
        vec![5, 4],
        vec![4],
        vec![4, 3],
        vec![3],
        vec![3, 3],
        vec![3],
    ]
    .iter()
    .map(|d| Param::new(Array::rand_uniform(d.as_slice(), -1.0, 1.0, &mut rng)))
    .collect()
}

#[test]
fn hvp_of_an_mlp_on_parameters_matches_differences_of_gradients() {
    let params = mlp_params(7);
    let mut rng = tapegrad_core::rng(8);
    let xb = Array::rand_uniform([4, 5], -1.0, 1.0, &mut rng);
    let vs: Vec<Array<f64>> = params
        .iter()
        .map(|p| Array::rand_uniform(p.value().shape().clone(), -1.0, 1.0, &mut rng))
        .collect();
    // H·v by the recorded gradient
    let tape = Tape::new();
    let ps: Vec<_> = params.iter().map(|p| tape.param(p)).collect();
    let loss = mlp_loss(&tape, &ps, tape.constant(xb.clone()));
    let vt: Vec<_> = vs.iter().map(|v| tape.constant(v.clone())).collect();
    let hv: Vec<Array<f64>> = hvp(loss, &ps, &vt, false)
        .unwrap()
        .into_iter()
        .map(|t| t.expect("every parameter is curved").to_array())
        .collect();
    // central differences of backward()'s gradient along v
    let h = 1e-5;
    let grad_at = |s: f64| -> Vec<Array<f64>> {
        let shifted: Vec<Param<f64>> = params
            .iter()
            .zip(&vs)
            .map(|(p, v)| {
                let d = p
                    .value()
                    .data()
                    .iter()
                    .zip(v.data())
                    .map(|(a, b)| a + s * b);
                Param::new(arr(&d.collect::<Vec<_>>(), p.value().dims()))
            })
            .collect();
        let tape = Tape::new();
        let ps: Vec<_> = shifted.iter().map(|p| tape.param(p)).collect();
        let g = mlp_loss(&tape, &ps, tape.constant(xb.clone()))
            .backward()
            .unwrap();
        shifted
            .iter()
            .map(|p| g.param(p).unwrap().clone())
            .collect()
    };
    let (up, down) = (grad_at(h), grad_at(-h));
    for i in 0..params.len() {
        let fd = arr(
            &up[i]
                .data()
                .iter()
                .zip(down[i].data())
                .map(|(a, b)| (a - b) / (2.0 * h))
                .collect::<Vec<_>>(),
            up[i].dims(),
        );
        assert!(
            close(&hv[i], &fd, 1e-7),
            "param {i}: {:?} vs {:?}",
            hv[i],
            fd
        );
    }
}

#[test]
fn input_gradient_penalty_trains_through_the_recorded_gradient() {
    // loss(w) = Σ_rows |∂ Σ tanh(x·w) / ∂x|²: the gradient of a gradient, checked by gradcheck
    let mut rng = tapegrad_core::rng(3);
    let x = Array::<f64>::rand_uniform([3, 4], -1.0, 1.0, &mut rng);
    let w = Array::<f64>::rand_uniform([4, 2], -1.0, 1.0, &mut rng);
    let report = gradcheck(
        |tape, ws| {
            let xv = tape.var(x.clone());
            let y = xv.matmul(ws[0])?.tanh().sum();
            let gx = grad(&[y], &[xv], None, true)?[0].expect("y depends on x");
            Ok(gx.square().sum())
        },
        &[w],
        GradcheckOptions::f64(),
    )
    .unwrap();
    assert!(report.passes(), "{report}");
}

#[test]
fn hessian_of_a_quadratic_form_is_a_plus_a_transposed() {
    let mut rng = tapegrad_core::rng(11);
    let a = Array::rand_uniform([3, 3], -2.0, 2.0, &mut rng);
    let tape = Tape::<f64>::new();
    let at = tape.constant(a.clone());
    let x = tape.var(Array::rand_uniform([3], -1.0, 1.0, &mut rng));
    let xc = x.reshape([3, 1]).unwrap();
    let q = xc
        .t()
        .unwrap()
        .matmul(at.matmul(xc).unwrap())
        .unwrap()
        .sum();
    let h = hessian(q, x).unwrap();
    let want = Array::from_fn([3, 3], |i| {
        let (r, c) = (i / 3, i % 3);
        a.data()[r * 3 + c] + a.data()[c * 3 + r]
    });
    assert!(close(&h, &want, 1e-12), "{h:?} vs {want:?}");
}

#[test]
fn jacobian_of_an_elementwise_op_is_diagonal() {
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[0.5, -1.0, 2.0], &[3]));
    let y = x.tanh();
    let j = jacobian(y, x).unwrap();
    assert_eq!(j.dims(), &[3, 3]);
    let yv = y.to_array();
    for r in 0..3 {
        for c in 0..3 {
            let want = if r == c {
                1.0 - yv.data()[r].powi(2)
            } else {
                0.0
            };
            assert!((j.data()[r * 3 + c] - want).abs() < 1e-15);
        }
    }
}

#[test]
fn piecewise_linear_ops_have_zero_second_derivatives() {
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[0.5, -1.0, 2.0, -0.25], &[2, 2]));
    let y = x
        .relu()
        .add(x.abs())
        .unwrap()
        .add(x.leaky_relu(0.1))
        .unwrap()
        .max_axis(1, false)
        .unwrap()
        .sum();
    let h = hessian(y, x).unwrap();
    assert_eq!(h.dims(), &[2, 2, 2, 2]);
    assert!(h.data().iter().all(|&v| v == 0.0));
    let v = tape.constant(Array::ones([2, 2]));
    assert!(hvp(y, &[x], &[v], false).unwrap()[0].is_none());
}

/// The message of an error, checked to name this file as the caller.
fn message(e: Error) -> String {
    common::located_message(e, HERE)
}

#[test]
fn errors_name_the_problem_and_the_caller() {
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[1.0, 2.0], &[2]));
    let y = x.square();
    // not a scalar, and no grad_outputs
    let e = grad(&[y], &[x], None, false).unwrap_err();
    assert!(matches!(e, Error::NotScalar { .. }), "{e:?}");
    message(e);
    // grad_outputs of the wrong shape
    let w = tape.constant(Array::ones([3]));
    let e = grad(&[y], &[x], Some(&[w]), false).unwrap_err();
    assert!(matches!(e, Error::Shape { op: "grad", .. }), "{e:?}");
    let msg = message(e);
    assert!(
        msg.starts_with("grad: [2] and [3]: grad_outputs[0]"),
        "{msg}"
    );
    // grad_outputs of the wrong count
    let e = grad(&[y], &[x], Some(&[]), false).unwrap_err();
    assert!(
        matches!(e, Error::InvalidArgument { op: "grad", .. }),
        "{e:?}"
    );
    message(e);
    // no outputs
    let e = grad(&[], &[x], None, false).unwrap_err();
    assert!(
        matches!(e, Error::InvalidArgument { op: "grad", .. }),
        "{e:?}"
    );
    message(e);
    // a tensor of another tape
    let other = Tape::<f64>::new();
    let z = other.var(Array::scalar(1.0));
    let e = grad(&[y.sum()], &[z], None, false).unwrap_err();
    assert!(matches!(e, Error::TapeMismatch { op: "grad", .. }), "{e:?}");
    message(e);
    let e = jacobian(y, z).unwrap_err();
    assert!(
        matches!(e, Error::TapeMismatch { op: "jacobian", .. }),
        "{e:?}"
    );
    message(e);
    // hvp: v of the wrong shape or count, a non-scalar output
    let e = hvp(y.sum(), &[x], &[w], false).unwrap_err();
    assert!(matches!(e, Error::Shape { op: "hvp", .. }), "{e:?}");
    message(e);
    let e = hvp(y.sum(), &[x], &[], false).unwrap_err();
    assert!(
        matches!(e, Error::InvalidArgument { op: "hvp", .. }),
        "{e:?}"
    );
    message(e);
    let e = hvp(y, &[x], &[x], false).unwrap_err();
    assert!(matches!(e, Error::NotScalar { .. }), "{e:?}");
    message(e);
    let e = hessian(y, x).unwrap_err();
    assert!(matches!(e, Error::NotScalar { .. }), "{e:?}");
    message(e);
}

#[test]
fn a_gradient_for_some_inputs_records_no_rule_for_the_others() {
    // y = Σ tanh(x·w): the gradient with respect to x alone needs dx = (g ⊙ tanh')·wᵀ, never
    // the weight's xᵀ·(…), although w needs a gradient too
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[1.0, 2.0, 3.0, 4.0], &[2, 2]));
    let w = tape.var(arr(&[0.5, -1.0, 0.25, 2.0], &[2, 2]));
    let y = x.matmul(w).unwrap().tanh().sum();
    let before = tape.len();
    let dx = grad(&[y], &[x], None, true).unwrap()[0].unwrap();
    let products = (before..tape.len())
        .filter(|&i| {
            let line = tape.to_string();
            line.lines()
                .find(|l| {
                    l.trim_start_matches(['*', ' '])
                        .starts_with(&format!("#{i} "))
                })
                .is_some_and(|l| l.contains("matmul"))
        })
        .count();
    assert_eq!(products, 1, "{tape}");
    // and the pruned pass is still right: dx = (1 - tanh²(xw))·wᵀ
    let both = grad(&[y], &[x, w], None, false).unwrap();
    assert_eq!(dx.to_array(), both[0].unwrap().to_array());
}

#[test]
fn hvp_with_its_lazy_first_pass_equals_the_gradient_of_the_dot_product() {
    // a two-layer tanh network with a softmax cross-entropy, every parameter an input: hvp's
    // first pass records its products lazily (the gradients it returns are only seeds), and
    // the answer must equal the plain formulation, grad of Σ⟨g, v⟩, and stay exact after the
    // returned tensors and the lazy nodes are read in any order
    let tape = Tape::<f64>::new();
    let vals = |n: usize, s: f64| (0..n).map(|i| ((i as f64) * s).sin()).collect::<Vec<_>>();
    let x = tape.constant(arr(&vals(4 * 5, 0.7), &[4, 5]));
    let w1 = tape.var(arr(&vals(5 * 3, 1.3), &[5, 3]));
    let b1 = tape.var(arr(&vals(3, 0.4), &[3]));
    let w2 = tape.var(arr(&vals(3 * 2, 2.1), &[3, 2]));
    let loss = x
        .linear(w1, Some(b1), Activation::Tanh)
        .unwrap()
        .matmul(w2)
        .unwrap()
        .cross_entropy_with_logits(&[0, 1, 1, 0])
        .unwrap();
    let inputs = [w1, b1, w2];
    let v: Vec<Tensor<f64>> = inputs
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let s = p.shape();
            tape.constant(arr(&vals(s.numel(), 0.9 + k as f64), s.dims()))
        })
        .collect();
    let lazy = hvp(loss, &inputs, &v, false).unwrap();
    // the plain way: g = ∂L/∂θ recorded, then the gradient of Σ⟨g, v⟩
    let g = grad(&[loss], &inputs, None, true).unwrap();
    let mut dot = None;
    for (gi, vi) in g.iter().zip(&v) {
        let term = gi.unwrap().mul(*vi).unwrap().sum();
        dot = Some(match dot {
            None => term,
            Some(d) => term.add(d).unwrap(),
        });
    }
    let plain = grad(&[dot.unwrap()], &inputs, None, false).unwrap();
    for (a, b) in lazy.iter().zip(&plain) {
        let (a, b) = (a.unwrap().to_array(), b.unwrap().to_array());
        assert!(close(&a, &b, 1e-12), "{a:?} vs {b:?}");
    }
    // the printout lists every node with its shape, the lazy products' included
    let dump = tape.to_string();
    assert!(
        dump.contains("matmul_t(") && dump.contains("-> [5, 3]"),
        "{dump}"
    );
}
