//! Literal tests of the selecting and pooling ops (`narrow`, `stack`, `gather`, `max_pool2d`,
//! `avg_pool2d`): values and gradients computed by hand (as PyTorch gives them), PyTorch's
//! conventions (negative axes and starts, repeated indices adding up, the first maximum of a
//! window taking its gradient, padding counted in the average), second derivatives through
//! the recorded adjoints, and errors that name the op, the shapes and the attributes. The
//! incoming gradient is never all ones: losses weight the output with `w`.

mod common;

use common::{arr, assert_close};

use tapegrad_core::{grad, hessian, hvp, Array, Error, Result, Tape, Tensor};

const HERE: &str = "ops_layout.rs";

/// `f(x)`'s value and the gradient of `loss = Σ f(x) · w` for the leaf `x`.
fn value_and_grad(
    x: Array<f64>,
    w: &[f64],
    f: impl for<'t> Fn(Tensor<'t, f64>) -> Result<Tensor<'t, f64>>,
) -> (Array<f64>, Array<f64>) {
    let tape = Tape::new();
    let xt = tape.var(x);
    let y = f(xt).unwrap();
    let w = tape.constant(Array::from_vec(w.to_vec(), y.shape()).unwrap());
    let g = y.mul(w).unwrap().sum().backward().unwrap();
    (y.to_array(), g.get(xt).unwrap().clone())
}

/// The message of an error, checked to name this file as the caller.
fn message(e: Error) -> String {
    common::located_message(e, HERE)
}

/// The diagonal of a square Hessian of shape `dims ++ dims`.
fn diagonal(h: &Array<f64>) -> Vec<f64> {
    let n = (h.numel() as f64).sqrt() as usize;
    (0..n).map(|i| h.data()[i * n + i]).collect()
}

// ---- narrow ----

#[test]
fn narrow_values_and_gradient_scattered_into_zeros() {
    // x [2, 4]; columns 1..3: y = [[1, 2], [5, 6]]; dy/dx is 1 there, 0 elsewhere
    let x = Array::arange(8).reshape([2, 4]).unwrap();
    let (y, g) = value_and_grad(x, &[1.0, -2.0, 3.0, 0.5], |x| x.narrow(1, 1, 2));
    assert_eq!(y.dims(), &[2, 2]);
    assert_close(&y, &[1.0, 2.0, 5.0, 6.0]);
    assert_close(&g, &[0.0, 1.0, -2.0, 0.0, 0.0, 3.0, 0.5, 0.0]);
}

#[test]
fn narrow_takes_negative_axes_and_starts_as_pytorch() {
    // x.narrow(-2, -2, 1) of x [3, 2] is row 1 (start -2 counts from the end of the axis)
    let x = Array::arange(6).reshape([3, 2]).unwrap();
    let (y, g) = value_and_grad(x, &[2.0, -1.0], |x| x.narrow(-2, -2, 1));
    assert_close(&y, &[2.0, 3.0]);
    assert_close(&g, &[0.0, 0.0, 2.0, -1.0, 0.0, 0.0]);
    // start = -size is 0, start = size with len 0 is an empty slice (both as PyTorch)
    let tape = Tape::<f64>::new();
    let x = tape.var(Array::arange(3));
    assert_eq!(
        x.narrow(0, -3, 3).unwrap().to_array().data(),
        &[0.0, 1.0, 2.0]
    );
    assert_eq!(x.narrow(0, 3, 0).unwrap().shape().dims(), &[0]);
}

#[test]
fn narrow_second_derivative_goes_through_narrow_backward() {
    // loss = Σ narrow(x)³ over x[1..3]: d²/dx² = diag(6x) there, 0 elsewhere
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[1.0, 2.0, -1.0, 4.0], &[4]));
    let loss = x.narrow(0, 1, 2).unwrap().powf(3.0).sum();
    let g = grad(&[loss], &[x], None, true).unwrap()[0].unwrap();
    assert_close(&g.to_array(), &[0.0, 12.0, 3.0, 0.0]);
    let h = hessian(loss, x).unwrap();
    assert_close(
        &Array::from_vec(diagonal(&h), [4]).unwrap(),
        &[0.0, 12.0, -6.0, 0.0],
    );
    assert!(tape.to_string().contains("narrow_backward(#"), "{tape}");
}

