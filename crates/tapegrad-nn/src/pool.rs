//! `MaxPool2d` and `AvgPool2d`: 2-D pooling layers over `[N, C, H, W]` inputs, recorded as the
//! core's [`Tensor::max_pool2d`] and [`Tensor::avg_pool2d`]; no parameters.

use crate::module::Module;
use crate::onnx::{spatial_out, Attr, OnnxGraph, Window};
use tapegrad_core::{Element, Result, Tensor};

/// A pair printed as torch prints a pooling attribute: `2` when both sizes are equal (as
/// given to torch as an int), `(2, 3)` otherwise.
fn pair(p: (usize, usize)) -> String {
    if p.0 == p.1 {
        p.0.to_string()
    } else {
        format!("{p:?}")
    }
}

/// A pooling layer: the struct (kernel, stride, padding), its constructors and its `Module`
/// impl recording `$op`; `$pad` says what the padding holds.
macro_rules! pooling_layer {
    ($(#[$doc:meta])* $name:ident, $op:ident, $pad:literal, $onnx:literal, $onnx_note:literal,
     $extra:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name {
            kernel: (usize, usize),
            stride: (usize, usize),
            padding: (usize, usize),
        }

        impl $name {
            /// A square `kernel × kernel` window, stride `kernel`, no padding.
            pub fn new(kernel: usize) -> Self {
                Self::with_options((kernel, kernel), (kernel, kernel), (0, 0))
            }

            #[doc = concat!(
                "A `kernel = (kh, kw)` window every `stride` rows and columns over the input \
                 padded by `padding` ", $pad, " on each side. Checked when the layer runs (a zero \
                 size, a padding more than half the kernel, an empty output are errors of \
                 `forward`)."
            )]
            pub fn with_options(
                kernel: (usize, usize),
                stride: (usize, usize),
                padding: (usize, usize),
            ) -> Self {
                $name {
                    kernel,
                    stride,
                    padding,
                }
            }
        }

        impl<T: Element> Module<T> for $name {
            #[doc = concat!(
                "The pooling of `x`.\n\n# Errors\nAs [`Tensor::", stringify!($op),
                "`]: an input not `[N, C, H, W]`, bad settings, an empty output."
            )]
            fn forward<'t>(&self, x: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
                x.$op(self.kernel, self.stride, self.padding)
            }
            #[doc = concat!("`", $onnx, "` (", $onnx_note, ").")]
            fn export_onnx(&self, g: &mut OnnxGraph, input: &str) -> Result<String> {
                let pair = |p: (usize, usize)| [p.0, p.1];
                let window = Window {
                    kernel: pair(self.kernel),
                    stride: pair(self.stride),
                    padding: pair(self.padding),
                    dilation: [1, 1],
                };
                let out = spatial_out(
                    g,
                    &Module::<T>::describe(self),
                    input,
                    None,
                    None,
                    &window,
                    true,
                )?;
                let ints = |p: (usize, usize)| vec![p.0 as i64, p.1 as i64];
                let mut attrs = vec![
                    Attr::Ints("kernel_shape", ints(self.kernel)),
                    Attr::Ints("strides", ints(self.stride)),
                    Attr::Ints("pads", [ints(self.padding), ints(self.padding)].concat()),
                ];
                attrs.extend($extra);
                g.node($onnx, &[input], attrs, out)
            }
            crate::module::no_params!(T);
            fn describe(&self) -> String {
                format!(
                    "{}(kernel_size={}, stride={}, padding={})",
                    stringify!($name),
                    pair(self.kernel),
                    pair(self.stride),
                    pair(self.padding)
                )
            }
        }
    };
}

pooling_layer! {
/// 2-D max pooling (as `torch.nn.MaxPool2d(kernel_size, stride, padding)`, dilation 1,
/// `ceil_mode=False`): each output is the maximum of a window; the gradient goes to the
/// window's first maximum. The stride defaults to the kernel, as in torch.
///
/// # Shapes
/// Input `[N, C, H, W]`, output `[N, C, (H + 2·ph - kh) / sh + 1, (W + 2·pw - kw) / sw + 1]`.
///
/// ```
/// use tapegrad_core::{Array, Tape};
/// use tapegrad_nn::{MaxPool2d, Module};
/// # fn main() -> tapegrad_core::Result<()> {
/// let pool = MaxPool2d::new(2);
/// assert_eq!(Module::<f64>::describe(&pool), "MaxPool2d(kernel_size=2, stride=2, padding=0)");
/// let tape = Tape::<f64>::new();
/// let x = tape.constant(Array::from_vec((0..16).map(f64::from).collect(), [1, 1, 4, 4])?);
/// let y = pool.forward(x)?;
/// assert_eq!(y.to_array().data(), &[5.0, 7.0, 13.0, 15.0]);
/// # Ok(()) }
/// ```
    MaxPool2d,
    max_pool2d,
    "(`-inf`)",
    "MaxPool",
    "its padding never wins, as tapegrad's `-inf`",
    None::<Attr>
}

pooling_layer! {
/// 2-D average pooling (as `torch.nn.AvgPool2d(kernel_size, stride, padding)`,
/// `ceil_mode=False`, `count_include_pad=True`): each output is the mean of a window, the
/// padding counted as zeros. The stride defaults to the kernel, as in torch.
///
/// # Shapes
/// As [`MaxPool2d`].
///
/// ```
/// use tapegrad_core::{Array, Tape};
/// use tapegrad_nn::{AvgPool2d, Module};
/// # fn main() -> tapegrad_core::Result<()> {
/// let pool = AvgPool2d::new(2);
/// assert_eq!(Module::<f64>::describe(&pool), "AvgPool2d(kernel_size=2, stride=2, padding=0)");
/// let tape = Tape::<f64>::new();
/// let x = tape.constant(Array::from_vec((0..16).map(f64::from).collect(), [1, 1, 4, 4])?);
/// let y = pool.forward(x)?;
/// assert_eq!(y.to_array().data(), &[2.5, 4.5, 10.5, 12.5]);
/// # Ok(()) }
/// ```
    AvgPool2d,
    avg_pool2d,
    "zeros",
    "AveragePool",
    "`count_include_pad = 1`: every window divided by `kh·kw`, as tapegrad's",
    Some(Attr::Int("count_include_pad", 1))
}
