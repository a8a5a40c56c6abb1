//! `Tape::no_grad` and `Tape::no_grad_guard`: ops inside compute the same values but record
//! nodes that need no gradient, so `backward` and `grad` find no path through them; the
//! previous state comes back when the scope ends, also when scopes nest or a closure panics.

use tapegrad_core::{grad, Array, Param, Tape, Tensor};

fn arr(v: &[f64], dims: &[usize]) -> Array<f64> {
    Array::from_vec(v.to_vec(), dims).expect("length matches")
}

/// A small expression with several kinds of op: Σ tanh(x·x + exp(x)).
fn f<'t>(x: Tensor<'t, f64>) -> Tensor<'t, f64> {
    (x * x + x.exp()).tanh().sum()
}

#[test]
fn loss_under_no_grad_gives_no_gradient() {
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[0.5, -1.0, 2.0], &[3]));
    let y = tape.no_grad(|| f(x));
    assert!(!y.requires_grad());
    let grads = y.backward().expect("scalar");
    assert!(grads.get(x).is_none(), "no gradient may reach x");
    let g = grad(&[y], &[x], None, false).expect("valid call");
    assert!(g[0].is_none(), "grad must find no path to x");
    // the leaf itself still needs a gradient, and outside the scope recording is back on
    assert!(x.requires_grad());
    let z = f(x);
    assert!(z.requires_grad());
    assert!(z.backward().expect("scalar").get(x).is_some());
}

#[test]
fn values_are_identical_to_the_recorded_path() {
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[0.5, -1.0, 2.0, 3.5], &[2, 2]));
    let recorded = f(x).to_array();
    let plain = tape.no_grad(|| f(x)).to_array();
    assert_eq!(recorded.shape(), plain.shape());
    let (a, b) = (recorded.data(), plain.data());
    assert!(a.iter().zip(b).all(|(p, q)| p.to_bits() == q.to_bits()));
    let m = tape.no_grad(|| x.matmul(x)).expect("square");
    assert_eq!(
        m.to_array().data(),
        x.matmul(x).expect("square").to_array().data()
    );
}

#[test]
fn no_grad_returns_the_closure_value() {
    let tape = Tape::<f32>::new();
    let x = tape.var(Array::from_vec(vec![1.0, 2.0], [2]).expect("fits"));
    let (n, s) = tape.no_grad(|| (7, x.sum().item().expect("one element")));
    assert_eq!((n, s), (7, 3.0));
}

#[test]
fn guards_nest_and_restore_the_previous_state() {
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[1.0, 2.0], &[2]));
    assert!(tape.is_grad_enabled());
    {
        let _outer = tape.no_grad_guard();
        assert!(!tape.is_grad_enabled());
        {
            let _inner = tape.no_grad_guard();
            assert!(!(x * x).requires_grad());
        }
        // dropping the inner guard must not turn recording back on
        assert!(!tape.is_grad_enabled());
        assert!(!(x * x).requires_grad());
        tape.no_grad(|| assert!(!tape.is_grad_enabled()));
        assert!(!tape.is_grad_enabled());
    }
    assert!(tape.is_grad_enabled());
    assert!((x * x).requires_grad());
}

#[test]
fn state_is_restored_when_the_closure_panics() {
    let tape = Tape::<f64>::new();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tape.no_grad(|| panic!("inside no_grad"));
    }));
    assert!(caught.is_err());
    assert!(tape.is_grad_enabled());
}

#[test]
fn mixing_no_grad_and_recorded_terms_keeps_only_the_recorded_path() {
    // y = x·c + x² where c = 3x is computed without gradient: dy/dx = c + 2x = 5x
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[1.0, -2.0], &[2]));
    let c = tape.no_grad(|| x * tape.constant(arr(&[3.0, 3.0], &[2])));
    let y = (x * c + x * x).sum();
    let grads = y.backward().expect("scalar");
    assert_eq!(
        grads.get(x).expect("x is on the path").data(),
        &[5.0, -10.0]
    );
}

#[test]
fn params_bound_under_no_grad_still_get_gradients_outside_it() {
    let p = Param::new(arr(&[2.0, 3.0], &[2]));
    let tape = Tape::<f64>::new();
    let frozen = tape.no_grad(|| (tape.param(&p) * tape.param(&p)).sum());
    assert!(!frozen.requires_grad());
    let w = tape.param(&p);
    let y = (w * w).sum();
    let grads = y.backward().expect("scalar");
    assert_eq!(grads.get(w).expect("param").data(), &[4.0, 6.0]);
}
