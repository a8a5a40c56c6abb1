//! `Array<T>`: owned, contiguous, row-major numbers with a [`Shape`]. No autograd here: the
//! tape stores `Array`s as node values and gradients, and the kernels compute on them.

use crate::element::Element;
use crate::error::{Error, Result};
use crate::kernels::{self, pool};
use crate::shape::Shape;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use std::fmt;
use std::ops::Range;
use std::panic::Location;

/// An n-dimensional array: contiguous row-major data plus its shape.
///
/// ```
/// use tapegrad_core::Array;
/// # fn main() -> tapegrad_core::Result<()> {
/// let a = Array::<f32>::from_vec(vec![1., 2., 3., 4., 5., 6.], [2, 3])?;
/// assert_eq!(a.get(&[1, 0]), Some(4.0));
/// let t = a.t()?; // the 2-D transpose, [3, 2]
/// assert_eq!(t.data(), &[1., 4., 2., 5., 3., 6.]);
/// # Ok(()) }
/// ```
///
/// Buffers are recycled: a dropped array gives its buffer to a per-thread pool that the kernels
/// take their outputs from, so a training loop in its steady state allocates nothing.
#[derive(PartialEq)]
pub struct Array<T: Element> {
    shape: Shape,
    data: Vec<T>,
}

impl<T: Element> Clone for Array<T> {
    fn clone(&self) -> Self {
        Array {
            shape: self.shape.clone(),
            data: pool::copy_of(&self.data),
        }
    }
}

impl<T: Element> Drop for Array<T> {
    fn drop(&mut self) {
        pool::give(std::mem::take(&mut self.data));
    }
}

impl<T: Element> Array<T> {
    /// An array from its data (row-major) and shape.
    ///
    /// # Errors
    /// [`Error::DataLength`] when `data.len()` is not the shape's element count;
    /// [`Error::InvalidArgument`] for a shape too large to exist ([`Shape::check_size`]).
    #[track_caller]
    pub fn from_vec(data: Vec<T>, shape: impl Into<Shape>) -> Result<Self> {
        let shape = shape.into();
        shape.check_size("from_vec")?;
        if data.len() != shape.numel() {
            return Err(Error::DataLength {
                op: "from_vec",
                len: data.len(),
                shape,
                location: Location::caller(),
            });
        }
        Ok(Array { shape, data })
    }

    /// Builds an array whose length is known to match (internal constructors).
    ///
    /// Checked in release builds too (a few multiplications): an array's shape always exists
    /// and matches its data, which is what the kernels' index arithmetic relies on.
    pub(crate) fn from_parts(data: Vec<T>, shape: Shape) -> Self {
        assert_eq!(
            shape.try_numel(),
            Some(data.len()),
            "internal: data length {} vs shape {shape}",
            data.len()
        );
        Array { shape, data }
    }

    /// The element count of a shape an infallible constructor was given.
    #[track_caller]
    fn size_of(op: &'static str, shape: &Shape) -> usize {
        match shape.check_size(op) {
            Ok(n) => n,
            Err(e) => panic!("{e}"),
        }
    }

    /// A rank-0 array holding one value.
    pub fn scalar(v: T) -> Self {
        Array {
            shape: Shape::scalar(),
            data: pool::filled(1, v),
        }
    }

    /// An array of the given shape filled with `v`.
    ///
    /// # Panics
    /// For a shape too large to exist ([`Shape::check_size`]), as `vec![v; n]` does for a
    /// length too large to allocate. Check untrusted shapes with [`Shape::check_size`] first.
    #[track_caller]
    pub fn full(shape: impl Into<Shape>, v: T) -> Self {
        Self::filled("full", shape.into(), v)
    }

    /// An array of `shape` whose values are unspecified (a reused buffer's), for a kernel
    /// that overwrites every element (a GEMM that does not accumulate).
    pub(crate) fn scratch(shape: Shape) -> Self {
        Array {
            data: pool::scratch(shape.numel()),
            shape,
        }
    }

    #[track_caller]
    fn filled(op: &'static str, shape: Shape, v: T) -> Self {
        Array {
            data: pool::filled(Self::size_of(op, &shape), v),
            shape,
        }
    }

