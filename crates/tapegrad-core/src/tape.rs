//! The tape (a Wengert list) and the `Tensor` handle.
//!
//! Nodes are appended in execution order, so the reverse of that order is a valid
//! topological order for backward: no graph search is needed. A [`Tensor`] is a small `Copy`
//! handle (a reference to its tape and a node id); [`Tape::reset`] takes `&mut self`, so it
//! cannot compile while any handle to the tape is alive.

use crate::array::Array;
use crate::element::Element;
use crate::error::{AnomalyPhase, Error, Result};
use crate::gradients::{BoundParams, Gradients};
use crate::op::{NodeId, Op, ParamId};
use crate::param::Param;
use crate::shape::Shape;
use std::cell::{Cell, OnceCell, Ref, RefCell};
use std::fmt;
use std::ops::Deref;
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

static NEXT_TAPE: AtomicU64 = AtomicU64::new(1);

/// A node's value: computed by its op, shared with a [`Param`] (no copy), or a product
/// computed when first read.
pub(crate) enum Value<T: Element> {
    Owned(Array<T>),
    Shared(Arc<Array<T>>),
    Lazy(Box<LazyProduct<T>>),
}

impl<T: Element> Value<T> {
    /// The value's shape, without computing a lazy product.
    pub(crate) fn shape(&self) -> &Shape {
        match self {
            Value::Owned(a) => a.shape(),
            Value::Shared(a) => a.shape(),
            Value::Lazy(l) => &l.shape,
        }
    }
}

impl<T: Element> Deref for Value<T> {
    type Target = Array<T>;
    fn deref(&self) -> &Array<T> {
        match self {
            Value::Owned(a) => a,
            Value::Shared(a) => a,
            Value::Lazy(l) => l.get(),
        }
    }
}

/// A 2-D product `op(a)·op(b)` recorded without being computed, then computed once, when
/// something first reads it. `hvp`'s first reverse pass records its products this way: the
/// gradients it returns are only seeds of the second pass, which needs their graph but (for a
/// product) not their values, so the largest one, `∂L/∂W` of the first layer, is never
/// computed. Everything else reads the value as usual and computes it then.
pub(crate) struct LazyProduct<T: Element> {
    value: OnceCell<Array<T>>,
    shape: Shape,
    a: Arc<Array<T>>,
    b: Arc<Array<T>>,
    ta: bool,
    tb: bool,
}

impl<T: Element> LazyProduct<T> {
    pub(crate) fn new(a: Arc<Array<T>>, b: Arc<Array<T>>, ta: bool, tb: bool) -> Self {
        let m = a.dims()[usize::from(ta)];
        let n = b.dims()[usize::from(!tb)];
        LazyProduct {
            value: OnceCell::new(),
            shape: Shape::new(&[m, n]),
            a,
            b,
            ta,
            tb,
        }
    }

    fn get(&self) -> &Array<T> {
        self.value
            .get_or_init(|| crate::ops::product_t(&self.a, &self.b, self.ta, self.tb))
    }

    fn into_array(self) -> Array<T> {
        match self.value.into_inner() {
            Some(a) => a,
            None => crate::ops::product_t(&self.a, &self.b, self.ta, self.tb),
        }
    }
}

/// One recorded operation: what it was, what it produced, whether a gradient flows to it.
pub(crate) struct Node<T: Element> {
    pub op: Op,
    pub value: Value<T>,
    pub requires_grad: bool,
}

