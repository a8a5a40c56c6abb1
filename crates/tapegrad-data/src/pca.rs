//! Principal component analysis: the directions of largest variance of a set of rows, as
//! scikit-learn's `PCA` (fit, transform, inverse transform, explained variance and its ratio).
//!
//! The components are the eigenvectors of the `features x features` sample covariance,
//! found by cyclic Jacobi rotations in `f64`: exact to rounding and meant for a modest number
//! of features (a latent code, a few dozen pixels), not for thousands.

use tapegrad_core::{Array, Element, Error, Result};

/// Principal axes fitted on the rows of a `[rows, features]` array: the mean row, the
/// `n_components` unit directions of largest variance (largest first) and the variance along
/// each. All fitted numbers are `f64`, whatever the element type of the data.
///
/// Each component's sign is fixed so that its entry of largest magnitude is positive, so a
/// fit is deterministic (scikit-learn fixes signs too, by another rule: a component may come
/// out negated with respect to scikit-learn's).
///
/// ```
/// use tapegrad_core::Array;
/// use tapegrad_data::Pca;
/// # fn main() -> tapegrad_core::Result<()> {
/// // Four points on the line y = 2x: one direction holds all the variance.
/// let x = Array::<f64>::from_vec(vec![0., 0., 1., 2., 2., 4., 3., 6.], [4, 2])?;
/// let pca = Pca::fit(&x, 2)?;
/// let r = 1.0 / 5f64.sqrt();
/// assert!((pca.components[0][0] - r).abs() < 1e-12 && (pca.components[0][1] - 2.0 * r).abs() < 1e-12);
/// assert!((pca.explained_variance_ratio[0] - 1.0).abs() < 1e-12);
/// assert!((pca.explained_variance[0] - 25.0 / 3.0).abs() < 1e-12); // 5 * var(0, 1, 2, 3)
/// assert_eq!(pca.mean, [1.5, 3.0]);
/// let z = pca.transform(&x)?; // [4, 2]: coordinates along the components
/// assert!((z.data()[0] + 1.5 * 5f64.sqrt()).abs() < 1e-12 && z.data()[1].abs() < 1e-12);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Pca {
    /// The mean of each feature in the fitted rows (scikit-learn's `mean_`).
    pub mean: Vec<f64>,
    /// `n_components` orthonormal directions, each of `features` numbers, the largest variance
    /// first (scikit-learn's `components_`).
    pub components: Vec<Vec<f64>>,
    /// The sample variance (divisor `rows - 1`) along each component (`explained_variance_`).
    pub explained_variance: Vec<f64>,
    /// Each component's share of the total variance of all features
    /// (`explained_variance_ratio_`): sums to 1 when every component is kept and the data is
    /// not constant (all 0 for constant data).
    pub explained_variance_ratio: Vec<f64>,
}

