//! `Gradients`: what `backward` returns, looked up by tensor or by parameter; and `Trace`, the
//! record of a backward pass for learners.

use crate::array::Array;
use crate::element::Element;
use crate::op::{NodeId, ParamId};
use crate::param::Param;
use crate::shape::Shape;
use crate::tape::Tensor;
use smallvec::SmallVec;
use std::fmt;

/// Leaf gradients by node id (most models have at most a few dozen parameters).
pub(crate) type LeafGrads<T> = SmallVec<[(NodeId, Array<T>); 8]>;
/// Parameters with their node ids.
type ParamNodes = SmallVec<[(ParamId, NodeId); 8]>;

/// The parameter bindings of a tape, with their node ids, in binding order.
pub(crate) struct BoundParams {
    pub list: ParamNodes,
    /// whether a parameter was bound again after a change (then `list` repeats its id)
    pub rebound: bool,
}

/// Where a parameter's gradient is.
#[derive(Clone, Debug)]
enum Slot<T: Element> {
    /// the gradient of its (latest) binding's leaf node
    Leaf(NodeId),
    /// an array of its own: the sum over several bindings, or accumulated passes
    Owned(Array<T>),
    /// no gradient since [`Gradients::clear`]; the buffer is kept for the next accumulation
    Cleared(Array<T>),
}

/// The parameter gradients of one backward pass, or of several added up: what `backward`
/// returns, what an optimizer's `step`, gradient clipping and the training loop take. One type
/// from the tape to the update.
///
/// - **Look-ups:** by leaf tensor ([`Gradients::get`]: `tape.var` and `tape.param` leaves of
///   the backward pass that made it), by parameter ([`Gradients::param`],
///   [`Gradients::by_id`]), or all parameters ([`Gradients::params`]). Gradients of
///   intermediate nodes are not kept.
/// - **Editing:** [`Gradients::accumulate`] adds another pass (gradient accumulation over the
///   pieces of a large batch), [`Gradients::average`] divides by the number of passes,
///   [`Gradients::scale`] multiplies, [`Gradients::params_mut`] gives every parameter's
///   gradient mutably (clipping), and [`Gradients::clear`] forgets them while keeping the
///   buffers, so an accumulator reused across steps does not allocate in the steady state.
///
/// A parameter bound more than once on the tape (it changed between two
/// [`Tape::param`](crate::Tape::param) calls, so it was bound again: see there) has one
/// gradient per binding, each at that binding's value: [`Gradients::get`] gives each
/// binding's own; the look-ups by parameter give their sum, as PyTorch's `.grad` sums the
/// contributions of every use of a leaf. A loss recorded after the change uses only the new
/// binding, so its gradient is the one at the new value.
///
/// ```
/// use tapegrad_core::{Array, Gradients, Param, Tape};
/// # fn main() -> tapegrad_core::Result<()> {
/// let w = Param::new(Array::<f64>::from_vec(vec![1.0, -2.0], [2])?);
/// let mut tape = Tape::new();
/// let mut acc = Gradients::new();
/// for k in 1..=2 {
///     // loss k·Σw², gradient 2k·w
///     let g = tape.param(&w).square().sum().mul_scalar(k as f64).backward()?;
///     tape.reset();
///     acc.accumulate(&g)?;
/// }
/// acc.average(); // (2w + 4w) / 2 = 3w
/// assert_eq!(acc.param(&w).unwrap().data(), &[3.0, -6.0]);
/// assert_eq!(acc.batches(), 1);
/// acc.clear();
/// assert!(acc.is_empty());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Gradients<T: Element> {
    leaves: LeafGrads<T>,
    /// one entry per parameter, in binding order
    params: SmallVec<[(ParamId, Slot<T>); 8]>,
    /// the number of backward passes added up (see `average`)
    batches: usize,
    /// the tape (and its step) whose leaves `leaves` holds, for `get`
    tape: Option<(u64, u64)>,
}