/// The record of one computation. Ops on [`Tensor`]s append nodes to it; `backward` walks it
/// in reverse.
///
/// ```
/// use tapegrad_core::{Array, Tape};
/// # fn main() -> tapegrad_core::Result<()> {
/// let tape = Tape::<f64>::new();
/// let x = tape.var(Array::from_vec(vec![1.0, 2.0, 3.0], [3])?);
/// let y = (x * x).sum(); // y = Σ x²
/// let grads = y.backward()?;
/// assert_eq!(grads.get(x).unwrap().data(), &[2.0, 4.0, 6.0]); // dy/dx = 2x
/// println!("{tape}"); // one line per node
/// # Ok(()) }
/// ```
///
/// # Threads
/// A tape is `Send` but not `Sync`: it can move to another thread, but one thread at a time
/// records on it (its nodes sit in a `RefCell`), and a [`Tensor`] (which borrows the tape)
/// stays on that thread. To train on several threads, give each its own tape; the
/// [`Param`]s, [`Array`]s and [`Gradients`](crate::Gradients) they share are `Send + Sync`.
pub struct Tape<T: Element> {
    pub(crate) nodes: RefCell<Vec<Node<T>>>,
    /// every binding of a parameter, in binding order (a parameter changed since its last
    /// binding is bound again: see [`Tape::param`])
    params: RefCell<Vec<(ParamId, NodeId)>>,
    /// whether some parameter has been bound more than once since the last reset
    rebound: Cell<bool>,
    /// while set, `matmul_t` records lazy products (`hvp`'s first reverse pass)
    pub(crate) lazy_products: Cell<bool>,
    /// backward's per-node gradient slots, kept between steps
    pub(crate) scratch: RefCell<Vec<Option<Array<T>>>>,
    /// index vectors of the ops that hold one (targets, picked rows, concat inputs), kept
    indices: RefCell<Vec<Vec<usize>>>,
    uid: u64,
    generation: Cell<u64>,
    /// false inside [`Tape::no_grad`]: recorded ops then need no gradient
    grad_enabled: Cell<bool>,
    /// anomaly mode: check every recorded value and every gradient for NaN/Inf
    detect_anomaly: Cell<bool>,
    /// the first forward anomaly, kept until a fallible call returns it
    anomaly: RefCell<Option<Error>>,
}

impl<T: Element> Default for Tape<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Element> Tape<T> {
    /// An empty tape.
    pub fn new() -> Self {
        Tape {
            nodes: RefCell::new(Vec::new()),
            params: RefCell::new(Vec::new()),
            rebound: Cell::new(false),
            lazy_products: Cell::new(false),
            scratch: RefCell::new(Vec::new()),
            indices: RefCell::new(Vec::new()),
            uid: NEXT_TAPE.fetch_add(1, Ordering::Relaxed),
            generation: Cell::new(0),
            grad_enabled: Cell::new(true),
            detect_anomaly: Cell::new(false),
            anomaly: RefCell::new(None),
        }
    }

    /// Turns anomaly mode on or off (off by default), as `torch.autograd.detect_anomaly`.
    ///
    /// When on, every value an op records is checked for NaN and infinity. Most ops return a
    /// [`Tensor`], not a [`Result`], so the first anomaly found is kept on the tape and
    /// returned as [`Error::Anomaly`] (phase forward, naming the node, its op, its inputs'
    /// shapes and the line of the op's call) by the next [`Tensor::backward`],
    /// [`Tensor::backward_trace`], [`grad`](crate::grad) or [`Tape::check_anomaly`]. Every
    /// gradient `backward` and `grad` pass on is checked too: the first non-finite one is an
    /// [`Error::Anomaly`] of phase backward naming the node whose rule produced it and the
    /// line of the `backward` / `grad` call. Leaves ([`Tape::var`], [`Tape::constant`],
    /// [`Tape::param`]) are not checked: they are data, not computation.
    ///
    /// When off, recording costs one extra `Cell<bool>` read per op.
    ///
    /// ```
    /// use tapegrad_core::{Array, Error, Tape};
    /// let tape = Tape::<f64>::new();
    /// tape.set_detect_anomaly(true);
    /// let x = tape.var(Array::from_vec(vec![1.0, -1.0], [2]).unwrap());
    /// let y = x.log().sum(); // log(-1) = NaN
    /// let e = y.backward().expect_err("log(-1) is NaN");
    /// assert!(matches!(e, Error::Anomaly { node: 1, op: "log", .. }));
    /// assert!(e.to_string().starts_with("anomaly in the forward pass: node #1 log(inputs [2]) gave NaN"));
    /// ```
    pub fn set_detect_anomaly(&self, on: bool) {
        self.detect_anomaly.set(on);
    }

    /// Whether anomaly mode is on (see [`Tape::set_detect_anomaly`]).
    pub fn detect_anomaly(&self) -> bool {
        self.detect_anomaly.get()
    }

