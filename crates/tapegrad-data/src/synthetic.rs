//! Seeded synthetic sets: XOR (the 4 points, and a noisy many-point version), two moons,
//! spirals, and linear-regression data. The same arguments always give the same set.
//!
//! ```
//! use tapegrad_data::synthetic::two_moons;
//! # fn main() -> tapegrad_core::Result<()> {
//! let a = two_moons(200, 0.1, 7)?;
//! assert_eq!((a.x.dims(), a.classes), (&[200, 2][..], 2));
//! assert_eq!(a, two_moons(200, 0.1, 7)?); // seeded: same set
//! # Ok(()) }
//! ```

use crate::dataset::{Dataset, RegressionSet};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_distr::StandardNormal;
use std::f64::consts::PI;
use tapegrad_core::{rng, Array, Error, Result};

/// A standard normal sample.
fn gauss(r: &mut impl Rng) -> f64 {
    r.sample(StandardNormal)
}

#[track_caller]
fn check(op: &'static str, n: usize, noise: f64) -> Result<()> {
    if n == 0 {
        return Err(Error::invalid(op, "n must be at least 1"));
    }
    if !(noise >= 0.0 && noise.is_finite()) {
        return Err(Error::invalid(
            op,
            format!("noise must be a finite number >= 0, got {noise}"),
        ));
    }
    Ok(())
}

/// Builds a 2-feature classification set from points and labels, in a seeded shuffled order.
fn shuffled(
    points: Vec<[f64; 2]>,
    labels: Vec<usize>,
    classes: usize,
    r: &mut impl Rng,
) -> Dataset {
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.shuffle(r);
    let x: Vec<f32> = order
        .iter()
        .flat_map(|&i| points[i].map(|v| v as f32))
        .collect();
    let y = order.iter().map(|&i| labels[i]).collect();
    let x = Array::from_vec(x, [labels.len(), 2]).expect("internal: 2 values per point");
    Dataset::new(x, y, classes).expect("internal: labels below classes")
}

/// The four XOR points `(0,0) (0,1) (1,0) (1,1)` in that order, labelled `0 1 1 0`. For an
/// MSE or sigmoid target use [`Dataset::label_column`].
///
/// ```
/// let ds = tapegrad_data::synthetic::xor();
/// assert_eq!(ds.x.data(), &[0., 0., 0., 1., 1., 0., 1., 1.]);
/// assert_eq!(ds.y, vec![0, 1, 1, 0]);
/// ```
pub fn xor() -> Dataset {
    let x = Array::from_vec(vec![0., 0., 0., 1., 1., 0., 1., 1.], [4, 2])
        .expect("internal: 4 points of 2");
    Dataset::new(x, vec![0, 1, 1, 0], 2).expect("internal: binary labels")
}

/// `n` noisy XOR points: each one of the four corners of the unit square (the corners taken in
/// turn, so the classes are balanced) plus Gaussian noise of standard deviation `noise` on
/// each coordinate; labelled with the XOR of its corner. Rows come in a seeded random order.
///
/// # Errors
/// [`Error::InvalidArgument`] when `n` is 0 or `noise` is negative or not finite.
#[track_caller]
pub fn noisy_xor(n: usize, noise: f64, seed: u64) -> Result<Dataset> {
    check("noisy_xor", n, noise)?;
    let mut r = rng(seed);
    let mut points = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let (a, b) = ((i >> 1) & 1, i & 1);
        points.push([
            a as f64 + noise * gauss(&mut r),
            b as f64 + noise * gauss(&mut r),
        ]);
        labels.push(a ^ b);
    }
    Ok(shuffled(points, labels, 2, &mut r))
}

/// Two interleaving half circles, as scikit-learn's `make_moons`: `n / 2` (rounded down)
/// points on the upper arc `(cos t, sin t)` labelled 0 and the rest on the lower arc
/// `(1 - cos t, 0.5 - sin t)` labelled 1, `t` evenly spaced over `[0, π]`, plus Gaussian
/// noise of standard deviation `noise`. Rows come in a seeded random order.
///
/// # Errors
/// [`Error::InvalidArgument`] when `n` is 0 or `noise` is negative or not finite.
#[track_caller]
pub fn two_moons(n: usize, noise: f64, seed: u64) -> Result<Dataset> {
    check("two_moons", n, noise)?;
    let mut r = rng(seed);
    let n_outer = n / 2;
    let n_inner = n - n_outer;
    let arc = |k: usize, i: usize| {
        if k > 1 {
            PI * i as f64 / (k - 1) as f64
        } else {
            0.0
        }
    };
    let mut points = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n_outer {
        let t = arc(n_outer, i);
        points.push([t.cos(), t.sin()]);
        labels.push(0);
    }
    for i in 0..n_inner {
        let t = arc(n_inner, i);
        points.push([1.0 - t.cos(), 0.5 - t.sin()]);
        labels.push(1);
    }
    for p in &mut points {
        p[0] += noise * gauss(&mut r);
        p[1] += noise * gauss(&mut r);
    }
    Ok(shuffled(points, labels, 2, &mut r))
}

