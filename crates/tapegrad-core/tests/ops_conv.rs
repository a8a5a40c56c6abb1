//! `conv2d`: hand-computed small convolutions (padding, stride, dilation, groups, bias, and
//! their gradients), a naive seven-loop reference on random data (forward and the gradients
//! of x, w and b, f64 and f32), second derivatives through im2col/col2im, and the errors.

use rand::{Rng, SeedableRng};
use tapegrad_core::{grad, Array, Conv2dOptions, Error, Tape};

mod common;

/// This file, as it appears in the location of an error raised by a call in it.
const HERE: &str = "ops_conv.rs";

fn arr(v: &[f64], dims: &[usize]) -> Array<f64> {
    Array::from_vec(v.to_vec(), dims).unwrap()
}

#[test]
fn padding_and_stride_by_hand() {
    // x = [[1,2,3],[4,5,6],[7,8,9]], w = [[1,2],[3,4]], padding 1, stride 2, bias 0.5:
    // H_out = (3 + 2 - 1 - 1)/2 + 1 = 2; window (oh, ow) covers input rows 2oh-1..=2oh and
    // columns 2ow-1..=2ow (row or column -1 is padding)
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[1., 2., 3., 4., 5., 6., 7., 8., 9.], &[1, 1, 3, 3]));
    let w = tape.var(arr(&[1., 2., 3., 4.], &[1, 1, 2, 2]));
    let b = tape.var(arr(&[0.5], &[1]));
    let y = x
        .conv2d(w, Some(b), Conv2dOptions::default().padding(1).stride(2))
        .unwrap();
    assert_eq!(y.shape().dims(), &[1, 1, 2, 2]);
    // (0,0): 4·1; (0,1): 3·2 + 4·3; (1,0): 2·4 + 4·7; (1,1): 1·5 + 2·6 + 3·8 + 4·9
    assert_eq!(y.to_array().data(), &[4.5, 18.5, 36.5, 77.5]);
    let g = y.sum().backward().unwrap();
    // dx: the weight that met each element (each met exactly one window)
    assert_eq!(
        g.get(x).unwrap().data(),
        &[4., 3., 4., 2., 1., 2., 4., 3., 4.]
    );
    // dw: the sum of the inputs each tap met: w11 met only 5; w12 4 and 6; w21 2 and 8;
    // w22 1, 3, 7, 9
    assert_eq!(g.get(w).unwrap().data(), &[5., 10., 10., 20.]);
    assert_eq!(g.get(b).unwrap().data(), &[4.]);
}

#[test]
fn dilation_spreads_the_taps() {
    // a 2x2 kernel at dilation 2 spans 3x3: it meets the four corners of the 3x3 input
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[1., 2., 3., 4., 5., 6., 7., 8., 9.], &[1, 1, 3, 3]));
    let w = tape.var(arr(&[1., 2., 3., 4.], &[1, 1, 2, 2]));
    let y = x
        .conv2d(w, None, Conv2dOptions::default().dilation(2))
        .unwrap();
    assert_eq!(y.to_array().data(), &[1. + 2. * 3. + 3. * 7. + 4. * 9.]);
    let g = y.sum().backward().unwrap();
    assert_eq!(
        g.get(x).unwrap().data(),
        &[1., 0., 2., 0., 0., 0., 3., 0., 4.]
    );
    assert_eq!(g.get(w).unwrap().data(), &[1., 3., 7., 9.]);
}

#[test]
fn padding_stride_dilation_and_groups_by_hand() {
    // two channels, two groups (each output channel sees its own input channel), 2x2 kernels,
    // padding 1, stride 2, dilation 2: H_out = (3 + 2 - 2 - 1)/2 + 1 = 2. Window (oh, ow)
    // reads input rows {2oh-1, 2oh+1} and columns {2ow-1, 2ow+1}: inside the 3x3 input only
    // row 1 and column 1, so out[c][oh][ow] = w[c][1-oh][1-ow] · x[c][1][1]
    let tape = Tape::<f64>::new();
    let xs: Vec<f64> = (1..=18).map(f64::from).collect();
    let x = tape.var(arr(&xs, &[1, 2, 3, 3]));
    let w = tape.var(arr(&[1., 2., 3., 4., -1., 0.5, 2., -2.], &[2, 1, 2, 2]));
    let opts = Conv2dOptions::default()
        .padding(1)
        .stride(2)
        .dilation(2)
        .groups(2);
    let y = x.conv2d(w, None, opts).unwrap();
    assert_eq!(y.shape().dims(), &[1, 2, 2, 2]);
    // channel 0: centre 5 times w0 reversed; channel 1: centre 14 times w1 reversed
    assert_eq!(
        y.to_array().data(),
        &[20., 15., 10., 5., -28., 28., 7., -14.]
    );
    let g = y.sum().backward().unwrap();
    let mut dx = [0.0; 18];
    dx[4] = 1. + 2. + 3. + 4.;
    dx[13] = -1. + 0.5 + 2. - 2.;
    assert_eq!(g.get(x).unwrap().data(), &dx[..]);
    assert_eq!(
        g.get(w).unwrap().data(),
        &[5., 5., 5., 5., 14., 14., 14., 14.]
    );
}