    /// Returns (and clears) the first forward anomaly found since the last check, if any.
    ///
    /// # Errors
    /// [`Error::Anomaly`] when anomaly mode found a NaN or infinity in a recorded value.
    pub fn check_anomaly(&self) -> Result<()> {
        match self.anomaly.borrow_mut().take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Whether a forward anomaly is waiting to be returned.
    pub(crate) fn has_anomaly(&self) -> bool {
        self.anomaly.borrow().is_some()
    }

    /// The anomaly error for node `id`'s op when `value` holds a NaN or infinity.
    pub(crate) fn anomaly_in(
        &self,
        id: NodeId,
        value: &Array<T>,
        phase: AnomalyPhase,
        location: &'static Location<'static>,
    ) -> Option<Error> {
        let bad = value.data().iter().find(|v| !v.is_finite())?;
        Some(self.anomaly_at(id, bad.as_f64(), phase, location))
    }

    /// The anomaly error for node `id`'s op, having found the non-finite `value`.
    pub(crate) fn anomaly_at(
        &self,
        id: NodeId,
        value: f64,
        phase: AnomalyPhase,
        location: &'static Location<'static>,
    ) -> Error {
        let nodes = self.nodes.borrow();
        let op = &nodes[id].op;
        Error::Anomaly {
            node: id,
            op: op.name(),
            input_shapes: op
                .inputs()
                .iter()
                .map(|&i| nodes[i].value.shape().clone())
                .collect(),
            phase,
            value,
            location,
        }
    }

    /// Runs `f` with gradient recording off (PyTorch's `with torch.no_grad():`) and returns
    /// its value. Ops inside compute their values as usual, but the nodes they record need no
    /// gradient, so `backward` and [`grad`](crate::grad) see no path through them. Leaves
    /// ([`Tape::var`], [`Tape::param`]) still need a gradient. The previous state is restored
    /// afterwards, also when `f` panics, so calls nest.
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(Array::from_vec(vec![1.0, 2.0], [2])?);
    /// let y = tape.no_grad(|| (x * x).sum());
    /// assert_eq!(y.item()?, 5.0); // the value is computed
    /// assert!(!y.requires_grad()); // but no gradient flows through it
    /// assert!(y.backward()?.get(x).is_none());
    /// assert!(tape.is_grad_enabled()); // restored
    /// # Ok(()) }
    /// ```
    pub fn no_grad<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.no_grad_guard();
        f()
    }

