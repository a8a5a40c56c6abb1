//! `layer_norm` and `batch_norm`: hand-computed values and gradients, PyTorch's conventions
//! (biased variance to normalize, unbiased for batch norm's running variance, eps inside the
//! square root, evaluation with the running statistics), and the errors.

use tapegrad_core::{grad, Array, BatchNormOptions, Error, Tape};

mod common;

/// This file, as it appears in the location of an error raised by a call in it.
const HERE: &str = "ops_norm.rs";

fn arr(v: &[f64], dims: &[usize]) -> Array<f64> {
    Array::from_vec(v.to_vec(), dims).unwrap()
}

fn assert_close(got: &Array<f64>, want: &[f64]) {
    let want = Array::from_vec(want.to_vec(), got.shape().clone()).unwrap();
    assert!(got.approx_eq(&want, 1e-12, 1e-12), "{got} vs {want}");
}

#[test]
fn layer_norm_by_hand() {
    // rows [1, 2, 3] and [2, 4, 6]: means 2 and 4, biased variances 2/3 and 8/3, so both
    // normalize to [-a, 0, a] with a = sqrt(3/2); then · w + b
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[1., 2., 3., 2., 4., 6.], &[2, 3]));
    let w = tape.var(arr(&[1., 2., 3.], &[3]));
    let b = tape.var(arr(&[0., 0., 1.], &[3]));
    let a = 1.5f64.sqrt();
    let y = x.layer_norm(&[3], Some(w), Some(b), 0.0).unwrap();
    assert_close(&y.to_array(), &[-a, 0., 3. * a + 1., -a, 0., 3. * a + 1.]);
    // eps goes under the square root: (x - mean) / sqrt(var + eps)
    let y = x.layer_norm(&[3], None, None, 1e-5).unwrap();
    let s = (2.0f64 / 3.0 + 1e-5).sqrt();
    assert_close(&y.to_array().rows(0..1).unwrap(), &[-1. / s, 0., 1. / s]);
    // dy_0/dx_j = (δ_0j - 1/n - y_0·y_j/n)/σ = (1/σ)[1/6, -1/3, 1/6] for the first row
    let y = x.layer_norm(&[3], None, None, 0.0).unwrap();
    let pick = tape.constant(arr(&[1., 0., 0., 0., 0., 0.], &[2, 3]));
    let g = y.mul(pick).unwrap().sum().backward().unwrap();
    let sigma = (2.0f64 / 3.0).sqrt();
    assert_close(
        g.get(x).unwrap(),
        &[
            1. / 6. / sigma,
            -1. / 3. / sigma,
            1. / 6. / sigma,
            0.,
            0.,
            0.,
        ],
    );
    // the weight's gradient is Σ x̂ over the rows, the bias's the row count
    let y = x.layer_norm(&[3], Some(w), Some(b), 0.0).unwrap();
    let g = y.sum().backward().unwrap();
    assert_close(g.get(w).unwrap(), &[-2. * a, 0., 2. * a]);
    assert_close(g.get(b).unwrap(), &[2., 2., 2.]);
}

#[test]
fn layer_norm_over_several_trailing_axes() {
    // normalized_shape [2, 2]: each [2, 2] block is one slice (mean 2.5 and 6.5, var 1.25)
    let tape = Tape::<f64>::new();
    let x = tape.constant(arr(&[1., 2., 3., 4., 5., 6., 7., 8.], &[2, 2, 2]));
    let y = x.layer_norm(&[2, 2], None, None, 1e-5).unwrap();
    let s = (1.25f64 + 1e-5).sqrt();
    let row = [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s];
    let want: Vec<f64> = row.iter().chain(&row).copied().collect();
    assert_close(&y.to_array(), &want);
    // over all axes: one slice
    let y = x.layer_norm(&[2, 2, 2], None, None, 0.0).unwrap();
    let v = 21.0f64 / 4.0; // the biased variance of 1..=8
    assert_close(
        &y.to_array().rows(0..1).unwrap(),
        &[
            -3.5 / v.sqrt(),
            -2.5 / v.sqrt(),
            -1.5 / v.sqrt(),
            -0.5 / v.sqrt(),
        ],
    );
}