/// The iterator of [`Gradients::params_mut`]: walks the parameter slots in order, lending an
/// owned slot's array, or a leaf slot's array from the leaf gradients (each leaf is lent at most
/// once: it is moved to the front of the slice still to lend, then split off), without
/// allocating.
struct ParamsMut<'a, T: Element> {
    params: std::slice::IterMut<'a, (ParamId, Slot<T>)>,
    /// the leaf gradients not lent yet (their order is free: look-ups go by node id)
    leaves: &'a mut [(NodeId, Array<T>)],
}

impl<'a, T: Element> Iterator for ParamsMut<'a, T> {
    type Item = (ParamId, &'a mut Array<T>);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (id, slot) = self.params.next()?;
            match slot {
                Slot::Owned(a) => return Some((*id, a)),
                Slot::Cleared(_) => continue,
                Slot::Leaf(node) => {
                    let rest = std::mem::take(&mut self.leaves);
                    let Some(j) = rest.iter().position(|(n, _)| n == node) else {
                        self.leaves = rest;
                        continue;
                    };
                    rest.swap(0, j);
                    let (first, tail) = rest.split_first_mut()?;
                    self.leaves = tail;
                    return Some((*id, &mut first.1));
                }
            }
        }
    }
}

impl<T: Element> Default for Gradients<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Element> Gradients<T> {
    /// No gradients: an accumulator for [`Gradients::accumulate`].
    pub fn new() -> Self {
        Gradients {
            leaves: LeafGrads::new(),
            params: SmallVec::new(),
            batches: 0,
            tape: None,
        }
    }

    pub(crate) fn from_backward(
        leaves: LeafGrads<T>,
        bound: BoundParams,
        tape: (u64, u64),
    ) -> Self {
        let mut params = SmallVec::new();
        if !bound.rebound {
            params.extend(bound.list.iter().map(|&(id, node)| (id, Slot::Leaf(node))));
            return Gradients {
                leaves,
                params,
                batches: 1,
                tape: Some(tape),
            };
        }
        let leaf = |node: NodeId| leaves.iter().find(|(n, _)| *n == node).map(|(_, g)| g);
        // latest binding first: one entry per parameter, and the sum of its bindings'
        // gradients (those of the latest's shape: another shape is possible only by replacing
        // the array through `value_mut`, and cannot be added)
        for (i, &(id, last)) in bound.list.iter().enumerate().rev() {
            if params.iter().any(|(p, _)| *p == id) {
                continue;
            }
            let mut bindings = bound.list[..=i]
                .iter()
                .rev()
                .filter(|&&(p, _)| p == id)
                .filter_map(|&(_, node)| leaf(node).map(|grad| (node, grad)));
            let Some((first, grad)) = bindings.next() else {
                params.push((id, Slot::Leaf(last)));
                continue;
            };
            let mut sum: Option<Array<T>> = None;
            for (_, other) in bindings.filter(|(_, o)| o.shape() == grad.shape()) {
                let acc = sum.get_or_insert_with(|| grad.clone());
                for (a, &b) in acc.data_mut().iter_mut().zip(other.data()) {
                    *a += b;
                }
            }
            let slot = match sum {
                Some(sum) => Slot::Owned(sum),
                // one gradient, of an older binding: the look-up by parameter finds it here
                None if first != last => Slot::Owned(grad.clone()),
                None => Slot::Leaf(last),
            };
            params.push((id, slot));
        }
        params.reverse();
        Gradients {
            leaves,
            params,
            batches: 1,
            tape: Some(tape),
        }
    }

    fn leaf(&self, node: NodeId) -> Option<&Array<T>> {
        self.leaves.iter().find(|(n, _)| *n == node).map(|(_, g)| g)
    }

    fn slot<'a>(&'a self, slot: &'a Slot<T>) -> Option<&'a Array<T>> {
        match slot {
            Slot::Leaf(node) => self.leaf(*node),
            Slot::Owned(a) => Some(a),
            Slot::Cleared(_) => None,
        }
    }

