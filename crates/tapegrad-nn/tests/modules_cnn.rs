//! The convolutional-network modules: `Conv2d`, `MaxPool2d`, `AvgPool2d`, `Flatten` (and the
//! normalization and embedding layers): literal forwards, PyTorch's init and printout,
//! gradients against finite differences (f64, `gradcheck_module`), a LeNet-style stack.

use tapegrad_core::{rng, Array, Conv2dOptions, GradcheckOptions, Result, Tape};
use tapegrad_core::{Param, Tensor};
use tapegrad_nn::optim::{Optimizer, Sgd};
use tapegrad_nn::{
    gradcheck_module, load, save, Activation, AvgPool2d, BatchNorm1d, BatchNorm2d, Checkpoint,
    Conv2d, Dense, Embedding, Flatten, Init, LayerNorm, MaxPool2d, Module, ParamPath, Progress,
    Sequential,
};

mod common;

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

#[test]
fn batch_norm_literal_train_and_eval() -> Result<()> {
    // [N=2, C=2, L=2]: channel 0 holds 1, 3, 5, 7 (mean 4, biased var 5, unbiased 20/3)
    let mut bn = BatchNorm1d::<f64>::with_options(2, 0.0, 0.5, true)?;
    let tape = Tape::new();
    let x = tape.constant(Array::from_vec(
        vec![1., 3., 0., 0., 5., 7., 2., 2.],
        [2, 2, 2],
    )?);
    let y = bn.forward(x)?.to_array();
    let s = 5f64.sqrt();
    let want = [-3.0 / s, -1.0 / s, -1.0, -1.0, 1.0 / s, 3.0 / s, 1.0, 1.0];
    assert!(
        y.approx_eq(&Array::from_vec(want.to_vec(), [2, 2, 2])?, 1e-12, 0.0),
        "{y:?}"
    );
    // momentum 0.5: halfway from (0, 1) to the batch's mean (4, 1) and unbiased var (20/3, 4/3)
    assert_eq!(bn.running_mean().unwrap().data(), &[2.0, 0.5]);
    assert!(bn.running_var().unwrap().approx_eq(
        &Array::from_vec(vec![0.5 + 10.0 / 3.0, 0.5 + 2.0 / 3.0], [2])?,
        1e-12,
        0.0
    ));
    assert_eq!(bn.num_batches_tracked(), Some(1));
    assert!(bn.is_training());
    bn.eval();
    assert!(!bn.is_training());
    let y = bn.forward(x)?.to_array();
    let v0 = 0.5 + 10.0 / 3.0;
    assert!((y.data()[0] - (1.0 - 2.0) / f64::sqrt(v0)).abs() < 1e-12);
    assert_eq!(
        bn.num_batches_tracked(),
        Some(1),
        "evaluation changes no statistic"
    );
    assert_eq!(bn.running_mean().unwrap().data(), &[2.0, 0.5]);
    // shapes: 1d takes [N, C] and [N, C, L], 2d takes [N, C, H, W]
    assert!(bn.forward(tape.constant(Array::zeros([3, 2]))).is_ok());
    let err = bn
        .forward(tape.constant(Array::zeros([3, 2, 2, 2])))
        .unwrap_err();
    assert!(err.to_string().contains("[N, 2] or [N, 2, L]"), "{err}");
    let bn2 = BatchNorm2d::<f64>::new(3);
    assert!(bn2
        .forward(tape.constant(Array::zeros([2, 4, 2, 2])))
        .is_err());
    assert_eq!(
        bn2.to_string(),
        "BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
    );
    assert_eq!(bn2.param_count(), 6);
    let plain = BatchNorm2d::<f32>::with_options(4, 1e-3, 0.01, false)?;
    assert_eq!(plain.param_count(), 0);
    assert_eq!(
        plain.to_string(),
        "BatchNorm2d(4, eps=0.001, momentum=0.01, affine=False, track_running_stats=True)"
    );
    assert!(BatchNorm2d::<f32>::with_options(4, -1.0, 0.1, true).is_err());
    assert!(BatchNorm2d::<f32>::with_options(4, 1e-5, 1.5, true).is_err());
    Ok(())
}

