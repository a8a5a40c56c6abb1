//! `Tape::no_grad` and `Tape::no_grad_guard`: ops inside compute the same values but record
//! nodes that need no gradient, so `backward` and `grad` find no path through them; the
//! previous state comes back when the scope ends, also when scopes nest or a closure panics.
//!
//! Anomaly mode (`Tape::set_detect_anomaly`): the first NaN/Inf in a recorded value or in a
//! gradient passed on is an `Error::Anomaly` naming the node, its op, its inputs' shapes and
//! the line of this file that asked for it; off by default, with identical results.

use tapegrad_core::{grad, AnomalyPhase, Array, Element, Error, Param, Shape, Tape, Tensor};

/// This file, as it appears in the location of an error raised by a call in it.
const HERE: &str = "no_grad_anomaly.rs";

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

/// The fields of an `Error::Anomaly`, or a panic naming what the error was instead.
fn anomaly(e: Error) -> (usize, &'static str, Vec<Shape>, AnomalyPhase, f64, u32) {
    let msg = e.to_string();
    match e {
        Error::Anomaly {
            node,
            op,
            input_shapes,
            phase,
            value,
            location,
        } => {
            assert!(location.file().ends_with(HERE), "{msg}");
            assert!(msg.contains(HERE), "{msg}");
            (node, op, input_shapes, phase, value, location.line())
        }
        other => panic!("expected an anomaly, got {other}"),
    }
}

/// A tape with anomaly detection on.
fn detecting<T: Element>() -> Tape<T> {
    let tape = Tape::new();
    tape.set_detect_anomaly(true);
    tape
}