#[test]
fn groups_keep_channels_apart_and_bias_is_per_output_channel() {
    // 1x1 kernels, 4 input channels in 2 groups, 2 output channels: out 0 = 1·x0 + 10·x1,
    // out 1 = 100·x2 + 1000·x3, plus the biases
    let tape = Tape::<f64>::new();
    let x = tape.constant(arr(&[1., 2., 3., 4.], &[1, 4, 1, 1]));
    let w = tape.constant(arr(&[1., 10., 100., 1000.], &[2, 2, 1, 1]));
    let b = tape.constant(arr(&[0.25, -0.5], &[2]));
    let y = x
        .conv2d(w, Some(b), Conv2dOptions::default().groups(2))
        .unwrap();
    assert_eq!(y.to_array().data(), &[21.25, 4299.5]);
}

/// The convolution by its definition, one multiply-add at a time.
fn naive_conv(
    x: &Array<f64>,
    w: &Array<f64>,
    b: Option<&Array<f64>>,
    o: Conv2dOptions,
) -> Array<f64> {
    let [n, _, h, wd] = <[usize; 4]>::try_from(x.dims()).unwrap();
    let [co, cg, kh, kw] = <[usize; 4]>::try_from(w.dims()).unwrap();
    let og = co / o.groups;
    let ho = (h + 2 * o.padding.0 - o.dilation.0 * (kh - 1) - 1) / o.stride.0 + 1;
    let wo = (wd + 2 * o.padding.1 - o.dilation.1 * (kw - 1) - 1) / o.stride.1 + 1;
    let mut y = vec![0.0; n * co * ho * wo];
    for s in 0..n {
        for oc in 0..co {
            let g = oc / og;
            for oh in 0..ho {
                for ow in 0..wo {
                    let mut acc = b.map_or(0.0, |b| b.data()[oc]);
                    for ci in 0..cg {
                        for i in 0..kh {
                            for j in 0..kw {
                                let ih = (oh * o.stride.0 + i * o.dilation.0) as isize
                                    - o.padding.0 as isize;
                                let iw = (ow * o.stride.1 + j * o.dilation.1) as isize
                                    - o.padding.1 as isize;
                                if ih < 0 || iw < 0 || ih >= h as isize || iw >= wd as isize {
                                    continue;
                                }
                                let ch = g * cg + ci;
                                acc += x.get(&[s, ch, ih as usize, iw as usize]).unwrap()
                                    * w.get(&[oc, ci, i, j]).unwrap();
                            }
                        }
                    }
                    y[((s * co + oc) * ho + oh) * wo + ow] = acc;
                }
            }
        }
    }
    Array::from_vec(y, [n, co, ho, wo]).unwrap()
}

/// The gradients of `Σ r·conv(x, w, b)` by the naive loop: each multiply-add `x·w` sends
/// `r·w` to x and `r·x` to w.
#[allow(clippy::needless_range_loop)] // a reference by the definition, index by index
fn naive_grads(
    x: &Array<f64>,
    w: &Array<f64>,
    r: &Array<f64>,
    o: Conv2dOptions,
) -> (Array<f64>, Array<f64>, Array<f64>) {
    let [n, c, h, wd] = <[usize; 4]>::try_from(x.dims()).unwrap();
    let [co, cg, kh, kw] = <[usize; 4]>::try_from(w.dims()).unwrap();
    let [_, _, ho, wo] = <[usize; 4]>::try_from(r.dims()).unwrap();
    let og = co / o.groups;
    let mut dx = vec![0.0; x.numel()];
    let mut dw = vec![0.0; w.numel()];
    let mut db = vec![0.0; co];
    for s in 0..n {
        for oc in 0..co {
            let g = oc / og;
            for oh in 0..ho {
                for ow in 0..wo {
                    let rv = r.get(&[s, oc, oh, ow]).unwrap();
                    db[oc] += rv;
                    for ci in 0..cg {
                        for i in 0..kh {
                            for j in 0..kw {
                                let ih = (oh * o.stride.0 + i * o.dilation.0) as isize
                                    - o.padding.0 as isize;
                                let iw = (ow * o.stride.1 + j * o.dilation.1) as isize
                                    - o.padding.1 as isize;
                                if ih < 0 || iw < 0 || ih >= h as isize || iw >= wd as isize {
                                    continue;
                                }
                                let xi =
                                    ((s * c + g * cg + ci) * h + ih as usize) * wd + iw as usize;
                                let wi = ((oc * cg + ci) * kh + i) * kw + j;
                                dx[xi] += rv * w.data()[wi];
                                dw[wi] += rv * x.data()[xi];
                            }
                        }
                    }
                }
            }
        }
    }
    (
        Array::from_vec(dx, x.dims()).unwrap(),
        Array::from_vec(dw, w.dims()).unwrap(),
        Array::from_vec(db, [co]).unwrap(),
    )
}