#[test]
fn batch_norm_cumulative_average() -> Result<()> {
    // torch's momentum=None: the running statistics are the mean of every batch's
    // (factor 1/num_batches_tracked); [N=2, C=2]
    let mut bn = BatchNorm1d::<f64>::new(2).momentum(None)?;
    let tape = Tape::new();
    let batches = [
        vec![1.0, 10.0, 3.0, 30.0], // means (2, 20), unbiased vars (2, 200)
        vec![4.0, 0.0, 8.0, 0.0],   // means (6, 0), unbiased vars (8, 0)
        vec![0.0, 5.0, 0.0, 7.0],   // means (0, 6), unbiased vars (0, 2)
        vec![2.0, 1.0, 2.0, 1.0],   // means (2, 1), unbiased vars (0, 0)
    ];
    for b in &batches {
        bn.forward(tape.constant(Array::from_vec(b.clone(), [2, 2])?))?;
    }
    let mean = Array::from_vec(vec![10.0 / 4.0, 27.0 / 4.0], [2])?;
    let var = Array::from_vec(vec![10.0 / 4.0, 202.0 / 4.0], [2])?;
    assert!(bn.running_mean().unwrap().approx_eq(&mean, 1e-12, 0.0));
    assert!(bn.running_var().unwrap().approx_eq(&var, 1e-12, 0.0));
    assert_eq!(bn.num_batches_tracked(), Some(4));
    // the first batch alone: factor 1, the batch's statistics replace the initial (0, 1)
    let one = BatchNorm1d::<f64>::new(2).momentum(None)?;
    one.forward(tape.constant(Array::from_vec(batches[0].clone(), [2, 2])?))?;
    assert_eq!(one.running_mean().unwrap().data(), &[2.0, 20.0]);
    assert_eq!(one.running_var().unwrap().data(), &[2.0, 200.0]);
    // evaluation uses the averages: (x - 2.5) / √(2.5 + eps) in channel 0
    bn.eval();
    let y = bn.forward(tape.constant(Array::from_vec(vec![5.0, 0.0], [1, 2])?))?;
    assert!((y.to_array().data()[0] - 2.5 / (2.5f64 + 1e-5).sqrt()).abs() < 1e-12);
    assert_eq!(bn.num_batches_tracked(), Some(4));
    assert!(bn.to_string().contains("momentum=None"), "{bn}");
    assert!(BatchNorm1d::<f64>::new(2).momentum(Some(1.5)).is_err());
    assert!(BatchNorm1d::<f64>::new(2).momentum(Some(f64::NAN)).is_err());
    Ok(())
}

#[test]
fn batch_norm_without_running_stats() -> Result<()> {
    // torch's track_running_stats=False: no buffers, the batch's statistics in eval too
    let mut bn = BatchNorm2d::<f64>::with_options(2, 0.0, 0.1, true)?.track_running_stats(false);
    assert_eq!(
        bn.to_string(),
        "BatchNorm2d(2, eps=0, momentum=0.1, affine=True, track_running_stats=False)"
    );
    assert!(bn.named_buffers().is_empty());
    assert_eq!((bn.running_mean(), bn.running_var()), (None, None));
    assert_eq!(bn.num_batches_tracked(), None);
    assert_eq!(bn.param_count(), 4);
    let tape = Tape::new();
    // [N=1, C=2, H=1, W=2]: channel 0 holds 1, 3 (mean 2, biased var 1), channel 1 4, 6
    let x = tape.constant(Array::from_vec(vec![1.0, 3.0, 4.0, 6.0], [1, 2, 1, 2])?);
    let train = bn.forward(x)?.to_array();
    bn.eval();
    let eval = bn.forward(x)?.to_array();
    assert_eq!(train.data(), &[-1.0, 1.0, -1.0, 1.0]);
    assert_eq!(eval.data(), train.data());
    // turning tracking on again starts fresh statistics
    let tracked = bn.track_running_stats(true);
    assert_eq!(tracked.running_var().unwrap().data(), &[1.0, 1.0]);
    assert_eq!(tracked.num_batches_tracked(), Some(0));
    Ok(())
}

