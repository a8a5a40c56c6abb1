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
/// The parameters bound on a tape, with their node ids.
pub(crate) type BoundParams = SmallVec<[(ParamId, NodeId); 8]>;

/// The gradients of one backward pass: one per leaf variable and bound parameter that the
/// output depends on. Gradients of intermediate nodes are not kept.
pub struct Gradients<T: Element> {
    leaves: LeafGrads<T>,
    params: BoundParams,
    tape: (u64, u64),
}

impl<T: Element> Gradients<T> {
    pub(crate) fn new(leaves: LeafGrads<T>, params: BoundParams, tape: (u64, u64)) -> Self {
        Gradients {
            leaves,
            params,
            tape,
        }
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
    pub fn param(&self, p: &Param<T>) -> Option<&Array<T>> {
        self.by_id(p.id())
    }

    /// The gradient for a parameter, by its id.
    pub fn by_id(&self, id: ParamId) -> Option<&Array<T>> {
        let (_, node) = self.params.iter().find(|(pid, _)| *pid == id)?;
        self.leaf(*node)
    }

    /// The gradient for a parameter, taken out (leaving `None`): for optimizers that want to
    /// reuse the buffer.
    pub fn take_by_id(&mut self, id: ParamId) -> Option<Array<T>> {
        let (_, node) = *self.params.iter().find(|(pid, _)| *pid == id)?;
        let i = self.leaves.iter().position(|(n, _)| *n == node)?;
        Some(self.leaves.swap_remove(i).1)
    }

    /// Every parameter gradient present, with its parameter's id.
    pub fn params(&self) -> impl Iterator<Item = (ParamId, &Array<T>)> + '_ {
        self.params
            .iter()
            .filter_map(|&(id, node)| self.leaf(node).map(|g| (id, g)))
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
