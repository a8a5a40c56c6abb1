//! `Op`: one variant per operation the tape can record. `inputs()` is the only place that
//! lists an op's parents; the backward rule of each variant is in `backward.rs`.

use crate::ops::Conv2dGeometry;
use smallvec::SmallVec;
use std::fmt;
use std::sync::Arc;

/// The index of a node on its tape (its position in execution order).
pub type NodeId = usize;

/// A stable identity of a [`Param`](crate::Param), unique in the process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParamId(pub(crate) u64);

/// How a node came about: a leaf (data or a parameter) or an operation on earlier nodes.
/// Scalars (`AddScalar`'s constant, `LeakyRelu`'s slope, ...) are stored as `f64`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Op {
    /// Data that needs no gradient (`tape.constant`, `detach`).
    Constant,
    /// Data whose gradient is wanted (`tape.var`).
    Var,
    /// A model parameter bound to the tape (`tape.param`).
    Param(ParamId),
    /// `a + b` with broadcasting.
    Add(NodeId, NodeId),
    /// `a - b` with broadcasting.
    Sub(NodeId, NodeId),
    /// `a * b` with broadcasting.
    Mul(NodeId, NodeId),
    /// `a / b` with broadcasting.
    Div(NodeId, NodeId),
    /// `x + c`.
    AddScalar(NodeId, f64),
    /// `x * c`.
    MulScalar(NodeId, f64),
    /// `x ^ p`.
    Powf(NodeId, f64),
    /// `-x`.
    Neg(NodeId),
    /// `e^x`.
    Exp(NodeId),
    /// Natural logarithm.
    Log(NodeId),
    /// Square root.
    Sqrt(NodeId),
    /// `x²`.
    Square(NodeId),
    /// `|x|`.
    Abs(NodeId),
    /// `max(x, 0)`.
    Relu(NodeId),
    /// `x` if positive, else `slope · x`.
    LeakyRelu(NodeId, f64),
    /// `1 / (1 + e^-x)`.
    Sigmoid(NodeId),
    /// Hyperbolic tangent.
    Tanh(NodeId),
    /// Matrix product (2-D, batched 3-D, or 3-D by a shared 2-D right operand).
    Matmul(NodeId, NodeId),
    /// 2-D matrix product of optionally transposed operands, `op(a) · op(b)` with `op(x)` =
    /// `xᵀ` when its flag is set ([`Tensor::matmul_t`](crate::Tensor::matmul_t)): the
    /// transpose is read through strides, never copied.
    MatmulT {
        /// The left operand.
        a: NodeId,
        /// The right operand.
        b: NodeId,
        /// Whether `a` is read transposed.
        ta: bool,
        /// Whether `b` is read transposed.
        tb: bool,
    },
    /// Sum over an axis (or all elements).
    Sum {
        /// The input.
        x: NodeId,
        /// The axis; `None` reduces everything.
        axis: Option<usize>,
    },
    /// Mean over an axis (or all elements).
    Mean {
        /// The input.
        x: NodeId,
        /// The axis; `None` reduces everything.
        axis: Option<usize>,
    },
    /// Maximum over an axis (or all elements); ties share the gradient.
    Max {
        /// The input.
        x: NodeId,
        /// The axis; `None` reduces everything.
        axis: Option<usize>,
    },
    /// The same data in another shape.
    Reshape(NodeId),
    /// Axes reordered: `out.dims[i] = x.dims[perm[i]]`.
    Permute(NodeId, SmallVec<[usize; 4]>),
    /// Broadcast to a larger shape.
    BroadcastTo(NodeId),
    /// Joined along an axis.
    Concat {
        /// The inputs, in order (one may appear several times).
        xs: Vec<NodeId>,
        /// The axis.
        axis: usize,
    },
    /// Rows of axis 0 picked by index (repeats allowed).
    IndexSelect {
        /// The input.
        x: NodeId,
        /// The picked rows.
        indices: Vec<usize>,
    },
    /// Softmax along an axis.
    Softmax {
        /// The input.
        x: NodeId,
        /// The axis.
        axis: usize,
    },
    /// Log-softmax along an axis.
    LogSoftmax {
        /// The input.
        x: NodeId,
        /// The axis.
        axis: usize,
    },
    /// Mean squared error of a prediction and a target of the same shape.
    Mse(NodeId, NodeId),
    /// Binary cross-entropy on logits, mean over all elements.
    BceWithLogits(NodeId, NodeId),
    /// Softmax cross-entropy of `[N, C]` logits with class indices, mean over the batch.
    CrossEntropy {
        /// The logits.
        logits: NodeId,
        /// The target class of each row.
        targets: Vec<usize>,
    },
    /// Fused `x · w + b`, then an optional activation (the dense layer's forward).
    Linear {
        /// `[N, in]` input.
        x: NodeId,
        /// `[in, out]` weight.
        w: NodeId,
        /// `[out]` bias, if any.
        b: Option<NodeId>,
        /// The activation applied to the sum (one that
        /// [`Activation::fuses_into_linear`]).
        act: Activation,
    },
    /// `min(a, b)` elementwise with broadcasting; a tie gives each side half the gradient.
    Minimum(NodeId, NodeId),
    /// `max(a, b)` elementwise with broadcasting; a tie gives each side half the gradient.
    Maximum(NodeId, NodeId),
    /// `on_true` where `cond` is nonzero, else `on_false`, all three broadcast together;
    /// `cond` gets no gradient.
    Where {
        /// The condition, read as "nonzero = true".
        cond: NodeId,
        /// The values taken where `cond` is nonzero.
        on_true: NodeId,
        /// The values taken where `cond` is zero.
        on_false: NodeId,
    },
    /// `x` clamped into `[lo, hi]` (either bound optional; `hi` wins when `lo > hi`).
    Clamp {
        /// The input.
        x: NodeId,
        /// The lower bound, if any.
        lo: Option<f64>,
        /// The upper bound, if any.
        hi: Option<f64>,
    },
    /// Minimum over an axis (or all elements); ties share the gradient.
    Min {
        /// The input.
        x: NodeId,
        /// The axis; `None` reduces everything.
        axis: Option<usize>,
    },
    /// Variance over an axis (or all elements), dividing by `N - correction`.
    Variance {
        /// The input.
        x: NodeId,
        /// The axis; `None` reduces everything.
        axis: Option<usize>,
        /// Subtracted from the element count `N` in the divisor (1: unbiased).
        correction: usize,
    },
    /// Standard deviation over an axis (or all elements): the square root of [`Op::Variance`].
    StdDev {
        /// The input.
        x: NodeId,
        /// The axis; `None` reduces everything.
        axis: Option<usize>,
        /// Subtracted from the element count `N` in the divisor (1: unbiased).
        correction: usize,
    },
    /// `log Σ e^x` over an axis (or all elements), computed stably.
    LogSumExp {
        /// The input.
        x: NodeId,
        /// The axis; `None` reduces everything.
        axis: Option<usize>,
    },
    /// Positions `start..start + len` of one axis ([`Tensor::narrow`](crate::Tensor::narrow)).
    Narrow {
        /// The input.
        x: NodeId,
        /// The axis.
        axis: usize,
        /// The first position kept (non-negative).
        start: usize,
        /// How many positions are kept.
        len: usize,
    },
    /// The adjoint of [`Op::Narrow`] (`narrow`'s gradient as a tensor): `g` written at
    /// positions `start..start + g.dims[axis]` of `axis` of a zero tensor whose `axis` has
    /// `size` positions. Its own gradient is `narrow` again.
    NarrowBackward {
        /// The gradient placed.
        g: NodeId,
        /// The axis.
        axis: usize,
        /// Where along `axis` it is placed.
        start: usize,
        /// The size of `axis` in the result.
        size: usize,
    },
    /// Elements picked along an axis by an index tensor
    /// ([`Tensor::gather`](crate::Tensor::gather), `torch.gather`); the output has the
    /// index's shape.
    Gather {
        /// The input.
        x: NodeId,
        /// The axis indexed.
        axis: usize,
        /// The index, row-major in the output's shape (shared with the gradient's op).
        index: Arc<[usize]>,
    },
    /// The adjoint of [`Op::Gather`] (`gather`'s gradient as a tensor): a zero tensor of the
    /// gathered input's shape into which `g[i..]` is added at the position `index[i..]`
    /// along `axis` (repeated indices add up). Its own gradient is `gather` again.
    ScatterAdd {
        /// The values added, in the index's shape.
        g: NodeId,
        /// The axis indexed.
        axis: usize,
        /// The index, row-major in `g`'s shape.
        index: Arc<[usize]>,
    },
    /// 2-D max pooling of an `[N, C, H, W]` input
    /// ([`Tensor::max_pool2d`](crate::Tensor::max_pool2d)).
    MaxPool2d {
        /// The input.
        x: NodeId,
        /// The window's `(height, width)`.
        kernel: (usize, usize),
        /// The step between windows, `(height, width)`.
        stride: (usize, usize),
        /// The implicit `-inf` padding on each side, `(height, width)`. The arg-maxes the
        /// gradient scatters to are found again from the input and the output.
        padding: (usize, usize),
    },
    /// 2-D average pooling of an `[N, C, H, W]` input
    /// ([`Tensor::avg_pool2d`](crate::Tensor::avg_pool2d)), zero padding counted in the
    /// average.
    AvgPool2d {
        /// The input.
        x: NodeId,
        /// The window's `(height, width)`.
        kernel: (usize, usize),
        /// The step between windows, `(height, width)`.
        stride: (usize, usize),
        /// The implicit zero padding on each side, `(height, width)`.
        padding: (usize, usize),
    },
    /// The adjoint of [`Op::AvgPool2d`] (its gradient as a tensor): each element of `g`
    /// divided by the window's area and added over its window of an `[N, C, H, W]` zero
    /// tensor with `(H, W)` = `size`. Its own gradient is `avg_pool2d` again.
    AvgPool2dBackward {
        /// The gradient spread, in the pooled shape.
        g: NodeId,
        /// The window's `(height, width)`.
        kernel: (usize, usize),
        /// The step between windows, `(height, width)`.
        stride: (usize, usize),
        /// The padding on each side, `(height, width)`.
        padding: (usize, usize),
        /// The `(H, W)` of the result.
        size: (usize, usize),
    },
    /// A 2-D convolution without its bias: an input `[N, C_in, H, W]` and a weight
    /// `[C_out, C_in/groups, kH, kW]` give `[N, C_out, H_out, W_out]` (see
    /// [`Tensor::conv2d`](crate::Tensor::conv2d)). Its gradients are the two ops below.
    Conv2d {
        /// The input.
        x: NodeId,
        /// The weight.
        w: NodeId,
        /// The convolution's geometry.
        geo: Conv2dGeometry,
    },
    /// The gradient of [`Op::Conv2d`] with respect to its input (a transposed convolution):
    /// `g` (`[N, C_out, H_out, W_out]`) through the weight's transpose, each entry added back
    /// onto the input element it was read from; the result has `geo.input`'s shape.
    Conv2dInputGrad {
        /// The output gradient.
        g: NodeId,
        /// The weight.
        w: NodeId,
        /// The convolution's geometry.
        geo: Conv2dGeometry,
    },
    /// The gradient of [`Op::Conv2d`] with respect to its weight: for every output channel
    /// and tap, the sum over samples and output positions of `g` times the input element
    /// the tap reads; the result has the weight's shape.
    Conv2dWeightGrad {
        /// The convolution's input.
        x: NodeId,
        /// The output gradient.
        g: NodeId,
        /// The convolution's geometry.
        geo: Conv2dGeometry,
    },
    /// `sin x`.
    Sin(NodeId),
    /// `cos x`.
    Cos(NodeId),
    /// `ln(1 + x)`, accurate for small `x`.
    Log1p(NodeId),
    /// `e^x - 1`, accurate for small `x`.
    Expm1(NodeId),
    /// `1 / x`.
    Reciprocal(NodeId),
    /// `1 / √x`.
    Rsqrt(NodeId),
    /// `x · σ(x)` (SiLU, swish).
    Silu(NodeId),
    /// `x` for `x > 0`, else `alpha · (e^x - 1)`.
    Elu(NodeId, f64),
    /// `ln(1 + e^(beta·x)) / beta`, and `x` itself where `beta·x > threshold`.
    Softplus {
        /// The input.
        x: NodeId,
        /// The sharpness `beta`.
        beta: f64,
        /// Above `beta·x > threshold` the op is the identity.
        threshold: f64,
    },
    /// The error function `erf x`.
    Erf(NodeId),
    /// GELU, exact: `x · Φ(x)`, `Φ(x) = (1 + erf(x/√2))/2`.
    Gelu(NodeId),
    /// GELU, tanh approximation: `x/2 · (1 + tanh(√(2/π)·(x + 0.044715·x³)))`.
    GeluTanh(NodeId),
}

