//! What a hostile probe found, each as a test: sizes that overflow, NaN that vanished, empty
//! inputs that gave numbers, errors that did not read as messages. (docs/reliability.md lists
//! the promises these tests hold.)

use tapegrad_core::{Activation, Array, Error, Shape, Tape, Tensor};

const HUGE: usize = (1 << 63) + 1;

fn invalid_names(e: &Error, op: &str) -> bool {
    let msg = e.to_string();
    msg.starts_with(&format!("{op}: ")) && msg.contains("tests/reliability.rs")
}

// ---- sizes: every shape that cannot exist is an error, never a wrapped count ----

#[test]
fn from_vec_refuses_a_shape_whose_count_wraps() {
    // (2^63 + 1) · 2 wraps to 2 in usize: it was accepted, and a matmul wrote out of bounds
    let e = Array::from_vec(vec![1.0f64, 2.0], [HUGE, 2]).unwrap_err();
    assert!(invalid_names(&e, "from_vec"), "{e}");
    assert!(e.to_string().contains("too many elements"), "{e}");
    // a size-0 axis does not excuse the others: their strides would still overflow
    let e = Array::<f32>::from_vec(vec![], [0, 1 << 40, 1 << 40]).unwrap_err();
    assert!(invalid_names(&e, "from_vec"), "{e}");
}

#[test]
fn shape_counts_saturate_and_check() {
    let s = Shape::new(&[HUGE, 2]);
    assert_eq!(s.try_numel(), None);
    assert_eq!(s.numel(), usize::MAX);
    assert!(s.check_size("test").is_err());
    assert_eq!(Shape::new(&[3, 0, 5]).try_numel(), Some(0));
    assert_eq!(Shape::new(&[]).try_numel(), Some(1));
    let max = Shape::new(&[Shape::MAX_ELEMENTS]);
    assert_eq!(max.try_numel(), Some(Shape::MAX_ELEMENTS));
    assert_eq!(Shape::new(&[Shape::MAX_ELEMENTS, 2]).try_numel(), None);
}

#[test]
fn reshape_to_a_wrapping_shape_is_an_error() {
    let a = Array::<f64>::zeros([2]);
    let e = a.reshape([HUGE, 2]).unwrap_err();
    assert!(invalid_names(&e, "reshape"), "{e}");
    let e = a.clone().into_shape([HUGE, 2]).unwrap_err();
    assert!(invalid_names(&e, "into_shape"), "{e}");
    let tape = Tape::<f64>::new();
    let x = tape.var(a);
    let e = x.reshape([HUGE, 2]).unwrap_err();
    assert!(invalid_names(&e, "reshape"), "{e}");
}

#[test]
fn outputs_too_large_to_exist_are_errors() {
    let tape = Tape::<f32>::new();
    // broadcasting two small shapes to 2^80 elements
    let a = tape.constant(Array::zeros([0, 1 << 40, 1]));
    let b = tape.constant(Array::zeros([0, 1, 1 << 40]));
    let e = a.add(b).unwrap_err();
    assert!(e.to_string().starts_with("add: "), "{e}");
    assert!(e.to_string().contains("tests/reliability.rs"), "{e}");
    // [2^40, 0] x [0, 2^40]: no element in, 2^80 out
    let a = tape.constant(Array::zeros([1 << 40, 0]));
    let b = tape.constant(Array::zeros([0, 1 << 40]));
    let e = a.matmul(b).unwrap_err();
    assert!(e.to_string().starts_with("matmul: "), "{e}");
    assert!(e.to_string().contains("too many elements"), "{e}");
    let e = a.linear(b, None, Activation::Relu).unwrap_err();
    assert!(e.to_string().starts_with("linear: "), "{e}");
    // broadcast_to an impossible target
    let c = tape.constant(Array::zeros([1, 1]));
    let e = c.broadcast_to([HUGE, 2]).unwrap_err();
    assert!(e.to_string().starts_with("broadcast_to: "), "{e}");
    // concatenating three [0, 2^59] along axis 1: 3 · 2^59 > MAX_ELEMENTS
    let half = tape.constant(Array::zeros([0, 1 << 59]));
    let e = Tensor::concat(&[half, half, half], 1).unwrap_err();
    assert!(e.to_string().starts_with("concat: "), "{e}");
    // index_select repeating rows of an empty-but-wide tensor
    let wide = tape.constant(Array::zeros([1, 0, 1 << 59]));
    let e = wide.index_select(&[0, 0, 0]).unwrap_err();
    assert!(e.to_string().starts_with("index_select: "), "{e}");
    // the sizes that do exist still work
    let ok = tape.constant(Array::zeros([3, 0]));
    assert_eq!(
        ok.matmul(tape.constant(Array::zeros([0, 2])))
            .unwrap()
            .shape()
            .dims(),
        &[3, 2]
    );
}

