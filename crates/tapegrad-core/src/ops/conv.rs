//! Convolution: `conv2d` (PyTorch's `F.conv2d`), recorded as one [`Op::Conv2d`] and a bias add.
//! Its two gradients are ops of their own ([`Op::Conv2dInputGrad`], [`Op::Conv2dWeightGrad`]),
//! and the three are each other's derivatives, so gradients of any order are convolutions
//! again (the kernels: `kernels/conv.rs`).

use crate::element::Element;
use crate::error::{Error, Result};
use crate::kernels;
use crate::op::Op;
use crate::shape::Shape;
use crate::tape::Tensor;
use std::panic::Location;

/// The settings of [`Tensor::conv2d`], each an `(h, w)` pair, with PyTorch's defaults:
/// stride 1, padding 0, dilation 1, one group.
///
/// ```
/// use tapegrad_core::Conv2dOptions;
/// let o = Conv2dOptions::default().stride(2).padding(1);
/// assert_eq!((o.stride, o.padding, o.dilation, o.groups), ((2, 2), (1, 1), (1, 1), 1));
/// let o = Conv2dOptions { padding: (2, 0), ..Conv2dOptions::default() }.groups(3);
/// assert_eq!((o.padding, o.groups), ((2, 0), 3));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dOptions {
    /// The step between output positions, `(sh, sw)`; at least 1.
    pub stride: (usize, usize),
    /// Zeros added on each side of the input, `(ph, pw)`.
    pub padding: (usize, usize),
    /// The spacing between kernel taps, `(dh, dw)`; at least 1.
    pub dilation: (usize, usize),
    /// The number of channel groups: input and output channels split into `groups` equal
    /// parts, output part `g` seeing only input part `g`; at least 1.
    pub groups: usize,
}

impl Default for Conv2dOptions {
    fn default() -> Self {
        Conv2dOptions {
            stride: (1, 1),
            padding: (0, 0),
            dilation: (1, 1),
            groups: 1,
        }
    }
}

impl Conv2dOptions {
    /// The same stride along both axes.
    pub fn stride(self, s: usize) -> Self {
        Conv2dOptions {
            stride: (s, s),
            ..self
        }
    }

    /// The same padding along both axes.
    pub fn padding(self, p: usize) -> Self {
        Conv2dOptions {
            padding: (p, p),
            ..self
        }
    }

    /// The same dilation along both axes.
    pub fn dilation(self, d: usize) -> Self {
        Conv2dOptions {
            dilation: (d, d),
            ..self
        }
    }

    /// The number of groups.
    pub fn groups(self, g: usize) -> Self {
        Conv2dOptions { groups: g, ..self }
    }
}

/// The geometry of one convolution, as [`Op::Conv2d`] and its gradients record it: the
/// input's shape, the kernel's size, the settings, and the output's size (all checked by
/// [`Tensor::conv2d`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dGeometry {
    /// The input's shape `[N, C, H, W]`.
    pub input: [usize; 4],
    /// The kernel's size `(kH, kW)`.
    pub kernel: (usize, usize),
    /// The stride `(sh, sw)`.
    pub stride: (usize, usize),
    /// The padding `(ph, pw)`.
    pub padding: (usize, usize),
    /// The dilation `(dh, dw)`.
    pub dilation: (usize, usize),
    /// The number of channel groups.
    pub groups: usize,
    /// The output's size `(H_out, W_out)`.
    pub out: (usize, usize),
}

/// `(len + 2·pad - dil·(k - 1) - 1) / stride + 1`, or `None` when the dilated kernel is larger
/// than the padded input.
fn out_len(len: usize, k: usize, stride: usize, pad: usize, dil: usize) -> Option<usize> {
    let span = dil.checked_mul(k.checked_sub(1)?)?.checked_add(1)?;
    let padded = len.checked_add(pad.checked_mul(2)?)?;
    Some(padded.checked_sub(span)? / stride + 1)
}

impl Conv2dGeometry {
    /// The geometry of an input `[N, C, H, W]` and a kernel `(kH, kW)` with the given
    /// settings (assumed valid: stride, dilation and groups at least 1, the dilated kernel
    /// inside the padded input).
    pub(crate) fn new(
        input: [usize; 4],
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
        dilation: (usize, usize),
        groups: usize,
    ) -> Self {
        let ho = out_len(input[2], kernel.0, stride.0, padding.0, dilation.0);
        let wo = out_len(input[3], kernel.1, stride.1, padding.1, dilation.1);
        Conv2dGeometry {
            input,
            kernel,
            stride,
            padding,
            dilation,
            groups,
            out: (
                ho.expect("internal: conv2d checked the height"),
                wo.expect("internal: conv2d checked the width"),
            ),
        }
    }