#[test]
fn batch_norm_gradients() -> Result<()> {
    let mut bn = BatchNorm2d::<f64>::new(3);
    randomize(&mut bn, 1);
    check(
        "batch_norm2d training",
        &mut bn,
        &randn(&[3, 3, 2, 3], 2),
        3,
    );
    bn.eval(); // the running statistics moved during the check: constants now
    check("batch_norm2d eval", &mut bn, &randn(&[2, 3, 2, 2], 3), 3);
    let mut bn1 = BatchNorm1d::<f64>::with_options(4, 1e-3, 0.2, false)?;
    check("batch_norm1d no affine", &mut bn1, &randn(&[5, 4], 4), 1);
    let mut bn1 = BatchNorm1d::<f64>::new(2);
    randomize(&mut bn1, 5);
    check("batch_norm1d [N, C, L]", &mut bn1, &randn(&[3, 2, 4], 6), 3);
    Ok(())
}

/// Every parameter drawn at random (so the affine part is not the identity).
fn randomize(m: &mut dyn Module<f64>, seed: u64) {
    let mut r = rng(seed);
    m.visit_mut(&mut tapegrad_nn::ParamPath::new(), &mut |_, p| {
        let v = Array::randn(p.value().shape(), 0.5, 0.5, &mut r);
        p.set(v).expect("same shape");
    });
}

/// A small convolutional net with batch normalization: conv, BN, ReLU, pool, flatten, dense.
fn bn_net(seed: u64) -> Result<Sequential<f64>> {
    let mut r = rng(seed);
    Ok(Sequential::new()
        .with(Conv2d::new(
            1,
            4,
            (3, 3),
            Conv2dOptions::default().padding(1),
            true,
            &mut r,
        )?)
        .with(BatchNorm2d::new(4))
        .with(Activation::Relu)
        .with(AvgPool2d::new(2))
        .with(Flatten)
        .with(Dense::new(16, 3, Init::XavierUniform, &mut r))
        .with(BatchNorm1d::new(3)))
}

fn buffers(m: &dyn Module<f64>) -> Vec<(String, Array<f64>)> {
    m.named_buffers()
}

fn params(m: &dyn Module<f64>) -> Vec<(String, Array<f64>)> {
    m.named_params()
        .into_iter()
        .map(|(n, p)| (n, p.value().clone()))
        .collect()
}

#[test]
fn buffers_are_named_by_containers_and_left_alone_by_optimizers() -> Result<()> {
    let mut net = bn_net(0)?;
    let names: Vec<String> = buffers(&net).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "1.running_mean",
            "1.running_var",
            "1.num_batches_tracked",
            "6.running_mean",
            "6.running_var",
            "6.num_batches_tracked",
        ]
    );
    let pnames: Vec<String> = net.named_params().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        pnames,
        ["0.weight", "0.bias", "1.weight", "1.bias", "5.weight", "5.bias", "6.weight", "6.bias"]
    );
    let x = randn(&[4, 1, 4, 4], 1);
    let mut opt = Sgd::new(0.1);
    let mut tape = Tape::new();
    let before = params(&net);
    let (_, grads) = tape.value_and_grad(|tape| {
        let y = net.forward(tape.constant(x.clone()))?;
        Ok(y.mul(y)?.sum())
    })?;
    let stats = buffers(&net);
    assert_ne!(
        stats[0].1,
        Array::zeros([4]),
        "training moved the running mean"
    );
    assert_eq!(stats[2].1.data(), &[1.0]);
    opt.step(&mut net, &grads)?;
    assert_eq!(buffers(&net), stats, "the optimizer leaves buffers alone");
    assert_ne!(params(&net), before, "and updates the parameters");
    // eval() reaches the children through the container
    net.eval();
    let tape = Tape::new();
    net.forward(tape.constant(x.clone()))?;
    assert_eq!(buffers(&net), stats);
    Ok(())
}

