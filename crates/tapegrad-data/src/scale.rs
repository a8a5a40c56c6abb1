//! Feature scaling fitted on training data only, and one-hot encoding.
//!
//! Fit a scaler on the training rows and apply the same transform to the test rows, so no
//! information from the test set leaks into training.

use tapegrad_core::{Array, Element, Error, Result};

#[track_caller]
fn check_fit<T: Element>(op: &'static str, x: &Array<T>) -> Result<(usize, usize)> {
    if x.rank() != 2 || x.dims()[0] == 0 {
        return Err(Error::invalid(
            op,
            format!(
                "fits on a 2-D array [rows, features] with at least one row, got shape {}",
                x.shape()
            ),
        ));
    }
    Ok((x.dims()[0], x.dims()[1]))
}

#[track_caller]
fn check_apply<T: Element>(op: &'static str, x: &Array<T>, features: usize) -> Result<()> {
    if x.rank() != 2 || x.dims()[1] != features {
        return Err(Error::invalid(
            op,
            format!(
                "was fitted on {features} features; expects [rows, {features}], got shape {}",
                x.shape()
            ),
        ));
    }
    Ok(())
}

/// Applies `f(value, column)` to every element of a 2-D array.
fn map_columns<T: Element>(x: &Array<T>, f: impl Fn(T, usize) -> T) -> Array<T> {
    let cols = x.dims()[1].max(1);
    let data = x
        .data()
        .chunks(cols)
        .flat_map(|row| row.iter().enumerate().map(|(j, &v)| f(v, j)))
        .collect();
    Array::from_vec(data, x.shape().clone()).expect("internal: same shape")
}

/// Standardisation: each feature shifted to mean 0 and scaled to standard deviation 1, with
/// the mean and (population) standard deviation of the rows it was fitted on, as
/// scikit-learn's `StandardScaler`. A feature that is constant in the fitted rows is only
/// shifted (scale 1), so it becomes 0, never NaN.
///
/// ```
/// use tapegrad_core::Array;
/// use tapegrad_data::StandardScaler;
/// # fn main() -> tapegrad_core::Result<()> {
/// let train = Array::<f32>::from_vec(vec![1., 5., 3., 5.], [2, 2])?;
/// let s = StandardScaler::fit(&train)?;
/// assert_eq!(s.transform(&train)?.data(), &[-1., 0., 1., 0.]); // column 2 is constant
/// let test = Array::<f32>::from_vec(vec![4., 7.], [1, 2])?;
/// assert_eq!(s.transform(&test)?.data(), &[2., 2.]); // train's mean 2 and std 1
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct StandardScaler<T = f32> {
    /// The mean of each feature in the fitted rows.
    pub mean: Vec<T>,
    /// The divisor of each feature: its standard deviation, or 1 when that is 0.
    pub scale: Vec<T>,
}

impl<T: Element> StandardScaler<T> {
    /// Fits on `x` `[rows, features]` (the training rows). Sums are taken in `f64`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `x` is not 2-D or has no rows.
    #[track_caller]
    pub fn fit(x: &Array<T>) -> Result<Self> {
        let (n, f) = check_fit("StandardScaler::fit", x)?;
        let mut sum = vec![0f64; f];
        for row in x.data().chunks(f.max(1)) {
            for (s, &v) in sum.iter_mut().zip(row) {
                *s += v.as_f64();
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / n as f64).collect();
        let mut sq = vec![0f64; f];
        for row in x.data().chunks(f.max(1)) {
            for ((s, &v), m) in sq.iter_mut().zip(row).zip(&mean) {
                *s += (v.as_f64() - m).powi(2);
            }
        }
        let scale = sq
            .iter()
            .map(|s| {
                let std = (s / n as f64).sqrt();
                // A std too small to divide by (constant up to rounding) counts as 0.
                T::of(if std > 1e-12 { std } else { 1.0 })
            })
            .collect();
        Ok(StandardScaler {
            mean: mean.into_iter().map(T::of).collect(),
            scale,
        })
    }

    /// `(x - mean) / scale`, per feature.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `x` is not `[rows, features]` with the fitted features.
    #[track_caller]
    pub fn transform(&self, x: &Array<T>) -> Result<Array<T>> {
        check_apply("StandardScaler::transform", x, self.mean.len())?;
        Ok(map_columns(x, |v, j| (v - self.mean[j]) / self.scale[j]))
    }

    /// `x * scale + mean`, per feature: undoes [`StandardScaler::transform`].
    ///
    /// # Errors
    /// As [`StandardScaler::transform`].
    #[track_caller]
    pub fn inverse_transform(&self, x: &Array<T>) -> Result<Array<T>> {
        check_apply("StandardScaler::inverse_transform", x, self.mean.len())?;
        Ok(map_columns(x, |v, j| v * self.scale[j] + self.mean[j]))
    }

    /// Fits on `x` and transforms it.
    ///
    /// # Errors
    /// As [`StandardScaler::fit`].
    #[track_caller]
    pub fn fit_transform(x: &Array<T>) -> Result<(Self, Array<T>)> {
        let s = Self::fit(x)?;
        let y = s.transform(x)?;
        Ok((s, y))
    }
}

/// Min-max scaling: each feature mapped linearly so that the fitted rows span `[lo, hi]`
/// (default `[0, 1]`), as scikit-learn's `MinMaxScaler`. New rows may fall outside the range.
/// A feature that is constant in the fitted rows is only shifted (scale 1), so its fitted
/// value maps to `lo`.
///
/// ```
/// use tapegrad_core::Array;
/// use tapegrad_data::MinMaxScaler;
/// # fn main() -> tapegrad_core::Result<()> {
/// let train = Array::<f64>::from_vec(vec![0., 2., 10., 2.], [2, 2])?;
/// let s = MinMaxScaler::fit(&train)?;
/// let test = Array::<f64>::from_vec(vec![5., 2., 20., 3.], [2, 2])?;
/// assert_eq!(s.transform(&test)?.data(), &[0.5, 0., 2., 1.]);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MinMaxScaler<T = f32> {
    /// The minimum of each feature in the fitted rows.
    pub min: Vec<T>,
    /// The maximum of each feature in the fitted rows.
    pub max: Vec<T>,
    /// The target range's low end.
    pub lo: T,
    /// The target range's high end.
    pub hi: T,
}

