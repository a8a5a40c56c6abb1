//! The two dataset types: [`Dataset`] (classification: one label per row) and
//! [`RegressionSet`] (one row of target values per row), and the [`Subset`] trait that lets
//! [`train_test_split`](crate::train_test_split) work on both.

use tapegrad_core::{Array, Element, Error, Result};

/// A classification set: `x` holds one sample per row, `y` its class label.
///
/// Invariants (checked by [`Dataset::new`]; the fields are public for easy reading, keep them
/// when you change them): `x` is 2-D `[N, features]`, `y.len() == N`, every label is below
/// `classes`, and `class_names.len() == classes`.
///
/// ```
/// use tapegrad_core::Array;
/// use tapegrad_data::Dataset;
/// # fn main() -> tapegrad_core::Result<()> {
/// let x = Array::<f32>::from_vec(vec![0., 0., 1., 1., 2., 2.], [3, 2])?;
/// let ds = Dataset::new(x, vec![0, 1, 1], 2)?;
/// assert_eq!((ds.len(), ds.features()), (3, 2));
/// assert_eq!(ds.class_counts(), vec![1, 2]);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<T: Element = f32> {
    /// The samples, `[N, features]`.
    pub x: Array<T>,
    /// The class label of each row, each below `classes`.
    pub y: Vec<usize>,
    /// The number of classes.
    pub classes: usize,
    /// A name per class (`"0"`, `"1"`, ... unless set with [`Dataset::with_class_names`]).
    pub class_names: Vec<String>,
}

/// A regression set: `x` holds one sample per row, `y` the row's target values.
///
/// Invariants (checked by [`RegressionSet::new`]): `x` is `[N, features]` and `y` is
/// `[N, outputs]`.
#[derive(Clone, Debug, PartialEq)]
pub struct RegressionSet<T: Element = f32> {
    /// The samples, `[N, features]`.
    pub x: Array<T>,
    /// The targets, `[N, outputs]`.
    pub y: Array<T>,
}

/// A set of rows that can be subset by row indices: what splitting needs.
pub trait Subset: Sized {
    /// The number of rows.
    fn len(&self) -> usize;

    /// Whether there are no rows.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows at `indices`, in that order.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] (located at the caller) when an index is out of range.
    #[track_caller]
    fn select(&self, indices: &[usize]) -> Result<Self>;

    /// The class label of each row, for stratified splitting (`None` when the set has none).
    fn strata(&self) -> Option<&[usize]> {
        None
    }
}

#[track_caller]
fn check_2d<T: Element>(op: &'static str, what: &str, a: &Array<T>) -> Result<()> {
    if a.rank() != 2 {
        return Err(Error::invalid(
            op,
            format!(
                "{what} must be 2-D [rows, columns], got shape {}",
                a.shape()
            ),
        ));
    }
    Ok(())
}

impl<T: Element> Dataset<T> {
    /// A dataset from samples `x` `[N, features]`, labels `y` (N of them) and the number of
    /// classes. Class names default to `"0"`, `"1"`, ...
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `x` is not 2-D, the row and label counts differ, or a
    /// label is not below `classes`.
    #[track_caller]
    pub fn new(x: Array<T>, y: Vec<usize>, classes: usize) -> Result<Self> {
        check_2d("Dataset::new", "x", &x)?;
        if x.dims()[0] != y.len() {
            return Err(Error::invalid(
                "Dataset::new",
                format!(
                    "x has {} rows but there are {} labels",
                    x.dims()[0],
                    y.len()
                ),
            ));
        }
        if let Some((i, &bad)) = y.iter().enumerate().find(|(_, &l)| l >= classes) {
            return Err(Error::invalid(
                "Dataset::new",
                format!("label {bad} of row {i} is out of range for {classes} classes"),
            ));
        }
        Ok(Dataset {
            x,
            y,
            classes,
            class_names: (0..classes).map(|c| c.to_string()).collect(),
        })
    }