#[test]
fn save_load_and_checkpoint_keep_running_statistics() -> Result<()> {
    let dir = common::Scratch::new("cnn", "bn");
    let mut net = bn_net(0)?;
    let tape = Tape::new();
    for seed in 0..3 {
        net.forward(tape.constant(randn(&[4, 1, 4, 4], seed)))?;
    }
    net.eval();
    let x = tape.constant(randn(&[2, 1, 4, 4], 9));
    let want = net.forward(x)?.to_array();
    let path = dir.join("net.safetensors");
    save(&net, &path)?;
    let mut copy = bn_net(1)?; // other weights, fresh statistics: all must come from the file
    assert_ne!(buffers(&copy), buffers(&net));
    load(&mut copy, &path)?;
    assert_eq!(buffers(&copy), buffers(&net));
    assert_eq!(params(&copy), params(&net));
    assert_eq!(buffers(&copy)[2].1.data(), &[3.0]);
    copy.eval();
    assert_eq!(copy.forward(x)?.to_array(), want);
    // a file without the buffers does not load into a model that has them
    let conv_only = Sequential::<f64>::new().with(Conv2d::new(
        1,
        4,
        (3, 3),
        Conv2dOptions::default(),
        true,
        &mut rng(0),
    )?);
    let path2 = dir.join("conv.safetensors");
    save(&conv_only, &path2)?;
    let mut with_bn = Sequential::<f64>::new()
        .with(Conv2d::new(
            1,
            4,
            (3, 3),
            Conv2dOptions::default(),
            true,
            &mut rng(0),
        )?)
        .with(BatchNorm2d::with_options(4, 1e-5, 0.1, false)?);
    let err = load(&mut with_bn, &path2).unwrap_err().to_string();
    assert!(
        err.contains("tensor `1.running_mean` (shape [4]) is missing from the file"),
        "{err}"
    );
    // and a file with buffers does not load into a model without them
    let path3 = dir.join("with_bn.safetensors");
    save(&with_bn, &path3)?;
    let mut no_bn = conv_only;
    let err = load(&mut no_bn, &path3).unwrap_err().to_string();
    assert!(
        err.contains("the file has tensor `1.num_batches_tracked` that the model does not have"),
        "{err}"
    );
    // a checkpoint keeps them too
    let opt = Sgd::new(0.1);
    let progress = Progress {
        epoch: 1,
        ..Progress::default()
    };
    let ck = dir.join("ck.safetensors");
    Checkpoint::save(&ck, &net, &opt, &progress)?;
    let mut again = bn_net(2)?;
    let mut opt2 = Sgd::new(0.5);
    assert_eq!(Checkpoint::load(&ck, &mut again, &mut opt2)?, progress);
    assert_eq!(buffers(&again), buffers(&net));
    assert_eq!(params(&again), params(&net));
    Ok(())
}

#[test]
fn layer_norm_literal_and_gradients() -> Result<()> {
    let mut ln = LayerNorm::<f64>::new(&[3]);
    assert_eq!(
        ln.to_string(),
        "LayerNorm((3,), eps=1e-05, elementwise_affine=True)"
    );
    let names: Vec<String> = ln.named_params().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["weight", "bias"]);
    let mut vals = vec![
        Array::from_vec(vec![1., 2., 3.], [3])?,
        Array::from_vec(vec![0., 1., 0.], [3])?,
    ]
    .into_iter();
    ln.visit_mut(&mut ParamPath::new(), &mut |_, p| {
        p.set(vals.next().unwrap()).unwrap()
    });
    let tape = Tape::new();
    let x = tape.constant(Array::from_vec(vec![1., 2., 3., 4., 4., 4.], [2, 3])?);
    let y = ln.forward(x)?.to_array();
    // row 0: mean 2, biased var 2/3; row 1 is constant: all zeros before the affine part
    let z = 1.0 / (2.0 / 3.0 + 1e-5f64).sqrt();
    let want = [-z, 1.0, 3.0 * z, 0.0, 1.0, 0.0];
    assert!(
        y.approx_eq(&Array::from_vec(want.to_vec(), [2, 3])?, 1e-12, 0.0),
        "{y:?}"
    );
    let err = ln.forward(tape.constant(Array::zeros([2, 4]))).unwrap_err();
    assert!(err.to_string().contains("[2, 4]"), "{err}");
    let mut ln2 = LayerNorm::<f64>::new(&[2, 3]);
    randomize(&mut ln2, 1);
    assert_eq!(
        ln2.to_string(),
        "LayerNorm((2, 3), eps=1e-05, elementwise_affine=True)"
    );
    check("layer_norm [2, 3]", &mut ln2, &randn(&[4, 2, 3], 2), 3);
    let mut plain = LayerNorm::<f64>::with_options(&[5], 1e-3, false)?;
    assert_eq!(plain.param_count(), 0);
    check("layer_norm no affine", &mut plain, &randn(&[3, 5], 3), 1);
    assert!(LayerNorm::<f64>::with_options(&[], 1e-5, true).is_err());
    assert!(LayerNorm::<f64>::with_options(&[3], -1.0, true).is_err());
    Ok(())
}