/// An activation function, the one vocabulary for them: what [`Tensor::activate`] applies,
/// what the dense layer's [`Tensor::linear`] takes (fusing identity, ReLU, sigmoid and tanh
/// into its own node, [`Activation::fuses_into_linear`]), and in tapegrad-nn a module itself
/// (PyTorch's `nn.ReLU`, `nn.Tanh`, ...). `Display` gives PyTorch's module names.
///
/// [`Tensor::activate`]: crate::Tensor::activate
/// [`Tensor::linear`]: crate::Tensor::linear
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// No activation: `x` (`nn.Identity`).
    Identity,
    /// `max(x, 0)` (`nn.ReLU`; the gradient at 0 is 0).
    Relu,
    /// `x` for `x > 0`, else `slope · x` (`nn.LeakyReLU(slope)`; PyTorch's default slope is
    /// 0.01).
    LeakyRelu(f64),
    /// `1 / (1 + e^-x)` (`nn.Sigmoid`).
    Sigmoid,
    /// Hyperbolic tangent (`nn.Tanh`).
    Tanh,
    /// Softmax along an axis, negative counting from the end (`nn.Softmax(dim)`).
    Softmax(isize),
    /// `x·Φ(x)` with the exact normal CDF (`nn.GELU()`).
    Gelu,
    /// GELU's tanh approximation (`nn.GELU(approximate="tanh")`).
    GeluTanh,
    /// `x·σ(x)` (`nn.SiLU`, also called swish).
    Silu,
    /// `x` for `x > 0`, else `alpha·(e^x - 1)` (`nn.ELU(alpha)`; PyTorch's default alpha is 1).
    Elu(f64),
    /// `log(1 + e^(beta·x)) / beta`, and `x` where `beta·x > threshold`
    /// (`nn.Softplus(beta, threshold)`; PyTorch's defaults are 1 and 20).
    Softplus {
        /// The sharpness `beta`.
        beta: f64,
        /// Above `beta·x > threshold` the result is `x`.
        threshold: f64,
    },
}

