//! `Conv2d`: a 2-D convolution layer over `[N, C, H, W]` inputs, recorded as the core's
//! [`Tensor::conv2d`] (per sample im2col and a GEMM), with PyTorch's parameter names, layout
//! and init.

use crate::module::{visit_weight_bias, visit_weight_bias_mut, Module};
use crate::onnx::{spatial_out, Attr, OnnxGraph, Window};
use crate::path::ParamPath;
use rand::Rng;
use tapegrad_core::{Array, Conv2dOptions, Element, Error, Param, Result, Tensor};

/// A 2-D convolution (as `torch.nn.Conv2d`): `weight` is `[C_out, C_in/groups, kH, kW]` and
/// `bias` is `[C_out]`, both named and laid out as torch's, so weights move across without a
/// transpose. The settings (stride, padding, dilation, groups) are a [`Conv2dOptions`].
///
/// # Shapes
/// Input `[N, C_in, H, W]`, output `[N, C_out, H_out, W_out]` with
/// `H_out = (H + 2·ph - dh·(kH - 1) - 1) / sh + 1` (and `W_out` alike).
///
/// # Init
/// PyTorch's default: `kaiming_uniform(a = √5)` for the weight, which is `U(-b, b)` with
/// `b = 1/√fan_in`, and the same `U(-b, b)` for the bias, `fan_in = C_in/groups · kH · kW`.
///
/// ```
/// use tapegrad_core::{rng, Array, Conv2dOptions, Tape};
/// use tapegrad_nn::{Conv2d, Module};
/// # fn main() -> tapegrad_core::Result<()> {
/// let conv = Conv2d::<f32>::new(1, 6, (5, 5), Conv2dOptions::default().padding(2), true, &mut rng(0))?;
/// assert_eq!(
///     conv.to_string(),
///     "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))"
/// );
/// let names: Vec<String> = conv.named_params().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["weight", "bias"]);
/// let tape = Tape::new();
/// let y = conv.forward(tape.constant(Array::ones([2, 1, 28, 28])))?;
/// assert_eq!(y.shape().dims(), &[2, 6, 28, 28]);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Conv2d<T: Element> {
    weight: Param<T>,
    bias: Option<Param<T>>,
    opts: Conv2dOptions,
}

impl<T: Element> Conv2d<T> {
    /// A layer from `in_channels` to `out_channels` with a `kernel = (kH, kW)`, the settings
    /// `opts`, a bias if `bias`, weights drawn from `rng` with PyTorch's default init (see
    /// the type's `# Init`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when a channel count or a kernel size is 0, a stride,
    /// dilation or group count is 0, or the channel counts are not divisible by `groups`.
    #[track_caller]
    pub fn new<R: Rng + ?Sized>(
        in_channels: usize,
        out_channels: usize,
        kernel: (usize, usize),
        opts: Conv2dOptions,
        bias: bool,
        rng: &mut R,
    ) -> Result<Self> {
        check_settings(in_channels, out_channels, kernel, &opts)?;
        let fan_in = (in_channels / opts.groups) * kernel.0 * kernel.1;
        let b = 1.0 / (fan_in as f64).sqrt();
        let weight = Array::rand_uniform(
            [out_channels, in_channels / opts.groups, kernel.0, kernel.1],
            -b,
            b,
            rng,
        );
        let bias = bias.then(|| Param::new(Array::rand_uniform([out_channels], -b, b, rng)));
        Ok(Conv2d {
            weight: Param::new(weight),
            bias,
            opts,
        })
    }

    /// A layer with the given weight `[C_out, C_in/groups, kH, kW]`, optional bias `[C_out]`
    /// and settings.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the weight is not 4-D or has a zero dimension, or the
    /// settings are invalid (as [`Conv2d::new`]); [`Error::Shape`] when the bias is not
    /// `[C_out]`.
    #[track_caller]
    pub fn from_arrays(
        weight: Array<T>,
        bias: Option<Array<T>>,
        opts: Conv2dOptions,
    ) -> Result<Self> {
        let d = weight.dims();
        if d.len() != 4 || d.contains(&0) {
            return Err(Error::invalid(
                "Conv2d::from_arrays",
                format!(
                    "the weight must be 4-D [C_out, C_in/groups, kH, kW] without a zero \
                     dimension, got {}",
                    weight.shape()
                ),
            ));
        }
        check_settings(d[1] * opts.groups, d[0], (d[2], d[3]), &opts)?;
        if let Some(b) = &bias {
            if b.dims() != [d[0]] {
                return Err(Error::shape(
                    "Conv2d::from_arrays",
                    weight.shape(),
                    b.shape(),
                    format!("the bias must be [{}]", d[0]),
                ));
            }
        }
        Ok(Conv2d {
            weight: Param::new(weight),
            bias: bias.map(Param::new),
            opts,
        })
    }

    /// The number of input channels, `C_in`.
    pub fn in_channels(&self) -> usize {
        self.weight.value().dims()[1] * self.opts.groups
    }

    /// The number of output channels, `C_out`.
    pub fn out_channels(&self) -> usize {
        self.weight.value().dims()[0]
    }