/// Interleaved spirals, one arm per class (as in CS231n's example): class `c`'s points go
/// from the centre out to radius 1 while turning through `[4c, 4c + 4]` radians, the angle
/// blurred by Gaussian noise of standard deviation `noise` (0.2 is a good start). The `n`
/// points are shared out as evenly as possible, the first classes getting one more. Rows
/// come in a seeded random order.
///
/// # Errors
/// [`Error::InvalidArgument`] when `n` or `classes` is 0, or `noise` is negative or not
/// finite.
#[track_caller]
pub fn spirals(n: usize, classes: usize, noise: f64, seed: u64) -> Result<Dataset> {
    check("spirals", n, noise)?;
    if classes == 0 {
        return Err(Error::invalid("spirals", "classes must be at least 1"));
    }
    let mut r = rng(seed);
    let mut points = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    for c in 0..classes {
        let k = n / classes + usize::from(c < n % classes);
        for i in 0..k {
            let s = if k > 1 {
                i as f64 / (k - 1) as f64
            } else {
                0.0
            };
            let t = 4.0 * (c as f64 + s) + noise * gauss(&mut r);
            points.push([s * t.sin(), s * t.cos()]);
            labels.push(c);
        }
    }
    Ok(shuffled(points, labels, classes, &mut r))
}

/// A linear-regression problem and the truth behind it (see [`linear_regression`]).
#[derive(Clone, Debug, PartialEq)]
pub struct LinearData {
    /// The samples `x` `[n, features]` and targets `y` `[n, 1]`.
    pub set: RegressionSet,
    /// The true weights, `[features, 1]`, so that `y ≈ x · weights + bias`.
    pub weights: Array<f32>,
    /// The true bias.
    pub bias: f32,
}