    /// An array of zeros. Panics as [`Array::full`].
    #[track_caller]
    pub fn zeros(shape: impl Into<Shape>) -> Self {
        Self::filled("zeros", shape.into(), T::zero())
    }

    /// An array of ones. Panics as [`Array::full`].
    #[track_caller]
    pub fn ones(shape: impl Into<Shape>) -> Self {
        Self::filled("ones", shape.into(), T::one())
    }

    /// `[0, 1, ..., n-1]` as a rank-1 array.
    pub fn arange(n: usize) -> Self {
        Array {
            shape: Shape::new(&[n]),
            data: pool::collect(n, (0..n).map(|i| T::of(i as f64))),
        }
    }

    /// An array whose element at flat (row-major) index `i` is `f(i)`. Panics as
    /// [`Array::full`].
    #[track_caller]
    pub fn from_fn(shape: impl Into<Shape>, f: impl FnMut(usize) -> T) -> Self {
        let shape = shape.into();
        let n = Self::size_of("from_fn", &shape);
        Array {
            data: pool::collect(n, (0..n).map(f)),
            shape,
        }
    }

    /// Samples from a normal distribution with the given mean and standard deviation.
    /// Seed the generator (e.g. [`crate::rng`]) for a reproducible array.
    ///
    /// ```
    /// use tapegrad_core::{rng, Array};
    /// let a = Array::<f64>::randn([2, 3], 0.0, 1.0, &mut rng(7));
    /// let b = Array::<f64>::randn([2, 3], 0.0, 1.0, &mut rng(7));
    /// assert_eq!(a, b); // same seed, same numbers
    /// ```
    /// Panics as [`Array::full`].
    #[track_caller]
    pub fn randn<R: Rng + ?Sized>(
        shape: impl Into<Shape>,
        mean: f64,
        std: f64,
        rng: &mut R,
    ) -> Self {
        Self::from_fn(shape, |_| {
            let z: f64 = StandardNormal.sample(rng);
            T::of(mean + std * z)
        })
    }

    /// Samples uniformly from `[lo, hi)`. Panics as [`Array::full`].
    #[track_caller]
    pub fn rand_uniform<R: Rng + ?Sized>(
        shape: impl Into<Shape>,
        lo: f64,
        hi: f64,
        rng: &mut R,
    ) -> Self {
        Self::from_fn(shape, |_| T::of(lo + (hi - lo) * rng.random::<f64>()))
    }

    /// The shape.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The dimensions (shorthand for `shape().dims()`).
    pub fn dims(&self) -> &[usize] {
        self.shape.dims()
    }

    /// The number of axes.
    pub fn rank(&self) -> usize {
        self.shape.rank()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.data.len()
    }

    /// The elements in row-major order.
    pub fn data(&self) -> &[T] {
        &self.data
    }

    /// The elements in row-major order, mutably.
    pub fn data_mut(&mut self) -> &mut [T] {
        &mut self.data
    }

    /// The elements as a `Vec`, consuming the array.
    pub fn into_vec(mut self) -> Vec<T> {
        std::mem::take(&mut self.data)
    }

    /// Splits the array into its shape and data (the inverse of [`Array::from_vec`]).
    pub fn into_parts(mut self) -> (Shape, Vec<T>) {
        (
            std::mem::take(&mut self.shape),
            std::mem::take(&mut self.data),
        )
    }

    /// The same buffer with another shape of the same element count, without copying.
    ///
    /// # Errors
    /// [`Error::DataLength`] when the element counts differ.
    #[track_caller]
    pub fn into_shape(mut self, shape: impl Into<Shape>) -> Result<Self> {
        let shape = shape.into();
        shape.check_size("into_shape")?;
        if shape.numel() != self.numel() {
            return Err(Error::DataLength {
                op: "into_shape",
                len: self.numel(),
                shape,
                location: Location::caller(),
            });
        }
        self.shape = shape;
        Ok(self)
    }

    /// The element at a multi-index, or `None` when the index is out of range.
    pub fn get(&self, index: &[usize]) -> Option<T> {
        if index.len() != self.rank() {
            return None;
        }
        let mut off = 0;
        for ((&i, &d), s) in index.iter().zip(self.dims()).zip(self.shape.strides()) {
            if i >= d {
                return None;
            }
            off += i * s;
        }
        self.data.get(off).copied()
    }

