//! Gradient shapes: for every op that broadcasts (add, sub, mul, div, broadcast_to, matmul with
//! a shared operand, linear's bias), every input's gradient has that input's shape, whatever
//! the other side stretched. Random shape pairs, plus the named corner cases.

mod common;

use common::{any_values, broadcast_shapes, broadcastable_to, dims, MAX_DIM};
use proptest::prelude::*;
use tapegrad_core::{Activation, Array, Result, Tape, Tensor};

type Binary = for<'t> fn(Tensor<'t, f64>, Tensor<'t, f64>) -> Result<Tensor<'t, f64>>;

/// The broadcasting binary ops, by name.
fn binary_ops() -> [(&'static str, Binary); 4] {
    [
        ("add", |a, b| a.add(b)),
        ("sub", |a, b| a.sub(b)),
        ("mul", |a, b| a.mul(b)),
        ("div", |a, b| a.div(b)),
    ]
}

/// Runs `op(a, b)` weighted by a random upstream gradient and returns both gradients' dims.
fn grad_dims(a: &[usize], b: &[usize], op: Binary) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let tape = Tape::<f64>::new();
    let at = tape.var(Array::full(a, 1.5));
    let bt = tape.var(Array::full(b, -0.5));
    let y = op(at, bt).unwrap();
    let r = Array::rand_uniform(y.shape(), -1.0, 1.0, &mut tapegrad_core::rng(1));
    let g = y.mul(tape.constant(r)).unwrap().sum().backward().unwrap();
    (
        g.get(at).unwrap().dims().to_vec(),
        g.get(bt).unwrap().dims().to_vec(),
        y.shape().dims().to_vec(),
    )
}

#[test]
fn named_broadcast_cases() {
    let cases: [(&[usize], &[usize], &[usize]); 8] = [
        (&[3, 1], &[4], &[3, 4]),
        (&[], &[2, 3, 4], &[2, 3, 4]),
        (&[2, 3], &[], &[2, 3]),
        (&[], &[], &[]),
        (&[1, 1], &[3, 4], &[3, 4]),
        (&[2, 1, 3], &[4, 1], &[2, 4, 3]),
        (&[1], &[2, 1], &[2, 1]),
        (&[4, 1, 1], &[1, 2, 3], &[4, 2, 3]),
    ];
    for (name, op) in binary_ops() {
        for (a, b, out) in cases {
            for (a, b) in [(a, b), (b, a)] {
                let (ga, gb, y) = grad_dims(a, b, op);
                assert_eq!(y, out, "{name} {a:?} {b:?}");
                assert_eq!(ga, a, "{name}: gradient of a {a:?} (with b {b:?})");
                assert_eq!(gb, b, "{name}: gradient of b {b:?} (with a {a:?})");
            }
        }
    }
}

#[test]
fn broadcast_to_gradient_has_the_input_shape() {
    for (from, to) in [
        (&[3, 1][..], &[2, 3, 4][..]),
        (&[], &[2, 2]),
        (&[1], &[5]),
        (&[4], &[3, 4]),
        (&[2, 3], &[2, 3]),
    ] {
        let tape = Tape::<f64>::new();
        let x = tape.var(Array::ones(from));
        let g = x.broadcast_to(to).unwrap().sum().backward().unwrap();
        let gx = g.get(x).unwrap();
        assert_eq!(gx.dims(), from);
        // each element was copied numel(to)/numel(from) times
        let copies = to.iter().product::<usize>() / from.iter().product::<usize>();
        assert!(gx.data().iter().all(|&v| v == copies as f64), "{gx:?}");
    }
}

#[test]
fn matmul_shared_operand_gradients_have_the_operand_shape() {
    let cases: [(&[usize], &[usize]); 4] = [
        (&[2, 3], &[3, 4]),
        (&[5, 2, 3], &[5, 3, 4]),
        (&[5, 2, 3], &[3, 4]),
        (&[2, 3], &[5, 3, 4]),
    ];
    for (a, b) in cases {
        let tape = Tape::<f64>::new();
        let (at, bt) = (tape.var(Array::ones(a)), tape.var(Array::ones(b)));
        let g = at.matmul(bt).unwrap().sum().backward().unwrap();
        assert_eq!(g.get(at).unwrap().dims(), a, "{a:?} x {b:?}");
        assert_eq!(g.get(bt).unwrap().dims(), b, "{a:?} x {b:?}");
    }
}

#[test]
fn linear_bias_gradient_has_the_bias_shape() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Array::ones([5, 3]));
    let w = tape.var(Array::ones([3, 2]));
    let b = tape.var(Array::ones([2]));
    let g = x
        .linear(w, Some(b), Activation::Tanh)
        .unwrap()
        .sum()
        .backward()
        .unwrap();
    assert_eq!(g.get(x).unwrap().dims(), &[5, 3]);
    assert_eq!(g.get(w).unwrap().dims(), &[3, 2]);
    assert_eq!(g.get(b).unwrap().dims(), &[2]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn binary_op_gradients_have_their_input_shapes((a, b) in broadcast_shapes()) {
        for (name, op) in binary_ops() {
            let (ga, gb, _) = grad_dims(&a, &b, op);
            prop_assert_eq!(&ga, &a, "{}", name);
            prop_assert_eq!(&gb, &b, "{}", name);
        }
    }

    #[test]
    fn broadcast_to_gradient_has_the_input_shape_random(
        (x, out) in dims(0..=3)
            .prop_flat_map(|out| (broadcastable_to(out.clone()).prop_flat_map(any_values), Just(out))),
    ) {
        let tape = Tape::<f64>::new();
        let xt = tape.var(x.clone());
        let y = xt.broadcast_to(out.clone())?;
        prop_assert_eq!(y.shape().dims().to_vec(), out);
        let g = y.exp().sum().backward()?;
        prop_assert_eq!(g.get(xt).unwrap().dims(), x.dims());
    }

    #[test]
    fn matmul_gradients_have_the_operand_shapes(
        (bt, m, k, n) in (1..=MAX_DIM, 1..=MAX_DIM, 1..=MAX_DIM, 1..=MAX_DIM),
        kind in 0..4usize,
    ) {
        let (a, b) = match kind {
            0 => (vec![m, k], vec![k, n]),
            1 => (vec![bt, m, k], vec![bt, k, n]),
            2 => (vec![bt, m, k], vec![k, n]),
            _ => (vec![m, k], vec![bt, k, n]),
        };
        let tape = Tape::<f64>::new();
        let (at, btt) = (tape.var(Array::ones(&a[..])), tape.var(Array::ones(&b[..])));
        let g = at.matmul(btt)?.tanh().sum().backward()?;
        prop_assert_eq!(g.get(at).unwrap().dims(), &a[..]);
        prop_assert_eq!(g.get(btt).unwrap().dims(), &b[..]);
    }
}
