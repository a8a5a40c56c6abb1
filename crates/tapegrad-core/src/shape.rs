//! `Shape` and the shape rules several ops share: element counts (overflow-checked), strides,
//! axis checks, NumPy broadcasting, reduced shapes.
//!
//! Rules of one op live with that op: matmul's and the fused dense layer's in `ops/linalg.rs`,
//! concat's in `ops/layout.rs`, the losses' in `ops/loss.rs`, permutations and row indices in
//! `array.rs` (`check_permutation`, `check_rows`). Every check runs once, at forward time;
//! kernels may assume shapes that passed.

use crate::error::{Error, Result};
use smallvec::SmallVec;
use std::fmt;
use std::panic::Location;

/// Dimensions of an array, outermost first (row-major). Rank 0 is a scalar.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Shape(SmallVec<[usize; 4]>);

impl Shape {
    /// A shape from its dimensions.
    pub fn new(dims: &[usize]) -> Self {
        Shape(SmallVec::from_slice(dims))
    }

    /// The rank-0 shape of a scalar.
    pub fn scalar() -> Self {
        Shape(SmallVec::new())
    }

    /// The dimensions.
    pub fn dims(&self) -> &[usize] {
        &self.0
    }

    /// The number of axes.
    pub fn rank(&self) -> usize {
        self.0.len()
    }

    /// The number of elements (1 for a scalar).
    ///
    /// For a shape too large to exist (see [`Shape::try_numel`]) this saturates at
    /// `usize::MAX`, a length no data vector can have, so it never matches real data.
    pub fn numel(&self) -> usize {
        self.try_numel().unwrap_or(usize::MAX)
    }

    /// The number of elements, or `None` when the shape is too large to exist: when the
    /// product of its sizes, each size 0 counted as 1, exceeds [`Shape::MAX_ELEMENTS`].
    ///
    /// Counting a 0 as 1 keeps every stride and offset of a valid shape in range too, so
    /// `[0, 1 << 40, 1 << 40]` is refused even though it holds no element.
    ///
    /// ```
    /// use tapegrad_core::Shape;
    /// assert_eq!(Shape::new(&[2, 3, 4]).try_numel(), Some(24));
    /// assert_eq!(Shape::new(&[(1 << 63) + 1, 2]).try_numel(), None); // would wrap to 2
    /// assert_eq!(Shape::new(&[0, 1 << 40, 1 << 40]).try_numel(), None);
    /// ```
    pub fn try_numel(&self) -> Option<usize> {
        let mut volume: usize = 1;
        let mut zero = false;
        for &d in &self.0 {
            zero |= d == 0;
            volume = volume.checked_mul(d.max(1))?;
        }
        (volume <= Self::MAX_ELEMENTS).then_some(if zero { 0 } else { volume })
    }

    /// The largest element count a shape may describe: `isize::MAX / 8`, so that the bytes of
    /// an f64 array of that size, and every element offset, fit in memory arithmetic.
    pub const MAX_ELEMENTS: usize = isize::MAX as usize / 8;

    /// Checks that the shape can exist (see [`Shape::try_numel`]) and returns its element
    /// count.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming `op` and the shape when it is too large.
    #[track_caller]
    pub fn check_size(&self, op: &'static str) -> Result<usize> {
        match self.try_numel() {
            Some(n) => Ok(n),
            None => Err(Error::invalid(
                op,
                format!(
                    "shape {self} holds too many elements (more than {} counting size-0 axes as 1)",
                    Self::MAX_ELEMENTS
                ),
            )),
        }
    }

    /// Row-major strides in elements. (Saturating: a shape that passed
    /// [`Shape::check_size`] never reaches the bound.)
    pub fn strides(&self) -> SmallVec<[usize; 4]> {
        let mut s: SmallVec<[usize; 4]> = SmallVec::from_elem(0, self.rank());
        let mut acc: usize = 1;
        for i in (0..self.rank()).rev() {
            s[i] = acc;
            acc = acc.saturating_mul(self.0[i]);
        }
        s
    }

    /// The size of axis `i` (panics if out of range; use [`Shape::check_axis`] first).
    pub fn dim(&self, i: usize) -> usize {
        self.0[i]
    }

    /// Checks that `axis` names an axis of this shape; negative axes count from the end.
    #[track_caller]
    pub fn check_axis(&self, op: &'static str, axis: isize) -> Result<usize> {
        let rank = self.rank() as isize;
        let a = if axis < 0 { axis + rank } else { axis };
        if a < 0 || a >= rank {
            return Err(Error::AxisOutOfRange {
                op,
                axis,
                shape: self.clone(),
                location: Location::caller(),
            });
        }
        Ok(a as usize)
    }