/// A random convolution: shapes, options and values.
fn random_case(rng: &mut impl Rng) -> (Array<f64>, Array<f64>, Array<f64>, Conv2dOptions) {
    let groups = rng.random_range(1..=3);
    let (cg, og) = (rng.random_range(1..=3), rng.random_range(1..=3));
    let n = rng.random_range(1..=3);
    let mut pick = || {
        let (k, s, p, d): (usize, usize, usize, usize) = (
            rng.random_range(1..=4),
            rng.random_range(1..=3),
            rng.random_range(0..=3),
            rng.random_range(1..=3),
        );
        let len = (d * (k - 1) + 1).saturating_sub(2 * p).max(1) + rng.random_range(0..=6);
        (k, s, p, d, len)
    };
    let (kh, sh, ph, dh, h) = pick();
    let (kw, sw, pw, dw, w) = pick();
    let o = Conv2dOptions {
        stride: (sh, sw),
        padding: (ph, pw),
        dilation: (dh, dw),
        groups,
    };
    let x = Array::rand_uniform([n, groups * cg, h, w], -1.0, 1.0, rng);
    let wt = Array::rand_uniform([groups * og, cg, kh, kw], -1.0, 1.0, rng);
    let b = Array::rand_uniform([groups * og], -1.0, 1.0, rng);
    (x, wt, b, o)
}

#[test]
fn matches_the_naive_loop_forward_and_backward() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    for case in 0..60 {
        let (xa, wa, ba, o) = random_case(&mut rng);
        let want = naive_conv(&xa, &wa, Some(&ba), o);
        let r = Array::rand_uniform(want.shape().clone(), -1.0, 1.0, &mut rng);
        let (dx, dw, db) = naive_grads(&xa, &wa, &r, o);
        let ctx = format!("case {case}: x {} w {} {o:?}", xa.shape(), wa.shape());
        // f64
        let tape = Tape::<f64>::new();
        let (x, w, b) = (
            tape.var(xa.clone()),
            tape.var(wa.clone()),
            tape.var(ba.clone()),
        );
        let y = x.conv2d(w, Some(b), o).unwrap();
        assert!(y.to_array().approx_eq(&want, 1e-12, 1e-12), "{ctx}");
        let g = y
            .mul(tape.constant(r.clone()))
            .unwrap()
            .sum()
            .backward()
            .unwrap();
        assert!(g.get(x).unwrap().approx_eq(&dx, 1e-12, 1e-12), "dx, {ctx}");
        assert!(g.get(w).unwrap().approx_eq(&dw, 1e-12, 1e-12), "dw, {ctx}");
        assert!(g.get(b).unwrap().approx_eq(&db, 1e-12, 1e-12), "db, {ctx}");
        // f32
        let tape = Tape::<f32>::new();
        let (x, w, b) = (
            tape.var(xa.cast()),
            tape.var(wa.cast()),
            tape.var(ba.cast()),
        );
        let y = x.conv2d(w, Some(b), o).unwrap();
        assert!(
            y.to_array().cast::<f64>().approx_eq(&want, 1e-5, 1e-5),
            "{ctx}"
        );
        let g = y
            .mul(tape.constant(r.cast()))
            .unwrap()
            .sum()
            .backward()
            .unwrap();
        assert!(
            g.get(x).unwrap().cast::<f64>().approx_eq(&dx, 1e-5, 1e-5),
            "dx, {ctx}"
        );
        assert!(
            g.get(w).unwrap().cast::<f64>().approx_eq(&dw, 1e-5, 1e-5),
            "dw, {ctx}"
        );
        assert!(
            g.get(b).unwrap().cast::<f64>().approx_eq(&db, 1e-5, 1e-5),
            "db, {ctx}"
        );
    }
}