    /// Input channels per group, `C / groups`.
    pub(crate) fn channels_per_group(&self) -> usize {
        self.input[1] / self.groups
    }

    /// The shape of one sample's columns, `[C, kH, kW, H_out, W_out]` (rows `(c, i, j)`, one
    /// entry per output position; `kernels/conv.rs` lays them out).
    pub(crate) fn sample_cols_shape(&self) -> Shape {
        let (c, (kh, kw), (ho, wo)) = (self.input[1], self.kernel, self.out);
        Shape::new(&[c, kh, kw, ho, wo])
    }
}

impl<'t, T: Element> Tensor<'t, T> {
    /// The 2-D convolution (cross-correlation, no kernel flip) of an input `[N, C_in, H, W]`
    /// with a weight `[C_out, C_in/groups, kH, kW]` and an optional bias `[C_out]`, as
    /// PyTorch's `F.conv2d(x, w, b, stride, padding, dilation, groups)`. The output is
    /// `[N, C_out, H_out, W_out]` with
    /// `H_out = (H + 2·ph - dh·(kH - 1) - 1) / sh + 1` (and `W_out` alike).
    ///
    /// Computed per sample as im2col (the input's patches as the columns of a matrix) and a
    /// matrix product on the GEMM for each group, and recorded as one op plus the bias add.
    /// Its gradients with respect to the input (a transposed convolution) and the weight are
    /// recorded ops too, whose own gradients are these three again, so a convolution can be
    /// differentiated any number of times.
    ///
    /// ```
    /// use tapegrad_core::{Array, Conv2dOptions, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// // a 3x3 image, a 2x2 kernel summing its window, stride 1, no padding
    /// let x = tape.var(Array::from_vec((1..=9).map(f64::from).collect(), [1, 1, 3, 3])?);
    /// let w = tape.var(Array::ones([1, 1, 2, 2]));
    /// let y = x.conv2d(w, None, Conv2dOptions::default())?;
    /// assert_eq!(y.shape().dims(), &[1, 1, 2, 2]);
    /// assert_eq!(y.to_array().data(), &[12.0, 16.0, 24.0, 28.0]);
    /// let g = y.sum().backward()?;
    /// // each input element counted once per window holding it
    /// assert_eq!(g.get(x).unwrap().data(), &[1.0, 2.0, 1.0, 2.0, 4.0, 2.0, 1.0, 2.0, 1.0]);
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// [`Error::Shape`] naming the input's and the weight's shapes (or the weight's and the
    /// bias's) and what is wrong: an input or weight not 4-D, a zero stride, dilation or
    /// group count, channels not divisible by the groups, the weight's channels not
    /// `C_in/groups`, a dilated kernel larger than the padded input, a bias not `[C_out]`;
    /// [`Error::TapeMismatch`].
    #[track_caller]
    pub fn conv2d(
        self,
        w: Tensor<'t, T>,
        b: Option<Tensor<'t, T>>,
        opts: Conv2dOptions,
    ) -> Result<Tensor<'t, T>> {
        self.check_tape(&w, "conv2d")?;
        if let Some(b) = &b {
            self.check_tape(b, "conv2d")?;
        }
        let geo = conv2d_geometry(&self.shape(), &w.shape(), b.map(|b| b.shape()), opts)?;
        let c_out = w.shape().dim(0);
        let y = self.conv2d_raw(w, geo);
        match b {
            Some(b) => y.add(b.reshape([c_out, 1, 1])?),
            None => Ok(y),
        }
    }

    /// The convolution of this input with `w` for the checked geometry `geo`, no bias.
    #[track_caller]
    pub(crate) fn conv2d_raw(self, w: Tensor<'t, T>, geo: Conv2dGeometry) -> Tensor<'t, T> {
        let c_out = w.shape().dim(0);
        let v = {
            let (x, wv) = (self.value_ref(), w.value_ref());
            debug_assert_eq!(x.dims(), &geo.input);
            let data = kernels::conv2d(x.data(), wv.data(), &geo, c_out);
            let [n, ..] = geo.input;
            crate::Array::from_parts(data, Shape::new(&[n, c_out, geo.out.0, geo.out.1]))
        };
        self.record(
            Op::Conv2d {
                x: self.id,
                w: w.id,
                geo,
            },
            v,
        )
    }

    /// The gradient of [`conv2d_raw`](Self::conv2d_raw) with respect to its input, this
    /// tensor being the output gradient `[N, C_out, H_out, W_out]`: `geo.input`'s shape.
    #[track_caller]
    pub(crate) fn conv2d_input_grad(self, w: Tensor<'t, T>, geo: Conv2dGeometry) -> Tensor<'t, T> {
        let v = {
            let (g, wv) = (self.value_ref(), w.value_ref());
            let data = kernels::conv2d_input_grad(g.data(), wv.data(), &geo, wv.dims()[0]);
            crate::Array::from_parts(data, Shape::new(&geo.input))
        };
        self.record(
            Op::Conv2dInputGrad {
                g: self.id,
                w: w.id,
                geo,
            },
            v,
        )
    }

    /// The gradient of [`conv2d_raw`](Self::conv2d_raw) with respect to its weight, this
    /// tensor being the convolution's input and `g` the output gradient: the weight's shape
    /// `[C_out, C_in/groups, kH, kW]`.
    #[track_caller]
    pub(crate) fn conv2d_weight_grad(self, g: Tensor<'t, T>, geo: Conv2dGeometry) -> Tensor<'t, T> {
        let v = {
            let (x, gv) = (self.value_ref(), g.value_ref());
            let c_out = gv.dims()[1];
            let data = kernels::conv2d_weight_grad(x.data(), gv.data(), &geo, c_out);
            let shape = [c_out, geo.channels_per_group(), geo.kernel.0, geo.kernel.1];
            crate::Array::from_parts(data, Shape::new(&shape))
        };
        self.record(
            Op::Conv2dWeightGrad {
                x: self.id,
                g: g.id,
                geo,
            },
            v,
        )
    }
}

/// Checks the shapes and settings of a `conv2d` and returns its geometry.
#[track_caller]
fn conv2d_geometry(
    x: &Shape,
    w: &Shape,
    b: Option<Shape>,
    opts: Conv2dOptions,
) -> Result<Conv2dGeometry> {
    let location = Location::caller();
    let err = |reason: String| Error::Shape {
        op: "conv2d",
        lhs: x.clone(),
        rhs: w.clone(),
        reason,
        location,
    };
    if x.rank() != 4 || w.rank() != 4 {
        return Err(err(
            "expects an input [N, C_in, H, W] and a weight [C_out, C_in/groups, kH, kW]".into(),
        ));
    }
    let Conv2dOptions {
        stride,
        padding,
        dilation,
        groups,
    } = opts;
    if stride.0 == 0 || stride.1 == 0 {
        return Err(err(format!("stride {stride:?} must be at least 1")));
    }
    if dilation.0 == 0 || dilation.1 == 0 {
        return Err(err(format!("dilation {dilation:?} must be at least 1")));
    }
    if groups == 0 {
        return Err(err("groups must be at least 1".into()));
    }
    let (c_in, c_out) = (x.dim(1), w.dim(0));
    if c_in % groups != 0 {
        return Err(err(format!(
            "input channels {c_in} are not divisible by groups {groups}"
        )));
    }
    if c_out % groups != 0 {
        return Err(err(format!(
            "output channels {c_out} are not divisible by groups {groups}"
        )));
    }
    if w.dim(1) != c_in / groups {
        return Err(err(format!(
            "the weight's dim 1 is {} but must be input channels / groups = {c_in} / {groups} = {}",
            w.dim(1),
            c_in / groups
        )));
    }
    let kernel = (w.dim(2), w.dim(3));
    for (axis, len, k, s, p, d) in [
        (
            "height",
            x.dim(2),
            kernel.0,
            stride.0,
            padding.0,
            dilation.0,
        ),
        ("width", x.dim(3), kernel.1, stride.1, padding.1, dilation.1),
    ] {
        if k == 0 {
            return Err(err(format!("the kernel's {axis} is 0")));
        }
        if out_len(len, k, s, p, d).is_none() {
            return Err(err(format!(
                "the kernel's {axis} {k} at dilation {d} spans {} > the padded input's {axis} {len} + 2·{p}",
                d.saturating_mul(k - 1).saturating_add(1)
            )));
        }
    }
    if let Some(bs) = b {
        if bs.dims() != [c_out] {
            return Err(Error::Shape {
                op: "conv2d",
                lhs: w.clone(),
                rhs: bs,
                reason: format!("the bias must be [{c_out}] (the output channels)"),
                location,
            });
        }
    }
    let input = [x.dim(0), x.dim(1), x.dim(2), x.dim(3)];
    let geo = Conv2dGeometry::new(input, kernel, stride, padding, dilation, groups);
    let out = Shape::new(&[input[0], c_out, geo.out.0, geo.out.1]);
    let cols = geo.sample_cols_shape();
    if out.try_numel().is_none() || cols.try_numel().is_none() {
        return Err(err(format!(
            "the output {out} or a sample's columns {cols} hold too many elements"
        )));
    }
    Ok(geo)
}