    /// The same set with these class names (one per class).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the number of names is not the number of classes.
    #[track_caller]
    pub fn with_class_names<S: Into<String>>(
        mut self,
        names: impl IntoIterator<Item = S>,
    ) -> Result<Self> {
        let names: Vec<String> = names.into_iter().map(Into::into).collect();
        if names.len() != self.classes {
            return Err(Error::invalid(
                "with_class_names",
                format!("{} names given for {} classes", names.len(), self.classes),
            ));
        }
        self.class_names = names;
        Ok(self)
    }

    /// The number of rows (samples).
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// Whether the set has no rows.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// The number of features (columns of `x`).
    pub fn features(&self) -> usize {
        self.x.dims().get(1).copied().unwrap_or(0)
    }

    /// How many rows each class has.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes];
        for &l in &self.y {
            if let Some(c) = counts.get_mut(l) {
                *c += 1;
            }
        }
        counts
    }

    /// The rows at `indices`, in that order (labels and class names come along).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when an index is out of range.
    #[track_caller]
    pub fn select(&self, indices: &[usize]) -> Result<Self> {
        Ok(Dataset {
            x: self.x.select_rows(indices)?,
            y: self.labels_at(indices)?,
            classes: self.classes,
            class_names: self.class_names.clone(),
        })
    }

    /// The labels of the rows at `indices` (the labels of a mini-batch).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when an index is out of range.
    #[track_caller]
    pub fn labels_at(&self, indices: &[usize]) -> Result<Vec<usize>> {
        // A loop, not a closure: `#[track_caller]` does not reach into closures, and the
        // error must name the caller's line.
        let mut out = Vec::with_capacity(indices.len());
        for &i in indices {
            match self.y.get(i) {
                Some(&l) => out.push(l),
                None => {
                    return Err(Error::invalid(
                        "labels_at",
                        format!("row {i} is out of range for {} rows", self.y.len()),
                    ))
                }
            }
        }
        Ok(out)
    }

    /// A mini-batch: the samples and labels of the rows at `indices`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when an index is out of range.
    #[track_caller]
    pub fn batch(&self, indices: &[usize]) -> Result<(Array<T>, Vec<usize>)> {
        Ok((self.x.select_rows(indices)?, self.labels_at(indices)?))
    }

    /// The labels one-hot encoded, `[N, classes]` (see [`one_hot`](crate::one_hot)).
    pub fn one_hot(&self) -> Array<T> {
        crate::scale::one_hot(&self.y, self.classes)
            .expect("internal: Dataset labels are below `classes`")
    }

    /// The labels as a column of numbers, `[N, 1]` (e.g. 0/1 targets for a sigmoid output).
    pub fn label_column(&self) -> Array<T> {
        Array::from_vec(
            self.y.iter().map(|&l| T::of(l as f64)).collect(),
            [self.y.len(), 1],
        )
        .expect("internal: one value per label")
    }

    /// The same set with `x` converted to another element type (e.g. `f64` for gradient checks).
    pub fn cast<U: Element>(&self) -> Dataset<U> {
        Dataset {
            x: self.x.cast(),
            y: self.y.clone(),
            classes: self.classes,
            class_names: self.class_names.clone(),
        }
    }
}

impl<T: Element> Subset for Dataset<T> {
    fn len(&self) -> usize {
        Dataset::len(self)
    }
    #[track_caller]
    fn select(&self, indices: &[usize]) -> Result<Self> {
        Dataset::select(self, indices)
    }
    fn strata(&self) -> Option<&[usize]> {
        Some(&self.y)
    }
}

impl<T: Element> RegressionSet<T> {
    /// A regression set from samples `x` `[N, features]` and targets `y` `[N, outputs]`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when either array is not 2-D or their row counts differ.
    #[track_caller]
    pub fn new(x: Array<T>, y: Array<T>) -> Result<Self> {
        check_2d("RegressionSet::new", "x", &x)?;
        check_2d("RegressionSet::new", "y", &y)?;
        if x.dims()[0] != y.dims()[0] {
            return Err(Error::invalid(
                "RegressionSet::new",
                format!(
                    "x has {} rows but y has {} (shapes {} and {})",
                    x.dims()[0],
                    y.dims()[0],
                    x.shape(),
                    y.shape()
                ),
            ));
        }
        Ok(RegressionSet { x, y })
    }