#[test]
#[should_panic(expected = "zeros: shape [9223372036854775809, 2] holds too many elements")]
fn infallible_constructors_panic_with_the_reason() {
    let _ = Array::<f32>::zeros([HUGE, 2]);
}

// ---- NaN propagates, as in PyTorch ----

#[test]
fn relu_keeps_nan_forward_and_backward() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Array::from_vec(vec![f64::NAN, -1.0, 2.0], [3]).unwrap());
    let y = x.relu();
    let v = y.to_array();
    assert!(v.data()[0].is_nan(), "{v:?}");
    assert_eq!(&v.data()[1..], &[0.0, 2.0]);
    // torch's threshold_backward: 0 where x <= 0, else the incoming gradient (NaN passes it)
    let g = y.sum().backward().unwrap();
    assert_eq!(g.get(x).unwrap().data(), &[1.0, 0.0, 1.0]);
}

#[test]
fn fused_relu_keeps_nan() {
    let tape = Tape::<f32>::new();
    let x = tape.var(Array::from_vec(vec![f32::NAN, 1.0], [1, 2]).unwrap());
    let w = tape.var(Array::from_vec(vec![1.0, -1.0, 1.0, 1.0], [2, 2]).unwrap());
    let y = x.linear(w, None, Activation::Relu).unwrap();
    assert!(
        y.to_array().data().iter().all(|v| v.is_nan()),
        "{}",
        y.to_array()
    );
    let g = y.sum().backward().unwrap();
    // NaN reaches the weight's gradient instead of a silent 0
    assert!(g.get(w).unwrap().data().iter().any(|v| v.is_nan()));
}

#[test]
fn max_propagates_nan_like_max_axis() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Array::from_vec(vec![1.0, f64::NAN, 3.0], [3]).unwrap());
    assert!(x.max().unwrap().item().unwrap().is_nan());
    assert!(x.max_axis(0, false).unwrap().item().unwrap().is_nan());
    // the gradient does not hide it either: (g / 0) · 0 as PyTorch's amax
    let g = x.max().unwrap().backward().unwrap();
    assert!(g.get(x).unwrap().data().iter().all(|v| v.is_nan()));
    // NaN first, then larger values: still NaN
    let y = tape.constant(Array::from_vec(vec![f64::NAN, 5.0], [2]).unwrap());
    assert!(y.max().unwrap().item().unwrap().is_nan());
}

#[test]
fn argmax_rows_picks_nan_as_torch() {
    let a = Array::from_vec(vec![1.0, f64::NAN, 3.0, 0.0, 2.0, 1.0], [2, 3]).unwrap();
    assert_eq!(a.argmax_rows().unwrap(), vec![1, 1]);
}

// ---- empty inputs: PyTorch's NaN where it gives one, errors where it raises ----

