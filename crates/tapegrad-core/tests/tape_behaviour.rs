//! How the tape behaves: tensors used several times, parameters bound twice, constants that
//! need no gradient, detach, reset and reuse, and the three ways to look at a tape (Display,
//! DOT, the backward trace).

use tapegrad_core::{Activation, Array, Op, Param, Tape, Tensor};

fn arr(v: &[f64], dims: &[usize]) -> Array<f64> {
    Array::from_vec(v.to_vec(), dims).unwrap()
}

#[test]
fn a_tensor_used_twice_gets_the_sum_of_its_gradients() {
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[1.0, -2.0, 3.0], &[3]));
    // d(x·x)/dx = x + x = 2x, through the operator and the checked method
    let g = (x * x).sum().backward().unwrap();
    assert_eq!(g.get(x).unwrap().data(), &[2.0, -4.0, 6.0]);
    let g = x.mul(x).unwrap().sum().backward().unwrap();
    assert_eq!(g.get(x).unwrap().data(), &[2.0, -4.0, 6.0]);
    // three uses: d(x·x·x)/dx = 3x²
    let g = (x * x * x).sum().backward().unwrap();
    assert_eq!(g.get(x).unwrap().data(), &[3.0, 12.0, 27.0]);
    // x + x - x = x: the three paths add to 1 + 1 - 1
    let g = (x + x - x).sum().backward().unwrap();
    assert_eq!(g.get(x).unwrap().data(), &[1.0, 1.0, 1.0]);
}

#[test]
fn a_param_bound_twice_is_one_node_and_its_gradients_add() {
    let p = Param::new(arr(&[0.5, -1.0], &[2]));
    let tape = Tape::<f64>::new();
    let a = tape.param(&p);
    let len = tape.len();
    let b = tape.param(&p);
    assert_eq!(a.id(), b.id());
    assert_eq!(tape.len(), len, "binding again records no node");
    assert_eq!(a.op(), Op::Param(p.id()));
    // tied weights: d(a·b)/dp = b + a = 2p
    let g = (a * b).sum().backward().unwrap();
    assert_eq!(g.param(&p).unwrap().data(), &[1.0, -2.0]);
    assert_eq!(g.by_id(p.id()).unwrap().data(), &[1.0, -2.0]);
    assert_eq!(g.get(a).unwrap().data(), &[1.0, -2.0]);
    let ids: Vec<_> = g.params().map(|(id, _)| id).collect();
    assert_eq!(ids, vec![p.id()]);
    // a tied weight in two layers: both layers' gradients add up
    let w = Param::new(arr(&[1.0, 2.0, 3.0, 4.0], &[2, 2]));
    let x = tape.constant(arr(&[1.0, 1.0], &[1, 2]));
    let h = x
        .linear(tape.param(&w), None, Activation::Identity)
        .unwrap();
    let y = h.matmul(tape.param(&w)).unwrap().sum();
    // y = Σ (x·W)·W. Second use: dy/dW = (x·W)ᵀ·1 = [4, 6]ᵀ·[1, 1] = [[4, 4], [6, 6]];
    // first use: dy/d(x·W) = 1·Wᵀ = [3, 7], so dy/dW = xᵀ·[3, 7] = [[3, 7], [3, 7]]. Sum:
    let g = y.backward().unwrap();
    assert_eq!(g.param(&w).unwrap().data(), &[7.0, 11.0, 9.0, 13.0]);
}

#[test]
fn constants_need_no_gradient_and_get_none() {
    let tape = Tape::<f64>::new();
    let c = tape.constant(arr(&[1.0, 2.0], &[2]));
    let x = tape.var(arr(&[3.0, 4.0], &[2]));
    let e = c.exp();
    assert!(!c.requires_grad());
    assert!(
        !e.requires_grad(),
        "a node whose inputs need no gradient needs none"
    );
    assert!(x.requires_grad());
    let y = (x * e).sum();
    assert!(y.requires_grad());
    let g = y.backward().unwrap();
    assert!(g.get(c).is_none(), "constants get no gradient");
    assert!(g.get(e).is_none());
    assert!(g.get(y).is_none(), "intermediate gradients are not kept");
    assert_eq!(g.get(x).unwrap().data(), e.to_array().data());
    // a loss that depends on no variable: backward succeeds, nothing has a gradient
    let only_constants = c.square().sum();
    assert!(!only_constants.requires_grad());
    let g = only_constants.backward().unwrap();
    assert!(g.get(c).is_none());
    assert!(
        g.get(x).is_none(),
        "x is on the tape but the loss does not depend on it"
    );
    assert_eq!(g.params().count(), 0);
    // a param the loss does not use
    let p = Param::new(arr(&[1.0], &[1]));
    let _unused = tape.param(&p);
    let g = x.sum().backward().unwrap();
    assert!(g.param(&p).is_none());
}

#[test]
fn detach_stops_gradients() {
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[0.5, -1.0], &[2]));
    let e = x.exp();
    let d = e.detach();
    assert!(!d.requires_grad());
    assert_eq!(d.op(), Op::Constant);
    assert_eq!(d.to_array(), e.to_array());
    // L = Σ detach(e^x)·x: dL/dx = e^x (the detached factor is a constant), where without
    // detach it would be e^x + x·e^x
    let g = (d * x).sum().backward().unwrap();
    assert_eq!(g.get(x).unwrap().data(), e.to_array().data());
    let g = (e * x).sum().backward().unwrap();
    let want: Vec<f64> = [0.5f64, -1.0]
        .iter()
        .map(|&v| v.exp() + v * v.exp())
        .collect();
    assert_eq!(g.get(x).unwrap().data(), &want[..]);
}

