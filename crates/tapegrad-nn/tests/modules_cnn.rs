//! The convolutional-network modules: `Conv2d`, `MaxPool2d`, `AvgPool2d`, `Flatten` (and the
//! normalization and embedding layers): literal forwards, PyTorch's init and printout,
//! gradients against finite differences (f64, `gradcheck_module`), a LeNet-style stack.

use tapegrad_core::{rng, Array, Conv2dOptions, GradcheckOptions, Result, Tape};
use tapegrad_nn::{
    gradcheck_module, Activation, AvgPool2d, Conv2d, Dense, Flatten, Init, MaxPool2d, Module,
    Sequential,
};

fn randn(shape: &[usize], seed: u64) -> Array<f64> {
    Array::randn(shape, 0.0, 1.0, &mut rng(seed))
}

/// Asserts that the module's gradients (input and every parameter) match finite differences.
fn check(name: &str, m: &mut dyn Module<f64>, x: &Array<f64>, reports: usize) {
    let report =
        gradcheck_module(m, x, GradcheckOptions::f64()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(report.inputs.len(), reports, "{name}");
    assert!(report.passes(), "{name}: {report}");
}

#[test]
fn conv2d_literal_forward() -> Result<()> {
    // a 3x3 image 1..9, a 2x2 kernel [[1, 2], [3, 4]], bias 0.5
    let w = Array::from_vec(vec![1., 2., 3., 4.], [1, 1, 2, 2])?;
    let conv = Conv2d::<f64>::from_arrays(
        w,
        Some(Array::scalar(0.5).reshape([1])?),
        Conv2dOptions::default(),
    )?;
    let tape = Tape::new();
    let x = tape.constant(Array::from_vec(
        (1..=9).map(f64::from).collect(),
        [1, 1, 3, 3],
    )?);
    let y = conv.forward(x)?;
    assert_eq!(y.shape().dims(), &[1, 1, 2, 2]);
    assert_eq!(y.to_array().data(), &[37.5, 47.5, 67.5, 77.5]);
    // stride 2 and padding 1: the corners of the padded image
    let w = Array::from_vec(vec![1., 2., 3., 4.], [1, 1, 2, 2])?;
    let conv = Conv2d::<f64>::from_arrays(w, None, Conv2dOptions::default().stride(2).padding(1))?;
    let y = conv.forward(x)?;
    assert_eq!(y.shape().dims(), &[1, 1, 2, 2]);
    // windows over the padded image: [0 0; 0 1], [0 0; 2 3], [0 4; 0 7], [5 6; 8 9]
    assert_eq!(
        y.to_array().data(),
        &[
            4.0,
            3.0 * 2.0 + 4.0 * 3.0,
            2.0 * 4.0 + 4.0 * 7.0,
            5.0 + 12.0 + 24.0 + 36.0
        ]
    );
    assert_eq!(
        conv.to_string(),
        "Conv2d(1, 1, kernel_size=(2, 2), stride=(2, 2), padding=(1, 1), bias=False)"
    );
    // two groups: each output channel sees its own input channel
    let w = Array::from_vec(vec![2., 3.], [2, 1, 1, 1])?;
    let conv = Conv2d::<f64>::from_arrays(w, None, Conv2dOptions::default().groups(2))?;
    assert_eq!((conv.in_channels(), conv.out_channels()), (2, 2));
    let x = tape.constant(Array::from_vec(vec![1., 2., 10., 20.], [1, 2, 1, 2])?);
    assert_eq!(conv.forward(x)?.to_array().data(), &[2., 4., 30., 60.]);
    Ok(())
}

#[test]
fn conv2d_init_names_and_errors() -> Result<()> {
    let conv = Conv2d::<f64>::new(6, 16, (5, 5), Conv2dOptions::default(), true, &mut rng(0))?;
    assert_eq!(
        conv.to_string(),
        "Conv2d(6, 16, kernel_size=(5, 5), stride=(1, 1))"
    );
    assert_eq!(conv.weight().value().dims(), &[16, 6, 5, 5]);
    assert_eq!(conv.param_count(), 16 * 6 * 25 + 16);
    let names: Vec<String> = conv.named_params().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["weight", "bias"]);
    // kaiming_uniform(a = √5): U(±1/√fan_in), fan_in = 6·5·5; the bias alike
    let bound = 1.0 / 150f64.sqrt();
    let w = conv.weight().value().data();
    assert!(w.iter().all(|v| v.abs() <= bound));
    let max = w.iter().fold(0f64, |m, v| m.max(v.abs()));
    assert!(max > 0.95 * bound, "max {max} vs bound {bound}"); // the whole range is used
    let b = conv.bias().unwrap().value().data();
    assert!(b.iter().all(|v| v.abs() <= bound));
    // seeded
    let again = Conv2d::<f64>::new(6, 16, (5, 5), Conv2dOptions::default(), true, &mut rng(0))?;
    assert_eq!(again.weight().value(), conv.weight().value());
    // grouped: fan_in counts one group's channels
    let g = Conv2d::<f64>::new(
        4,
        6,
        (3, 3),
        Conv2dOptions::default().groups(2).dilation(2),
        false,
        &mut rng(1),
    )?;
    assert_eq!(g.weight().value().dims(), &[6, 2, 3, 3]);
    assert!(g
        .weight()
        .value()
        .data()
        .iter()
        .all(|v| v.abs() <= 1.0 / 18f64.sqrt()));
    assert_eq!(
        g.to_string(),
        "Conv2d(4, 6, kernel_size=(3, 3), stride=(1, 1), dilation=(2, 2), groups=2, bias=False)"
    );
    // bad settings and arrays
    let opts = Conv2dOptions::default();
    assert!(Conv2d::<f64>::new(3, 4, (3, 3), opts.groups(2), true, &mut rng(0)).is_err());
    assert!(Conv2d::<f64>::new(0, 4, (3, 3), opts, true, &mut rng(0)).is_err());
    assert!(Conv2d::<f64>::new(1, 4, (3, 3), opts.stride(0), true, &mut rng(0)).is_err());
    assert!(Conv2d::<f64>::from_arrays(Array::zeros([4, 3, 3]), None, opts).is_err());
    assert!(
        Conv2d::<f64>::from_arrays(Array::zeros([4, 3, 3, 3]), Some(Array::zeros([3])), opts)
            .is_err()
    );
    // a wrong input names both shapes
    let tape = Tape::new();
    let err = conv
        .forward(tape.constant(Array::zeros([1, 3, 8, 8])))
        .unwrap_err();
    assert!(err.to_string().contains("[1, 3, 8, 8]"), "{err}");
    Ok(())
}

