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

/// The gradients of one backward pass: one per leaf variable and bound parameter that the
/// output depends on. Gradients of intermediate nodes are not kept.
///
/// A parameter bound more than once on the tape (it changed between two
/// [`Tape::param`](crate::Tape::param) calls, so it was bound again: see there) has one
/// gradient per binding, each at that binding's value: [`Gradients::get`] gives each
/// binding's own; [`Gradients::param`], [`Gradients::by_id`] and [`Gradients::params`] give
/// their sum, as PyTorch's `.grad` sums the contributions of every use of a leaf. A loss
/// recorded after the change uses only the new binding, so its gradient is the one at the new
/// value.
pub struct Gradients<T: Element> {
    leaves: LeafGrads<T>,
    /// one entry per parameter: its latest binding
    params: ParamNodes,
    /// for parameters bound more than once whose gradient is not just the latest binding's:
    /// the sum of their bindings' gradients (empty, so free, in a plain training step)
    summed: Vec<(ParamId, Array<T>)>,
    tape: (u64, u64),
}

impl<T: Element> Gradients<T> {
    pub(crate) fn new(leaves: LeafGrads<T>, bound: BoundParams, tape: (u64, u64)) -> Self {
        if !bound.rebound {
            return Gradients {
                leaves,
                params: bound.list,
                summed: Vec::new(),
                tape,
            };
        }
        let leaf = |node: NodeId| leaves.iter().find(|(n, _)| *n == node).map(|(_, g)| g);
        // latest binding first: one entry per parameter, and the sum of its bindings'
        // gradients (those of the latest's shape: another shape is possible only by replacing
        // the array through `value_mut`, and cannot be added)
        let mut params = ParamNodes::new();
        let mut summed = Vec::new();
        for (i, &(id, last)) in bound.list.iter().enumerate().rev() {
            if params.iter().any(|&(p, _)| p == id) {
                continue;
            }
            params.push((id, last));
            let mut bindings = bound.list[..=i]
                .iter()
                .rev()
                .filter(|&&(p, _)| p == id)
                .filter_map(|&(_, node)| leaf(node).map(|grad| (node, grad)));
            let Some((first, grad)) = bindings.next() else {
                continue;
            };
            let mut sum: Option<Array<T>> = None;
            for (_, other) in bindings.filter(|(_, o)| o.shape() == grad.shape()) {
                let acc = sum.get_or_insert_with(|| grad.clone());
                for (a, &b) in acc.data_mut().iter_mut().zip(other.data()) {
                    *a += b;
                }
            }
            match sum {
                Some(sum) => summed.push((id, sum)),
                // one gradient, of an older binding: the look-up by parameter finds it here
                None if first != last => summed.push((id, grad.clone())),
                None => {}
            }
        }
        params.reverse();
        Gradients {
            leaves,
            params,
            summed,
            tape,
        }
    }

    fn summed(&self, id: ParamId) -> Option<&Array<T>> {
        self.summed.iter().find(|(p, _)| *p == id).map(|(_, g)| g)
    }

    fn leaf(&self, node: NodeId) -> Option<&Array<T>> {
        self.leaves.iter().find(|(n, _)| *n == node).map(|(_, g)| g)
    }

    /// The gradient for a leaf tensor (`tape.var` or `tape.param`) of the same tape and step;
    /// `None` if the output does not depend on it, or the tensor is an intermediate result.
    pub fn get(&self, t: Tensor<'_, T>) -> Option<&Array<T>> {
        if t.tape().uid() != self.tape {
            return None;
        }
        self.leaf(t.id())
    }

    /// The gradient for a parameter bound on the tape; `None` if the output does not depend on it.
    /// For a parameter bound more than once (changed while bound), the sum over its bindings
    /// (see [`Gradients`]).
    pub fn param(&self, p: &Param<T>) -> Option<&Array<T>> {
        self.by_id(p.id())
    }

    /// The gradient for a parameter, by its id (as [`Gradients::param`]).
    pub fn by_id(&self, id: ParamId) -> Option<&Array<T>> {
        let (_, node) = self.params.iter().find(|(pid, _)| *pid == id)?;
        self.summed(id).or_else(|| self.leaf(*node))
    }

    /// The gradient for a parameter (as [`Gradients::param`]), taken out (leaving `None`):
    /// for optimizers that want to reuse the buffer.
    pub fn take_by_id(&mut self, id: ParamId) -> Option<Array<T>> {
        let (_, node) = *self.params.iter().find(|(pid, _)| *pid == id)?;
        let leaf = self.leaves.iter().position(|(n, _)| *n == node);
        let leaf = leaf.map(|i| self.leaves.swap_remove(i).1);
        match self.summed.iter().position(|(p, _)| *p == id) {
            // the latest binding's own gradient went with it (it is part of the sum)
            Some(i) => Some(self.summed.swap_remove(i).1),
            None => leaf,
        }
    }

    /// Every parameter gradient present (as [`Gradients::param`]), with its parameter's id,
    /// once per parameter.
    pub fn params(&self) -> impl Iterator<Item = (ParamId, &Array<T>)> + '_ {
        self.params
            .iter()
            .filter_map(|&(id, node)| self.summed(id).or_else(|| self.leaf(node)).map(|g| (id, g)))
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