#[test]
fn a_large_batch_split_over_threads_matches_the_naive_loop() {
    // big enough for the im2col/col2im kernels and the GEMM to share out their work
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let xa = Array::rand_uniform([40, 3, 20, 20], -1.0, 1.0, &mut rng);
    let wa = Array::rand_uniform([4, 3, 5, 5], -1.0, 1.0, &mut rng);
    let o = Conv2dOptions::default().padding(2);
    let want = naive_conv(&xa, &wa, None, o);
    let r = Array::rand_uniform(want.shape().clone(), -1.0, 1.0, &mut rng);
    let (dx, dw, _) = naive_grads(&xa, &wa, &r, o);
    let tape = Tape::<f64>::new();
    let (x, w) = (tape.var(xa), tape.var(wa));
    let y = x.conv2d(w, None, o).unwrap();
    assert!(y.to_array().approx_eq(&want, 1e-12, 1e-12));
    let g = y.mul(tape.constant(r)).unwrap().sum().backward().unwrap();
    assert!(g.get(x).unwrap().approx_eq(&dx, 1e-12, 1e-12));
    assert!(g.get(w).unwrap().approx_eq(&dw, 1e-12, 1e-12));
}

#[test]
fn second_derivative_of_a_squared_convolution_by_hand() {
    // y = Σ conv(x, w)² with one 1x1 weight w and x = [1, 2, 3]: y = w²·Σx² = 14w²,
    // dy/dw = 28w, d²y/dw² = 28; and d(dy/dw)/dx = 4w·x
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[1., 2., 3.], &[1, 1, 1, 3]));
    let w = tape.var(arr(&[0.5], &[1, 1, 1, 1]));
    let y = x
        .conv2d(w, None, Conv2dOptions::default())
        .unwrap()
        .square()
        .sum();
    let dw = grad(&[y], &[w], None, true).unwrap()[0].unwrap();
    assert_eq!(dw.to_array().data(), &[14.0]);
    let d2 = grad(&[dw.sum()], &[w, x], None, false).unwrap();
    assert_eq!(d2[0].unwrap().to_array().data(), &[28.0]);
    assert_eq!(d2[1].unwrap().to_array().data(), &[2.0, 4.0, 6.0]);
}

#[test]
fn the_tape_records_one_conv2d_and_its_gradients_as_ops() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Array::ones([1, 2, 4, 4]));
    let w = tape.var(Array::ones([2, 1, 3, 3]));
    let o = Conv2dOptions::default().groups(2).padding(1);
    let y = x.conv2d(w, None, o).unwrap();
    let printout = tape.to_string();
    assert!(
        printout.contains(
            "conv2d(#0, #1, kernel=(3, 3), stride=(1, 1), padding=(1, 1), dilation=(1, 1), groups=2)"
        ),
        "{printout}"
    );
    // the gradients, recorded, are the two gradient ops
    let g = grad(&[y.sum()], &[x, w], None, true).unwrap();
    let (gx, gw) = (g[0].unwrap(), g[1].unwrap());
    assert_eq!(gx.op().name(), "conv2d_input_grad");
    assert_eq!(gw.op().name(), "conv2d_weight_grad");
    // each interior input element meets all 9 taps, a corner 4
    let gv = gx.to_array();
    assert_eq!(gv.get(&[0, 0, 1, 1]), Some(9.0));
    assert_eq!(gv.get(&[0, 1, 0, 0]), Some(4.0));
    // each tap of a 3x3 kernel over a padded 4x4 input of ones sees 16, 12 or 9 ones
    assert_eq!(gw.to_array().get(&[0, 0, 1, 1]), Some(16.0));
    assert_eq!(gw.to_array().get(&[1, 0, 0, 0]), Some(9.0));
    // and their gradients are convolutions again: Σ gx is Σ over taps in range, linear in w
    let d2 = grad(&[gx.sum()], &[w], None, true).unwrap()[0].unwrap();
    assert_eq!(d2.op().name(), "conv2d_weight_grad");
    assert_eq!(d2.to_array().get(&[0, 0, 1, 1]), Some(16.0));
    let d2 = grad(&[gw.sum()], &[x], None, true).unwrap()[0].unwrap();
    assert_eq!(d2.op().name(), "conv2d_input_grad");
}