    /// The single value of a one-element array (any rank), or `None`.
    pub fn item(&self) -> Option<T> {
        (self.data.len() == 1).then(|| self.data[0])
    }

    /// Applies `f` to every element.
    pub fn map(&self, f: impl Fn(T) -> T) -> Self {
        let mut data = kernels::pool::scratch(self.data.len());
        kernels::simd::vectorized(|| kernels::simd::map_into(&self.data, &mut data, f));
        Array {
            shape: self.shape.clone(),
            data,
        }
    }

    /// Converts every element to another element type.
    pub fn cast<U: Element>(&self) -> Array<U> {
        Array {
            shape: self.shape.clone(),
            data: pool::collect(self.numel(), self.data.iter().map(|&x| U::of(x.as_f64()))),
        }
    }

    /// The same data with another shape of the same element count.
    ///
    /// # Errors
    /// [`Error::DataLength`] when the element counts differ.
    #[track_caller]
    pub fn reshape(&self, shape: impl Into<Shape>) -> Result<Self> {
        let shape = shape.into();
        shape.check_size("reshape")?;
        if shape.numel() != self.numel() {
            return Err(Error::DataLength {
                op: "reshape",
                len: self.numel(),
                shape,
                location: Location::caller(),
            });
        }
        Ok(Array {
            shape,
            data: pool::copy_of(&self.data),
        })
    }

    /// Reorders the axes: `out.dims()[i] == self.dims()[perm[i]]` (as `torch.permute`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `perm` is not a permutation of `0..rank`.
    #[track_caller]
    pub fn permute(&self, perm: &[usize]) -> Result<Self> {
        check_permutation("permute", &self.shape, perm)?;
        Ok(kernels::permute(self, perm))
    }

    /// The transpose of a 2-D array.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the array is not 2-D.
    #[track_caller]
    pub fn t(&self) -> Result<Self> {
        if self.rank() != 2 {
            return Err(Error::invalid(
                "transpose",
                format!("expects a 2-D array, got shape {}", self.shape),
            ));
        }
        Ok(kernels::permute(self, &[1, 0]))
    }

    /// Rows `range` of the first axis (e.g. one mini-batch), copied.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a rank-0 array or a range past the end.
    #[track_caller]
    pub fn rows(&self, range: Range<usize>) -> Result<Self> {
        if self.rank() == 0 || range.start > range.end || range.end > self.dims()[0] {
            return Err(Error::invalid(
                "rows",
                format!("rows {range:?} do not exist in shape {}", self.shape),
            ));
        }
        let row = self.numel() / self.dims()[0].max(1);
        let mut dims = self.dims().to_vec();
        dims[0] = range.len();
        Ok(Array {
            data: pool::copy_of(&self.data[range.start * row..range.end * row]),
            shape: Shape::new(&dims),
        })
    }

    /// The rows at `indices` of the first axis, in that order (a shuffled mini-batch).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when an index is out of range.
    #[track_caller]
    pub fn select_rows(&self, indices: &[usize]) -> Result<Self> {
        check_rows("select_rows", &self.shape, indices)?;
        Ok(kernels::gather_rows(self, indices))
    }

    /// Whether two arrays have the same shape and every pair of elements satisfies
    /// `|a - b| <= atol + rtol * |b|` (NaNs are never close).
    pub fn approx_eq(&self, other: &Array<T>, atol: f64, rtol: f64) -> bool {
        self.shape == other.shape
            && self.data.iter().zip(&other.data).all(|(&a, &b)| {
                let (a, b) = (a.as_f64(), b.as_f64());
                (a - b).abs() <= atol + rtol * b.abs()
            })
    }

    /// The largest absolute difference to another array of the same shape (`None` otherwise).
    pub fn max_abs_diff(&self, other: &Array<T>) -> Option<f64> {
        (self.shape == other.shape).then(|| {
            self.data
                .iter()
                .zip(&other.data)
                .map(|(&a, &b)| (a.as_f64() - b.as_f64()).abs())
                .fold(0.0, f64::max)
        })
    }

    /// The Euclidean (L2) norm of all elements.
    pub fn norm(&self) -> f64 {
        self.data
            .iter()
            .map(|&x| x.as_f64() * x.as_f64())
            .sum::<f64>()
            .sqrt()
    }