impl Pca {
    /// Fits the first `n_components` principal axes of the rows of `x` `[rows, features]`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming `Pca::fit` and the shape when `x` is not 2-D, has
    /// fewer than 2 rows (a sample variance needs two), when `n_components` is 0 or more than
    /// the features, or when `x` holds a NaN or an infinity (or values so large that the
    /// covariance overflows).
    #[track_caller]
    pub fn fit<T: Element>(x: &Array<T>, n_components: usize) -> Result<Self> {
        const OP: &str = "Pca::fit";
        if x.rank() != 2 || x.dims()[0] < 2 {
            return Err(Error::invalid(
                OP,
                format!(
                    "needs a 2-D array [rows, features] of at least 2 rows, got shape {}",
                    x.shape()
                ),
            ));
        }
        let (n, d) = (x.dims()[0], x.dims()[1]);
        if n_components == 0 || n_components > d {
            return Err(Error::invalid(
                OP,
                format!(
                    "n_components must be in 1..={d} (the features of shape {}), got {n_components}",
                    x.shape()
                ),
            ));
        }
        if let Some(i) = x.data().iter().position(|v| !v.as_f64().is_finite()) {
            return Err(Error::invalid(
                OP,
                format!(
                    "the data of shape {} holds a non-finite value ({}) at row {}, column {}",
                    x.shape(),
                    x.data()[i],
                    i / d,
                    i % d
                ),
            ));
        }
        let mut mean = vec![0.0; d];
        for row in x.data().chunks_exact(d) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += v.as_f64();
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);
        // The covariance (the full matrix, symmetric by construction).
        let mut cov = vec![vec![0.0; d]; d];
        let mut centred = vec![0.0; d];
        for row in x.data().chunks_exact(d) {
            for ((c, &v), m) in centred.iter_mut().zip(row).zip(&mean) {
                *c = v.as_f64() - m;
            }
            for (cov_i, &c_i) in cov.iter_mut().zip(&centred) {
                for (cov_ij, &c_j) in cov_i.iter_mut().zip(&centred) {
                    *cov_ij += c_i * c_j;
                }
            }
        }
        cov.iter_mut().flatten().for_each(|v| *v /= (n - 1) as f64);
        if cov.iter().flatten().any(|v| !v.is_finite()) {
            return Err(Error::invalid(
                OP,
                format!(
                    "the covariance of the data of shape {} overflows f64",
                    x.shape()
                ),
            ));
        }
        let (values, vectors) = jacobi_eigen(cov);
        let mut order: Vec<usize> = (0..d).collect();
        order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
        let variances: Vec<f64> = order.iter().map(|&k| values[k].max(0.0)).collect();
        let total: f64 = variances.iter().sum();
        let components = order[..n_components]
            .iter()
            .map(|&k| {
                let mut v: Vec<f64> = (0..d).map(|i| vectors[i][k]).collect();
                let big = v
                    .iter()
                    .copied()
                    .fold(0.0_f64, |m, e| if e.abs() > m.abs() { e } else { m });
                if big < 0.0 {
                    v.iter_mut().for_each(|e| *e = -*e);
                }
                v
            })
            .collect();
        let explained_variance: Vec<f64> = variances[..n_components].to_vec();
        let explained_variance_ratio = explained_variance
            .iter()
            .map(|v| if total > 0.0 { v / total } else { 0.0 })
            .collect();
        Ok(Pca {
            mean,
            components,
            explained_variance,
            explained_variance_ratio,
        })
    }

    /// The number of components kept.
    pub fn n_components(&self) -> usize {
        self.components.len()
    }

    /// The number of features of the fitted rows.
    pub fn n_features(&self) -> usize {
        self.mean.len()
    }

    /// The coordinates of each row of `x` `[rows, features]` along the components:
    /// `[rows, n_components]`, row `i` column `k` = `(x_i - mean) · component_k`, summed in
    /// `f64`. The mean row maps to 0.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming `Pca::transform` when `x` is not
    /// `[rows, features]` with the fitted features.
    #[track_caller]
    pub fn transform<T: Element>(&self, x: &Array<T>) -> Result<Array<T>> {
        let d = self.n_features();
        let rows = rows_of(x, d, "Pca::transform", || {
            format!("was fitted on {d} features")
        })?;
        let data = x
            .data()
            .chunks_exact(d.max(1))
            .take(rows)
            .flat_map(|row| {
                self.components.iter().map(move |c| {
                    let s: f64 = row
                        .iter()
                        .zip(&self.mean)
                        .zip(c)
                        .map(|((&v, m), w)| (v.as_f64() - m) * w)
                        .sum();
                    T::of(s)
                })
            })
            .collect();
        Array::from_vec(data, [rows, self.n_components()])
    }

    /// Maps coordinates `[rows, n_components]` back to feature space `[rows, features]`:
    /// `mean + Σ_k z_k component_k`. Undoes [`Pca::transform`] exactly (up to rounding) when
    /// every component is kept; otherwise gives the projection onto the kept components.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming `Pca::inverse_transform` when `z` is not
    /// `[rows, n_components]`.
    #[track_caller]
    pub fn inverse_transform<T: Element>(&self, z: &Array<T>) -> Result<Array<T>> {
        let k = self.n_components();
        let rows = rows_of(z, k, "Pca::inverse_transform", || {
            format!("keeps {k} components")
        })?;
        let mut data = Vec::with_capacity(rows * self.n_features());
        for zr in z.data().chunks_exact(k).take(rows) {
            for (j, m) in self.mean.iter().enumerate() {
                let s: f64 = zr
                    .iter()
                    .zip(&self.components)
                    .map(|(&v, c)| v.as_f64() * c[j])
                    .sum();
                data.push(T::of(m + s));
            }
        }
        Array::from_vec(data, [rows, self.n_features()])
    }
}