#[test]
fn narrow_out_of_range_names_shape_axis_start_and_len() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Array::zeros([2, 5]));
    let e = x.narrow(1, 3, 3).unwrap_err();
    assert!(
        matches!(e, Error::InvalidArgument { op: "narrow", .. }),
        "{e:?}"
    );
    let msg = message(e);
    for part in ["narrow:", "[2, 5]", "axis 1", "start 3", "len 3"] {
        assert!(msg.contains(part), "{part} missing: {msg}");
    }
    let msg = message(x.narrow(-1, -6, 1).unwrap_err());
    assert!(msg.contains("start -6") && msg.contains("axis -1"), "{msg}");
    let e = x.narrow(2, 0, 1).unwrap_err();
    assert!(
        matches!(
            e,
            Error::AxisOutOfRange {
                op: "narrow",
                axis: 2,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(message(e).contains("[2, 5]"));
}

#[test]
fn narrow_prints_its_settings() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Array::zeros([2, 5]));
    let y = x.narrow(-1, 1, 3).unwrap();
    assert_eq!(y.op().to_string(), "narrow(#0, axis=1, start=1, len=3)");
}

// ---- stack ----

#[test]
fn stack_inserts_the_new_axis_where_asked() {
    let tape = Tape::<f64>::new();
    let a = tape.var(arr(&[1.0, 2.0, 3.0], &[3]));
    let b = tape.var(arr(&[4.0, 5.0, 6.0], &[3]));
    let s0 = Tensor::stack(&[a, b], 0).unwrap();
    assert_eq!(s0.shape().dims(), &[2, 3]);
    assert_close(&s0.to_array(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    for axis in [1, -1] {
        let s = Tensor::stack(&[a, b], axis).unwrap();
        assert_eq!(s.shape().dims(), &[3, 2]);
        assert_close(&s.to_array(), &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    }
    assert_eq!(Tensor::stack(&[a, b], -2).unwrap().shape().dims(), &[2, 3]);
    // scalars stack into a vector
    let c = tape.var(Array::scalar(7.0));
    assert_close(&Tensor::stack(&[c, c, c], 0).unwrap().to_array(), &[7.0; 3]);
}

#[test]
fn stack_gradients_add_for_a_repeated_tensor() {
    // stack([a, b, a], 1) of [2]-vectors: a gets the weights of columns 0 and 2
    let tape = Tape::<f64>::new();
    let a = tape.var(arr(&[1.0, 2.0], &[2]));
    let b = tape.var(arr(&[3.0, 4.0], &[2]));
    let s = Tensor::stack(&[a, b, a], 1).unwrap();
    let w = tape.constant(arr(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]));
    let g = s.mul(w).unwrap().sum().backward().unwrap();
    assert_close(g.get(a).unwrap(), &[1.0 + 3.0, 4.0 + 6.0]);
    assert_close(g.get(b).unwrap(), &[2.0, 5.0]);
}

#[test]
fn stack_errors_name_the_op_and_shapes() {
    let tape = Tape::<f64>::new();
    let a = tape.var(Array::zeros([2, 3]));
    let b = tape.var(Array::zeros([3, 2]));
    let e = Tensor::stack(&[a, b], 0).unwrap_err();
    assert!(matches!(e, Error::Shape { op: "stack", .. }), "{e:?}");
    let msg = message(e);
    assert!(msg.contains("[2, 3]") && msg.contains("[3, 2]"), "{msg}");
    assert!(Tensor::stack(&[a, a], 2).is_ok()); // rank 2: axes 0..=2
    for axis in [3, -4] {
        let e = Tensor::stack(&[a, a], axis).unwrap_err();
        assert!(
            matches!(e, Error::AxisOutOfRange { op: "stack", .. }),
            "{e:?}"
        );
        assert!(message(e).contains("[2, 3]"));
    }
    let e = Tensor::<f64>::stack(&[], 0).unwrap_err();
    assert!(message(e).starts_with("stack: needs at least one tensor"));
    let other = Tape::<f64>::new();
    let c = other.var(Array::zeros([2, 3]));
    let e = Tensor::stack(&[a, c], 0).unwrap_err();
    assert!(
        matches!(e, Error::TapeMismatch { op: "stack", .. }),
        "{e:?}"
    );
}

// ---- gather ----

#[test]
fn gather_along_each_axis_as_torch_gather() {
    // torch.gather([[1, 2], [3, 4]], 1, [[0, 0], [1, 0]]) = [[1, 1], [4, 3]]
    let t = arr(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
    let (y, g) = value_and_grad(t.clone(), &[1.0, 2.0, 3.0, 4.0], |x| {
        x.gather(1, &[0, 0, 1, 0], [2, 2])
    });
    assert_close(&y, &[1.0, 1.0, 4.0, 3.0]);
    // x[0][0] is picked twice: its gradient is 1 + 2; x[0][1] not at all
    assert_close(&g, &[3.0, 0.0, 4.0, 3.0]);
    // dim 0: out[i][j] = x[idx[i][j]][j]; an index longer than x along dim, narrower off it
    let (y, g) = value_and_grad(t, &[1.0, -1.0, 0.5], |x| x.gather(0, &[1, 1, 0], [3, 1]));
    assert_close(&y, &[3.0, 3.0, 1.0]);
    assert_close(&g, &[0.5, 0.0, 0.0, 0.0]);
}

#[test]
fn gather_in_3d_with_a_negative_axis() {
    // x [2, 2, 3] = 0..12; gather along the last axis with an index [2, 1, 2]:
    // out[i][0][k] = x[i][0][idx[i][0][k]]
    let x = Array::arange(12).reshape([2, 2, 3]).unwrap();
    let (y, g) = value_and_grad(x, &[1.0, 2.0, 3.0, 4.0], |x| {
        x.gather(-1, &[2, 0, 1, 1], [2, 1, 2])
    });
    assert_close(&y, &[2.0, 0.0, 7.0, 7.0]);
    let mut want = [0.0; 12];
    want[2] = 1.0;
    want[0] = 2.0;
    want[7] = 3.0 + 4.0; // picked twice: the gradients add up
    assert_close(&g, &want);
}

#[test]
fn gather_second_derivative_goes_through_scatter_add() {
    // loss = Σ gather(x)², x[1] picked twice: d²/dx² = diag(2 · times picked)
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[1.0, 2.0, 3.0], &[3]));
    let loss = x.gather(0, &[1, 2, 1], [3]).unwrap().square().sum();
    let g = grad(&[loss], &[x], None, true).unwrap()[0].unwrap();
    assert_eq!(g.op().name(), "scatter_add");
    assert_close(&g.to_array(), &[0.0, 8.0, 6.0]);
    let h = hessian(loss, x).unwrap();
    assert_close(&h, &[0.0, 0.0, 0.0, 0.0, 4.0, 0.0, 0.0, 0.0, 2.0]);
}

#[test]
fn gather_errors_name_the_op_shapes_and_index() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Array::zeros([2, 3]));
    let e = x.gather(1, &[0, 3], [2, 1]).unwrap_err();
    assert!(
        matches!(e, Error::InvalidArgument { op: "gather", .. }),
        "{e:?}"
    );
    let msg = message(e);
    for part in ["index 3", "axis 1", "[2, 3]", "size 3"] {
        assert!(msg.contains(part), "{part} missing: {msg}");
    }
    let e = x.gather(0, &[0, 1, 0], [1, 3, 1]).unwrap_err();
    assert!(matches!(e, Error::Shape { op: "gather", .. }), "{e:?}");
    let msg = message(e);
    assert!(
        msg.contains("[2, 3] and [1, 3, 1]") && msg.contains("rank"),
        "{msg}"
    );
    let e = x.gather(0, &[0; 4], [1, 4]).unwrap_err();
    let msg = message(e);
    assert!(
        msg.contains("[2, 3] and [1, 4]") && msg.contains("axis 1"),
        "{msg}"
    );
    let e = x.gather(0, &[0; 3], [2, 2]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::DataLength {
                op: "gather",
                len: 3,
                ..
            }
        ),
        "{e:?}"
    );
    let e = x.gather(-3, &[0], [1, 1]).unwrap_err();
    assert!(
        matches!(e, Error::AxisOutOfRange { op: "gather", .. }),
        "{e:?}"
    );
    message(e);
}

