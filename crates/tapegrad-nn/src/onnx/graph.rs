//! [`OnnxGraph`]: the graph an export builds, one ONNX node at a time, with the shape of every
//! value it holds (the batch axis symbolic), so each layer checks its input as `forward` would.

use super::proto::{AttributeProto, AttributeType, DataType, NodeProto, TensorProto};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::ops::{Deref, DerefMut};
use tapegrad_core::{Array, Element, Error, Result};

/// The shape of a value in an [`OnnxGraph`]: `None` is the symbolic batch axis (`batch`, the
/// first axis of the model's input), `Some(n)` a fixed size.
pub type OnnxDims = Vec<Option<usize>>;

/// Prints dims as `[batch, 1, 28, 28]`.
pub(crate) fn show(dims: &[Option<usize>]) -> String {
    let v: Vec<String> = dims
        .iter()
        .map(|d| d.map_or("batch".to_string(), |n| n.to_string()))
        .collect();
    format!("[{}]", v.join(", "))
}

/// An attribute of an ONNX node, for [`OnnxGraph::node`].
#[derive(Clone, Debug, PartialEq)]
pub enum Attr {
    /// An integer attribute, e.g. `axis`.
    Int(&'static str, i64),
    /// A list of integers, e.g. `kernel_shape`.
    Ints(&'static str, Vec<i64>),
    /// A float attribute, e.g. `epsilon`.
    Float(&'static str, f32),
}

impl From<Attr> for AttributeProto {
    fn from(a: Attr) -> Self {
        let (name, ty) = match &a {
            Attr::Int(n, _) => (*n, AttributeType::Int),
            Attr::Ints(n, _) => (*n, AttributeType::Ints),
            Attr::Float(n, _) => (*n, AttributeType::Float),
        };
        let mut p = AttributeProto {
            name: Some(name.to_string()),
            r#type: Some(ty as i32),
            ..Default::default()
        };
        match a {
            Attr::Int(_, v) => p.i = Some(v),
            Attr::Ints(_, v) => p.ints = v,
            Attr::Float(_, v) => p.f = Some(v),
        }
        p
    }
}

/// A size as an ONNX `int64`.
pub(crate) fn i64_of(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The graph of an ONNX export under construction: nodes, initializers (the weights, as
/// `FLOAT`), and the shape of every value, by name.
///
/// [`Module::export_onnx`](crate::Module::export_onnx) receives it with the name of its input
/// value and adds the nodes of its computation: weights with [`OnnxGraph::initializer`] (named
/// by the module's place in the model, as its parameters: `encoder.0.weight`), operators with
/// [`OnnxGraph::node`]. A container enters each child's scope with [`OnnxGraph::child`].
///
/// ```
/// use tapegrad_core::{Array, Result};
/// use tapegrad_nn::onnx::{self, OnnxGraph};
/// use tapegrad_nn::{Module, ParamPath};
/// use tapegrad_core::{Param, Tensor};
///
/// /// y = a·x, elementwise, with one learned scale per feature.
/// struct Scale {
///     a: Param<f32>,
/// }
///
/// impl Module<f32> for Scale {
///     fn forward<'t>(&self, x: Tensor<'t, f32>) -> Result<Tensor<'t, f32>> {
///         x.mul(x.tape().param(&self.a))
///     }
///     fn export_onnx(&self, g: &mut OnnxGraph, x: &str) -> Result<String> {
///         let dims = g.dims(x)?.to_vec();
///         let a = g.initializer("a", self.a.value());
///         g.node("Mul", &[x, &a], vec![], dims)
///     }
///     fn visit<'a>(&'a self, path: &mut ParamPath, f: &mut dyn FnMut(&ParamPath, &'a Param<f32>)) {
///         path.child("a", |p| f(p, &self.a));
///     }
///     fn visit_mut<'a>(
///         &'a mut self,
///         path: &mut ParamPath,
///         f: &mut dyn FnMut(&ParamPath, &'a mut Param<f32>),
///     ) {
///         path.child("a", |p| f(p, &mut self.a));
///     }
/// }
///
/// # fn main() -> Result<()> {
/// let m = Scale { a: Param::new(Array::from_vec(vec![2.0, 3.0], [2])?) };
/// let model = onnx::to_model(&m, &[2])?;
/// let graph = model.graph.unwrap();
/// assert_eq!(graph.node[0].op_type.as_deref(), Some("Mul"));
/// assert_eq!(graph.initializer[0].name.as_deref(), Some("a"));
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct OnnxGraph {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    dims: HashMap<String, OnnxDims>,
    taken: HashSet<String>,
    scope: Vec<String>,
    counter: usize,
}

impl OnnxGraph {
    /// A graph whose one input is `input`, of shape `dims`, and whose output will be named
    /// `output` (both names reserved).
    pub(crate) fn new(input: &str, dims: OnnxDims, output: &str) -> Self {
        let mut g = OnnxGraph::default();
        g.taken.insert(input.to_string());
        g.taken.insert(output.to_string());
        g.dims.insert(input.to_string(), dims);
        g
    }

    /// The shape of the value `name`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the graph has no value of that name (a module's bug).
    #[track_caller]
    pub fn dims(&self, name: &str) -> Result<&[Option<usize>]> {
        self.dims.get(name).map(Vec::as_slice).ok_or_else(|| {
            Error::invalid(
                "onnx export",
                format!("the graph has no value named `{name}`"),
            )
        })
    }

    /// Where the module being exported stands in the model, as a dotted path (`encoder.0`;
    /// empty at the top).
    pub fn scope(&self) -> String {
        self.scope.join(".")
    }

    /// Enters the scope of the child `segment` (its position or role in its container, as in
    /// [`ParamPath::child`](crate::ParamPath::child)) for as long as the returned guard lives:
    /// `child.export_onnx(&mut g.child(i), x)`.
    pub fn child(&mut self, segment: impl fmt::Display) -> ChildScope<'_> {
        self.scope.push(segment.to_string());
        ChildScope { graph: self }
    }

    /// `name` under the current scope (`encoder.0.weight`), made unique with a suffix if an
    /// earlier value took it.
    fn scoped_unique(&mut self, name: &str) -> String {
        let base = if self.scope.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.scope())
        };
        let mut full = base.clone();
        let mut k = 1;
        while self.taken.contains(&full) {
            full = format!("{base}_{k}");
            k += 1;
        }
        self.taken.insert(full.clone());
        full
    }

    /// Adds `value` as a `FLOAT` initializer (an `f64` array is rounded to `f32`) named `name`
    /// under the current scope (`weight` in scope `0` is `0.weight`, the parameter's name), and
    /// returns its full name.
    pub fn initializer<T: Element>(&mut self, name: &str, value: &Array<T>) -> String {
        let raw: Vec<u8> = value
            .data()
            .iter()
            .flat_map(|v| (v.as_f64() as f32).to_le_bytes())
            .collect();
        self.push_initializer(name, value.dims(), DataType::Float, raw)
    }

    /// Adds a `FLOAT` constant of shape `dims` (`&[]` for a scalar) named `name` under the
    /// current scope and returns its full name.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `values` does not fill `dims`.
    #[track_caller]
    pub fn constant(&mut self, name: &str, values: &[f32], dims: &[usize]) -> Result<String> {
        if values.len() != dims.iter().product::<usize>() {
            return Err(Error::invalid(
                "onnx export",
                format!(
                    "constant `{name}`: {} values cannot fill shape {dims:?}",
                    values.len()
                ),
            ));
        }
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        Ok(self.push_initializer(name, dims, DataType::Float, raw))
    }

    fn push_initializer(
        &mut self,
        name: &str,
        dims: &[usize],
        ty: DataType,
        raw: Vec<u8>,
    ) -> String {
        let full = self.scoped_unique(name);
        self.initializers.push(TensorProto {
            dims: dims.iter().map(|&d| i64_of(d)).collect(),
            data_type: Some(ty as i32),
            name: Some(full.clone()),
            raw_data: Some(raw),
            ..Default::default()
        });
        self.dims
            .insert(full.clone(), dims.iter().map(|&d| Some(d)).collect());
        full
    }

    /// Adds a node of the operator `op` (an ONNX operator of the default domain, opset
    /// [`OPSET`](super::OPSET)) reading `inputs`, with `attrs`, whose one output has the shape
    /// `dims`; returns the output's name (unique, named after the scope and the operator).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when an input is not a value of the graph (a module's bug).
    #[track_caller]
    pub fn node(
        &mut self,
        op: &str,
        inputs: &[&str],
        attrs: Vec<Attr>,
        dims: OnnxDims,
    ) -> Result<String> {
        for i in inputs {
            self.dims(i)?;
        }
        let scope = self.scope();
        let base = if scope.is_empty() {
            op.to_string()
        } else {
            format!("{scope}/{op}")
        };
        let mut out = format!("{base}_{}", self.counter);
        while self.taken.contains(&out) {
            self.counter += 1;
            out = format!("{base}_{}", self.counter);
        }
        self.counter += 1;
        self.taken.insert(out.clone());
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.clone()],
            name: Some(out.clone()),
            op_type: Some(op.to_string()),
            attribute: attrs.into_iter().map(Into::into).collect(),
            ..Default::default()
        });
        self.dims.insert(out.clone(), dims);
        Ok(out)
    }

    /// The error of a module that cannot take the value `x`: names the module (`module`, its
    /// [`describe`](crate::Module::describe)), the value's shape and what it needs (`want`).
    #[track_caller]
    pub fn input_error(&self, module: &str, x: &str, want: impl fmt::Display) -> Error {
        let shape = self.dims.get(x).map_or("?".to_string(), |d| show(d));
        let first = module.lines().next().unwrap_or_default();
        Error::invalid(
            "onnx export",
            format!("{first} cannot take an input of shape {shape}: {want}"),
        )
    }

    /// Names the value `last` `output` (the graph's output), and hands back the nodes and
    /// initializers with the output's shape.
    pub(crate) fn finish(
        mut self,
        input: &str,
        last: &str,
        output: &str,
    ) -> (Vec<NodeProto>, Vec<TensorProto>, OnnxDims) {
        let dims = self.dims.get(last).cloned().unwrap_or_default();
        let produced = self
            .nodes
            .iter()
            .any(|n| n.output.iter().any(|o| o == last));
        if last == input || !produced {
            // the model computes nothing (or returns a constant): one Identity node
            self.nodes.push(NodeProto {
                input: vec![last.to_string()],
                output: vec![output.to_string()],
                name: Some(output.to_string()),
                op_type: Some("Identity".to_string()),
                ..Default::default()
            });
        } else {
            for n in &mut self.nodes {
                for v in n.input.iter_mut().chain(n.output.iter_mut()) {
                    if v == last {
                        *v = output.to_string();
                    }
                }
            }
        }
        (self.nodes, self.initializers, dims)
    }
}

/// The scope of a child module inside an [`OnnxGraph`] (from [`OnnxGraph::child`]): derefs to
/// the graph, and leaves the scope when dropped.
#[derive(Debug)]
pub struct ChildScope<'g> {
    graph: &'g mut OnnxGraph,
}

impl Deref for ChildScope<'_> {
    type Target = OnnxGraph;
    fn deref(&self) -> &OnnxGraph {
        self.graph
    }
}

impl DerefMut for ChildScope<'_> {
    fn deref_mut(&mut self) -> &mut OnnxGraph {
        self.graph
    }
}

impl Drop for ChildScope<'_> {
    fn drop(&mut self) {
        self.graph.scope.pop();
    }
}