#[test]
fn reset_then_reuse() {
    let p = Param::new(arr(&[2.0, 3.0], &[2]));
    let mut tape = Tape::<f64>::new();
    let first = {
        let w = tape.param(&p);
        let loss = w.square().sum();
        assert_eq!(tape.len(), 3);
        loss.backward().unwrap()
    };
    tape.reset();
    assert!(tape.is_empty());
    assert_eq!(tape.len(), 0);
    // the same computation on the reset tape gives the same answer
    let w = tape.param(&p);
    assert_eq!(w.id(), 0, "ids start again at 0");
    let second = w.square().sum().backward().unwrap();
    assert_eq!(
        first.param(&p).unwrap().data(),
        second.param(&p).unwrap().data()
    );
    assert_eq!(second.param(&p).unwrap().data(), &[4.0, 6.0]);
    // gradients computed before the reset do not answer for the new tensors
    assert!(first.get(w).is_none());
    assert!(second.get(w).is_some());
    // nor for tensors of another tape
    let other = Tape::<f64>::new();
    let o = other.var(arr(&[1.0, 1.0], &[2]));
    assert!(second.get(o).is_none());
}

#[test]
fn param_update_while_a_tape_holds_it_copies_on_write() {
    let mut p = Param::new(arr(&[1.0, 2.0], &[2]));
    let tape = Tape::<f64>::new();
    let w = tape.param(&p);
    p.value_mut().data_mut()[0] = 10.0;
    assert_eq!(
        w.to_array().data(),
        &[1.0, 2.0],
        "the tape keeps the old value"
    );
    assert_eq!(p.value().data(), &[10.0, 2.0]);
    // set keeps the shape
    assert!(p.set(arr(&[1.0, 2.0, 3.0], &[3])).is_err());
    p.set(arr(&[5.0, 6.0], &[2])).unwrap();
    assert_eq!(p.value().data(), &[5.0, 6.0]);
}

/// A small tape: #0 x (var [2, 3]), #1 c (constant [3]), #2 add, #3 sum; returns x and the sum.
fn small_tape(tape: &Tape<f64>) -> (Tensor<'_, f64>, Tensor<'_, f64>) {
    let x = tape.var(Array::ones([2, 3]));
    let c = tape.constant(Array::ones([3]));
    (x, x.add(c).unwrap().sum())
}

#[test]
fn display_prints_one_line_per_node() {
    let tape = Tape::<f64>::new();
    small_tape(&tape);
    let text = tape.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        1 + tape.len(),
        "a header and one line per node:\n{text}"
    );
    assert!(lines[0].contains("4 nodes"), "{text}");
    let expect = [
        ("#0", "var()", "[2, 3]", true),
        ("#1", "constant()", "[3]", false),
        ("#2", "add(#0, #1)", "[2, 3]", true),
        ("#3", "sum(#2, all)", "[]", true),
    ];
    for (line, (id, op, shape, grad)) in lines[1..].iter().zip(expect) {
        assert!(line.contains(id), "{line}");
        assert!(line.contains(op), "{line}");
        assert!(line.ends_with(&format!("-> {shape}")), "{line}");
        assert_eq!(
            line.starts_with('*'),
            grad,
            "'*' marks nodes that need a gradient: {line}"
        );
    }
}

#[test]
fn to_dot_has_a_node_per_op_and_an_edge_per_input() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Array::ones([2, 2]));
    let _loss = Tensor::concat(&[x, x.exp()], 0).unwrap().sum();
    let dot = tape.to_dot();
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(dot.trim_end().ends_with('}'), "{dot}");
    for id in 0..tape.len() {
        assert!(dot.contains(&format!("n{id} [label=\"#{id} ")), "{dot}");
    }
    // exp(#0), concat(#0, #1) (x appears once per use), sum(#2)
    for edge in ["n0 -> n1;", "n0 -> n2;", "n1 -> n2;", "n2 -> n3;"] {
        assert!(dot.contains(edge), "missing {edge}: {dot}");
    }
    assert_eq!(dot.matches(" -> ").count(), 4, "{dot}");
    assert!(dot.contains("concat\\n[4, 2]"), "{dot}");
}

#[test]
fn backward_trace_has_one_step_per_node_that_received_a_gradient() {
    let tape = Tape::<f64>::new();
    let (x, loss) = small_tape(&tape);
    let (g, trace) = loss.backward_trace().unwrap();
    let ids: Vec<usize> = trace.steps().iter().map(|s| s.id).collect();
    // output first, then add, then x; the constant #1 gets no gradient and no step
    assert_eq!(ids, vec![3, 2, 0]);
    let s = &trace.steps()[0];
    assert!(s.op.starts_with("sum"), "{s:?}");
    assert_eq!(s.grad_shape.dims(), &[] as &[usize]);
    assert_eq!(s.grad_norm, 1.0);
    let s = &trace.steps()[1];
    assert!(s.op.starts_with("add"));
    assert_eq!(s.grad_shape.dims(), &[2, 3]);
    assert!((s.grad_norm - 6f64.sqrt()).abs() < 1e-12);
    assert!(trace.steps()[2].op.starts_with("var"));
    // the gradients are the same as plain backward's
    let plain = loss.backward().unwrap();
    assert_eq!(g.get(x).unwrap(), plain.get(x).unwrap());
    assert_eq!(g.get(x).unwrap().data(), &[1.0; 6]);
    let text = trace.to_string();
    assert!(
        text.starts_with("backward: 3 steps, output first"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 4);
}