impl<T: Element> MinMaxScaler<T> {
    /// Fits on `x` `[rows, features]` to map it onto `[0, 1]`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `x` is not 2-D, has no rows, or holds a NaN.
    #[track_caller]
    pub fn fit(x: &Array<T>) -> Result<Self> {
        Self::fit_range(x, 0.0, 1.0)
    }

    /// Fits on `x` `[rows, features]` to map it onto `[lo, hi]`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `x` is not 2-D, has no rows or holds a NaN, or when
    /// `lo < hi` does not hold.
    #[track_caller]
    pub fn fit_range(x: &Array<T>, lo: f64, hi: f64) -> Result<Self> {
        let (_, f) = check_fit("MinMaxScaler::fit", x)?;
        if lo.is_nan() || hi.is_nan() || lo >= hi {
            return Err(Error::invalid(
                "MinMaxScaler::fit",
                format!("the range needs lo < hi, got [{lo}, {hi}]"),
            ));
        }
        if x.data().iter().any(|v| v.is_nan()) {
            return Err(Error::invalid("MinMaxScaler::fit", "the data holds a NaN"));
        }
        let mut min = vec![T::infinity(); f];
        let mut max = vec![T::neg_infinity(); f];
        for row in x.data().chunks(f.max(1)) {
            for (j, &v) in row.iter().enumerate() {
                min[j] = min[j].min(v);
                max[j] = max[j].max(v);
            }
        }
        Ok(MinMaxScaler {
            min,
            max,
            lo: T::of(lo),
            hi: T::of(hi),
        })
    }

    fn factor(&self, j: usize) -> T {
        let range = self.max[j] - self.min[j];
        if range > T::zero() {
            (self.hi - self.lo) / range
        } else {
            T::one()
        }
    }

    /// `lo + (x - min) * (hi - lo) / (max - min)`, per feature.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `x` is not `[rows, features]` with the fitted features.
    #[track_caller]
    pub fn transform(&self, x: &Array<T>) -> Result<Array<T>> {
        check_apply("MinMaxScaler::transform", x, self.min.len())?;
        let factors: Vec<T> = (0..self.min.len()).map(|j| self.factor(j)).collect();
        Ok(map_columns(x, |v, j| {
            self.lo + (v - self.min[j]) * factors[j]
        }))
    }

    /// `min + (x - lo) * (max - min) / (hi - lo)`, per feature: undoes
    /// [`MinMaxScaler::transform`].
    ///
    /// # Errors
    /// As [`MinMaxScaler::transform`].
    #[track_caller]
    pub fn inverse_transform(&self, x: &Array<T>) -> Result<Array<T>> {
        check_apply("MinMaxScaler::inverse_transform", x, self.min.len())?;
        let factors: Vec<T> = (0..self.min.len()).map(|j| self.factor(j)).collect();
        Ok(map_columns(x, |v, j| {
            self.min[j] + (v - self.lo) / factors[j]
        }))
    }
}

