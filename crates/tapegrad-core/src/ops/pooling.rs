//! 2-D pooling of `[N, C, H, W]` tensors: `max_pool2d` and `avg_pool2d` (PyTorch's
//! `F.max_pool2d` / `F.avg_pool2d` with dilation 1, `ceil_mode=False`, and for the average
//! `count_include_pad=True`), and the average's adjoint that its gradient is recorded with.

use crate::element::Element;
use crate::error::{Error, Result};
use crate::kernels::{self, Pool2d};
use crate::op::Op;
use crate::shape::Shape;
use crate::tape::Tensor;

/// A pooling's `(kernel, stride, padding)`, each `(height, width)`.
type PoolAttrs = ((usize, usize), (usize, usize), (usize, usize));

/// Checks a pooling's input and attributes as PyTorch does, and gives its geometry.
#[track_caller]
fn geometry(
    op: &'static str,
    shape: &Shape,
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
) -> Result<Pool2d> {
    let what =
        || format!("input {shape}, kernel {kernel:?}, stride {stride:?}, padding {padding:?}");
    let d = shape.dims();
    if d.len() != 4 || d[1..].contains(&0) {
        return Err(Error::invalid(
            op,
            format!(
                "expects an [N, C, H, W] input with C, H, W > 0 (N may be 0), got shape {shape}"
            ),
        ));
    }
    if kernel.0 == 0 || kernel.1 == 0 || stride.0 == 0 || stride.1 == 0 {
        return Err(Error::invalid(
            op,
            format!("{}: kernel and stride must be positive", what()),
        ));
    }
    if kernel.0.max(kernel.1) > Shape::MAX_ELEMENTS {
        return Err(Error::invalid(
            op,
            format!("{}: the kernel is too large", what()),
        ));
    }
    if padding.0 > kernel.0 / 2 || padding.1 > kernel.1 / 2 {
        return Err(Error::invalid(
            op,
            format!("{}: padding must be at most half the kernel", what()),
        ));
    }
    if d[2] + 2 * padding.0 < kernel.0 || d[3] + 2 * padding.1 < kernel.1 {
        return Err(Error::invalid(
            op,
            format!(
                "{}: the output would be empty (the padded input is smaller than the kernel)",
                what()
            ),
        ));
    }
    let p = Pool2d::new(d, kernel, stride, padding);
    p.out_shape(d).check_size(op)?;
    Ok(p)
}

impl<'t, T: Element> Tensor<'t, T> {
    /// 2-D max pooling of an `[N, C, H, W]` tensor (as
    /// `F.max_pool2d(x, kernel, stride, padding)`, dilation 1, `ceil_mode=False`): each
    /// output is the maximum of a `kernel = (kh, kw)` window, windows every `stride` rows
    /// and columns over the input padded by `padding` (`-inf`) on each side. The output is
    /// `[N, C, (H + 2·ph - kh) / sh + 1, (W + 2·pw - kw) / sw + 1]`. PyTorch's default
    /// stride is the kernel: pass `kernel` again for it.
    ///
    /// The gradient goes to the window's FIRST maximum in row-major order (PyTorch's
    /// choice; not split between ties as [`Tensor::max_axis`] does); overlapping windows
    /// add up where they share it. It is linear in the incoming gradient, so the second
    /// derivative is 0. A NaN in a window is its maximum (as PyTorch).
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::from_vec(
    ///     vec![1., 5., 2., 0., 3., 4., 1., 7., 0., 2., 6., 6., 2., 1., 0., 8.],
    ///     [1, 1, 4, 4],
    /// )?);
    /// let y = x.max_pool2d((2, 2), (2, 2), (0, 0))?;
    /// assert_eq!(y.to_array().data(), &[5., 7., 2., 8.]);
    /// // the window [[0, 2], [2, 1]] holds two maxima: the first one gets its gradient
    /// let g = y.sum().backward()?;
    /// assert_eq!(
    ///     g.get(x).unwrap().data(),
    ///     &[0., 1., 0., 0., 0., 0., 0., 1., 0., 1., 0., 0., 0., 0., 0., 1.]
    /// );
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// [`Error::InvalidArgument`] naming the op, the shape and the attributes when the input
    /// is not `[N, C, H, W]` with `C, H, W > 0`, a kernel or stride size is 0, the padding is
    /// more than half the kernel, or the output would be empty (as PyTorch).
    #[track_caller]
    pub fn max_pool2d(
        self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Result<Tensor<'t, T>> {
        let op = Op::MaxPool2d {
            x: self.id,
            kernel,
            stride,
            padding,
        };
        self.pool(
            "max_pool2d",
            (kernel, stride, padding),
            op,
            kernels::max_pool2d,
        )
    }

    /// 2-D average pooling of an `[N, C, H, W]` tensor (as
    /// `F.avg_pool2d(x, kernel, stride, padding)`, `ceil_mode=False`,
    /// `count_include_pad=True`): each output is the sum of its `kernel = (kh, kw)` window
    /// over the input padded with zeros, divided by `kh·kw`. Shapes, windows and errors as
    /// [`Tensor::max_pool2d`]. Its gradient spreads each incoming element, over `kh·kw`,
    /// across its window.
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::from_vec(vec![1., 2., 3., 4.], [1, 1, 2, 2])?);
    /// // 2x2 windows every row and column over the input padded by 1: 3x3 outputs
    /// let y = x.avg_pool2d((2, 2), (1, 1), (1, 1))?;
    /// assert_eq!(y.to_array().data(), &[0.25, 0.75, 0.5, 1., 2.5, 1.5, 0.75, 1.75, 1.]);
    /// let g = y.sum().backward()?; // each input is in 4 windows, each weighing it 1/4
    /// assert_eq!(g.get(x).unwrap().data(), &[1., 1., 1., 1.]);
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// As [`Tensor::max_pool2d`].
    #[track_caller]
    pub fn avg_pool2d(
        self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Result<Tensor<'t, T>> {
        let op = Op::AvgPool2d {
            x: self.id,
            kernel,
            stride,
            padding,
        };
        self.pool(
            "avg_pool2d",
            (kernel, stride, padding),
            op,
            kernels::avg_pool2d,
        )
    }

    /// Records pooling `op`, whose window is `(kernel, stride, padding)` (checked against
    /// this input by [`geometry`]), with the value `f` computes.
    #[track_caller]
    fn pool(
        self,
        name: &'static str,
        (kernel, stride, padding): PoolAttrs,
        op: Op,
        f: fn(&crate::Array<T>, &Pool2d) -> crate::Array<T>,
    ) -> Result<Tensor<'t, T>> {
        let v = {
            let x = self.value_ref();
            f(&x, &geometry(name, x.shape(), kernel, stride, padding)?)
        };
        Ok(self.record(op, v))
    }

    /// The adjoint of [`Tensor::avg_pool2d`], its gradient as a tensor: this tensor (the
    /// pooled shape) spread over the windows of an `[N, C, size.0, size.1]` zero tensor.
    #[track_caller]
    pub(crate) fn avg_pool2d_backward(
        self,
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
        size: (usize, usize),
    ) -> Tensor<'t, T> {
        let v = {
            let g = self.value_ref();
            let d = g.dims();
            let p = Pool2d::new(&[d[0], d[1], size.0, size.1], kernel, stride, padding);
            kernels::avg_pool2d_backward(&g, &p)
        };
        let op = Op::AvgPool2dBackward {
            g: self.id,
            kernel,
            stride,
            padding,
            size,
        };
        self.record(op, v)
    }
}
