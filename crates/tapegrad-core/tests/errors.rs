//! Error paths: every error names the op and the shapes (or the bad argument), and the line of
//! the caller's code (`#[track_caller]`), here this file. Operator sugar panics with the same
//! message. And what is *not* an error: `log` of 0 or of a negative number (IEEE: -inf, NaN).

use tapegrad_core::{Array, Error, Tape, Tensor};

mod common;

/// This file, as it appears in the location of an error raised by a call in it.
const HERE: &str = "errors.rs";

fn ones(dims: &[usize]) -> Array<f64> {
    Array::ones(dims)
}

/// The message of an error, checked to name this file as the caller.
fn message(e: Error) -> String {
    common::located_message(e, HERE)
}

#[test]
fn matmul_inner_dims_differ() {
    let tape = Tape::<f64>::new();
    let a = tape.constant(ones(&[2, 3]));
    let b = tape.constant(ones(&[4, 5]));
    let e = a.matmul(b).unwrap_err();
    assert!(matches!(e, Error::Shape { op: "matmul", .. }), "{e:?}");
    let msg = message(e);
    assert!(
        msg.starts_with("matmul: [2, 3] x [4, 5]: inner dims 3 and 4 differ"),
        "{msg}"
    );
}

#[test]
fn matmul_batch_sizes_and_ranks() {
    let tape = Tape::<f64>::new();
    let a = tape.constant(ones(&[2, 3, 4]));
    let b = tape.constant(ones(&[5, 4, 2]));
    let msg = message(a.matmul(b).unwrap_err());
    assert!(
        msg.starts_with("matmul: [2, 3, 4] x [5, 4, 2]: batch sizes 2 and 5 differ"),
        "{msg}"
    );
    let v = tape.constant(ones(&[4]));
    let msg = message(a.matmul(v).unwrap_err());
    assert!(
        msg.starts_with("matmul: [2, 3, 4] x [4]: operands must be"),
        "{msg}"
    );
}

#[test]
fn shapes_that_cannot_broadcast() {
    let tape = Tape::<f64>::new();
    let a = tape.constant(ones(&[2, 3]));
    let b = tape.constant(ones(&[4]));
    for (name, r) in [
        ("add", a.add(b)),
        ("sub", a.sub(b)),
        ("mul", a.mul(b)),
        ("div", a.div(b)),
    ] {
        let msg = message(r.unwrap_err());
        assert!(
            msg.starts_with(&format!("{name}: [2, 3] and [4]: cannot broadcast")),
            "{msg}"
        );
        assert!(msg.contains("sizes 3 and 4"), "{msg}");
    }
    let msg = message(b.broadcast_to([4, 2]).unwrap_err());
    assert!(msg.starts_with("broadcast_to: [4] and [4, 2]"), "{msg}");
    // [3] broadcasts with [3, 1] (to [3, 3]) but not *to* [3, 1]
    let c = tape.constant(ones(&[3]));
    let msg = message(c.broadcast_to([3, 1]).unwrap_err());
    assert!(
        msg.starts_with("broadcast_to: [3] and [3, 1]: the target must be"),
        "{msg}"
    );
}

#[test]
fn same_shape_losses_do_not_broadcast() {
    let tape = Tape::<f64>::new();
    let p = tape.constant(ones(&[2, 3]));
    let t = tape.constant(ones(&[3]));
    let msg = message(p.mse(t).unwrap_err());
    assert!(
        msg.starts_with("mse: [2, 3] and [3]: prediction and target"),
        "{msg}"
    );
    let msg = message(p.bce_with_logits(t).unwrap_err());
    assert!(msg.starts_with("bce_with_logits: [2, 3] and [3]"), "{msg}");
}

#[test]
fn axis_out_of_range() {
    let tape = Tape::<f64>::new();
    let x = tape.constant(ones(&[2, 3]));
    let cases = [
        ("sum", x.sum_axis(2, false)),
        ("mean", x.mean_axis(-3, true)),
        ("max", x.max_axis(5, false)),
        ("softmax", x.softmax(2)),
        ("log_softmax", x.log_softmax(-3)),
        ("transpose", x.transpose(0, 2)),
        ("concat", Tensor::concat(&[x, x], 2)),
    ];
    for (name, r) in cases {
        let e = r.unwrap_err();
        assert!(matches!(e, Error::AxisOutOfRange { .. }), "{e:?}");
        let msg = message(e);
        assert!(msg.starts_with(&format!("{name}: axis ")), "{msg}");
        assert!(
            msg.contains("is out of range for shape [2, 3] (rank 2)"),
            "{msg}"
        );
    }
    // a scalar has no axis at all
    let s = tape.constant(Array::scalar(1.0));
    let msg = message(s.sum_axis(0, false).unwrap_err());
    assert!(
        msg.starts_with("sum: axis 0 is out of range for shape [] (rank 0)"),
        "{msg}"
    );
}