impl Activation {
    /// Whether [`Tensor::linear`](crate::Tensor::linear) computes this activation inside its
    /// own node (identity, ReLU, sigmoid, tanh); the others are recorded as a node of their
    /// own after it.
    pub fn fuses_into_linear(&self) -> bool {
        matches!(
            self,
            Activation::Identity | Activation::Relu | Activation::Sigmoid | Activation::Tanh
        )
    }
}

impl fmt::Display for Activation {
    /// PyTorch's module name: `ReLU`, `LeakyReLU(negative_slope=0.01)`, `Softmax(dim=-1)`, ...
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Activation::Identity => write!(f, "Identity"),
            Activation::Relu => write!(f, "ReLU"),
            Activation::LeakyRelu(s) => write!(f, "LeakyReLU(negative_slope={s})"),
            Activation::Sigmoid => write!(f, "Sigmoid"),
            Activation::Tanh => write!(f, "Tanh"),
            Activation::Softmax(axis) => write!(f, "Softmax(dim={axis})"),
            Activation::Gelu => write!(f, "GELU"),
            Activation::GeluTanh => write!(f, "GELU(approximate='tanh')"),
            Activation::Silu => write!(f, "SiLU"),
            Activation::Elu(alpha) => write!(f, "ELU(alpha={alpha})"),
            Activation::Softplus { beta, threshold } => {
                write!(f, "Softplus(beta={beta}, threshold={threshold})")
            }
        }
    }
}