// ---- max_pool2d ----

/// `[[0, 5, 1, 2], [3, 1, 5, 0], [2, 4, 0, 6]]` as `[1, 1, 3, 4]`.
fn pool_input() -> Array<f64> {
    arr(
        &[0.0, 5.0, 1.0, 2.0, 3.0, 1.0, 5.0, 0.0, 2.0, 4.0, 0.0, 6.0],
        &[1, 1, 3, 4],
    )
}

#[test]
fn max_pool_overlapping_windows_add_up_at_a_shared_maximum() {
    // 2x2 windows every row and column: 2x3 outputs; the window [[5, 1], [1, 5]] ties and
    // its first 5 (row-major), at (0, 1), takes the gradient
    let w = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let (y, g) = value_and_grad(pool_input(), &w, |x| x.max_pool2d((2, 2), (1, 1), (0, 0)));
    assert_eq!(y.dims(), &[1, 1, 2, 3]);
    assert_close(&y, &[5.0, 5.0, 5.0, 4.0, 5.0, 6.0]);
    // (0, 1) is the max of windows 0 and 1, (1, 2) of windows 2 and 4
    assert_close(
        &g,
        &[0.0, 3.0, 0.0, 0.0, 0.0, 0.0, 8.0, 0.0, 0.0, 4.0, 0.0, 6.0],
    );
}