#[test]
fn backward_from_a_non_scalar() {
    let tape = Tape::<f64>::new();
    let x = tape.var(ones(&[2, 3]));
    let e = x
        .tanh()
        .backward()
        .expect_err("backward of [2, 3] must fail");
    assert!(matches!(e, Error::NotScalar { .. }), "{e:?}");
    let msg = message(e);
    assert!(
        msg.starts_with("backward: the output must be a scalar (one element), got shape [2, 3]"),
        "{msg}"
    );
    // a one-element tensor of any rank is fine
    assert!(x
        .sum_axis(1, true)
        .unwrap()
        .max()
        .unwrap()
        .backward()
        .is_ok());
    let one = tape.var(ones(&[1, 1]));
    assert!(one.exp().backward().is_ok());
}

#[test]
fn tensors_from_two_tapes() {
    let t1 = Tape::<f64>::new();
    let t2 = Tape::<f64>::new();
    let a = t1.var(ones(&[2]));
    let b = t2.var(ones(&[2]));
    let w = t2.var(ones(&[2, 2]));
    let cases = [
        ("add", a.add(b)),
        ("sub", a.sub(b)),
        ("mul", a.mul(b)),
        ("div", a.div(b)),
        ("matmul", t1.var(ones(&[2, 2])).matmul(w)),
        (
            "linear",
            t1.var(ones(&[1, 2]))
                .linear(w, None, tapegrad_core::Activation::Relu),
        ),
        ("concat", Tensor::concat(&[a, b], 0)),
        ("mse", a.mse(b)),
        ("bce_with_logits", a.bce_with_logits(b)),
    ];
    for (name, r) in cases {
        let e = r.unwrap_err();
        assert!(
            matches!(e, Error::TapeMismatch { op, .. } if op == name),
            "{name}: {e:?}"
        );
        let msg = message(e);
        assert!(
            msg.starts_with(&format!(
                "{name}: the tensors come from two different tapes"
            )),
            "{msg}"
        );
    }
}

#[test]
fn from_vec_with_the_wrong_length() {
    let e = Array::<f32>::from_vec(vec![1.0; 5], [2, 3]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::DataLength {
                op: "from_vec",
                len: 5,
                ..
            }
        ),
        "{e:?}"
    );
    let msg = message(e);
    assert!(
        msg.starts_with("from_vec: 5 values cannot fill shape [2, 3], which holds 6"),
        "{msg}"
    );
    // and reshape to a shape of another size
    let tape = Tape::<f32>::new();
    let x = tape.constant(Array::ones([2, 3]));
    let msg = message(x.reshape([4, 2]).unwrap_err());
    assert!(
        msg.starts_with("reshape: 6 values cannot fill shape [4, 2], which holds 8"),
        "{msg}"
    );
}

#[test]
fn cross_entropy_target_out_of_range() {
    let tape = Tape::<f64>::new();
    let logits = tape.var(ones(&[2, 3]));
    let e = logits.cross_entropy_with_logits(&[0, 3]).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
    let msg = message(e);
    assert!(
        msg.starts_with(
            "cross_entropy_with_logits: target 3 of row 1 is not a class index below 3"
        ),
        "{msg}"
    );
    // one target per row
    let msg = message(logits.cross_entropy_with_logits(&[0]).unwrap_err());
    assert!(
        msg.starts_with("cross_entropy_with_logits: [2, 3] and [1]: expects logits [N, C]"),
        "{msg}"
    );
}

#[test]
fn index_select_out_of_range() {
    let tape = Tape::<f64>::new();
    let x = tape.var(ones(&[3, 2]));
    let e = x.index_select(&[0, 2, 3]).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
    let msg = message(e);
    assert!(
        msg.starts_with("index_select: index 3 is out of range for axis 0 of shape [3, 2]"),
        "{msg}"
    );
    let s = tape.var(Array::scalar(1.0));
    let msg = message(s.index_select(&[0]).unwrap_err());
    assert!(
        msg.starts_with("index_select: needs at least one axis"),
        "{msg}"
    );
}

#[test]
fn bad_permutations() {
    let tape = Tape::<f64>::new();
    let x = tape.var(ones(&[2, 3, 4]));
    for perm in [&[0, 1][..], &[0, 1, 1], &[0, 1, 3], &[2, 1, 0, 3]] {
        let e = x.permute(perm).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
        let msg = message(e);
        assert!(
            msg.starts_with(&format!(
                "permute: {perm:?} is not a permutation of the axes of shape [2, 3, 4]"
            )),
            "{msg}"
        );
    }
    let msg = message(x.t().unwrap_err());
    assert!(
        msg.starts_with("transpose: t() expects a 2-D tensor, got shape [2, 3, 4]"),
        "{msg}"
    );
}