impl Op {
    /// The ids of the nodes this op reads, in order.
    pub fn inputs(&self) -> SmallVec<[NodeId; 4]> {
        use Op::*;
        match self {
            Constant | Var | Param(_) => SmallVec::new(),
            Add(a, b)
            | Sub(a, b)
            | Mul(a, b)
            | Div(a, b)
            | Matmul(a, b)
            | Mse(a, b)
            | BceWithLogits(a, b) => SmallVec::from_slice(&[*a, *b]),
            AddScalar(x, _)
            | MulScalar(x, _)
            | Powf(x, _)
            | LeakyRelu(x, _)
            | Neg(x)
            | Exp(x)
            | Log(x)
            | Sqrt(x)
            | Square(x)
            | Abs(x)
            | Relu(x)
            | Sigmoid(x)
            | Tanh(x)
            | Reshape(x)
            | Permute(x, _)
            | BroadcastTo(x) => SmallVec::from_slice(&[*x]),
            Sum { x, .. }
            | Mean { x, .. }
            | Max { x, .. }
            | IndexSelect { x, .. }
            | Softmax { x, .. }
            | LogSoftmax { x, .. } => SmallVec::from_slice(&[*x]),
            CrossEntropy { logits, .. } => SmallVec::from_slice(&[*logits]),
            MatmulT { a, b, .. } => SmallVec::from_slice(&[*a, *b]),
            Concat { xs, .. } => SmallVec::from_slice(xs),
            Linear { x, w, b, .. } => {
                let mut v = SmallVec::from_slice(&[*x, *w]);
                v.extend(*b);
                v
            }
            Minimum(a, b) | Maximum(a, b) => SmallVec::from_slice(&[*a, *b]),
            Where {
                cond,
                on_true,
                on_false,
            } => SmallVec::from_slice(&[*cond, *on_true, *on_false]),
            Clamp { x, .. }
            | Min { x, .. }
            | Variance { x, .. }
            | StdDev { x, .. }
            | LogSumExp { x, .. } => SmallVec::from_slice(&[*x]),
            Narrow { x, .. }
            | Gather { x, .. }
            | MaxPool2d { x, .. }
            | AvgPool2d { x, .. }
            | NarrowBackward { g: x, .. }
            | ScatterAdd { g: x, .. }
            | AvgPool2dBackward { g: x, .. } => SmallVec::from_slice(&[*x]),
            Conv2d { x, w, .. } => SmallVec::from_slice(&[*x, *w]),
            Conv2dInputGrad { g, w, .. } => SmallVec::from_slice(&[*g, *w]),
            Conv2dWeightGrad { x, g, .. } => SmallVec::from_slice(&[*x, *g]),
            Sin(x) | Cos(x) | Log1p(x) | Expm1(x) | Reciprocal(x) | Rsqrt(x) | Silu(x) => {
                SmallVec::from_slice(&[*x])
            }
            Elu(x, _) | Softplus { x, .. } => SmallVec::from_slice(&[*x]),
            Erf(x) | Gelu(x) | GeluTanh(x) => SmallVec::from_slice(&[*x]),
        }
    }