    /// The gradient for a leaf tensor (`tape.var` or `tape.param`) of the same tape and step;
    /// `None` if the output does not depend on it, or the tensor is an intermediate result.
    pub fn get(&self, t: Tensor<'_, T>) -> Option<&Array<T>> {
        if Some(t.tape().uid()) != self.tape {
            return None;
        }
        self.leaf(t.id())
    }

    /// The gradient for a parameter; `None` if the output does not depend on it. For a
    /// parameter bound more than once (changed while bound), the sum over its bindings (see
    /// [`Gradients`]).
    pub fn param(&self, p: &Param<T>) -> Option<&Array<T>> {
        self.by_id(p.id())
    }

    /// The gradient for a parameter, mutably.
    pub fn param_mut(&mut self, p: &Param<T>) -> Option<&mut Array<T>> {
        self.by_id_mut(p.id())
    }

    /// The gradient for a parameter, by its id (as [`Gradients::param`]).
    pub fn by_id(&self, id: ParamId) -> Option<&Array<T>> {
        let (_, slot) = self.params.iter().find(|(pid, _)| *pid == id)?;
        self.slot(slot)
    }

    /// The gradient for a parameter, by its id, mutably.
    pub fn by_id_mut(&mut self, id: ParamId) -> Option<&mut Array<T>> {
        let (_, slot) = self.params.iter_mut().find(|(pid, _)| *pid == id)?;
        match slot {
            Slot::Leaf(node) => self
                .leaves
                .iter_mut()
                .find(|(n, _)| *n == *node)
                .map(|(_, g)| g),
            Slot::Owned(a) => Some(a),
            Slot::Cleared(_) => None,
        }
    }

    /// The gradient for a parameter (as [`Gradients::param`]), taken out (leaving `None`).
    pub fn take_by_id(&mut self, id: ParamId) -> Option<Array<T>> {
        let i = self.params.iter().position(|(pid, _)| *pid == id)?;
        match self.params.remove(i).1 {
            Slot::Leaf(node) => {
                let j = self.leaves.iter().position(|(n, _)| *n == node)?;
                Some(self.leaves.swap_remove(j).1)
            }
            Slot::Owned(a) => Some(a),
            Slot::Cleared(_) => None,
        }
    }