#[test]
fn max_of_nothing_is_an_error() {
    let tape = Tape::<f32>::new();
    let e = tape.constant(Array::zeros([0])).max().unwrap_err();
    assert!(invalid_names(&e, "max"), "{e}");
    let e = tape
        .constant(Array::zeros([0, 3]))
        .max_axis(0, false)
        .unwrap_err();
    assert!(invalid_names(&e, "max"), "{e}");
    // an empty result over a non-empty axis is fine (as torch.amax)
    let r = tape
        .constant(Array::zeros([0, 3]))
        .max_axis(1, false)
        .unwrap();
    assert_eq!(r.shape().dims(), &[0]);
}

#[test]
fn mean_of_nothing_is_nan() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Array::zeros([0, 4]));
    assert!(x.mean().item().unwrap().is_nan());
    let g = x.mean().backward().unwrap();
    assert_eq!(g.get(x).unwrap().dims(), &[0, 4]);
    // losses averaged over no rows are NaN too (torch: mse_loss of empty tensors is nan)
    let t = tape.constant(Array::zeros([0, 4]));
    assert!(x.mse(t).unwrap().item().unwrap().is_nan());
    let logits = tape.var(Array::zeros([0, 3]));
    assert!(logits
        .cross_entropy_with_logits(&[])
        .unwrap()
        .item()
        .unwrap()
        .is_nan());
}

#[test]
fn item_needs_exactly_one_element() {
    let tape = Tape::<f32>::new();
    let e = tape.constant(Array::zeros([0])).item().unwrap_err();
    assert!(invalid_names(&e, "item"), "{e}");
    let e = tape.constant(Array::zeros([2])).item().unwrap_err();
    assert!(e.to_string().contains("got shape [2] (2 elements)"), "{e}");
    assert_eq!(tape.constant(Array::full([1, 1], 4.0)).item().unwrap(), 4.0);
}

#[test]
fn argmax_of_empty_rows_is_an_error() {
    let e = Array::<f32>::zeros([3, 0]).argmax_rows().unwrap_err();
    assert!(invalid_names(&e, "argmax_rows"), "{e}");
    assert_eq!(
        Array::<f32>::zeros([0, 3]).argmax_rows().unwrap(),
        Vec::<usize>::new()
    );
}

// ---- targets a loss cannot take ----

#[test]
fn bce_with_logits_refuses_targets_outside_unit_range() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Array::zeros([2]));
    for bad in [1.5, -0.1, f64::NAN] {
        let t = tape.constant(Array::from_vec(vec![0.0, bad], [2]).unwrap());
        let e = x.bce_with_logits(t).unwrap_err();
        assert!(invalid_names(&e, "bce_with_logits"), "{e}");
        assert!(e.to_string().contains("at flat index 1"), "{e}");
    }
    let t = tape.constant(Array::from_vec(vec![0.0, 1.0], [2]).unwrap());
    assert!(x.bce_with_logits(t).is_ok());
}

// ---- errors read as messages ----

#[test]
fn debug_prints_the_message() {
    let e = Array::<f32>::from_vec(vec![1.0; 5], [2, 3]).unwrap_err();
    assert_eq!(format!("{e:?}"), e.to_string());
    let io: Error = std::io::Error::new(std::io::ErrorKind::NotFound, "gone").into();
    assert_eq!(format!("{io:?}"), "I/O error: gone");
    fn uses_question_mark() -> tapegrad_core::Result<()> {
        std::fs::read("/nonexistent/tapegrad/file")?;
        Ok(())
    }
    assert!(uses_question_mark()
        .unwrap_err()
        .to_string()
        .starts_with("I/O error: "));
}

#[test]
fn thread_safety_is_as_documented() {
    fn send<T: Send>() {}
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Array<f32>>();
    send_sync::<Shape>();
    send_sync::<Error>();
    send_sync::<tapegrad_core::Param<f32>>();
    send_sync::<tapegrad_core::Gradients<f64>>();
    send::<Tape<f32>>();
}