    /// The op's short name, as in error messages and the tape's printout.
    pub fn name(&self) -> &'static str {
        use Op::*;
        match self {
            Constant => "constant",
            Var => "var",
            Param(_) => "param",
            Add(..) => "add",
            Sub(..) => "sub",
            Mul(..) => "mul",
            Div(..) => "div",
            AddScalar(..) => "add_scalar",
            MulScalar(..) => "mul_scalar",
            Powf(..) => "powf",
            Neg(_) => "neg",
            Exp(_) => "exp",
            Log(_) => "log",
            Sqrt(_) => "sqrt",
            Square(_) => "square",
            Abs(_) => "abs",
            Relu(_) => "relu",
            LeakyRelu(..) => "leaky_relu",
            Sigmoid(_) => "sigmoid",
            Tanh(_) => "tanh",
            Matmul(..) => "matmul",
            MatmulT { .. } => "matmul_t",
            Sum { .. } => "sum",
            Mean { .. } => "mean",
            Max { .. } => "max",
            Reshape(_) => "reshape",
            Permute(..) => "permute",
            BroadcastTo(_) => "broadcast_to",
            Concat { .. } => "concat",
            IndexSelect { .. } => "index_select",
            Softmax { .. } => "softmax",
            LogSoftmax { .. } => "log_softmax",
            Mse(..) => "mse",
            BceWithLogits(..) => "bce_with_logits",
            CrossEntropy { .. } => "cross_entropy_with_logits",
            Linear { .. } => "linear",
            Minimum(..) => "minimum",
            Maximum(..) => "maximum",
            Where { .. } => "where_cond",
            Clamp { .. } => "clamp",
            Min { .. } => "min",
            Variance { .. } => "var",
            StdDev { .. } => "std",
            LogSumExp { .. } => "logsumexp",
            Narrow { .. } => "narrow",
            NarrowBackward { .. } => "narrow_backward",
            Gather { .. } => "gather",
            ScatterAdd { .. } => "scatter_add",
            MaxPool2d { .. } => "max_pool2d",
            AvgPool2d { .. } => "avg_pool2d",
            AvgPool2dBackward { .. } => "avg_pool2d_backward",
            Conv2d { .. } => "conv2d",
            Conv2dInputGrad { .. } => "conv2d_input_grad",
            Conv2dWeightGrad { .. } => "conv2d_weight_grad",
            Sin(_) => "sin",
            Cos(_) => "cos",
            Log1p(_) => "log1p",
            Expm1(_) => "expm1",
            Reciprocal(_) => "reciprocal",
            Rsqrt(_) => "rsqrt",
            Silu(_) => "silu",
            Elu(..) => "elu",
            Softplus { .. } => "softplus",
            Erf(_) => "erf",
            Gelu(_) => "gelu",
            GeluTanh(_) => "gelu_tanh",
        }
    }

    /// Whether the node is a leaf (no inputs): its gradient is kept by `backward`.
    pub fn is_leaf(&self) -> bool {
        matches!(self, Op::Constant | Op::Var | Op::Param(_))
    }
}