#[test]
fn linear_shapes() {
    let tape = Tape::<f64>::new();
    let x = tape.var(ones(&[2, 3]));
    let w = tape.var(ones(&[4, 5]));
    let act = tapegrad_core::Activation::Identity;
    let msg = message(x.linear(w, None, act).unwrap_err());
    assert!(
        msg.starts_with("linear: [2, 3] and [4, 5]: expects x [N, in] and w [in, out]"),
        "{msg}"
    );
    let w = tape.var(ones(&[3, 5]));
    let b = tape.var(ones(&[4]));
    let msg = message(x.linear(w, Some(b), act).unwrap_err());
    assert!(
        msg.starts_with("linear: [3, 5] and [4]: the bias must be [5]"),
        "{msg}"
    );
}

#[test]
fn concat_mismatch_and_empty() {
    let tape = Tape::<f64>::new();
    let a = tape.var(ones(&[2, 3]));
    let b = tape.var(ones(&[3, 3]));
    let msg = message(Tensor::concat(&[a, b], 1).unwrap_err());
    assert!(
        msg.starts_with("concat: [2, 3] and [3, 3]: all axes but 1 must match"),
        "{msg}"
    );
    let msg = message(Tensor::<f64>::concat(&[], 0).unwrap_err());
    assert!(
        msg.starts_with("concat: needs at least one tensor"),
        "{msg}"
    );
}

/// Documented on `Tensor::log`: "Not an error for `x <= 0`: `log(0) = -inf`,
/// `log(x < 0) = NaN`" (as IEEE and PyTorch). The gradient follows the same arithmetic:
/// `1/x`, so `+inf` at 0.
#[test]
fn log_of_zero_and_of_a_negative_number_is_not_an_error() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Array::from_vec(vec![-1.0, 0.0, 1.0], [3]).unwrap());
    let y = x.log();
    let v = y.to_array();
    assert!(v.data()[0].is_nan(), "log(-1) = NaN, got {}", v.data()[0]);
    assert_eq!(v.data()[1], f64::NEG_INFINITY, "log(0) = -inf");
    assert_eq!(v.data()[2], 0.0);
    let g = y
        .sum()
        .backward()
        .expect("log is differentiable wherever it is defined");
    let g = g.get(x).unwrap().data().to_vec();
    // d/dx ln x = 1/x
    assert_eq!(g[0], -1.0);
    assert_eq!(g[1], f64::INFINITY);
    assert_eq!(g[2], 1.0);
    // sqrt of a negative number, division by zero: IEEE too
    assert!(x.sqrt().to_array().data()[0].is_nan());
    let zero = tape.constant(Array::scalar(0.0));
    assert_eq!(x.div(zero).unwrap().to_array().data()[2], f64::INFINITY);
}

#[test]
#[should_panic(expected = "add: [2, 3] and [4]: cannot broadcast")]
fn operator_add_panics_with_the_same_message() {
    let tape = Tape::<f64>::new();
    let _ = tape.constant(ones(&[2, 3])) + tape.constant(ones(&[4]));
}

#[test]
#[should_panic(expected = "mul: [2, 3] and [4]: cannot broadcast")]
fn operator_mul_panics_with_the_same_message() {
    let tape = Tape::<f64>::new();
    let _ = tape.constant(ones(&[2, 3])) * tape.constant(ones(&[4]));
}

#[test]
#[should_panic(expected = "sub: the tensors come from two different tapes")]
fn operator_sub_panics_on_two_tapes() {
    let (t1, t2) = (Tape::<f64>::new(), Tape::<f64>::new());
    let _ = t1.constant(ones(&[2])) - t2.constant(ones(&[2]));
}

#[test]
fn operator_panic_message_equals_the_checked_error_and_locates_the_caller() {
    let tape = Tape::<f64>::new();
    let (a, b) = (tape.constant(ones(&[2, 3])), tape.constant(ones(&[4])));
    let checked = message(a.div(b).unwrap_err());
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| a / b))
        .expect_err("a / b with shapes that cannot broadcast panics");
    let text = panic
        .downcast_ref::<String>()
        .cloned()
        .expect("the panic carries a formatted message");
    // the same message, apart from the caller's line and column
    let strip = |s: &str| s[..s.find(" (at ").expect("a location")].to_string();
    assert_eq!(strip(&text), strip(&checked));
    assert!(text.contains(HERE), "{text}");
}

#[test]
fn matmul_t_names_the_flags_the_shapes_and_the_caller() {
    let tape = Tape::<f64>::new();
    let (a, b) = (tape.constant(ones(&[2, 3])), tape.constant(ones(&[2, 4])));
    // aᵀ·b is [3, 2]·[2, 4]: fine; a·b is not
    assert_eq!(a.matmul_t(b, true, false).unwrap().shape().dims(), &[3, 4]);
    let text = message(a.matmul_t(b, false, false).unwrap_err());
    assert!(
        text.starts_with(
            "matmul_t: [2, 3] and [2, 4]: inner dims 3 and 2 differ (ta=false, tb=false)"
        ),
        "{text}"
    );
    assert!(text.contains(HERE), "{text}");
    let v = tape.constant(ones(&[3]));
    let text = message(v.matmul_t(a, false, true).unwrap_err());
    assert!(text.contains("operands must be 2-D"), "{text}");
}
