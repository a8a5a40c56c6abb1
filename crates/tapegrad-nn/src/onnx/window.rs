//! The output shape of a sliding window over `[N, C, H, W]` (a convolution or a pooling), with
//! the same checks as the layers' `forward`.

use super::graph::{OnnxDims, OnnxGraph};
use tapegrad_core::Result;

/// A 2-D window's settings, `[rows, columns]` each.
pub(crate) struct Window {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
}

/// The shape of the window's output over the value `x`: `[batch, out_channels, oh, ow]` with
/// `o = (i + 2p - d(k - 1) - 1) / s + 1`. `channels` is the number of channels `x` must have
/// (`None`: any, kept in the output when `out_channels` is `None` too).
///
/// # Errors
/// An input that is not `[N, C, H, W]` with those channels, a pooling's padding over half its
/// kernel, a zero stride, an empty output.
#[track_caller]
pub(crate) fn spatial_out(
    g: &OnnxGraph,
    module: &str,
    x: &str,
    channels: Option<usize>,
    out_channels: Option<usize>,
    w: &Window,
    pooling: bool,
) -> Result<OnnxDims> {
    let d = g.dims(x)?;
    let c = match channels {
        Some(c) => c.to_string(),
        None => "C".to_string(),
    };
    let ok = d.len() == 4
        && d[1].is_some()
        && channels.is_none_or(|c| d[1] == Some(c))
        && d[2].is_some()
        && d[3].is_some();
    if !ok {
        return Err(g.input_error(module, x, format!("expects an input [N, {c}, H, W]")));
    }
    if w.stride.contains(&0) || w.kernel.contains(&0) || w.dilation.contains(&0) {
        return Err(g.input_error(module, x, "kernel, stride and dilation must be positive"));
    }
    if pooling && (0..2).any(|a| 2 * w.padding[a] > w.kernel[a]) {
        return Err(g.input_error(module, x, "the padding must be at most half the kernel"));
    }
    let mut out = vec![d[0], out_channels.or(d[1])];
    for a in 0..2 {
        let i = d[2 + a].unwrap_or(0) + 2 * w.padding[a];
        let span = w.dilation[a] * (w.kernel[a] - 1) + 1;
        if i < span {
            return Err(g.input_error(
                module,
                x,
                format!(
                    "the window ({span} wide with dilation) is larger than the padded input ({i})"
                ),
            ));
        }
        out.push(Some((i - span) / w.stride[a] + 1));
    }
    Ok(out)
}