impl fmt::Display for Op {
    /// `name(#a, #b)` plus the op's settings, e.g. `sum(#3, axis=1)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ins: Vec<String> = self.inputs().iter().map(|i| format!("#{i}")).collect();
        write!(f, "{}({}", self.name(), ins.join(", "))?;
        match self {
            Op::Param(id) => write!(f, "p{}", id.0)?,
            Op::AddScalar(_, c) | Op::MulScalar(_, c) | Op::Powf(_, c) => write!(f, ", {c}")?,
            Op::LeakyRelu(_, s) => write!(f, ", slope={s}")?,
            Op::Sum { axis, .. } | Op::Mean { axis, .. } | Op::Max { axis, .. } => match axis {
                Some(a) => write!(f, ", axis={a}")?,
                None => write!(f, ", all")?,
            },
            Op::Permute(_, p) => write!(f, ", perm={p:?}")?,
            Op::Concat { axis, .. } | Op::Softmax { axis, .. } | Op::LogSoftmax { axis, .. } => {
                write!(f, ", axis={axis}")?
            }
            Op::IndexSelect { indices, .. } => write!(f, ", {} rows", indices.len())?,
            Op::Linear { act, .. } => write!(f, ", {act:?}")?,
            Op::MatmulT { ta, tb, .. } => write!(f, ", ta={ta}, tb={tb}")?,
            Op::Conv2d { geo, .. }
            | Op::Conv2dInputGrad { geo, .. }
            | Op::Conv2dWeightGrad { geo, .. } => write!(
                f,
                ", kernel={:?}, stride={:?}, padding={:?}, dilation={:?}, groups={}",
                geo.kernel, geo.stride, geo.padding, geo.dilation, geo.groups
            )?,
            Op::Clamp { lo, hi, .. } => {
                if let Some(lo) = lo {
                    write!(f, ", lo={lo}")?
                }
                if let Some(hi) = hi {
                    write!(f, ", hi={hi}")?
                }
            }
            Op::Min { axis, .. } | Op::LogSumExp { axis, .. } => match axis {
                Some(a) => write!(f, ", axis={a}")?,
                None => write!(f, ", all")?,
            },
            Op::Variance {
                axis, correction, ..
            }
            | Op::StdDev {
                axis, correction, ..
            } => {
                match axis {
                    Some(a) => write!(f, ", axis={a}")?,
                    None => write!(f, ", all")?,
                }
                write!(f, ", correction={correction}")?
            }
            Op::Narrow {
                axis, start, len, ..
            } => write!(f, ", axis={axis}, start={start}, len={len}")?,
            Op::NarrowBackward {
                axis, start, size, ..
            } => write!(f, ", axis={axis}, start={start}, size={size}")?,
            Op::Gather { axis, .. } | Op::ScatterAdd { axis, .. } => write!(f, ", axis={axis}")?,
            Op::MaxPool2d {
                kernel,
                stride,
                padding,
                ..
            }
            | Op::AvgPool2d {
                kernel,
                stride,
                padding,
                ..
            }
            | Op::AvgPool2dBackward {
                kernel,
                stride,
                padding,
                ..
            } => write!(
                f,
                ", kernel={kernel:?}, stride={stride:?}, padding={padding:?}"
            )?,
            Op::Elu(_, a) => write!(f, ", alpha={a}")?,
            Op::Softplus {
                beta, threshold, ..
            } => write!(f, ", beta={beta}, threshold={threshold}")?,
            _ => {}
        }
        write!(f, ")")
    }
}