#[test]
fn max_pool_non_square_kernel_and_stride() {
    // kernel (3, 2), stride (1, 2): windows of columns 0-1 and 2-3, all rows
    let (y, g) = value_and_grad(pool_input(), &[2.0, -1.0], |x| {
        x.max_pool2d((3, 2), (1, 2), (0, 0))
    });
    assert_eq!(y.dims(), &[1, 1, 1, 2]);
    assert_close(&y, &[5.0, 6.0]);
    assert_close(
        &g,
        &[0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0],
    );
}

#[test]
fn max_pool_padding_is_minus_infinity() {
    // all negative: a window reaching into the padding still takes the input's maximum
    let x = arr(&[-1.0, -2.0, -3.0, -4.0], &[1, 1, 2, 2]);
    let w = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
    let (y, g) = value_and_grad(x, &w, |x| x.max_pool2d((2, 2), (1, 1), (1, 1)));
    assert_eq!(y.dims(), &[1, 1, 3, 3]);
    assert_close(&y, &[-1.0, -1.0, -2.0, -1.0, -1.0, -2.0, -3.0, -3.0, -4.0]);
    assert_close(&g, &[1.0 + 2.0 + 4.0 + 5.0, 3.0 + 6.0, 7.0 + 8.0, 9.0]);
}

#[test]
fn max_pool_ties_go_to_the_first_in_row_major_order() {
    // [[1, 3], [3, 0]]: the 3 at (0, 1) comes before the one at (1, 0) in row-major order
    // (column-major order would pick (1, 0)); with every value equal, (0, 0) wins
    let (y, g) = value_and_grad(arr(&[1.0, 3.0, 3.0, 0.0], &[1, 1, 2, 2]), &[2.5], |x| {
        x.max_pool2d((2, 2), (2, 2), (0, 0))
    });
    assert_close(&y, &[3.0]);
    assert_close(&g, &[0.0, 2.5, 0.0, 0.0]);
    let (_, g) = value_and_grad(Array::full([1, 1, 2, 2], 0.5), &[2.5], |x| {
        x.max_pool2d((2, 2), (2, 2), (0, 0))
    });
    assert_close(&g, &[2.5, 0.0, 0.0, 0.0]);
}

#[test]
fn max_pool_planes_are_pooled_apart() {
    // [2, 2, 1, 2]: each of the 4 planes pooled by a (1, 2) window on its own
    let x = arr(&[1.0, 2.0, 4.0, 3.0, -1.0, -5.0, 0.0, 7.0], &[2, 2, 1, 2]);
    let (y, g) = value_and_grad(x, &[1.0, 2.0, 3.0, 4.0], |x| {
        x.max_pool2d((1, 2), (1, 2), (0, 0))
    });
    assert_eq!(y.dims(), &[2, 2, 1, 1]);
    assert_close(&y, &[2.0, 4.0, -1.0, 7.0]);
    assert_close(&g, &[0.0, 1.0, 2.0, 0.0, 3.0, 0.0, 0.0, 4.0]);
}

