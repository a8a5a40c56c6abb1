//! The one error type of tapegrad. Every shape error names the op, the shapes, and the line
//! of the caller's code that asked for the op.

use crate::shape::Shape;
use std::panic::Location;
use std::path::PathBuf;

/// A `Result` whose error is tapegrad's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in tapegrad, from a shape mismatch to a broken data file.
///
/// `Debug` prints the same one-line message as `Display` (then the chain of causes), so
/// `fn main() -> tapegrad::Result<()>` shows the user the message, not a struct dump:
///
/// ```
/// use tapegrad_core::{Array, Error};
/// let e = Array::<f32>::from_vec(vec![1.0; 5], [2, 3]).unwrap_err();
/// assert_eq!(format!("{e:?}"), e.to_string());
/// assert!(e.to_string().starts_with("from_vec: 5 values cannot fill shape [2, 3]"));
/// ```
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two shapes that an op cannot combine, e.g.
    /// `matmul: [2, 3] x [4, 5]: inner dims 3 and 4 differ (at src/main.rs:7:13)`.
    #[error("{op}: {lhs} {} {rhs}: {reason} (at {location})", if *op == "matmul" { "x" } else { "and" })]
    Shape {
        /// The operation that was asked for.
        op: &'static str,
        /// The left (or only) input's shape.
        lhs: Shape,
        /// The right input's shape, or the shape that was asked for.
        rhs: Shape,
        /// What is wrong with them.
        reason: String,
        /// The caller's code that asked for the op.
        location: &'static Location<'static>,
    },
    /// An axis that the input does not have.
    #[error("{op}: axis {axis} is out of range for shape {shape} (rank {}) (at {location})", shape.rank())]
    AxisOutOfRange {
        /// The operation.
        op: &'static str,
        /// The axis asked for.
        axis: isize,
        /// The input's shape.
        shape: Shape,
        /// The caller's code.
        location: &'static Location<'static>,
    },
    /// `backward` was called on a tensor with more than one element.
    #[error("backward: the output must be a scalar (one element), got shape {shape}; reduce it first, e.g. with .sum() or .mean() (at {location})")]
    NotScalar {
        /// The tensor's shape.
        shape: Shape,
        /// The caller's code.
        location: &'static Location<'static>,
    },
    /// Two tensors recorded on different tapes were combined.
    #[error("{op}: the tensors come from two different tapes; record every tensor of one computation on one tape (at {location})")]
    TapeMismatch {
        /// The operation.
        op: &'static str,
        /// The caller's code.
        location: &'static Location<'static>,
    },
    /// A data vector whose length does not fill the shape.
    #[error("{op}: {len} values cannot fill shape {shape}, which holds {} (at {location})", shape.numel())]
    DataLength {
        /// The operation (`from_vec`, `reshape`, ...).
        op: &'static str,
        /// How many values were given.
        len: usize,
        /// The shape asked for.
        shape: Shape,
        /// The caller's code.
        location: &'static Location<'static>,
    },
    /// Any other argument an op cannot accept (an index out of range, a bad permutation, ...).
    #[error("{op}: {message} (at {location})")]
    InvalidArgument {
        /// The operation.
        op: &'static str,
        /// What is wrong.
        message: String,
        /// The caller's code.
        location: &'static Location<'static>,
    },
    /// A NaN or infinite value where a finite one is needed (e.g. a training loss).
    #[error("{what}: value is {value} (not finite)")]
    NonFinite {
        /// Where it was seen, e.g. `loss at epoch 3, step 17`.
        what: String,
        /// The value.
        value: f64,
    },
    /// Anomaly mode ([`Tape::set_detect_anomaly`](crate::Tape::set_detect_anomaly)) found a
    /// NaN or infinity: in the value a node computed (forward) or in the gradient a node's
    /// rule sent to its inputs (backward), e.g.
    /// `anomaly in the forward pass: node #1 log(inputs [2]) gave NaN (at src/main.rs:7:13)`.
    #[error(
        "anomaly in the {phase} pass: node #{node} {op}(inputs {}) gave {value} (at {location})",
        fmt_shapes(input_shapes)
    )]
    Anomaly {
        /// The node's id on its tape.
        node: usize,
        /// The node's op.
        op: &'static str,
        /// The shapes of the node's inputs.
        input_shapes: Vec<Shape>,
        /// Whether the value was the node's output or a gradient it passed on.
        phase: AnomalyPhase,
        /// The first non-finite element found.
        value: f64,
        /// The caller's code: the line of the op's call (forward), or of the `backward` /
        /// `grad` call (backward).
        location: &'static Location<'static>,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// An operating-system I/O error with no file to name (e.g. from a user's own
    /// `std::io` call in a function that returns [`Result`]); tapegrad's own readers and
    /// writers use [`Error::Io`], which names the file.
    #[error("I/O error: {0}")]
    IoOther(#[from] std::io::Error),
    /// A file whose content is not what it should be.
    #[error("{path}: {}{message}", match offset { Some(o) => format!("at byte {o}: "), None => String::new() })]
    Format {
        /// The file.
        path: PathBuf,
        /// The byte offset where the problem was found, when known.
        offset: Option<u64>,
        /// What is wrong.
        message: String,
    },
}

/// Which pass of the computation an [`Error::Anomaly`] was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnomalyPhase {
    /// A node's own value, as it was recorded.
    Forward,
    /// A gradient a node's rule passed on to one of its inputs.
    Backward,
}

impl std::fmt::Display for AnomalyPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            AnomalyPhase::Forward => "forward",
            AnomalyPhase::Backward => "backward",
        })
    }
}

fn fmt_shapes(shapes: &[Shape]) -> String {
    let v: Vec<String> = shapes.iter().map(|s| s.to_string()).collect();
    v.join(", ")
}

impl Error {
    /// Builds an [`Error::InvalidArgument`] located at the caller.
    #[track_caller]
    pub fn invalid(op: &'static str, message: impl Into<String>) -> Self {
        Error::InvalidArgument {
            op,
            message: message.into(),
            location: Location::caller(),
        }
    }

    /// Builds an [`Error::Shape`] located at the caller.
    #[track_caller]
    pub fn shape(op: &'static str, lhs: &Shape, rhs: &Shape, reason: impl Into<String>) -> Self {
        Error::Shape {
            op,
            lhs: lhs.clone(),
            rhs: rhs.clone(),
            reason: reason.into(),
            location: Location::caller(),
        }
    }
}

impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")?;
        let mut cause = std::error::Error::source(self);
        // Io's source is already in its message; name deeper causes only
        if matches!(self, Error::Io { .. } | Error::IoOther(_)) {
            cause = cause.and_then(std::error::Error::source);
        }
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}