/// Linear-regression data: `x` standard normal `[n, features]`, true weights standard normal,
/// true bias uniform in `[-1, 1]`, and `y = x · weights + bias + noise · ε` with `ε` standard
/// normal. A model that fits well ends with an MSE near `noise²`.
///
/// ```
/// # fn main() -> tapegrad_core::Result<()> {
/// let d = tapegrad_data::synthetic::linear_regression(100, 3, 0.0, 1)?;
/// let (x, w) = (d.set.x.data(), d.weights.data());
/// let y0 = x[0] * w[0] + x[1] * w[1] + x[2] * w[2] + d.bias;
/// assert!((d.set.y.data()[0] - y0).abs() < 1e-5); // no noise: exactly linear
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] when `n` or `features` is 0, or `noise` is negative or not
/// finite.
#[track_caller]
pub fn linear_regression(n: usize, features: usize, noise: f64, seed: u64) -> Result<LinearData> {
    check("linear_regression", n, noise)?;
    if features == 0 {
        return Err(Error::invalid(
            "linear_regression",
            "features must be at least 1",
        ));
    }
    let mut r = rng(seed);
    let w: Vec<f64> = (0..features).map(|_| gauss(&mut r)).collect();
    let bias = r.random_range(-1.0..=1.0);
    let x: Vec<f64> = (0..n * features).map(|_| gauss(&mut r)).collect();
    let y: Vec<f32> = x
        .chunks(features)
        .map(|row| {
            let dot: f64 = row.iter().zip(&w).map(|(a, b)| a * b).sum();
            (dot + bias + noise * gauss(&mut r)) as f32
        })
        .collect();
    let x = Array::from_vec(x.into_iter().map(|v| v as f32).collect(), [n, features])
        .expect("internal: n * features values");
    let y = Array::from_vec(y, [n, 1]).expect("internal: n targets");
    Ok(LinearData {
        set: RegressionSet::new(x, y).expect("internal: same rows"),
        weights: Array::from_vec(w.into_iter().map(|v| v as f32).collect(), [features, 1])
            .expect("internal: features weights"),
        bias: bias as f32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_and_deterministic() {
        assert_eq!(
            noisy_xor(40, 0.1, 1).unwrap(),
            noisy_xor(40, 0.1, 1).unwrap()
        );
        assert_ne!(
            noisy_xor(40, 0.1, 1).unwrap(),
            noisy_xor(40, 0.1, 2).unwrap()
        );
        assert_eq!(
            two_moons(30, 0.1, 3).unwrap(),
            two_moons(30, 0.1, 3).unwrap()
        );
        assert_ne!(
            two_moons(30, 0.1, 3).unwrap(),
            two_moons(30, 0.1, 4).unwrap()
        );
        assert_eq!(
            spirals(30, 3, 0.2, 5).unwrap(),
            spirals(30, 3, 0.2, 5).unwrap()
        );
        assert_ne!(
            spirals(30, 3, 0.2, 5).unwrap(),
            spirals(30, 3, 0.2, 6).unwrap()
        );
        let a = linear_regression(20, 2, 0.1, 9).unwrap();
        assert_eq!(a, linear_regression(20, 2, 0.1, 9).unwrap());
        assert_ne!(a, linear_regression(20, 2, 0.1, 10).unwrap());
    }

    #[test]
    fn noisy_xor_balanced_and_near_corners() {
        let ds = noisy_xor(400, 0.05, 0).unwrap();
        assert_eq!(ds.class_counts(), vec![200, 200]);
        for (p, &l) in ds.x.data().chunks(2).zip(&ds.y) {
            let (a, b) = ((p[0] > 0.5) as usize, (p[1] > 0.5) as usize);
            assert_eq!(a ^ b, l, "point {p:?}");
        }
        let clean = noisy_xor(4, 0.0, 0).unwrap();
        let mut rows: Vec<(i32, i32, usize)> = clean
            .x
            .data()
            .chunks(2)
            .zip(&clean.y)
            .map(|(p, &l)| (p[0] as i32, p[1] as i32, l))
            .collect();
        rows.sort_unstable();
        assert_eq!(rows, vec![(0, 0, 0), (0, 1, 1), (1, 0, 1), (1, 1, 0)]);
    }

    #[test]
    fn moons_without_noise_lie_on_their_arcs() {
        let ds = two_moons(101, 0.0, 0).unwrap();
        assert_eq!(ds.class_counts(), vec![50, 51]);
        for (p, &l) in ds.x.data().chunks(2).zip(&ds.y) {
            let (cx, cy) = if l == 0 { (0.0, 0.0) } else { (1.0, 0.5) };
            let r = ((p[0] - cx).powi(2) + (p[1] - cy).powi(2)).sqrt();
            assert!((r - 1.0).abs() < 1e-5, "{p:?} label {l}");
            assert!(if l == 0 {
                p[1] >= -1e-6
            } else {
                p[1] <= 0.5 + 1e-6
            });
        }
    }

    #[test]
    fn spirals_share_points_and_stay_in_unit_disc() {
        let ds = spirals(100, 3, 0.2, 0).unwrap();
        assert_eq!(ds.class_counts(), vec![34, 33, 33]);
        assert!(ds
            .x
            .data()
            .chunks(2)
            .all(|p| p[0].hypot(p[1]) <= 1.0 + 1e-6));
        // Radius grows along each arm: the largest is 1 (the last point of an arm).
        let max_r =
            ds.x.data()
                .chunks(2)
                .map(|p| p[0].hypot(p[1]))
                .fold(0f32, f32::max);
        assert!((max_r - 1.0).abs() < 1e-6);
    }

    #[test]
    fn linear_regression_noise_level() {
        let d = linear_regression(2000, 4, 0.5, 3).unwrap();
        assert_eq!(
            (d.set.x.dims(), d.set.y.dims()),
            (&[2000, 4][..], &[2000, 1][..])
        );
        let (x, w) = (d.set.x.data(), d.weights.data());
        let resid: f64 = x
            .chunks(4)
            .zip(d.set.y.data())
            .map(|(row, &y)| {
                let f: f32 = row.iter().zip(w).map(|(a, b)| a * b).sum::<f32>() + d.bias;
                f64::from(y - f).powi(2)
            })
            .sum::<f64>()
            / 2000.0;
        assert!((resid - 0.25).abs() < 0.03, "residual variance {resid}");
    }

    #[test]
    fn bad_arguments() {
        assert!(noisy_xor(0, 0.1, 0)
            .unwrap_err()
            .to_string()
            .contains("n must be"));
        let e = two_moons(10, -1.0, 0).unwrap_err().to_string();
        assert!(
            e.contains("noise must be a finite number >= 0, got -1"),
            "{e}"
        );
        assert!(two_moons(10, f64::NAN, 0).is_err());
        assert!(spirals(10, 0, 0.1, 0)
            .unwrap_err()
            .to_string()
            .contains("classes"));
        assert!(linear_regression(10, 0, 0.1, 0).is_err());
    }
}