#[test]
fn max_pool_second_derivative_is_zero_and_exact_through_scatter_add() {
    let tape = Tape::<f64>::new();
    let x = tape.var(pool_input());
    let y = x.max_pool2d((2, 2), (1, 1), (0, 0)).unwrap();
    // a loss linear in y: the gradient does not depend on x, so H·v is identically 0
    let w = tape.constant(arr(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[1, 1, 2, 3]));
    let linear = y.mul(w).unwrap().sum();
    let v = tape.constant(Array::ones([1, 1, 3, 4]));
    assert!(hvp(linear, &[x], &[v], false).unwrap()[0].is_none());
    // Σ y²: the gradient 2·y scattered to the arg-maxes is a scatter_add node, whose own
    // gradient gives d²/dx² = diag(2 · windows an element is the max of)
    let loss = y.square().sum();
    let g = grad(&[loss], &[x], None, true).unwrap()[0].unwrap();
    assert_close(
        &g.to_array(),
        &[
            0.0, 20.0, 0.0, 0.0, 0.0, 0.0, 20.0, 0.0, 0.0, 8.0, 0.0, 12.0,
        ],
    );
    let h = hessian(loss, x).unwrap();
    let want = [0.0, 4.0, 0.0, 0.0, 0.0, 0.0, 4.0, 0.0, 0.0, 2.0, 0.0, 2.0];
    assert_close(&Array::from_vec(diagonal(&h), [12]).unwrap(), &want);
    let off_diagonal: f64 = h.data().iter().map(|v| v.abs()).sum::<f64>() - 12.0;
    assert_eq!(off_diagonal, 0.0);
}

#[test]
fn max_pool_nan_is_the_maximum() {
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[1.0, f64::NAN, 3.0, 2.0], &[1, 1, 2, 2]));
    let y = x.max_pool2d((2, 2), (2, 2), (0, 0)).unwrap();
    assert!(y.item().unwrap().is_nan());
    let g = y.sum().backward().unwrap();
    assert_close(g.get(x).unwrap(), &[0.0, 1.0, 0.0, 0.0]);
}

#[test]
fn max_pool_errors_name_the_op_shape_and_attributes() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Array::zeros([1, 2, 3, 3]));
    // padding more than half the kernel
    let e = x.max_pool2d((2, 2), (1, 1), (2, 0)).unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidArgument {
                op: "max_pool2d",
                ..
            }
        ),
        "{e:?}"
    );
    let msg = message(e);
    for part in [
        "[1, 2, 3, 3]",
        "kernel (2, 2)",
        "stride (1, 1)",
        "padding (2, 0)",
        "half",
    ] {
        assert!(msg.contains(part), "{part} missing: {msg}");
    }
    // a kernel larger than the padded input: no output
    let msg = message(x.max_pool2d((4, 1), (1, 1), (0, 0)).unwrap_err());
    assert!(
        msg.contains("kernel (4, 1)") && msg.contains("empty"),
        "{msg}"
    );
    let msg = message(x.max_pool2d((2, 2), (0, 1), (0, 0)).unwrap_err());
    assert!(
        msg.contains("stride (0, 1)") && msg.contains("positive"),
        "{msg}"
    );
    let msg = message(x.max_pool2d((0, 2), (1, 1), (0, 0)).unwrap_err());
    assert!(msg.contains("kernel (0, 2)"), "{msg}");
    // not [N, C, H, W], or an empty plane
    let y = tape.var(Array::zeros([3, 3]));
    let msg = message(y.max_pool2d((2, 2), (2, 2), (0, 0)).unwrap_err());
    assert!(
        msg.starts_with("max_pool2d:") && msg.contains("[3, 3]"),
        "{msg}"
    );
    let z = tape.var(Array::zeros([1, 0, 2, 2]));
    assert!(message(z.max_pool2d((2, 2), (2, 2), (0, 0)).unwrap_err()).contains("[1, 0, 2, 2]"));
    // an empty batch is fine (as PyTorch)
    let n0 = tape.var(Array::zeros([0, 2, 4, 4]));
    let y = n0.max_pool2d((2, 2), (2, 2), (0, 0)).unwrap();
    assert_eq!(y.shape().dims(), &[0, 2, 2, 2]);
}