    /// Turns gradient recording off until the returned guard is dropped, which restores the
    /// previous state (so guards nest). The guard form of [`Tape::no_grad`].
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// let tape = Tape::<f32>::new();
    /// let x = tape.var(Array::from_vec(vec![3.0], [1]).unwrap());
    /// {
    ///     let _g = tape.no_grad_guard();
    ///     assert!(!tape.is_grad_enabled());
    ///     assert!(!(x * x).requires_grad());
    /// }
    /// assert!((x * x).requires_grad());
    /// ```
    pub fn no_grad_guard(&self) -> NoGradGuard<'_, T> {
        let prev = self.grad_enabled.replace(false);
        NoGradGuard { tape: self, prev }
    }

    /// Whether ops record gradient bookkeeping: false inside [`Tape::no_grad`] or while a
    /// [`NoGradGuard`] lives, true otherwise.
    pub fn is_grad_enabled(&self) -> bool {
        self.grad_enabled.get()
    }

    /// Empties the tape for the next step, keeping its allocations. Every [`Tensor`] of the
    /// tape must be gone (the borrow checker enforces it), and [`Gradients`](crate::Gradients)
    /// computed before no longer answer for tensors.
    pub fn reset(&mut self) {
        // values go back to the buffer pool as they drop; index vectors are kept here
        let indices = self.indices.get_mut();
        for node in self.nodes.get_mut().drain(..) {
            match node.op {
                Op::CrossEntropy { targets: v, .. }
                | Op::IndexSelect { indices: v, .. }
                | Op::Concat { xs: v, .. }
                    if indices.len() < 64 =>
                {
                    indices.push(v)
                }
                _ => {}
            }
        }
        self.params.get_mut().clear();
        self.rebound.set(false);
        *self.anomaly.get_mut() = None;
        self.generation.set(self.generation.get() + 1);
    }

    /// One gradient step's tape work as one call (JAX's `value_and_grad`): records `f` on the
    /// emptied tape, runs backward from the scalar it returns, empties the tape again, and
    /// returns the scalar's value and the gradients. Since the tape is empty before and after,
    /// and no handle of it can outlive the call, the parameters' next update happens in place
    /// and the next step binds their new values: the record / backward / reset sequence of a
    /// training step cannot be done out of order. The tape is emptied on error too.
    ///
    /// ```
    /// use tapegrad_core::{Array, Param, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// // fit w to minimise (w - 5)², by hand-written gradient descent
    /// let mut w = Param::new(Array::<f64>::from_vec(vec![1.0], [1])?);
    /// let five = Array::from_vec(vec![5.0], [1])?;
    /// let mut tape = Tape::new();
    /// for _ in 0..50 {
    ///     let (_loss, grads) =
    ///         tape.value_and_grad(|tape| Ok((tape.param(&w) - tape.constant(five.clone())).square().sum()))?;
    ///     let g = grads.param(&w).unwrap().data()[0];
    ///     w.value_mut().data_mut()[0] -= 0.1 * g; // in place: the tape is empty
    /// }
    /// assert!((w.value().data()[0] - 5.0).abs() < 1e-4);
    /// assert!(tape.is_empty());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Those of `f`; those of [`Tensor::backward`] ([`Error::NotScalar`] when `f`'s result
    /// has more than one element; anomalies in anomaly mode).
    #[track_caller]
    pub fn value_and_grad<F>(&mut self, f: F) -> Result<(T, Gradients<T>)>
    where
        F: for<'a> FnOnce(&'a Tape<T>) -> Result<Tensor<'a, T>>,
    {
        self.reset();
        let out = record_backward(self, f);
        self.reset();
        out
    }

    /// The number of recorded nodes.
    pub fn len(&self) -> usize {
        self.nodes.borrow().len()
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records data that needs no gradient (inputs, targets).
    pub fn constant(&self, value: Array<T>) -> Tensor<'_, T> {
        self.push(Op::Constant, Value::Owned(value), false)
    }

    /// Records data that needs no gradient, shared with the caller instead of moved in: no
    /// copy, so an array used at every step (a staged batch, a fixed direction) is recorded
    /// for the cost of a reference count.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tapegrad_core::{Array, Tape};
    /// let batch = Arc::new(Array::<f32>::ones([2, 3]));
    /// let mut tape = Tape::new();
    /// for _ in 0..3 {
    ///     let x = tape.constant_shared(Arc::clone(&batch));
    ///     assert_eq!(x.shape().dims(), &[2, 3]);
    ///     tape.reset();
    /// }
    /// ```
    pub fn constant_shared(&self, value: Arc<Array<T>>) -> Tensor<'_, T> {
        self.push(Op::Constant, Value::Shared(value), false)
    }

    /// Records data whose gradient `backward` should compute (a leaf variable).
    pub fn var(&self, value: Array<T>) -> Tensor<'_, T> {
        self.push(Op::Var, Value::Owned(value), true)
    }

    /// Binds a model parameter for this computation, without copying its data. Binding the
    /// same parameter twice gives the same node, so tied weights sum their gradients.
    ///
    /// **Rebinding.** A tape never reads a stale parameter: if the parameter's value changed
    /// since its last binding on this tape ([`Param::value_mut`], [`Param::set`], an
    /// optimizer's step, a load), this binds it again as a new leaf holding the new value.
    /// What was recorded with the old binding keeps the old value (it was copied on write),
    /// so it stays exact. [`Gradients::param`](crate::Gradients::param) then gives the sum of
    /// the gradients of every binding of the parameter the output depends on, as PyTorch's
    /// `.grad` sums the contributions of every use of a leaf: a loss recorded after the update
    /// gets its gradient at the new value. The check compares two pointers; nothing is copied.
    ///
    /// ```
    /// use tapegrad_core::{Array, Param, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let mut w = Param::new(Array::<f64>::from_vec(vec![3.0], [1])?);
    /// let tape = Tape::new();
    /// let before = tape.param(&w);
    /// w.set(Array::from_vec(vec![2.0], [1])?)?; // changed while bound
    /// let after = tape.param(&w); // bound again, with the new value
    /// assert_ne!(before.id(), after.id());
    /// assert_eq!((before.item()?, after.item()?), (3.0, 2.0));
    /// let grads = after.square().sum().backward()?;
    /// assert_eq!(grads.param(&w).unwrap().data(), &[4.0]); // 2w at w = 2
    /// # Ok(()) }
    /// ```
    pub fn param(&self, p: &Param<T>) -> Tensor<'_, T> {
        let last = self
            .params
            .borrow()
            .iter()
            .rev()
            .find(|(pid, _)| *pid == p.id())
            .map(|&(_, id)| id);
        if let Some(id) = last {
            let current = match &self.nodes.borrow()[id].value {
                Value::Shared(a) => p.is(a),
                Value::Owned(_) | Value::Lazy(_) => false,
            };
            if current {
                return Tensor { tape: self, id };
            }
            self.rebound.set(true);
        }
        let t = self.push(Op::Param(p.id()), Value::Shared(p.shared()), true);
        self.params.borrow_mut().push((p.id(), t.id));
        t
    }

    /// Every binding of a parameter on the tape, with its node id.
    pub(crate) fn bound_params(&self) -> BoundParams {
        BoundParams {
            list: self.params.borrow().iter().copied().collect(),
            rebound: self.rebound.get(),
        }
    }

    /// A copy of `src` in a kept index vector (no allocation in a steady training loop).
    pub(crate) fn index_vec(&self, src: impl IntoIterator<Item = usize>) -> Vec<usize> {
        let mut v = self.indices.borrow_mut().pop().unwrap_or_default();
        v.clear();
        v.extend(src);
        v
    }

    pub(crate) fn push(&self, op: Op, value: Value<T>, requires_grad: bool) -> Tensor<'_, T> {
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(Node {
            op,
            value,
            requires_grad,
        });
        Tensor {
            tape: self,
            id: nodes.len() - 1,
        }
    }

    pub(crate) fn uid(&self) -> (u64, u64) {
        (self.uid, self.generation.get())
    }

    /// The tape as a Graphviz DOT graph: one box per node (id, op, shape), an arrow per input.
    /// Render it with `dot -Tpng tape.dot -o tape.png`.
    pub fn to_dot(&self) -> String {
        let nodes = self.nodes.borrow();
        let mut s = String::from(
            "digraph tape {\n  rankdir=LR;\n  node [shape=box, fontname=monospace];\n",
        );
        for (id, n) in nodes.iter().enumerate() {
            let style = match n.op {
                Op::Constant => ", style=dashed",
                Op::Var | Op::Param(_) => ", style=bold",
                _ => "",
            };
            s += &format!(
                "  n{id} [label=\"#{id} {}\\n{}\"{style}];\n",
                n.op.name(),
                n.value.shape()
            );
            for i in n.op.inputs() {
                s += &format!("  n{i} -> n{id};\n");
            }
        }
        s + "}\n"
    }
}