    /// Every parameter gradient present (as [`Gradients::param`]), with its parameter's id,
    /// once per parameter, in binding order.
    pub fn params(&self) -> impl Iterator<Item = (ParamId, &Array<T>)> + '_ {
        self.params
            .iter()
            .filter_map(|(id, slot)| self.slot(slot).map(|g| (*id, g)))
    }

    /// Every parameter gradient present, mutably, with its parameter's id, once per parameter,
    /// in binding order. Each is lent in place: an edit (clipping, scaling) is seen by every
    /// look-up afterwards, [`Gradients::get`] on the parameter's leaf tensor included.
    pub fn params_mut(&mut self) -> impl Iterator<Item = (ParamId, &mut Array<T>)> + '_ {
        ParamsMut {
            params: self.params.iter_mut(),
            leaves: &mut self.leaves[..],
        }
    }

    /// The number of parameters with a gradient.
    pub fn len(&self) -> usize {
        self.params().count()
    }

    /// Whether no parameter has a gradient.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds every parameter gradient of `other` to this one's for the same parameter (a
    /// parameter seen for the first time starts from a copy), and counts `other`'s passes.
    ///
    /// # Errors
    /// [`Error::Shape`](crate::Error::Shape) when a gradient's shape differs from the one held
    /// for its parameter (nothing is added then).
    #[track_caller]
    pub fn accumulate(&mut self, other: &Gradients<T>) -> crate::Result<()> {
        for (id, g) in other.params() {
            if let Some(mine) = self.by_id(id) {
                if mine.shape() != g.shape() {
                    return Err(crate::Error::shape(
                        "Gradients::accumulate",
                        mine.shape(),
                        g.shape(),
                        "a parameter's gradients must keep one shape",
                    ));
                }
            }
        }
        for (id, g) in other.params() {
            if let Some(mine) = self.by_id_mut(id) {
                for (a, &b) in mine.data_mut().iter_mut().zip(g.data()) {
                    *a += b;
                }
                continue;
            }
            match self.params.iter_mut().find(|(pid, _)| *pid == id) {
                Some((_, slot)) => {
                    *slot = match std::mem::replace(slot, Slot::Leaf(NodeId::default())) {
                        Slot::Cleared(mut buf) if buf.shape() == g.shape() => {
                            buf.data_mut().copy_from_slice(g.data());
                            Slot::Owned(buf)
                        }
                        _ => Slot::Owned(g.clone()),
                    }
                }
                None => self.params.push((id, Slot::Owned(g.clone()))),
            }
        }
        self.batches += other.batches;
        Ok(())
    }

    /// Multiplies every parameter gradient by `factor`.
    pub fn scale(&mut self, factor: f64) {
        let f = T::of(factor);
        for (_, g) in self.params_mut() {
            g.data_mut().iter_mut().for_each(|v| *v *= f);
        }
    }

    /// Divides by the number of backward passes added up (a no-op for 0 or 1), and counts
    /// them as one: the mean gradient over the passes.
    pub fn average(&mut self) {
        if self.batches > 1 {
            self.scale(1.0 / self.batches as f64);
            self.batches = 1;
        }
    }

    /// The number of backward passes added up: 1 for what `backward` returns, 0 after
    /// [`Gradients::clear`] or [`Gradients::new`].
    pub fn batches(&self) -> usize {
        self.batches
    }

    /// Forgets every gradient, keeping the parameters' buffers for the next
    /// [`Gradients::accumulate`].
    pub fn clear(&mut self) {
        for (_, slot) in self.params.iter_mut() {
            *slot = match std::mem::replace(slot, Slot::Leaf(NodeId::default())) {
                Slot::Owned(a) | Slot::Cleared(a) => Slot::Cleared(a),
                Slot::Leaf(node) => match self.leaves.iter().position(|(n, _)| *n == node) {
                    Some(j) => Slot::Cleared(self.leaves.swap_remove(j).1),
                    None => Slot::Leaf(node),
                },
            };
        }
        // a leaf slot whose gradient was absent stays a leaf of nothing: drop those
        self.params.retain(|(_, s)| !matches!(s, Slot::Leaf(_)));
        self.leaves.clear();
        self.tape = None;
        self.batches = 0;
    }

    /// The L2 norm of all parameter gradients together (as if concatenated into one vector).
    pub fn global_norm(&self) -> f64 {
        self.params()
            .flat_map(|(_, g)| g.data().iter())
            .map(|&v| v.as_f64() * v.as_f64())
            .sum::<f64>()
            .sqrt()
    }
}

/// One line of a backward trace: a node's gradient as it is passed on.
#[derive(Clone, Debug)]
pub struct TraceStep {
    /// The node id.
    pub id: NodeId,
    /// The op, as the tape prints it.
    pub op: String,
    /// The gradient's shape (the node's output shape).
    pub grad_shape: Shape,
    /// The gradient's L2 norm.
    pub grad_norm: f64,
}

/// The steps of one backward pass, in the order they happened (output first).
#[derive(Clone, Debug, Default)]
pub struct Trace {
    steps: Vec<TraceStep>,
}

impl Trace {
    pub(crate) fn push(&mut self, s: TraceStep) {
        self.steps.push(s);
    }

    /// The steps.
    pub fn steps(&self) -> &[TraceStep] {
        &self.steps
    }
}

impl fmt::Display for Trace {
    /// One line per step: `#id op  grad shape  |grad| = norm`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "backward: {} steps, output first", self.steps.len())?;
        for s in &self.steps {
            writeln!(
                f,
                "  #{:<3} {:<32} grad {:<12} |grad| = {:.6}",
                s.id,
                s.op,
                s.grad_shape.to_string(),
                s.grad_norm
            )?;
        }
        Ok(())
    }
}