// ---- avg_pool2d ----

#[test]
fn avg_pool_counts_the_padding_and_spreads_the_gradient() {
    // two channels, kernel 2x2, stride (1, 2), padding 1: 3x2 outputs per channel, each the
    // window's sum over 4 (the zero padding counted, as count_include_pad=True)
    let x = arr(
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, -1.0, 0.0, 1.0, 2.0, -2.0, 4.0],
        &[1, 2, 2, 3],
    );
    let mut w = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    w.extend([-1.0; 6]);
    let (y, g) = value_and_grad(x, &w, |x| x.avg_pool2d((2, 2), (1, 2), (1, 1)));
    assert_eq!(y.dims(), &[1, 2, 3, 2]);
    assert_close(
        &y,
        &[
            0.25, 1.25, 1.25, 4.0, 1.0, 2.75, -0.25, 0.25, 0.25, 0.75, 0.5, 0.5,
        ],
    );
    // x[0][0] is in the windows (0, 0) and (1, 0): (1 + 3) / 4; and so on
    let mut want = vec![1.0, 1.5, 1.5, 2.0, 2.5, 2.5];
    want.extend([-0.5; 6]);
    assert_close(&g, &want);
}

#[test]
fn avg_pool_non_square_kernel_overlapping() {
    // kernel (1, 3), stride 1, no padding: running means of 3 along each row
    let (y, g) = value_and_grad(pool_input(), &[3.0, 6.0, 3.0, 0.0, 0.0, 3.0], |x| {
        x.avg_pool2d((1, 3), (1, 1), (0, 0))
    });
    assert_close(&y, &[2.0, 8.0 / 3.0, 3.0, 2.0, 2.0, 10.0 / 3.0]);
    assert_close(
        &g,
        &[1.0, 3.0, 3.0, 2.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0],
    );
}

#[test]
fn avg_pool_second_derivative_goes_through_its_adjoint() {
    // loss = Σ avg(x)²: the gradient avg_pool2d_backward(2·avg(x)) is recorded, and its
    // gradient is avg_pool2d again: H = 2·AᵀA, A the pooling matrix
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[1.0, 2.0, 3.0], &[1, 1, 1, 3]));
    // kernel (1, 2), stride 1: y = [(x0 + x1) / 2, (x1 + x2) / 2]
    let loss = x.avg_pool2d((1, 2), (1, 1), (0, 0)).unwrap().square().sum();
    let g = grad(&[loss], &[x], None, true).unwrap()[0].unwrap();
    assert_eq!(g.op().name(), "avg_pool2d_backward");
    // 2·Aᵀy with y = [1.5, 2.5]: [1.5, 4, 2.5]
    assert_close(&g.to_array(), &[1.5, 4.0, 2.5]);
    let h = hessian(loss, x).unwrap();
    assert_close(&h, &[0.5, 0.5, 0.0, 0.5, 1.0, 0.5, 0.0, 0.5, 0.5]);
}

#[test]
fn avg_pool_errors_name_the_op_shape_and_attributes() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Array::zeros([2, 1, 4, 4]));
    let e = x.avg_pool2d((3, 3), (1, 1), (1, 2)).unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidArgument {
                op: "avg_pool2d",
                ..
            }
        ),
        "{e:?}"
    );
    let msg = message(e);
    for part in ["[2, 1, 4, 4]", "kernel (3, 3)", "padding (1, 2)", "half"] {
        assert!(msg.contains(part), "{part} missing: {msg}");
    }
    let v = tape.var(Array::zeros([4, 4, 4]));
    let msg = message(v.avg_pool2d((2, 2), (2, 2), (0, 0)).unwrap_err());
    assert!(
        msg.starts_with("avg_pool2d:") && msg.contains("[4, 4, 4]"),
        "{msg}"
    );
}