    /// The number of rows (samples).
    pub fn len(&self) -> usize {
        self.x.dims().first().copied().unwrap_or(0)
    }

    /// Whether the set has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The rows at `indices`, in that order.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when an index is out of range.
    #[track_caller]
    pub fn select(&self, indices: &[usize]) -> Result<Self> {
        Ok(RegressionSet {
            x: self.x.select_rows(indices)?,
            y: self.y.select_rows(indices)?,
        })
    }

    /// A mini-batch: the samples and targets of the rows at `indices`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when an index is out of range.
    #[track_caller]
    pub fn batch(&self, indices: &[usize]) -> Result<(Array<T>, Array<T>)> {
        Ok((self.x.select_rows(indices)?, self.y.select_rows(indices)?))
    }
}

impl<T: Element> Subset for RegressionSet<T> {
    fn len(&self) -> usize {
        RegressionSet::len(self)
    }
    #[track_caller]
    fn select(&self, indices: &[usize]) -> Result<Self> {
        RegressionSet::select(self, indices)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Dataset<f32> {
        let x = Array::from_vec((0..8).map(|v| v as f32).collect(), [4, 2]).unwrap();
        Dataset::new(x, vec![0, 1, 2, 1], 3).unwrap()
    }

    #[test]
    fn new_checks_rows_labels_and_rank() {
        let x = Array::<f32>::zeros([3, 2]);
        let e = Dataset::new(x.clone(), vec![0, 1], 2)
            .unwrap_err()
            .to_string();
        assert!(e.contains("3 rows but there are 2 labels"), "{e}");
        let e = Dataset::new(x.clone(), vec![0, 1, 2], 2)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("label 2 of row 2 is out of range for 2 classes"),
            "{e}"
        );
        let e = Dataset::new(Array::<f32>::zeros([3]), vec![0, 1, 1], 2)
            .unwrap_err()
            .to_string();
        assert!(e.contains("must be 2-D"), "{e}");
        let e = RegressionSet::new(x, Array::zeros([2, 1]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("x has 3 rows but y has 2"), "{e}");
    }

    #[test]
    fn select_batch_and_encodings() {
        let ds = toy();
        let s = ds.select(&[2, 0]).unwrap();
        assert_eq!(s.x.data(), &[4., 5., 0., 1.]);
        assert_eq!(s.y, vec![2, 0]);
        let (xb, yb) = ds.batch(&[3]).unwrap();
        assert_eq!((xb.data(), yb), (&[6f32, 7.][..], vec![1]));
        assert!(ds.batch(&[4]).is_err());
        assert!(ds
            .labels_at(&[9])
            .unwrap_err()
            .to_string()
            .contains("row 9"));
        assert_eq!(ds.class_counts(), vec![1, 2, 1]);
        assert_eq!(ds.one_hot().get(&[2, 2]), Some(1.0));
        assert_eq!(ds.label_column().data(), &[0., 1., 2., 1.]);
        assert_eq!(ds.cast::<f64>().x.data()[7], 7.0);
        let named = ds.with_class_names(["a", "b", "c"]).unwrap();
        assert_eq!(named.class_names[1], "b");
        assert!(named.with_class_names(["a"]).is_err());
    }

    #[test]
    fn regression_select() {
        let x = Array::<f32>::from_vec(vec![1., 2., 3.], [3, 1]).unwrap();
        let y = Array::<f32>::from_vec(vec![10., 20., 30.], [3, 1]).unwrap();
        let r = RegressionSet::new(x, y).unwrap();
        let s = Subset::select(&r, &[2, 1]).unwrap();
        assert_eq!(
            (s.x.data(), s.y.data()),
            (&[3f32, 2.][..], &[30f32, 20.][..])
        );
        assert_eq!(Subset::len(&r), 3);
        assert!(r.strata().is_none());
    }
}