    /// Checks that every element is a probability in `[0, 1]` (NaN is not), as binary
    /// cross-entropy needs of its targets; `what` names them in the error.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming `op`, `what`, the first bad value, its flat index and
    /// the shape.
    #[track_caller]
    pub fn check_probabilities(&self, op: &'static str, what: &str) -> Result<()> {
        let bad = self
            .data
            .iter()
            .position(|&v| !(v >= T::zero() && v <= T::one()));
        match bad {
            None => Ok(()),
            Some(i) => Err(Error::invalid(
                op,
                format!(
                    "{what} must be probabilities in [0, 1], got {} at flat index {i} of shape {}",
                    self.data[i], self.shape
                ),
            )),
        }
    }

    /// The index of the largest element of each row of a 2-D array (predicted classes).
    ///
    /// A NaN in a row is its largest element (as `torch.argmax`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the array is not 2-D, or its rows are empty.
    #[track_caller]
    pub fn argmax_rows(&self) -> Result<Vec<usize>> {
        if self.rank() != 2 {
            return Err(Error::invalid(
                "argmax_rows",
                format!("expects a 2-D array, got shape {}", self.shape),
            ));
        }
        let (rows, c) = (self.dims()[0], self.dims()[1]);
        if c == 0 && rows > 0 {
            return Err(Error::invalid(
                "argmax_rows",
                format!("rows of shape {} have no element to pick", self.shape),
            ));
        }
        Ok(self
            .data
            .chunks(c.max(1))
            .map(|row| {
                let mut best = 0;
                for (j, &v) in row.iter().enumerate() {
                    if row[best].is_nan() {
                        break;
                    }
                    if v > row[best] || v.is_nan() {
                        best = j;
                    }
                }
                best
            })
            .collect())
    }
}

#[track_caller]
pub(crate) fn check_permutation(op: &'static str, shape: &Shape, perm: &[usize]) -> Result<()> {
    let mut seen = vec![false; shape.rank()];
    let ok = perm.len() == shape.rank()
        && perm
            .iter()
            .all(|&p| p < seen.len() && !std::mem::replace(&mut seen[p], true));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            op,
            format!("{perm:?} is not a permutation of the axes of shape {shape}"),
        ))
    }
}

#[track_caller]
pub(crate) fn check_rows(op: &'static str, shape: &Shape, indices: &[usize]) -> Result<()> {
    if shape.rank() == 0 {
        return Err(Error::invalid(op, "needs at least one axis, got a scalar"));
    }
    if let Some(&bad) = indices.iter().find(|&&i| i >= shape.dim(0)) {
        return Err(Error::invalid(
            op,
            format!("index {bad} is out of range for axis 0 of shape {shape}"),
        ));
    }
    // on the stack for the usual ranks: a training step's batch gather allocates nothing
    let mut dims: smallvec::SmallVec<[usize; 6]> = smallvec::SmallVec::from_slice(shape.dims());
    dims[0] = indices.len();
    Shape::new(&dims).check_size(op)?;
    Ok(())
}

impl<T: Element> fmt::Debug for Array<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Array{} {:?}", self.shape, self.data)
    }
}

impl<T: Element> fmt::Display for Array<T> {
    /// Prints the shape, then the values; 2-D arrays one row per line (at most 8 rows and
    /// 8 columns, with `...` for the rest).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prec = f.precision().unwrap_or(4);
        let fmt_row = |row: &[T]| {
            let mut s: Vec<String> = row.iter().take(8).map(|v| format!("{v:.prec$}")).collect();
            if row.len() > 8 {
                s.push("...".into());
            }
            format!("[{}]", s.join(", "))
        };
        match self.rank() {
            0 => write!(f, "{:.prec$}", self.data[0]),
            2 => {
                let c = self.dims()[1].max(1);
                writeln!(f, "{}", self.shape)?;
                for (i, row) in self.data.chunks(c).enumerate() {
                    if i == 8 {
                        return writeln!(f, " ...");
                    }
                    writeln!(f, " {}", fmt_row(row))?;
                }
                Ok(())
            }
            _ => write!(f, "{} {}", self.shape, fmt_row(&self.data)),
        }
    }
}
