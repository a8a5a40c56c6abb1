//! The network: [`lenet`] for an image side (LeNet-5 on 28x28 MNIST, a shrunken LeNet on the
//! 8x8 digits), the layer counts where [`activations`] stops to show the feature maps, and
//! [`as_images`] to give `[N, H*W]` rows the `[N, 1, H, W]` shape a convolution takes.

use tapegrad::nn::{Activation, Conv2d, Dense, Flatten, Init, MaxPool2d, Module, Sequential};
use tapegrad::{rng, Array, Conv2dOptions, Error, Result, Tape};

/// The first layers up to and including conv1's ReLU: `[N, 6, S, S]` for an `S`x`S` input.
pub const CONV1_LAYERS: usize = 2;
/// The first layers up to and including conv2's ReLU (before its pooling, if any).
pub const CONV2_LAYERS: usize = 5;
/// The smallest image side [`lenet`] takes.
pub const MIN_SIDE: usize = 8;

/// A LeNet-5-style classifier of `side`x`side` grayscale images into `classes` classes, with
/// weights drawn from `seed`:
///
/// - conv1: 1 → 6 channels, 5x5, padding 2 (the side is kept), ReLU, 2x2 max pooling;
/// - conv2: 6 → 16 channels, ReLU, then
///   - from a side of 20 up (MNIST's 28): 5x5 without padding, 2x2 max pooling (28 → 14 → 10
///     → 5, so 16·5·5 = 400 features, LeNet-5 as torch writes it, 61,706 parameters);
///   - below (the digits' 8): 3x3 without padding and no second pooling (8 → 4 → 2, 64
///     features), since a 5x5 kernel does not fit a 4x4 map and pooling the 2x2 maps to one
///     pixel would throw away where a stroke is; upsampling the digits instead would only
///     cost time;
/// - flatten, dense 120 ReLU, dense 84 ReLU, dense `classes` (logits, for softmax
///   cross-entropy).
///
/// Layers `0..CONV1_LAYERS` and `0..CONV2_LAYERS` are the same in both shapes.
///
/// # Errors
/// [`Error::InvalidArgument`] for a side below [`MIN_SIDE`] or fewer than 2 classes.
#[track_caller]
pub fn lenet(side: usize, classes: usize, seed: u64) -> Result<Sequential<f32>> {
    if side < MIN_SIDE || classes < 2 {
        return Err(Error::invalid(
            "cnn",
            format!(
                "LeNet needs images of at least {MIN_SIDE}x{MIN_SIDE} and 2 classes, got \
                 {side}x{side} and {classes}"
            ),
        ));
    }
    let mut r = rng(seed);
    let opts = Conv2dOptions::default();
    let large = side >= 20;
    let k2 = if large { 5 } else { 3 };
    let mut net = Sequential::new()
        .with(Conv2d::new(1, 6, (5, 5), opts.padding(2), true, &mut r)?)
        .with(Activation::Relu)
        .with(MaxPool2d::new(2))
        .with(Conv2d::new(6, 16, (k2, k2), opts, true, &mut r)?)
        .with(Activation::Relu);
    let mut s = side / 2 - (k2 - 1);
    if large {
        net.push(MaxPool2d::new(2));
        s /= 2;
    }
    Ok(net
        .with(Flatten)
        .with(Dense::new(16 * s * s, 120, Init::HeNormal, &mut r))
        .with(Activation::Relu)
        .with(Dense::new(120, 84, Init::HeNormal, &mut r))
        .with(Activation::Relu)
        .with(Dense::new(84, classes, Init::XavierUniform, &mut r)))
}

/// `[N, H*W]` image rows as `[N, 1, H, W]`.
///
/// # Errors
/// [`Error::Shape`] when a row does not hold `height * width` pixels.
#[track_caller]
pub fn as_images(x: &Array<f32>, (width, height): (usize, usize)) -> Result<Array<f32>> {
    x.reshape([x.dims()[0], 1, height, width])
}

/// The output of the first `layers` layers of `net` for the images `x` (`[N, 1, H, W]`), in
/// evaluation mode: e.g. the feature maps after conv1 (`layers = CONV1_LAYERS`).
///
/// # Errors
/// The layers' shape errors; [`Error::InvalidArgument`] when `net` has fewer layers.
#[track_caller]
pub fn activations(net: &mut Sequential<f32>, x: &Array<f32>, layers: usize) -> Result<Array<f32>> {
    if layers > net.len() {
        return Err(Error::invalid(
            "cnn",
            format!("the network has {} layers, not {layers}", net.len()),
        ));
    }
    net.set_training(false);
    let tape = Tape::new();
    let mut t = tape.constant(x.clone());
    for m in &net.layers()[..layers] {
        t = m.forward(t)?;
    }
    Ok(t.to_array())
}