    /// The NumPy broadcast of two shapes: align from the right, size-1 and missing axes
    /// stretch. Errors name the op and both shapes.
    #[track_caller]
    pub fn broadcast(op: &'static str, a: &Shape, b: &Shape) -> Result<Shape> {
        if a == b {
            return Ok(a.clone());
        }
        let rank = a.rank().max(b.rank());
        let mut out: SmallVec<[usize; 4]> = SmallVec::from_elem(0, rank);
        for i in 0..rank {
            let da = dim_from_right(a, rank - 1 - i);
            let db = dim_from_right(b, rank - 1 - i);
            out[i] = if da == db || db == 1 {
                da
            } else if da == 1 {
                db
            } else {
                return Err(Error::Shape {
                    op,
                    lhs: a.clone(),
                    rhs: b.clone(),
                    reason: format!(
                        "cannot broadcast: axis {} (from the right) has sizes {da} and {db}",
                        rank - 1 - i
                    ),
                    location: Location::caller(),
                });
            };
        }
        let out = Shape(out);
        out.check_size(op)?;
        Ok(out)
    }

    /// Strides to read an array of this shape as if it had shape `out` (which it broadcasts
    /// to): 0 on every stretched or missing axis. `out` must be a broadcast of `self`.
    pub fn broadcast_strides(&self, out: &Shape) -> SmallVec<[usize; 4]> {
        let own = self.strides();
        let offset = out.rank() - self.rank();
        let mut s: SmallVec<[usize; 4]> = SmallVec::from_elem(0, out.rank());
        for i in 0..self.rank() {
            if self.0[i] != 1 || out.0[i + offset] == 1 {
                s[i + offset] = own[i];
            }
        }
        s
    }

    /// The shape after reducing `axis` (kept as size 1 with `keepdim`).
    pub fn reduced(&self, axis: Option<usize>, keepdim: bool) -> Shape {
        match axis {
            None if keepdim => Shape(SmallVec::from_elem(1, self.rank())),
            None => Shape::scalar(),
            Some(a) => {
                let mut d = self.0.clone();
                if keepdim {
                    d[a] = 1;
                } else {
                    d.remove(a);
                }
                Shape(d)
            }
        }
    }

    /// Splits the shape around `axis` into (outer, axis size, inner) element counts.
    pub fn split_at_axis(&self, axis: usize) -> (usize, usize, usize) {
        let product = |d: &[usize]| d.iter().fold(1usize, |a, &b| a.saturating_mul(b));
        let outer = product(&self.0[..axis]);
        let inner = product(&self.0[axis + 1..]);
        (outer, self.0[axis], inner)
    }
}

fn dim_from_right(s: &Shape, i: usize) -> usize {
    if i < s.rank() {
        s.0[s.rank() - 1 - i]
    } else {
        1
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{d}")?;
        }
        write!(f, "]")
    }
}

impl From<&[usize]> for Shape {
    fn from(d: &[usize]) -> Self {
        Shape::new(d)
    }
}

impl<const N: usize> From<[usize; N]> for Shape {
    fn from(d: [usize; N]) -> Self {
        Shape::new(&d)
    }
}

impl<const N: usize> From<&[usize; N]> for Shape {
    fn from(d: &[usize; N]) -> Self {
        Shape::new(d)
    }
}

impl From<Vec<usize>> for Shape {
    fn from(d: Vec<usize>) -> Self {
        Shape::new(&d)
    }
}

impl From<&Shape> for Shape {
    fn from(s: &Shape) -> Self {
        s.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_both_sides_stretch() {
        let s = Shape::broadcast("add", &Shape::new(&[3, 1]), &Shape::new(&[4])).unwrap();
        assert_eq!(s.dims(), &[3, 4]);
        let s = Shape::broadcast("add", &Shape::scalar(), &Shape::new(&[2, 5])).unwrap();
        assert_eq!(s.dims(), &[2, 5]);
    }

    #[test]
    fn broadcast_error_names_op_and_shapes() {
        let e = Shape::broadcast("add", &Shape::new(&[2, 3]), &Shape::new(&[4])).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("add: [2, 3] and [4]: cannot broadcast"),
            "{msg}"
        );
        assert!(msg.contains("shape.rs"), "{msg}");
    }

    #[test]
    fn broadcast_strides_zero_on_stretched_axes() {
        let s = Shape::new(&[3, 1]).broadcast_strides(&Shape::new(&[2, 3, 4]));
        assert_eq!(s.as_slice(), &[0, 1, 0]);
    }

    #[test]
    fn negative_axes_count_from_the_end() {
        let s = Shape::new(&[2, 3, 4]);
        assert_eq!(s.check_axis("sum", -1).unwrap(), 2);
        assert!(s.check_axis("sum", 3).is_err());
        assert!(s.check_axis("sum", -4).is_err());
    }
}