    /// The kernel's size `(kH, kW)`.
    pub fn kernel_size(&self) -> (usize, usize) {
        let d = self.weight.value().dims();
        (d[2], d[3])
    }

    /// The settings (stride, padding, dilation, groups).
    pub fn options(&self) -> Conv2dOptions {
        self.opts
    }

    /// The weight `[C_out, C_in/groups, kH, kW]`.
    pub fn weight(&self) -> &Param<T> {
        &self.weight
    }

    /// The bias `[C_out]`, if the layer has one.
    pub fn bias(&self) -> Option<&Param<T>> {
        self.bias.as_ref()
    }
}

/// Checks a layer's channel counts, kernel and settings.
#[track_caller]
fn check_settings(
    in_channels: usize,
    out_channels: usize,
    kernel: (usize, usize),
    o: &Conv2dOptions,
) -> Result<()> {
    let bad = |m: String| Err(Error::invalid("Conv2d", m));
    if in_channels == 0 || out_channels == 0 || kernel.0 == 0 || kernel.1 == 0 {
        return bad(format!(
            "channels and kernel must be positive, got in={in_channels}, out={out_channels}, \
             kernel={kernel:?}"
        ));
    }
    if o.stride.0 == 0 || o.stride.1 == 0 || o.dilation.0 == 0 || o.dilation.1 == 0 {
        return bad(format!(
            "stride and dilation must be positive, got stride={:?}, dilation={:?}",
            o.stride, o.dilation
        ));
    }
    if o.groups == 0
        || !in_channels.is_multiple_of(o.groups)
        || !out_channels.is_multiple_of(o.groups)
    {
        return bad(format!(
            "in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible \
             by groups ({})",
            o.groups
        ));
    }
    Ok(())
}

impl<T: Element> Module<T> for Conv2d<T> {
    /// The convolution of `x` (`[N, C_in, H, W]`) with the weight, plus the bias.
    ///
    /// # Errors
    /// [`Error::Shape`] when `x` is not 4-D, its channels are not `C_in`, or the dilated
    /// kernel is larger than the padded input (as [`Tensor::conv2d`]).
    fn forward<'t>(&self, x: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        let tape = x.tape();
        let w = tape.param(&self.weight);
        let b = self.bias.as_ref().map(|b| tape.param(b));
        x.conv2d(w, b, self.opts)
    }

    /// `Conv` with the weight `[C_out, C_in/groups, kH, kW]` (ONNX's layout too), the bias,
    /// and the strides, pads, dilations and group.
    fn export_onnx(&self, g: &mut OnnxGraph, input: &str) -> Result<String> {
        let c = self.in_channels();
        let (k, o) = (self.kernel_size(), self.opts);
        let window = Window {
            kernel: [k.0, k.1],
            stride: [o.stride.0, o.stride.1],
            padding: [o.padding.0, o.padding.1],
            dilation: [o.dilation.0, o.dilation.1],
        };
        let out = spatial_out(
            g,
            &self.describe(),
            input,
            Some(c),
            Some(self.out_channels()),
            &window,
            false,
        )?;
        let w = g.initializer("weight", self.weight.value());
        let b = self.bias.as_ref().map(|b| g.initializer("bias", b.value()));
        let mut inputs = vec![input, &w];
        inputs.extend(b.as_deref());
        let pair = |p: (usize, usize)| vec![p.0 as i64, p.1 as i64];
        let attrs = vec![
            Attr::Ints("kernel_shape", pair(k)),
            Attr::Ints("strides", pair(o.stride)),
            Attr::Ints("pads", [pair(o.padding), pair(o.padding)].concat()),
            Attr::Ints("dilations", pair(o.dilation)),
            Attr::Int("group", o.groups as i64),
        ];
        g.node("Conv", &inputs, attrs, out)
    }

    fn visit<'a>(&'a self, path: &mut ParamPath, f: &mut dyn FnMut(&ParamPath, &'a Param<T>)) {
        visit_weight_bias(path, f, Some(&self.weight), self.bias.as_ref());
    }

    fn visit_mut<'a>(
        &'a mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, &'a mut Param<T>),
    ) {
        visit_weight_bias_mut(path, f, Some(&mut self.weight), self.bias.as_mut());
    }

    /// As torch prints it: `Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))`;
    /// padding, dilation and groups only when not their defaults, `bias=False` without a bias.
    fn describe(&self) -> String {
        let o = &self.opts;
        let mut s = format!(
            "Conv2d({}, {}, kernel_size={:?}, stride={:?}",
            self.in_channels(),
            self.out_channels(),
            self.kernel_size(),
            o.stride
        );
        if o.padding != (0, 0) {
            s += &format!(", padding={:?}", o.padding);
        }
        if o.dilation != (1, 1) {
            s += &format!(", dilation={:?}", o.dilation);
        }
        if o.groups != 1 {
            s += &format!(", groups={}", o.groups);
        }
        if self.bias.is_none() {
            s += ", bias=False";
        }
        s + ")"
    }
}

impl<T: Element> std::fmt::Display for Conv2d<T> {
    /// As [`Module::describe`]: `Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}