/// One-hot encoding: `[labels.len(), classes]`, row `i` all zeros but a 1 at `labels[i]`.
///
/// ```
/// # fn main() -> tapegrad_core::Result<()> {
/// let t = tapegrad_data::one_hot::<f32>(&[2, 0], 3)?;
/// assert_eq!(t.data(), &[0., 0., 1., 1., 0., 0.]);
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] when a label is not below `classes`.
#[track_caller]
pub fn one_hot<T: Element>(labels: &[usize], classes: usize) -> Result<Array<T>> {
    let mut out = Array::zeros([labels.len(), classes]);
    let data = out.data_mut();
    for (i, &l) in labels.iter().enumerate() {
        if l >= classes {
            return Err(Error::invalid(
                "one_hot",
                format!("label {l} at position {i} is out of range for {classes} classes"),
            ));
        }
        data[i * classes + l] = T::one();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_scaler_fitted_on_train_only() {
        let train = Array::<f64>::from_vec(vec![0., 1., 2., 1., 4., 1.], [3, 2]).unwrap();
        let test = Array::<f64>::from_vec(vec![100., 50.], [1, 2]).unwrap();
        let s = StandardScaler::fit(&train).unwrap();
        // mean 2, population std sqrt(8/3); column 2 constant.
        assert_eq!(s.mean, vec![2.0, 1.0]);
        assert!((s.scale[0] - (8f64 / 3.).sqrt()).abs() < 1e-12);
        assert_eq!(s.scale[1], 1.0);
        let t = s.transform(&test).unwrap();
        assert!((t.data()[0] - 98.0 / (8f64 / 3.).sqrt()).abs() < 1e-9);
        assert_eq!(t.data()[1], 49.0); // only shifted, no NaN
        let tr = s.transform(&train).unwrap();
        let m: f64 = tr.data().iter().step_by(2).sum::<f64>() / 3.0;
        let v: f64 = tr.data().iter().step_by(2).map(|x| x * x).sum::<f64>() / 3.0;
        assert!(m.abs() < 1e-12 && (v - 1.0).abs() < 1e-12);
        assert!(tr.data().iter().skip(1).step_by(2).all(|&x| x == 0.0));
        assert!(s.inverse_transform(&t).unwrap().approx_eq(&test, 1e-9, 0.0));
        // Fitting on the test row would give other numbers: the scaler keeps train's.
        let (s2, _) = StandardScaler::fit_transform(&test).unwrap();
        assert_ne!(s2, s);
    }

    #[test]
    fn scalers_check_shapes() {
        let s = StandardScaler::fit(&Array::<f32>::zeros([2, 3])).unwrap();
        let e = s.transform(&Array::zeros([2, 2])).unwrap_err().to_string();
        assert!(e.contains("was fitted on 3 features; expects [rows, 3], got shape [2, 2]"));
        let e = StandardScaler::fit(&Array::<f32>::zeros([0, 3])).unwrap_err();
        assert!(e.to_string().contains("at least one row"), "{e}");
        assert!(StandardScaler::fit(&Array::<f32>::zeros([3])).is_err());
        let m = MinMaxScaler::fit(&Array::<f32>::zeros([2, 3])).unwrap();
        assert!(m.transform(&Array::zeros([1, 4])).is_err());
        let e = MinMaxScaler::fit_range(&Array::<f32>::zeros([2, 3]), 1.0, 1.0).unwrap_err();
        assert!(e.to_string().contains("lo < hi"), "{e}");
        let nan = Array::<f32>::from_vec(vec![f32::NAN], [1, 1]).unwrap();
        assert!(MinMaxScaler::fit(&nan).is_err());
    }

    #[test]
    fn min_max_range_and_constant_feature() {
        let train = Array::<f32>::from_vec(vec![-1., 7., 3., 7., 1., 7.], [3, 2]).unwrap();
        let s = MinMaxScaler::fit_range(&train, -1.0, 1.0).unwrap();
        let t = s.transform(&train).unwrap();
        assert_eq!(t.data(), &[-1., -1., 1., -1., 0., -1.]);
        let back = s.inverse_transform(&t).unwrap();
        assert_eq!(back, train);
        // New rows: outside the fitted range, and the constant feature only shifted.
        let test = Array::<f32>::from_vec(vec![5., 8.], [1, 2]).unwrap();
        assert_eq!(s.transform(&test).unwrap().data(), &[2., 0.]);
    }

    #[test]
    fn one_hot_rows_and_errors() {
        let t = one_hot::<f64>(&[1, 1, 0], 2).unwrap();
        assert_eq!(t.dims(), &[3, 2]);
        assert_eq!(t.data(), &[0., 1., 0., 1., 1., 0.]);
        let e = one_hot::<f32>(&[0, 3], 3).unwrap_err().to_string();
        assert!(
            e.contains("label 3 at position 1 is out of range for 3 classes"),
            "{e}"
        );
        assert_eq!(one_hot::<f32>(&[], 4).unwrap().dims(), &[0, 4]);
    }
}
