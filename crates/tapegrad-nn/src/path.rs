//! [`ParamPath`]: where a parameter visit stands (`encoder.2.weight`), as a stack of
//! [`Segment`]s that containers and layers push and pop, formatted only when a name is needed.

use smallvec::SmallVec;
use std::fmt;

/// One step of a [`ParamPath`]: a child's or a parameter's name (`encoder`, `weight`), or a
/// child's position (`2`, as [`Sequential`](crate::Sequential) numbers its layers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A name.
    Name(&'static str),
    /// A position.
    Index(usize),
}

impl From<&'static str> for Segment {
    fn from(name: &'static str) -> Self {
        Segment::Name(name)
    }
}

impl From<usize> for Segment {
    fn from(i: usize) -> Self {
        Segment::Index(i)
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Segment::Name(n) => f.write_str(n),
            Segment::Index(i) => write!(f, "{i}"),
        }
    }
}

/// The dotted path of a parameter from the top module, torch-style (`encoder.2.weight`),
/// built once per visit: a container pushes its child's segment around the child's visit, a
/// layer its parameter's name around the callback ([`ParamPath::child`] does both), and
/// nothing is formatted or allocated (up to 8 levels deep) until a name is asked for with
/// `to_string()`. [`Module::visit`](crate::Module::visit) hands it to its callback with every
/// parameter.
///
/// ```
/// use tapegrad_nn::{ParamPath, Segment};
/// let mut path = ParamPath::new();
/// path.child("encoder", |p| {
///     p.child(2, |p| {
///         assert_eq!(p.to_string(), "encoder.2");
///         p.child("weight", |p| assert_eq!(p.to_string(), "encoder.2.weight"));
///     })
/// });
/// assert!(path.is_empty()); // every child() pops what it pushed
/// let top = ParamPath::new();
/// assert_eq!(top.to_string(), "");
/// # let _ = Segment::Index(0);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ParamPath {
    segments: SmallVec<[Segment; 8]>,
}

impl ParamPath {
    /// The empty path: the top module.
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls `f` with this path extended by `segment`, then takes the segment off again.
    pub fn child<R>(
        &mut self,
        segment: impl Into<Segment>,
        f: impl FnOnce(&mut ParamPath) -> R,
    ) -> R {
        self.segments.push(segment.into());
        let r = f(self);
        self.segments.pop();
        r
    }

    /// The segments, from the top module down.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Whether this is the top module's path (no segment).
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }
}

impl fmt::Display for ParamPath {
    /// The segments joined by dots (`encoder.2.weight`); the empty path prints nothing.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.segments.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            write!(f, "{s}")?;
        }
        Ok(())
    }
}