/// The message of a `conv2d` error, checked to be a shape error naming this file.
fn conv_error(x: &[usize], w: &[usize], b: Option<&[usize]>, o: Conv2dOptions) -> String {
    let tape = Tape::<f64>::new();
    let x = tape.constant(Array::ones(x));
    let w = tape.constant(Array::ones(w));
    let b = b.map(|b| tape.constant(Array::ones(b)));
    let e = x.conv2d(w, b, o).unwrap_err();
    assert!(matches!(e, Error::Shape { op: "conv2d", .. }), "{e:?}");
    common::located_message(e, HERE)
}

#[test]
fn errors_name_the_op_the_shapes_and_the_setting() {
    let d = Conv2dOptions::default();
    let msg = conv_error(&[1, 3, 5], &[2, 3, 3, 3], None, d);
    assert!(
        msg.starts_with("conv2d: [1, 3, 5] and [2, 3, 3, 3]: expects an input [N, C_in, H, W]"),
        "{msg}"
    );
    let msg = conv_error(&[1, 3, 5, 5], &[2, 3, 3, 3], None, d.stride(0));
    assert!(
        msg.starts_with("conv2d: [1, 3, 5, 5] and [2, 3, 3, 3]: stride (0, 0) must be at least 1"),
        "{msg}"
    );
    let msg = conv_error(
        &[1, 3, 5, 5],
        &[2, 3, 3, 3],
        None,
        Conv2dOptions {
            dilation: (1, 0),
            ..d
        },
    );
    assert!(msg.contains("dilation (1, 0) must be at least 1"), "{msg}");
    let msg = conv_error(&[1, 3, 5, 5], &[2, 3, 3, 3], None, d.groups(0));
    assert!(msg.contains("groups must be at least 1"), "{msg}");
    let msg = conv_error(&[1, 3, 5, 5], &[2, 1, 3, 3], None, d.groups(2));
    assert!(
        msg.starts_with(
            "conv2d: [1, 3, 5, 5] and [2, 1, 3, 3]: input channels 3 are not divisible by groups 2"
        ),
        "{msg}"
    );
    let msg = conv_error(&[1, 4, 5, 5], &[3, 2, 3, 3], None, d.groups(2));
    assert!(
        msg.contains("output channels 3 are not divisible by groups 2"),
        "{msg}"
    );
    let msg = conv_error(&[1, 4, 5, 5], &[2, 4, 3, 3], None, d.groups(2));
    assert!(
        msg.contains("the weight's dim 1 is 4 but must be input channels / groups = 4 / 2 = 2"),
        "{msg}"
    );
    let msg = conv_error(&[1, 3, 5, 5], &[2, 3, 6, 3], None, d);
    assert!(msg.starts_with("conv2d: [1, 3, 5, 5] and [2, 3, 6, 3]: the kernel's height 6 at dilation 1 spans 6 > the padded input's height 5 + 2·0"), "{msg}");
    // padding makes room; dilation takes it again
    assert!(Tape::<f64>::new()
        .constant(Array::ones([1, 3, 5, 5]))
        .conv2d(
            Tape::<f64>::new().constant(Array::ones([2, 3, 3, 7])),
            None,
            d.padding(1)
        )
        .is_err());
    let msg = conv_error(&[1, 3, 5, 5], &[2, 3, 3, 3], None, d.dilation(3));
    assert!(
        msg.contains(
            "the kernel's height 3 at dilation 3 spans 7 > the padded input's height 5 + 2·0"
        ),
        "{msg}"
    );
    let msg = conv_error(&[1, 3, 5, 5], &[2, 3, 3, 0], None, d);
    assert!(msg.contains("the kernel's width is 0"), "{msg}");
    let msg = conv_error(&[1, 3, 5, 5], &[2, 3, 3, 3], Some(&[3]), d);
    assert!(
        msg.starts_with("conv2d: [2, 3, 3, 3] and [3]: the bias must be [2] (the output channels)"),
        "{msg}"
    );
}

#[test]
fn output_size_follows_pytorch() {
    // H_out = (H + 2p - d(k-1) - 1)/s + 1, rounded down
    let tape = Tape::<f32>::new();
    let x = tape.constant(Array::ones([2, 3, 28, 17]));
    let w = tape.constant(Array::ones([6, 3, 5, 3]));
    let o = Conv2dOptions {
        stride: (3, 2),
        padding: (2, 0),
        dilation: (1, 2),
        groups: 1,
    };
    // (28 + 4 - 4 - 1)/3 + 1 = 10; (17 - 4 - 1)/2 + 1 = 7
    assert_eq!(x.conv2d(w, None, o).unwrap().shape().dims(), &[2, 6, 10, 7]);
}
