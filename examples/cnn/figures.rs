//! The figures beyond the learning curves and the confusion matrix: the first convolution's
//! filters ([`filters`]) and one test digit's feature maps after each convolution
//! ([`feature_maps`]).

use super::common::images::{row_of, Images};
use super::common::plot::{self, GridImage};
use super::model::{activations, as_images, CONV1_LAYERS, CONV2_LAYERS};
use std::path::{Path, PathBuf};
use tapegrad::nn::{Module, Sequential};
use tapegrad::{Array, Error, Result};

/// Writes `images` as `out/name`, `cols` a row, each drawn about 84 pixels a side.
fn grid(out: &Path, name: &str, title: &str, images: &[GridImage], cols: usize) -> Result<PathBuf> {
    let side = images
        .iter()
        .map(|im| im.width.max(im.height))
        .max()
        .unwrap_or(1);
    let scale = (84 / side.max(1)).max(1) as u32;
    plot::image_grid(&out.join(name), title, images, cols, scale)
}

/// The `[C, ...]` maps (or filters) of `a` as images, on one shared scale: `(-m, m)` with `m`
/// the largest magnitude (signed, 0 is mid grey) or `(0, m)` (after a ReLU), light = large.
fn maps(a: &Array<f32>, side: (usize, usize), signed: bool, caption: &str) -> Vec<GridImage> {
    let m = a.data().iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
    let lo = if signed { -m } else { 0.0 };
    (0..a.dims()[0])
        .map(|c| {
            GridImage::new(row_of(a, c), side.0, side.1, format!("{caption} {c}"))
                .range(lo, m)
                .white_on_black()
        })
        .collect()
}

/// The first convolution's filters (`0.weight`, `[6, 1, 5, 5]`) as `out/filters.png`: grey 0,
/// white positive, black negative, one scale for all.
///
/// # Errors
/// [`Error::InvalidArgument`] when the network has no 4-D `0.weight`; an I/O error naming the
/// file.
pub fn filters(net: &Sequential<f32>, out: &Path) -> Result<PathBuf> {
    let w = net
        .named_params()
        .into_iter()
        .find(|(n, p)| n == "0.weight" && p.value().rank() == 4)
        .map(|(_, p)| p.value().clone())
        .ok_or_else(|| Error::invalid("cnn", "layer 0 of the network is not a convolution"))?;
    let (k_h, k_w) = (w.dims()[2], w.dims()[3]);
    let images = maps(&w, (k_w, k_h), true, "filter");
    grid(
        out,
        "filters.png",
        &format!(
            "conv1's {} filters ({k_h}x{k_w}; white +, black -, grey 0)",
            images.len()
        ),
        &images,
        images.len(),
    )
}

/// Test image `i` of `images` and its feature maps after conv1 and after conv2 (each after
/// its ReLU, before pooling), as `out/feature_maps_conv1.png` (the digit, then the 6 maps) and
/// `out/feature_maps_conv2.png` (the 16 maps); each figure on one scale, white = strong.
///
/// # Errors
/// The network's errors; an I/O error naming a file.
pub fn feature_maps(
    net: &mut Sequential<f32>,
    images: &Images,
    i: usize,
    out: &Path,
) -> Result<Vec<PathBuf>> {
    let test = &images.test;
    let x = as_images(&test.x.select_rows(&[i])?, (images.width, images.height))?;
    let digit = &test.class_names[test.y[i]];
    let mut files = Vec::new();
    for (layers, name, cols) in [(CONV1_LAYERS, "conv1", 7), (CONV2_LAYERS, "conv2", 8)] {
        let a = activations(net, &x, layers)?;
        let d = a.dims().to_vec();
        let a = a.reshape([d[1], d[2] * d[3]])?;
        let mut shown = Vec::new();
        if layers == CONV1_LAYERS {
            shown.push(
                images
                    .picture(&test.x, i, format!("input ({digit})"))
                    .white_on_black(),
            );
        }
        shown.extend(maps(&a, (d[3], d[2]), false, "map"));
        let title = format!(
            "test image {i} (a {digit}) after {name} + ReLU: {} maps of {}x{}",
            d[1], d[3], d[2]
        );
        files.push(grid(
            out,
            &format!("feature_maps_{name}.png"),
            &title,
            &shown,
            cols,
        )?);
    }
    Ok(files)
}