/// `emb(indices) · x`: the embedding's weight gradient, repeated indices included, through
/// `gradcheck_module` (whose input `x` is a float tensor the indices cannot be).
struct Pick {
    emb: Embedding<f64>,
    indices: Vec<usize>,
}

impl Module<f64> for Pick {
    fn forward<'t>(&self, x: Tensor<'t, f64>) -> Result<Tensor<'t, f64>> {
        self.emb.forward_indices(x.tape(), &self.indices)?.mul(x)
    }
    fn visit<'a>(&'a self, path: &mut ParamPath, f: &mut dyn FnMut(&ParamPath, &'a Param<f64>)) {
        path.child("emb", |p| self.emb.visit(p, f));
    }
    fn visit_mut<'a>(
        &'a mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, &'a mut Param<f64>),
    ) {
        path.child("emb", |p| self.emb.visit_mut(p, f));
    }
}

#[test]
fn embedding_literal_and_gradients() -> Result<()> {
    let emb =
        Embedding::<f64>::from_array(Array::from_vec((0..8).map(f64::from).collect(), [4, 2])?)?;
    assert_eq!((emb.num_embeddings(), emb.embedding_dim()), (4, 2));
    assert_eq!(emb.to_string(), "Embedding(4, 2)");
    let tape = Tape::new();
    let idx = tape.constant(Array::from_vec(vec![3., 0., 3., 1.], [2, 2])?);
    let y = emb.forward(idx)?;
    assert_eq!(y.shape().dims(), &[2, 2, 2]);
    assert_eq!(y.to_array().data(), &[6., 7., 0., 1., 6., 7., 2., 3.]);
    let w = tape.constant(Array::from_vec(
        (1..=8).map(f64::from).collect(),
        [2, 2, 2],
    )?);
    let g = y.mul(w)?.sum().backward()?;
    // row 3 picked twice: the sum of both uses' gradients; row 2 not picked: 0
    assert_eq!(
        g.param(emb.weight()).unwrap().data(),
        &[3., 4., 7., 8., 0., 0., 1. + 5., 2. + 6.]
    );
    assert!(g
        .get(idx)
        .is_none_or(|a| a.data().iter().all(|&v| v == 0.0)));
    for bad in [4.0, -1.0, 1.5, f64::NAN] {
        let err = emb
            .forward(tape.constant(Array::from_vec(vec![0.0, bad], [2])?))
            .unwrap_err();
        assert!(err.to_string().contains("whole numbers in 0..4"), "{err}");
    }
    assert!(emb.forward_indices(&tape, &[4]).is_err());
    assert!(Embedding::<f64>::from_array(Array::zeros([4])).is_err());
    // N(0, 1) init, seeded
    let big = Embedding::<f64>::new(100, 50, &mut rng(0));
    let d = big.weight().value().data();
    let mean = d.iter().sum::<f64>() / d.len() as f64;
    let var = d.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / d.len() as f64;
    assert!(
        mean.abs() < 0.05 && (var - 1.0).abs() < 0.05,
        "mean {mean}, var {var}"
    );
    assert_eq!(
        Embedding::<f64>::new(100, 50, &mut rng(0)).weight().value(),
        big.weight().value()
    );
    let mut pick = Pick {
        emb: Embedding::new(5, 3, &mut rng(1)),
        indices: vec![2, 0, 2, 4, 2],
    };
    check("embedding", &mut pick, &randn(&[5, 3], 2), 2);
    Ok(())
}
