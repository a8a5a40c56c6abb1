//! Selection and comparison: `minimum`/`maximum` of two tensors, the comparisons (`gt`, `ge`,
//! `lt`, `le`, `eq`, giving 0/1 masks), `where_cond`, `clamp`; and the reductions that go
//! with them: `min` (PyTorch's `amin`), `var`, `std`, `logsumexp`. Every op means what its
//! PyTorch namesake means.

use crate::array::Array;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::kernels::{self, simd};
use crate::op::{NodeId, Op};
use crate::shape::Shape;
use crate::tape::Tensor;

/// The statistic a lane reduction of this module computes.
#[derive(Clone, Copy)]
enum Stat {
    Var,
    Std,
}

impl<'t, T: Element> Tensor<'t, T> {
    /// The broadcast shape of two operands of `name`, with their tapes checked.
    #[track_caller]
    fn pair_shape(self, rhs: Tensor<'t, T>, name: &'static str) -> Result<Shape> {
        self.check_tape(&rhs, name)?;
        Shape::broadcast(name, &self.shape(), &rhs.shape())
    }

    #[track_caller]
    fn pairwise(
        self,
        rhs: Tensor<'t, T>,
        name: &'static str,
        op: fn(NodeId, NodeId) -> Op,
        f: impl Fn(T, T) -> T + Sync,
    ) -> Result<Tensor<'t, T>> {
        let out = self.pair_shape(rhs, name)?;
        let value = kernels::binary(&self.value_ref(), &rhs.value_ref(), &out, f);
        Ok(self.record(op(self.id, rhs.id), value))
    }

    /// The smaller of `self` and `rhs` elementwise, broadcasting both sides (as
    /// `torch.minimum(a, b)`). A NaN on either side gives NaN. At a tie each side gets half
    /// the gradient (as PyTorch); the second derivative is 0.
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let a = tape.var(Array::from_vec(vec![1.0, 5.0, 3.0], [3])?);
    /// let b = tape.var(Array::from_vec(vec![2.0, 4.0, 3.0], [3])?);
    /// let y = a.minimum(b)?;
    /// assert_eq!(y.to_array().data(), &[1.0, 4.0, 3.0]);
    /// let g = y.sum().backward()?;
    /// assert_eq!(g.get(a).unwrap().data(), &[1.0, 0.0, 0.5]); // the tie is shared
    /// assert_eq!(g.get(b).unwrap().data(), &[0.0, 1.0, 0.5]);
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// [`Error::Shape`](crate::Error::Shape) when the shapes cannot broadcast;
    /// [`Error::TapeMismatch`](crate::Error::TapeMismatch) for tensors of two tapes.
    #[track_caller]
    pub fn minimum(self, rhs: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        self.pairwise(rhs, "minimum", Op::Minimum, |a, b| {
            if b < a || b.is_nan() {
                b
            } else {
                a
            }
        })
    }

    /// The larger of `self` and `rhs` elementwise, broadcasting both sides (as
    /// `torch.maximum(a, b)`). NaN and ties as [`Tensor::minimum`].
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.constant(Array::from_vec(vec![-1.0, 0.5, 2.0], [3])?);
    /// let zero = tape.constant(Array::scalar(0.0));
    /// assert_eq!(x.maximum(zero)?.to_array().data(), &[0.0, 0.5, 2.0]);
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// As [`Tensor::minimum`].
    #[track_caller]
    pub fn maximum(self, rhs: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        self.pairwise(rhs, "maximum", Op::Maximum, |a, b| {
            if b > a || b.is_nan() {
                b
            } else {
                a
            }
        })
    }

    /// A 0/1 mask of `f(self, rhs)` elementwise with broadcasting, recorded as a constant.
    #[track_caller]
    fn compare(
        self,
        rhs: Tensor<'t, T>,
        name: &'static str,
        f: impl Fn(T, T) -> bool + Sync,
    ) -> Result<Tensor<'t, T>> {
        let out = self.pair_shape(rhs, name)?;
        let value = kernels::binary(&self.value_ref(), &rhs.value_ref(), &out, |a, b| {
            if f(a, b) {
                T::one()
            } else {
                T::zero()
            }
        });
        Ok(self.tape.constant(value))
    }

    /// A 0/1 mask of `f(self, c)` elementwise, recorded as a constant.
    fn compare_scalar(self, c: f64, f: impl Fn(T, T) -> bool + Sync) -> Tensor<'t, T> {
        let c = T::of(c);
        let value = {
            let x = self.value_ref();
            let one = T::one();
            let data = simd::map(x.data(), simd::CHEAP_GRAIN, |v| {
                if f(v, c) {
                    one
                } else {
                    T::zero()
                }
            });
            Array::from_parts(data, x.shape().clone())
        };
        self.tape.constant(value)
    }

    /// `self > rhs` elementwise with broadcasting, as a mask: 1 where true, 0 where false (as
    /// `torch.gt`, whose bool result is here a float). The mask is a constant: it takes no
    /// gradient (PyTorch's bool tensors cannot require one). A NaN compares false.
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f32>::new();
    /// let a = tape.var(Array::from_vec(vec![1.0, 2.0, 3.0], [3])?);
    /// let b = tape.constant(Array::scalar(2.0));
    /// let m = a.gt(b)?;
    /// assert_eq!(m.to_array().data(), &[0.0, 0.0, 1.0]);
    /// assert!(!m.requires_grad());
    /// assert_eq!(a.ge(b)?.to_array().data(), &[0.0, 1.0, 1.0]);
    /// assert_eq!(a.lt(b)?.to_array().data(), &[1.0, 0.0, 0.0]);
    /// assert_eq!(a.le(b)?.to_array().data(), &[1.0, 1.0, 0.0]);
    /// assert_eq!(a.eq(b)?.to_array().data(), &[0.0, 1.0, 0.0]);
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// As [`Tensor::minimum`].
    #[track_caller]
    pub fn gt(self, rhs: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        self.compare(rhs, "gt", |a, b| a > b)
    }

    /// `self >= rhs` as a constant 0/1 mask (as `torch.ge`); see [`Tensor::gt`].
    ///
    /// # Errors
    /// As [`Tensor::minimum`].
    #[track_caller]
    pub fn ge(self, rhs: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        self.compare(rhs, "ge", |a, b| a >= b)
    }

    /// `self < rhs` as a constant 0/1 mask (as `torch.lt`); see [`Tensor::gt`].
    ///
    /// # Errors
    /// As [`Tensor::minimum`].
    #[track_caller]
    pub fn lt(self, rhs: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        self.compare(rhs, "lt", |a, b| a < b)
    }

    /// `self <= rhs` as a constant 0/1 mask (as `torch.le`); see [`Tensor::gt`].
    ///
    /// # Errors
    /// As [`Tensor::minimum`].
    #[track_caller]
    pub fn le(self, rhs: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        self.compare(rhs, "le", |a, b| a <= b)
    }

    /// `self == rhs` as a constant 0/1 mask (as `torch.eq`); see [`Tensor::gt`].
    ///
    /// # Errors
    /// As [`Tensor::minimum`].
    #[track_caller]
    pub fn eq(self, rhs: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        self.compare(rhs, "eq", |a, b| a == b)
    }

    /// `self > c` for a scalar `c`, as a constant 0/1 mask (as `torch.gt(x, c)`).
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::from_vec(vec![-1.0, 0.0, 2.0], [3])?);
    /// assert_eq!(x.gt_scalar(0.0).to_array().data(), &[0.0, 0.0, 1.0]);
    /// assert_eq!(x.le_scalar(0.0).to_array().data(), &[1.0, 1.0, 0.0]);
    /// assert_eq!(x.eq_scalar(2.0).to_array().data(), &[0.0, 0.0, 1.0]);
    /// # Ok(()) }
    /// ```
    pub fn gt_scalar(self, c: f64) -> Tensor<'t, T> {
        self.compare_scalar(c, |a, b| a > b)
    }

    /// `self >= c` as a constant 0/1 mask (as `torch.ge(x, c)`).
    pub fn ge_scalar(self, c: f64) -> Tensor<'t, T> {
        self.compare_scalar(c, |a, b| a >= b)
    }

    /// `self < c` as a constant 0/1 mask (as `torch.lt(x, c)`).
    pub fn lt_scalar(self, c: f64) -> Tensor<'t, T> {
        self.compare_scalar(c, |a, b| a < b)
    }

    /// `self <= c` as a constant 0/1 mask (as `torch.le(x, c)`).
    pub fn le_scalar(self, c: f64) -> Tensor<'t, T> {
        self.compare_scalar(c, |a, b| a <= b)
    }

    /// `self == c` as a constant 0/1 mask (as `torch.eq(x, c)`).
    pub fn eq_scalar(self, c: f64) -> Tensor<'t, T> {
        self.compare_scalar(c, |a, b| a == b)
    }

    /// `on_true` where `self` (the condition) is nonzero, else `on_false` (as
    /// `torch.where(cond, a, b)`; a NaN condition counts as true). The three shapes broadcast
    /// together. The condition gets no gradient; each element's gradient goes to the side it
    /// was taken from (0 to the other), summed back to that input's shape.
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape, Tensor};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::from_vec(vec![-2.0, 3.0], [2])?);
    /// let zero = tape.constant(Array::scalar(0.0));
    /// let y = Tensor::where_cond(x.gt(zero)?, x, x.mul_scalar(0.1))?; // a leaky relu
    /// assert_eq!(y.to_array().data(), &[-0.2, 3.0]);
    /// let g = y.sum().backward()?;
    /// assert_eq!(g.get(x).unwrap().data(), &[0.1, 1.0]);
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// [`Error::Shape`](crate::Error::Shape) when the three shapes cannot broadcast together;
    /// [`Error::TapeMismatch`](crate::Error::TapeMismatch) for tensors of two tapes.
    #[track_caller]
    pub fn where_cond(
        self,
        on_true: Tensor<'t, T>,
        on_false: Tensor<'t, T>,
    ) -> Result<Tensor<'t, T>> {
        self.check_tape(&on_true, "where_cond")?;
        self.check_tape(&on_false, "where_cond")?;
        let (cs, ts, fs) = (self.shape(), on_true.shape(), on_false.shape());
        let out = match Shape::broadcast("where_cond", &cs, &ts)
            .and_then(|s| Shape::broadcast("where_cond", &s, &fs))
        {
            Ok(out) => out,
            Err(Error::Shape { reason, .. }) => {
                return Err(Error::shape(
                    "where_cond",
                    &ts,
                    &fs,
                    format!("with the condition's shape {cs}, {reason}"),
                ))
            }
            Err(e) => return Err(e),
        };
        let value = kernels::where_cond(
            &self.value_ref(),
            &on_true.value_ref(),
            &on_false.value_ref(),
            &out,
        );
        let op = Op::Where {
            cond: self.id,
            on_true: on_true.id,
            on_false: on_false.id,
        };
        Ok(self.record(op, value))
    }

    /// `x` clamped into `[lo, hi]` elementwise (as `torch.clamp(x, lo, hi)`): either bound may
    /// be `None` (no bound on that side; both `None` is the identity). When `lo > hi` every
    /// element becomes `hi` (as PyTorch). A NaN stays NaN.
    ///
    /// The gradient is 1 where `lo <= x <= hi`, bounds included (as PyTorch), and 0 elsewhere
    /// (so 0 everywhere when `lo > hi`); the second derivative is 0.
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::from_vec(vec![-2.0, 0.0, 0.5, 1.0, 3.0], [5])?);
    /// let y = x.clamp(Some(0.0), Some(1.0));
    /// assert_eq!(y.to_array().data(), &[0.0, 0.0, 0.5, 1.0, 1.0]);
    /// let g = y.sum().backward()?;
    /// assert_eq!(g.get(x).unwrap().data(), &[0.0, 1.0, 1.0, 1.0, 0.0]); // bounds included
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn clamp(self, lo: Option<f64>, hi: Option<f64>) -> Tensor<'t, T> {
        let (l, h) = (lo.map(T::of), hi.map(T::of));
        let value = {
            let x = self.value_ref();
            let data = simd::map(x.data(), simd::CHEAP_GRAIN, |v| {
                let v = match l {
                    Some(l) if v < l => l,
                    _ => v,
                };
                match h {
                    Some(h) if v > h => h,
                    _ => v,
                }
            });
            Array::from_parts(data, x.shape().clone())
        };
        self.record(Op::Clamp { x: self.id, lo, hi }, value)
    }

    /// `max(x, lo)` elementwise: [`Tensor::clamp`] with only a lower bound (as
    /// `torch.clamp_min`).
    #[track_caller]
    pub fn clamp_min(self, lo: f64) -> Tensor<'t, T> {
        self.clamp(Some(lo), None)
    }

    /// `min(x, hi)` elementwise: [`Tensor::clamp`] with only an upper bound (as
    /// `torch.clamp_max`).
    #[track_caller]
    pub fn clamp_max(self, hi: f64) -> Tensor<'t, T> {
        self.clamp(None, Some(hi))
    }

    /// The smallest element, as a rank-0 tensor (as `torch.amin`). Its gradient is split
    /// evenly between tied minima; a NaN anywhere makes the minimum NaN (as PyTorch).
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::from_vec(vec![2.0, -1.0, 4.0, -1.0], [2, 2])?);
    /// let m = x.min()?;
    /// assert_eq!(m.item()?, -1.0);
    /// let g = m.backward()?;
    /// assert_eq!(g.get(x).unwrap().data(), &[0.0, 0.5, 0.0, 0.5]); // a tie shares
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// [`Error::InvalidArgument`] for a tensor with no element (as PyTorch, which has no
    /// minimum of nothing to give).
    #[track_caller]
    pub fn min(self) -> Result<Tensor<'t, T>> {
        let shape = self.shape();
        if shape.numel() == 0 {
            return Err(Error::invalid(
                "min",
                format!("the tensor of shape {shape} is empty: a minimum needs an element"),
            ));
        }
        Ok(self.min_over(None, false))
    }

    /// The minimum over `axis` (negative counts from the end; `keepdim` keeps it as size 1),
    /// as `torch.amin(x, dim, keepdim)`: ties share the gradient, NaN wins.
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f32>::new();
    /// let x = tape.constant(Array::from_vec(vec![3., 1., 2., 0., 5., 4.], [2, 3])?);
    /// assert_eq!(x.min_axis(-1, false)?.to_array().data(), &[1., 0.]);
    /// assert_eq!(x.min_axis(0, true)?.shape().dims(), &[1, 3]);
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// [`Error::AxisOutOfRange`](crate::Error::AxisOutOfRange), and
    /// [`Error::InvalidArgument`] when the axis has size 0 (as PyTorch).
    #[track_caller]
    pub fn min_axis(self, axis: isize, keepdim: bool) -> Result<Tensor<'t, T>> {
        let shape = self.shape();
        let a = shape.check_axis("min", axis)?;
        if shape.dim(a) == 0 {
            return Err(Error::invalid(
                "min",
                format!("axis {axis} of shape {shape} is empty: a minimum needs an element"),
            ));
        }
        Ok(self.min_over(Some(a), keepdim))
    }

    fn min_over(self, axis: Option<usize>, keepdim: bool) -> Tensor<'t, T> {
        let value = {
            let x = self.value_ref();
            kernels::min_axis(&x, axis, &x.shape().reduced(axis, keepdim))
        };
        self.record(Op::Min { x: self.id, axis }, value)
    }

    fn stat(self, stat: Stat, axis: Option<usize>, keepdim: bool, correction: usize) -> Self {
        let value = {
            let x = self.value_ref();
            let mut v = kernels::var_axis(&x, axis, correction, &x.shape().reduced(axis, keepdim));
            if let Stat::Std = stat {
                simd::map_in_place(v.data_mut(), simd::COSTLY_GRAIN, T::sqrt);
            }
            v
        };
        let x = self.id;
        let op = match stat {
            Stat::Var => Op::Variance {
                x,
                axis,
                correction,
            },
            Stat::Std => Op::StdDev {
                x,
                axis,
                correction,
            },
        };
        self.record(op, value)
    }

    /// The variance of all elements, as a rank-0 tensor: `Σ (x - mean)² / (N - correction)`
    /// (as `torch.var(x, correction=..)`; PyTorch's default `correction = 1` is the unbiased
    /// estimate, `0` the population variance). When `N - correction <= 0` (one element with
    /// correction 1, or none) the value is NaN (0/0), and so is its gradient, as PyTorch's.
    ///
    /// The gradient is `2(x - mean)/(N - correction)`; the second derivative is exact.
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::from_vec(vec![1.0, 2.0, 3.0, 6.0], [4])?); // mean 3
    /// assert_eq!(x.var(1).item()?, 14.0 / 3.0);
    /// assert_eq!(x.var(0).item()?, 14.0 / 4.0);
    /// let g = x.var(0).backward()?;
    /// assert_eq!(g.get(x).unwrap().data(), &[-1.0, -0.5, 0.0, 1.5]); // 2(x - 3)/4
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn var(self, correction: usize) -> Tensor<'t, T> {
        self.stat(Stat::Var, None, false, correction)
    }

    /// The variance over `axis` (negative counts from the end; `keepdim` keeps it as size 1),
    /// dividing by `N - correction` (as `torch.var(x, dim, keepdim=.., correction=..)`); see
    /// [`Tensor::var`].
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.constant(Array::from_vec(vec![1., 2., 3., 4., 4., 4.], [2, 3])?);
    /// let v = x.var_axis(1, true, 1)?;
    /// assert_eq!(v.shape().dims(), &[2, 1]);
    /// assert_eq!(v.to_array().data(), &[1.0, 0.0]);
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// [`Error::AxisOutOfRange`](crate::Error::AxisOutOfRange).
    #[track_caller]
    pub fn var_axis(self, axis: isize, keepdim: bool, correction: usize) -> Result<Tensor<'t, T>> {
        let a = self.shape().check_axis("var", axis)?;
        Ok(self.stat(Stat::Var, Some(a), keepdim, correction))
    }

    /// The standard deviation of all elements, `√var` (as `torch.std(x, correction=..)`); see
    /// [`Tensor::var`] for `correction` and for `N - correction <= 0` (NaN).
    ///
    /// The gradient is `(x - mean)/((N - correction)·std)`. Where `std = 0` (all elements
    /// equal) it is 0, the subgradient, in first and second order (PyTorch gives NaN there).
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::from_vec(vec![1.0, 3.0], [2])?);
    /// assert_eq!(x.std(0).item()?, 1.0);
    /// let c = tape.var(Array::from_vec(vec![2.0, 2.0, 2.0], [3])?);
    /// let g = c.std(1).backward()?;
    /// assert_eq!(g.get(c).unwrap().data(), &[0.0, 0.0, 0.0]); // std = 0: no NaN
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn std(self, correction: usize) -> Tensor<'t, T> {
        self.stat(Stat::Std, None, false, correction)
    }

    /// The standard deviation over `axis` (as `torch.std(x, dim, keepdim=.., correction=..)`);
    /// see [`Tensor::std`] and [`Tensor::var_axis`].
    ///
    /// # Errors
    /// [`Error::AxisOutOfRange`](crate::Error::AxisOutOfRange).
    #[track_caller]
    pub fn std_axis(self, axis: isize, keepdim: bool, correction: usize) -> Result<Tensor<'t, T>> {
        let a = self.shape().check_axis("std", axis)?;
        Ok(self.stat(Stat::Std, Some(a), keepdim, correction))
    }

    fn logsumexp_over(self, axis: Option<usize>, keepdim: bool) -> Tensor<'t, T> {
        let value = {
            let x = self.value_ref();
            kernels::logsumexp(&x, axis, &x.shape().reduced(axis, keepdim))
        };
        self.record(Op::LogSumExp { x: self.id, axis }, value)
    }

    /// `log Σ e^x` over all elements, as a rank-0 tensor (as `torch.logsumexp` over every
    /// dim), computed as `max + log Σ e^(x - max)`: exact for logits of ±1e4. All `-inf` (or
    /// no element) gives `-inf`, as PyTorch.
    ///
    /// The gradient is `softmax(x)`; where the result is `-inf` it is 0 (PyTorch gives NaN).
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::from_vec(vec![1e4, 1e4], [2])?);
    /// let y = x.logsumexp();
    /// assert_eq!(y.item()?, 1e4 + 2f64.ln());
    /// assert_eq!(y.backward()?.get(x).unwrap().data(), &[0.5, 0.5]);
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn logsumexp(self) -> Tensor<'t, T> {
        self.logsumexp_over(None, false)
    }

    /// `log Σ e^x` over `axis` (negative counts from the end; `keepdim` keeps it as size 1),
    /// as `torch.logsumexp(x, dim, keepdim)`; see [`Tensor::logsumexp`].
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let inf = f64::INFINITY;
    /// let x = tape.constant(Array::from_vec(vec![0.0, -inf, -inf, -inf], [2, 2])?);
    /// assert_eq!(x.logsumexp_axis(1, false)?.to_array().data(), &[0.0, -inf]);
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// [`Error::AxisOutOfRange`](crate::Error::AxisOutOfRange).
    #[track_caller]
    pub fn logsumexp_axis(self, axis: isize, keepdim: bool) -> Result<Tensor<'t, T>> {
        let a = self.shape().check_axis("logsumexp", axis)?;
        Ok(self.logsumexp_over(Some(a), keepdim))
    }
}
