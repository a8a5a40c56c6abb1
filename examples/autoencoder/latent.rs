//! The latent space, written by [`explore`]: k-nearest-neighbour classification of the test
//! codes among the training codes ([`LatentSpace`]), a scatter of the test codes by class
//! (`latent.png`; their first two principal components when a code has more than two numbers),
//! and decoded straight lines between the [`class_centroids`] (`interpolation.png`).

use super::common::plot::{self, Axes, GridImage};
use super::images::Images;
use super::model::Model;
use std::path::{Path, PathBuf};
use tapegrad::data::{self, Dataset};
use tapegrad::{Array, Error, Result};

/// What the latent space showed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LatentSpace {
    /// Test codes whose k-NN class (among the training codes) is right.
    pub knn_correct: usize,
    /// k-NN accuracy on the test codes (`knn_correct` over the test rows).
    pub knn_accuracy: f64,
    /// The fraction of the code's variance along the two axes of the latent scatter.
    pub scatter_explained: (f64, f64),
}

/// The mean code of each class (`classes` rows; a class without rows gets zeros).
///
/// # Errors
/// [`Error::InvalidArgument`] when a label is `classes` or more.
pub fn class_centroids(z: &Array<f32>, labels: &[usize], classes: usize) -> Result<Array<f32>> {
    let d = z.dims()[1];
    let mut sum = vec![0.0_f64; classes * d];
    let mut count = vec![0usize; classes];
    for (row, &c) in z.data().chunks_exact(d).zip(labels) {
        if c >= classes {
            return Err(Error::invalid(
                "class_centroids",
                format!("label {c} out of range for {classes} classes"),
            ));
        }
        count[c] += 1;
        for (s, &v) in sum[c * d..(c + 1) * d].iter_mut().zip(row) {
            *s += f64::from(v);
        }
    }
    let data = sum
        .iter()
        .enumerate()
        .map(|(i, s)| (s / count[i / d].max(1) as f64) as f32)
        .collect();
    Array::from_vec(data, [classes, d])
}

/// Encodes the training and test images, classifies each test code by its `knn_k` nearest
/// training codes, and writes the scatter and the interpolation figures to `out`, pushing
/// their paths on `files`.
///
/// # Errors
/// Shape errors; an I/O error naming a figure.
pub fn explore(
    model: &mut Model,
    images: &Images,
    knn_k: usize,
    out: &Path,
    files: &mut Vec<PathBuf>,
) -> Result<LatentSpace> {
    let (train, test) = (&images.train, &images.test);
    let z_train = model.encode(&train.x)?;
    let z_test = model.encode(&test.x)?;
    let pred = data::knn_classify(&z_train, &train.y, &z_test, knn_k)?;
    let knn_correct = pred.iter().zip(&test.y).filter(|(p, t)| p == t).count();
    let (scatter_explained, figure) = scatter(&z_test, test, out)?;
    files.push(figure);
    let centroids = class_centroids(&z_train, &train.y, train.classes)?;
    files.push(interpolate(model, &centroids, images, out)?);
    Ok(LatentSpace {
        knn_correct,
        knn_accuracy: knn_correct as f64 / test.len() as f64,
        scatter_explained,
    })
}

/// Writes `out/latent.png`: the codes `z` of (up to 3,000 of) the rows of `set`, coloured by
/// class, as they are when a code has one or two numbers, else projected on their first two
/// principal components. Returns the fraction of the variance along the two axes, and the
/// figure's path.
fn scatter(z: &Array<f32>, set: &Dataset<f32>, out: &Path) -> Result<((f64, f64), PathBuf)> {
    let d = z.dims()[1];
    let (points, explained, x_label, y_label) = if d <= 2 {
        let pts = z
            .data()
            .chunks_exact(d)
            .map(|r| (f64::from(r[0]), r.get(1).map_or(0.0, |&v| f64::from(v))))
            .collect();
        (pts, (1.0, 0.0), "z1".to_string(), "z2".to_string())
    } else {
        // The projection in f64 (the codes converted exactly) keeps the points unrounded.
        let z64 = Array::from_vec(
            z.data().iter().map(|&v| f64::from(v)).collect(),
            z.shape().clone(),
        )?;
        let pca = data::Pca::fit(&z64, 2)?;
        let ex = &pca.explained_variance_ratio;
        let pc = pca.transform(&z64)?;
        (
            pc.data()
                .chunks_exact(2)
                .map(|p| (p[0], p[1]))
                .collect::<Vec<_>>(),
            (ex[0], ex[1]),
            format!("PC 1 ({:.0}% of the variance)", 100.0 * ex[0]),
            format!("PC 2 ({:.0}%)", 100.0 * ex[1]),
        )
    };
    let shown = points.len().min(3000);
    let title = if d <= 2 {
        format!("latent codes of {shown} test images")
    } else {
        format!("{d}-D latent codes of {shown} test images (PCA)")
    };
    let axes = Axes {
        title: &title,
        x_label: &x_label,
        y_label: &y_label,
        log_y: false,
        integer_x: false,
    };
    let figure = plot::scatter(
        &out.join("latent.png"),
        &axes,
        &points[..shown],
        &set.y[..shown],
        &set.class_names,
    )?;
    Ok((explained, figure))
}

/// Writes `out/interpolation.png`: for each class `a`, eight images decoded from evenly spaced
/// points of the straight line between the centroid of `a` and that of the next class.
fn interpolate(
    model: &mut Model,
    centroids: &Array<f32>,
    images: &Images,
    out: &Path,
) -> Result<PathBuf> {
    let [classes, d] = [centroids.dims()[0], centroids.dims()[1]];
    let names = &images.test.class_names;
    let steps = 8;
    let mut path = Vec::with_capacity(classes * steps * d);
    for a in 0..classes {
        let b = (a + 1) % classes;
        for s in 0..steps {
            let t = s as f32 / (steps - 1) as f32;
            for k in 0..d {
                let (za, zb) = (centroids.data()[a * d + k], centroids.data()[b * d + k]);
                path.push((1.0 - t) * za + t * zb);
            }
        }
    }
    let decoded = model.decode(&Array::from_vec(path, [classes * steps, d])?)?;
    let grid: Vec<GridImage> = (0..classes * steps)
        .map(|i| {
            let (a, s) = (i / steps, i % steps);
            let caption = match s {
                0 => names[a].clone(),
                s if s == steps - 1 => names[(a + 1) % classes].clone(),
                _ => String::new(),
            };
            images.picture(&decoded, i, caption)
        })
        .collect();
    images.save_grid(
        out,
        "interpolation.png",
        "decoded straight lines between class centroids of the codes",
        &grid,
        steps,
    )
}