#[test]
fn pooling_and_flatten_forward() -> Result<()> {
    let tape = Tape::<f64>::new();
    let x = tape.constant(Array::from_vec(
        (0..16).map(f64::from).collect(),
        [1, 1, 4, 4],
    )?);
    let m = MaxPool2d::with_options((3, 3), (1, 1), (1, 1)).forward(x)?;
    assert_eq!(m.shape().dims(), &[1, 1, 4, 4]);
    assert_eq!(m.to_array().data()[..4], [5.0, 6.0, 7.0, 7.0]);
    let a = AvgPool2d::with_options((2, 2), (1, 2), (0, 0)).forward(x)?;
    assert_eq!(a.shape().dims(), &[1, 1, 3, 2]);
    assert_eq!(a.to_array().data(), &[2.5, 4.5, 6.5, 8.5, 10.5, 12.5]);
    assert_eq!(
        Module::<f64>::describe(&AvgPool2d::with_options((2, 3), (1, 2), (0, 1))),
        "AvgPool2d(kernel_size=(2, 3), stride=(1, 2), padding=(0, 1))"
    );
    assert!(MaxPool2d::new(2)
        .forward(tape.constant(Array::zeros([4, 4])))
        .is_err());
    let f = Flatten.forward(tape.constant(randn(&[3, 2, 2, 5], 0)))?;
    assert_eq!(f.shape().dims(), &[3, 20]);
    assert_eq!(f.to_array().data(), randn(&[3, 2, 2, 5], 0).data());
    assert!(Flatten.forward(tape.constant(Array::zeros([4]))).is_err());
    assert_eq!(Module::<f64>::param_count(&Flatten), 0);
    Ok(())
}