/// [`anomaly`], after checking that the error's message starts with `start` and that its
/// `(node, op, phase, line)` are `want`; returns the input shapes and the value.
#[track_caller]
fn expect_anomaly(
    e: Error,
    start: &str,
    want: (usize, &'static str, AnomalyPhase, u32),
) -> (Vec<Shape>, f64) {
    let msg = e.to_string();
    assert!(msg.starts_with(start), "{msg}");
    let (node, op, shapes, phase, value, at) = anomaly(e);
    assert_eq!((node, op, phase, at), want, "{msg}");
    (shapes, value)
}

#[test]
fn anomaly_mode_is_off_by_default() {
    let tape = Tape::<f64>::new();
    assert!(!tape.detect_anomaly());
    tape.set_detect_anomaly(true);
    assert!(tape.detect_anomaly());
    tape.set_detect_anomaly(false);
    assert!(!tape.detect_anomaly());
}

#[test]
fn log_of_a_negative_number_is_a_forward_anomaly_at_the_ops_line() {
    let tape = detecting::<f64>();
    let x = tape.var(arr(&[1.0, -1.0], &[2]));
    let e = x.exp(); // finite: no anomaly
    let line = line!() + 1;
    let y = (x.log() + e).sum();
    let err = y.backward().expect_err("log(-1) is NaN");
    let start = "anomaly in the forward pass: node #2 log(inputs [2]) gave NaN";
    let (shapes, value) = expect_anomaly(err, start, (2, "log", AnomalyPhase::Forward, line));
    assert_eq!(shapes, vec![Shape::from([2])]);
    assert!(value.is_nan());
    // returned once: the next call finds nothing kept
    assert!(tape.check_anomaly().is_ok());
}

#[test]
fn zero_over_zero_is_a_forward_anomaly_naming_div() {
    let tape = detecting::<f32>();
    let a = tape.var(Array::from_vec(vec![0.0, 1.0], [2]).expect("fits"));
    let b = tape.constant(Array::from_vec(vec![0.0], [1]).expect("fits"));
    let line = line!() + 1;
    let q = a.div(b).expect("broadcasts");
    let _later = q.log(); // a second anomaly: only the first is reported
    let (node, op, shapes, phase, value, at) = anomaly(tape.check_anomaly().expect_err("0/0"));
    assert_eq!(
        (node, op, phase, at),
        (q.id(), "div", AnomalyPhase::Forward, line)
    );
    assert_eq!(shapes, vec![Shape::from([2]), Shape::from([1])]);
    assert!(value.is_nan());
}

#[test]
fn infinite_gradient_of_sqrt_at_zero_is_a_backward_anomaly() {
    let tape = detecting::<f64>();
    let x = tape.var(arr(&[0.0, 4.0], &[2]));
    let y = x.sqrt().sum(); // forward values 0 and 2 are finite
    let line = line!() + 1;
    let err = y.backward().expect_err("d/dx sqrt(x) at 0 is inf");
    let start = "anomaly in the backward pass: node #1 sqrt(inputs [2]) gave inf";
    let (_, value) = expect_anomaly(err, start, (1, "sqrt", AnomalyPhase::Backward, line));
    assert_eq!(value, f64::INFINITY);
    // backward_trace reports it too
    assert!(matches!(
        y.backward_trace(),
        Err(Error::Anomaly {
            phase: AnomalyPhase::Backward,
            ..
        })
    ));
}

#[test]
fn grad_reports_backward_anomalies_in_both_modes() {
    for create_graph in [false, true] {
        let tape = detecting::<f64>();
        let x = tape.var(arr(&[0.0, 4.0], &[2]));
        let y = x.sqrt().sum();
        let line = line!() + 1;
        let err = grad(&[y], &[x], None, create_graph).expect_err("inf gradient");
        let (node, op, _, phase, value, at) = anomaly(err);
        assert_eq!(
            (node, op, phase, at),
            (1, "sqrt", AnomalyPhase::Backward, line)
        );
        assert!(!value.is_finite());
    }
}

#[test]
fn grad_returns_a_kept_forward_anomaly() {
    let tape = detecting::<f64>();
    let x = tape.var(arr(&[-1.0], &[1]));
    let line = line!() + 1;
    let y = x.log().sum();
    let (_, op, _, phase, _, at) = anomaly(grad(&[y], &[x], None, false).expect_err("NaN"));
    assert_eq!((op, phase, at), ("log", AnomalyPhase::Forward, line));
}

#[test]
fn reset_forgets_a_kept_anomaly() {
    let mut tape = Tape::<f64>::new();
    tape.set_detect_anomaly(true);
    {
        let x = tape.var(arr(&[-1.0], &[1]));
        let _ = x.log();
    }
    tape.reset();
    assert!(tape.check_anomaly().is_ok());
    assert!(tape.detect_anomaly(), "reset keeps the mode");
}

#[test]
fn off_means_no_error_and_identical_results() {
    let run = |on: bool| {
        let tape = Tape::<f64>::new();
        tape.set_detect_anomaly(on);
        let x = tape.var(arr(&[0.0, 4.0, -1.0], &[3]));
        let y = (x.sqrt() + x.log()).sum();
        let v = y.item().expect("one element");
        (v, y.backward().map(|g| g.get(x).expect("x").clone()))
    };
    let (v, g) = run(false);
    assert!(v.is_nan());
    let g = g.expect("anomaly mode is off: no error");
    assert!(g.data()[0].is_infinite() || g.data()[0].is_nan());
    assert!(matches!(run(true).1, Err(Error::Anomaly { .. })));

    // finite computations: the same values and gradients with the mode on
    let finite = |on: bool| {
        let tape = Tape::<f64>::new();
        tape.set_detect_anomaly(on);
        let x = tape.var(arr(&[0.5, 1.5, 3.0], &[3]));
        let y = f(x);
        let g = y.backward().expect("finite");
        (y.item().expect("one"), g.get(x).expect("x").clone())
    };
    let (v0, g0) = finite(false);
    let (v1, g1) = finite(true);
    assert_eq!(v0.to_bits(), v1.to_bits());
    assert_eq!(g0.data(), g1.data());
}

#[test]
fn anomaly_mode_also_checks_values_computed_under_no_grad() {
    let tape = detecting::<f64>();
    let x = tape.var(arr(&[-1.0], &[1]));
    let line = line!() + 1;
    let y = tape.no_grad(|| x.log());
    assert!(!y.requires_grad());
    let (_, op, _, _, _, at) = anomaly(tape.check_anomaly().expect_err("NaN"));
    assert_eq!((op, at), ("log", line));
}