#[test]
fn layer_norm_second_derivative_is_recorded() {
    // y = Σ layer_norm(x)·r depends on x nonlinearly: its gradient has a gradient
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[1., 2., 4.], &[3]));
    let r = tape.constant(arr(&[1., -1., 0.5], &[3]));
    let y = x
        .layer_norm(&[3], None, None, 0.0)
        .unwrap()
        .mul(r)
        .unwrap()
        .sum();
    let g = grad(&[y], &[x], None, true).unwrap()[0].unwrap();
    // the gradient of a layer norm sums to 0 over the slice (shifting x changes nothing)
    assert!(g.to_array().data().iter().sum::<f64>().abs() < 1e-12);
    let h = grad(&[g.square().sum()], &[x], None, false).unwrap()[0].unwrap();
    assert!(h.to_array().norm() > 0.0);
    assert!(h.to_array().data().iter().sum::<f64>().abs() < 1e-12);
}

#[test]
fn layer_norm_errors_name_the_shapes() {
    let tape = Tape::<f64>::new();
    let x = tape.constant(Array::ones([2, 3]));
    let msg = common::located_message(x.layer_norm(&[2], None, None, 1e-5).unwrap_err(), HERE);
    assert!(
        msg.starts_with("layer_norm: [2, 3] and [2]: normalized_shape must be 1 or more trailing dims of the input"),
        "{msg}"
    );
    let e = x.layer_norm(&[], None, None, 1e-5).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Shape {
                op: "layer_norm",
                ..
            }
        ),
        "{e:?}"
    );
    let e = x.layer_norm(&[1, 2, 3], None, None, 1e-5).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Shape {
                op: "layer_norm",
                ..
            }
        ),
        "{e:?}"
    );
    let w = tape.constant(Array::ones([2]));
    let msg = common::located_message(x.layer_norm(&[3], Some(w), None, 1e-5).unwrap_err(), HERE);
    assert!(
        msg.starts_with("layer_norm: [2] and [3]: the weight must have the normalized shape"),
        "{msg}"
    );
    let msg = common::located_message(x.layer_norm(&[3], None, Some(w), 1e-5).unwrap_err(), HERE);
    assert!(
        msg.starts_with("layer_norm: [2] and [3]: the bias must have the normalized shape"),
        "{msg}"
    );
}

#[test]
fn batch_norm_training_by_hand() {
    // x [2, 2, 1, 2]; channel 0 holds 1, 2 (sample 0) and 3, 6 (sample 1): mean 3, biased
    // variance (4 + 1 + 0 + 9)/4 = 3.5, unbiased 14/3; channel 1 holds 0, 0 and 4, 4: mean 2,
    // variance 4, unbiased 16/3
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[1., 2., 0., 0., 3., 6., 4., 4.], &[2, 2, 1, 2]));
    let w = tape.var(arr(&[2., 1.], &[2]));
    let b = tape.var(arr(&[0., 1.], &[2]));
    let (mut mean, mut var) = (Array::zeros([2]), Array::ones([2]));
    let o = BatchNormOptions {
        eps: 0.0,
        ..BatchNormOptions::training()
    };
    let y = x
        .batch_norm(Some(&mut mean), Some(&mut var), Some(w), Some(b), o)
        .unwrap();
    let s = 3.5f64.sqrt();
    assert_close(
        &y.to_array(),
        &[-4. / s, -2. / s, 0., 0., 0., 6. / s, 2., 2.],
    );
    // running = 0.9·running + 0.1·batch, the variance unbiased
    assert_close(&mean, &[0.3, 0.2]);
    assert_close(&var, &[0.9 + 0.1 * 14. / 3., 0.9 + 0.1 * 16. / 3.]);
    // Σ y: x̂ sums to 0 per channel, so dx = 0, dw = Σ x̂ = 0, db = 4 values per channel
    let g = y.sum().backward().unwrap();
    assert!(g.get(x).unwrap().data().iter().all(|v| v.abs() < 1e-12));
    assert_close(g.get(w).unwrap(), &[0., 0.]);
    assert_close(g.get(b).unwrap(), &[4., 4.]);
    // eps under the square root, and the default momentum and eps
    let (mut mean, mut var) = (Array::zeros([2]), Array::ones([2]));
    let y = x
        .batch_norm(
            Some(&mut mean),
            Some(&mut var),
            None,
            None,
            BatchNormOptions::training(),
        )
        .unwrap();
    assert!((y.to_array().data()[0] + 2. / (3.5f64 + 1e-5).sqrt()).abs() < 1e-12);
}