#[test]
fn conv_and_pooling_gradients() -> Result<()> {
    let opts = Conv2dOptions::default();
    let mut plain = Conv2d::<f64>::new(2, 3, (3, 3), opts, true, &mut rng(1))?;
    check("conv2d", &mut plain, &randn(&[2, 2, 5, 6], 2), 3);
    let mut strided = Conv2d::<f64>::new(
        4,
        2,
        (2, 3),
        opts.stride(2).padding(1).groups(2),
        true,
        &mut rng(3),
    )?;
    check(
        "conv2d strided grouped",
        &mut strided,
        &randn(&[1, 4, 5, 5], 4),
        3,
    );
    let mut dilated = Conv2d::<f64>::new(1, 2, (2, 2), opts.dilation(2), false, &mut rng(5))?;
    check("conv2d dilated", &mut dilated, &randn(&[2, 1, 5, 5], 6), 2);
    check(
        "max_pool2d",
        &mut MaxPool2d::new(2),
        &randn(&[2, 3, 4, 6], 7),
        1,
    );
    check(
        "max_pool2d overlapping",
        &mut MaxPool2d::with_options((3, 3), (2, 2), (1, 1)),
        &randn(&[1, 2, 5, 5], 8),
        1,
    );
    check(
        "avg_pool2d",
        &mut AvgPool2d::with_options((3, 2), (1, 2), (1, 1)),
        &randn(&[2, 2, 4, 5], 9),
        1,
    );
    check("flatten", &mut Flatten, &randn(&[2, 3, 2, 2], 10), 1);
    Ok(())
}

/// A LeNet-5 stack as torch writes it.
fn lenet(seed: u64) -> Result<Sequential<f64>> {
    let mut r = rng(seed);
    let opts = Conv2dOptions::default();
    Ok(Sequential::new()
        .with(Conv2d::new(1, 6, (5, 5), opts.padding(2), true, &mut r)?)
        .with(Activation::Relu)
        .with(MaxPool2d::new(2))
        .with(Conv2d::new(6, 16, (5, 5), opts, true, &mut r)?)
        .with(Activation::Relu)
        .with(MaxPool2d::new(2))
        .with(Flatten)
        .with(Dense::new(400, 120, Init::HeNormal, &mut r))
        .with(Activation::Relu)
        .with(Dense::new(120, 84, Init::HeNormal, &mut r))
        .with(Activation::Relu)
        .with(Dense::new(84, 10, Init::XavierUniform, &mut r)))
}

#[test]
fn lenet_forward_shape_and_printout() -> Result<()> {
    let model = lenet(0)?;
    let tape = Tape::new();
    let y = model.forward(tape.constant(randn(&[3, 1, 28, 28], 1)))?;
    assert_eq!(y.shape().dims(), &[3, 10]);
    assert_eq!(model.param_count(), 61_706); // LeNet-5's count in torch
    let names: Vec<String> = model.named_params().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names[..4], ["0.weight", "0.bias", "3.weight", "3.bias"]);
    assert!(model.to_string().starts_with(
        "Sequential(\n  (0): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))\n  (1): ReLU\n  (2): MaxPool2d(kernel_size=2, stride=2, padding=0)\n"
    ), "{model}");
    // a wrong input is named with the child where it failed
    let err = model
        .forward(tape.constant(randn(&[3, 1, 20, 20], 1)))
        .unwrap_err();
    assert!(err.to_string().contains("in module `7`"), "{err}");
    Ok(())
}