/// The row count of `x` when it is `[rows, cols]`; otherwise an error naming `op`, `why`
/// saying why `cols` columns are expected.
#[track_caller]
fn rows_of<T: Element>(
    x: &Array<T>,
    cols: usize,
    op: &'static str,
    why: impl FnOnce() -> String,
) -> Result<usize> {
    if x.rank() == 2 && x.dims()[1] == cols {
        return Ok(x.dims()[0]);
    }
    let what = why();
    Err(Error::invalid(
        op,
        format!("{what}; expects [rows, {cols}], got shape {}", x.shape()),
    ))
}

/// Eigenvalues and eigenvectors (the columns of the second result) of a symmetric matrix, by
/// cyclic Jacobi rotations until the off-diagonal part is negligible.
fn jacobi_eigen(mut a: Vec<Vec<f64>>) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = a.len();
    let mut v: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| f64::from(u8::from(i == j))).collect())
        .collect();
    let scale: f64 = a
        .iter()
        .flatten()
        .map(|x| x * x)
        .sum::<f64>()
        .max(f64::MIN_POSITIVE);
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        if off <= 1e-24 * scale {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[p][q] == 0.0 {
                    continue;
                }
                // Rotation J (J_pp = J_qq = c, J_pq = s, J_qp = -s) with (J^T A J)_pq = 0.
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for row in a.iter_mut() {
                    let (kp, kq) = (row[p], row[q]);
                    row[p] = c * kp - s * kq;
                    row[q] = s * kp + c * kq;
                }
                let (upper, lower) = a.split_at_mut(q);
                for (pk, qk) in upper[p].iter_mut().zip(lower[0].iter_mut()) {
                    (*pk, *qk) = (c * *pk - s * *qk, s * *pk + c * *qk);
                }
                for row in v.iter_mut() {
                    let (kp, kq) = (row[p], row[q]);
                    row[p] = c * kp - s * kq;
                    row[q] = s * kp + c * kq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i][i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::jacobi_eigen;
    use tapegrad_core::{rng, Array};

    #[test]
    fn jacobi_eigen_decomposes_symmetric_matrices() {
        // [[2, 1], [1, 2]]: eigenvalues 3 (along (1, 1)) and 1 (along (1, -1)).
        let (values, vectors) = jacobi_eigen(vec![vec![2.0, 1.0], vec![1.0, 2.0]]);
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        assert!((sorted[0] - 1.0).abs() < 1e-12 && (sorted[1] - 3.0).abs() < 1e-12);
        let big = if values[0] > values[1] { 0 } else { 1 };
        let r = std::f64::consts::FRAC_1_SQRT_2;
        assert!((vectors[0][big].abs() - r).abs() < 1e-12);
        assert!((vectors[0][big] - vectors[1][big]).abs() < 1e-12);

        // A random symmetric 5x5: A v = lambda v for each pair, V orthonormal, and
        // A = V diag(w) V^T.
        let m = Array::<f64>::randn([5, 5], 0.0, 1.0, &mut rng(3));
        let a: Vec<Vec<f64>> = (0..5)
            .map(|i| {
                (0..5)
                    .map(|j| m.data()[i * 5 + j] + m.data()[j * 5 + i])
                    .collect()
            })
            .collect();
        let (values, v) = jacobi_eigen(a.clone());
        for k in 0..5 {
            for i in 0..5 {
                let av: f64 = (0..5).map(|j| a[i][j] * v[j][k]).sum();
                assert!((av - values[k] * v[i][k]).abs() < 1e-9, "pair {k}, row {i}");
            }
            for l in 0..5 {
                let dot: f64 = (0..5).map(|i| v[i][k] * v[i][l]).sum();
                let want = if k == l { 1.0 } else { 0.0 };
                assert!((dot - want).abs() < 1e-9, "columns {k} and {l}: {dot}");
            }
        }
        for i in 0..5 {
            for j in 0..5 {
                let back: f64 = (0..5).map(|k| v[i][k] * values[k] * v[j][k]).sum();
                assert!((back - a[i][j]).abs() < 1e-9, "A[{i}][{j}]: {back}");
            }
        }
    }

    #[test]
    fn jacobi_eigen_of_diagonal_and_empty_matrices() {
        let (values, v) = jacobi_eigen(vec![vec![4.0, 0.0], vec![0.0, -1.0]]);
        assert_eq!(values, [4.0, -1.0]);
        assert_eq!(v, [[1.0, 0.0], [0.0, 1.0]]);
        let (values, v) = jacobi_eigen(Vec::new());
        assert!(values.is_empty() && v.is_empty());
    }
}