/// [`Tape::value_and_grad`]'s recording and backward (errors located at its caller).
#[track_caller]
fn record_backward<'a, T: Element>(
    tape: &'a Tape<T>,
    f: impl FnOnce(&'a Tape<T>) -> Result<Tensor<'a, T>>,
) -> Result<(T, Gradients<T>)> {
    let y = f(tape)?;
    let grads = y.backward()?;
    Ok((y.item()?, grads))
}

impl<T: Element> fmt::Display for Tape<T> {
    /// One line per node: `#id op(inputs) -> shape`, with `*` on nodes a gradient flows to.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nodes = self.nodes.borrow();
        writeln!(f, "tape: {} nodes (* = needs gradient)", nodes.len())?;
        for (id, n) in nodes.iter().enumerate() {
            let mark = if n.requires_grad { '*' } else { ' ' };
            writeln!(
                f,
                "{mark} #{id:<3} {:<32} -> {}",
                n.op.to_string(),
                n.value.shape()
            )?;
        }
        Ok(())
    }
}

/// Keeps gradient recording off on its tape while it lives; made by
/// [`Tape::no_grad_guard`]. Dropping it restores the state it found.
#[must_use = "gradient recording is back on as soon as the guard is dropped"]
pub struct NoGradGuard<'t, T: Element> {
    tape: &'t Tape<T>,
    prev: bool,
}

impl<T: Element> Drop for NoGradGuard<'_, T> {
    fn drop(&mut self) {
        self.tape.grad_enabled.set(self.prev);
    }
}

impl<T: Element> fmt::Debug for NoGradGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoGradGuard")
            .field("restores", &self.prev)
            .finish()
    }
}

/// A handle to one node of a [`Tape`]: cheap to copy, valid while the tape is borrowed.
/// Every op is a method that computes the value and records a node.
#[derive(Clone, Copy)]
pub struct Tensor<'t, T: Element> {
    pub(crate) tape: &'t Tape<T>,
    pub(crate) id: NodeId,
}