#[test]
fn batch_norm_2d_input_and_no_running_stats() {
    // [N, C] = [3, 1]: values 1, 2, 6: mean 3, biased variance 14/3
    let tape = Tape::<f64>::new();
    let x = tape.constant(arr(&[1., 2., 6.], &[3, 1]));
    let o = BatchNormOptions {
        eps: 0.0,
        ..BatchNormOptions::training()
    };
    let y = x.batch_norm(None, None, None, None, o).unwrap();
    let s = (14.0f64 / 3.0).sqrt();
    assert_close(&y.to_array(), &[-2. / s, -1. / s, 3. / s]);
}

#[test]
fn batch_norm_evaluation_uses_the_running_statistics() {
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[1., 2., 3., 4.], &[2, 2]));
    let w = tape.var(arr(&[2., -1.], &[2]));
    let b = tape.var(arr(&[0.5, 0.], &[2]));
    let (mut mean, mut var) = (arr(&[1., -1.], &[2]), arr(&[4., 0.25], &[2]));
    let o = BatchNormOptions {
        eps: 0.0,
        ..BatchNormOptions::default()
    };
    let y = x
        .batch_norm(Some(&mut mean), Some(&mut var), Some(w), Some(b), o)
        .unwrap();
    // (x - m)/sqrt(v)·w + b per column
    assert_close(&y.to_array(), &[0.5, -6., 2.5, -10.]);
    // not updated in evaluation
    assert_eq!((mean.data(), var.data()), (&[1., -1.][..], &[4., 0.25][..]));
    let g = y.sum().backward().unwrap();
    // dx = w/sqrt(v): the statistics are constants
    assert_close(g.get(x).unwrap(), &[1., -2., 1., -2.]);
    assert_close(g.get(w).unwrap(), &[1., 16.]);
    assert_close(g.get(b).unwrap(), &[2., 2.]);
}

#[test]
fn batch_norm_errors() {
    let tape = Tape::<f64>::new();
    let x = tape.constant(Array::ones([4, 3, 2, 2]));
    let training = BatchNormOptions::training();
    let msg = common::located_message(
        tape.constant(Array::ones([3]))
            .batch_norm(None, None, None, None, training)
            .unwrap_err(),
        HERE,
    );
    assert!(
        msg.starts_with("batch_norm: [3] and []: expects an input [N, C, ...] of 2 or more axes"),
        "{msg}"
    );
    let w = tape.constant(Array::ones([4]));
    let msg = common::located_message(
        x.batch_norm(None, None, Some(w), None, training)
            .unwrap_err(),
        HERE,
    );
    assert!(
        msg.starts_with("batch_norm: [4, 3, 2, 2] and [4]: the weight must be [3] (the channels)"),
        "{msg}"
    );
    let msg = common::located_message(
        x.batch_norm(None, None, None, Some(w), training)
            .unwrap_err(),
        HERE,
    );
    assert!(msg.contains("the bias must be [3]"), "{msg}");
    let mut m = Array::zeros([2]);
    let msg = common::located_message(
        x.batch_norm(Some(&mut m), None, None, None, training)
            .unwrap_err(),
        HERE,
    );
    assert!(
        msg.starts_with("batch_norm: [4, 3, 2, 2] and [2]: the running mean must be [3]"),
        "{msg}"
    );
    let msg = common::located_message(
        x.batch_norm(None, Some(&mut m), None, None, training)
            .unwrap_err(),
        HERE,
    );
    assert!(msg.contains("the running var must be [3]"), "{msg}");
    let msg = common::located_message(
        x.batch_norm(None, None, None, None, BatchNormOptions::default())
            .unwrap_err(),
        HERE,
    );
    assert!(
        msg.starts_with("batch_norm: evaluation (training = false) needs the running mean and var"),
        "{msg}"
    );
    let one = tape.constant(Array::ones([1, 3, 1, 1]));
    let msg = common::located_message(
        one.batch_norm(None, None, None, None, training)
            .unwrap_err(),
        HERE,
    );
    assert!(
        msg.starts_with(
            "batch_norm: [1, 3, 1, 1] and [3]: training needs more than 1 value per channel"
        ),
        "{msg}"
    );
    // a failed call leaves the running statistics alone
    let mut m = Array::zeros([3]);
    let mut v = Array::ones([3]);
    assert!(x
        .batch_norm(Some(&mut m), Some(&mut v), Some(w), None, training)
        .is_err());
    assert_eq!((m.data(), v.data()), (&[0.; 3][..], &[1.; 3][..]));
}