impl<'t, T: Element> Tensor<'t, T> {
    /// The node's id on its tape.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The tape this tensor lives on.
    pub fn tape(&self) -> &'t Tape<T> {
        self.tape
    }

    /// The value, as a shared handle: no copy of the data, and no borrow of the tape, so it
    /// can be kept while more ops are recorded (and after the tape is reset).
    ///
    /// The first call on a computed node moves its array into an [`Arc`] (one small
    /// allocation); a parameter's node gives the parameter's own shared array. While the
    /// handle of a parameter's value lives, updating the parameter copies it first (copy on
    /// write). To read a few numbers without the allocation, use [`Tensor::item`] or
    /// [`Tensor::shape`]; [`Tensor::to_array`] copies the data.
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f32>::new();
    /// let x = tape.var(Array::from_vec(vec![1.0, 2.0], [2])?);
    /// let v = x.value();
    /// let y = (x * x).sum(); // recording while `v` is held is fine
    /// assert_eq!((v.data(), y.item()?), (&[1.0, 2.0][..], 5.0));
    /// # Ok(()) }
    /// ```
    pub fn value(&self) -> Arc<Array<T>> {
        let mut nodes = self.tape.nodes.borrow_mut();
        let value = &mut nodes[self.id].value;
        if !matches!(value, Value::Shared(_)) {
            // an empty array in its place for a moment (no allocation)
            let empty = Value::Owned(Array::from_parts(Vec::new(), Shape::new(&[0])));
            let a = match std::mem::replace(value, empty) {
                Value::Owned(a) => a,
                Value::Lazy(l) => l.into_array(),
                Value::Shared(_) => unreachable!("internal: matched above"),
            };
            *value = Value::Shared(Arc::new(a));
        }
        match value {
            Value::Shared(a) => Arc::clone(a),
            Value::Owned(_) | Value::Lazy(_) => unreachable!("internal: the value was just shared"),
        }
    }

    /// The value, borrowed from the tape: for the ops, which read their inputs while they
    /// compute and drop the borrow before they record.
    pub(crate) fn value_ref(&self) -> Ref<'t, Array<T>> {
        Ref::map(self.tape.nodes.borrow(), |n| &*n[self.id].value)
    }

    /// A copy of the value.
    pub fn to_array(&self) -> Array<T> {
        self.value_ref().clone()
    }

    /// The shape.
    pub fn shape(&self) -> Shape {
        // (a lazy product knows its shape without being computed)
        self.tape.nodes.borrow()[self.id].value.shape().clone()
    }

    /// The value of a one-element tensor (any rank), such as a loss (as `torch.Tensor.item`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the tensor does not hold exactly one element.
    #[track_caller]
    pub fn item(&self) -> Result<T> {
        let v = self.value_ref();
        match v.item() {
            Some(x) => Ok(x),
            None => Err(Error::invalid(
                "item",
                format!(
                    "needs a tensor of one element, got shape {} ({} elements)",
                    v.shape(),
                    v.numel()
                ),
            )),
        }
    }

    /// Whether a gradient flows to this tensor.
    pub fn requires_grad(&self) -> bool {
        self.tape.nodes.borrow()[self.id].requires_grad
    }

    /// The op that produced this tensor.
    pub fn op(&self) -> Op {
        self.tape.nodes.borrow()[self.id].op.clone()
    }

    /// A new leaf with the same value and no gradient: gradients stop here.
    pub fn detach(&self) -> Tensor<'t, T> {
        let v = self.to_array();
        self.tape.constant(v)
    }

    #[track_caller]
    pub(crate) fn check_tape(&self, other: &Tensor<'t, T>, op: &'static str) -> Result<()> {
        if std::ptr::eq(self.tape, other.tape) {
            Ok(())
        } else {
            Err(Error::TapeMismatch {
                op,
                location: Location::caller(),
            })
        }
    }

    /// Records `op` with its computed value; a gradient flows to it if one flows to any input
    /// and gradient recording is on (not inside [`Tape::no_grad`]). In anomaly mode the value
    /// is checked, and the first anomaly kept on the tape, located at the op's caller.
    #[track_caller]
    pub(crate) fn record(&self, op: Op, value: Array<T>) -> Tensor<'t, T> {
        self.record_value(op, Value::Owned(value))
    }

    /// [`record`](Self::record) for a value of any kind (a lazy product).
    #[track_caller]
    pub(crate) fn record_value(&self, op: Op, value: Value<T>) -> Tensor<'t, T> {
        let rg = self.tape.grad_enabled.get() && {
            let nodes = self.tape.nodes.borrow();
            op.inputs().iter().any(|&i| nodes[i].requires_grad)
        };
        let t = self.tape.push(op, value, rg);
        if self.tape.detect_anomaly.get() && !self.tape.has_anomaly() {
            let e = self.tape.anomaly_in(
                t.id,
                &t.value_ref(),
                AnomalyPhase::Forward,
                Location::caller(),
            );
            *self.tape.anomaly.borrow_mut() = e;
        }
        t
    }
}

impl<T: Element> fmt::Debug for Tensor<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor(#{} {:?})", self.id, &*self.value_ref())
    }
}
