//! Where optimizers read gradients from: [`GradSource`], implemented by the core's
//! [`Gradients`] (one backward pass) and by [`ParamGrads`], an owned, editable set of parameter
//! gradients for accumulation over mini-batches and for clipping.

use tapegrad_core::{Array, Element, Error, Gradients, ParamId, Result};

/// Gradients looked up by parameter id: what [`Optimizer::step`](crate::optim::Optimizer::step)
/// reads. Pass `&grads` for either a [`Gradients`] or a [`ParamGrads`].
pub trait GradSource<T: Element> {
    /// The gradient of the parameter `id`, if there is one.
    fn grad(&self, id: ParamId) -> Option<&Array<T>>;

    /// Calls `f` with every gradient present and its parameter's id.
    fn for_each_grad(&self, f: &mut dyn FnMut(ParamId, &Array<T>));
}

impl<T: Element> GradSource<T> for Gradients<T> {
    fn grad(&self, id: ParamId) -> Option<&Array<T>> {
        self.by_id(id)
    }

    fn for_each_grad(&self, f: &mut dyn FnMut(ParamId, &Array<T>)) {
        for (id, g) in self.params() {
            f(id, g);
        }
    }
}

/// Owned parameter gradients keyed by [`ParamId`]: sum several backward passes
/// ([`ParamGrads::accumulate`]), average them ([`ParamGrads::average`]), clip them
/// ([`clip_grad_norm`](crate::clip_grad_norm), [`clip_grad_value`](crate::clip_grad_value)),
/// then hand them to an optimizer. [`ParamGrads::clear`] keeps the buffers, so a training loop
/// that reuses one `ParamGrads` does not allocate in the steady state.
///
/// Gradient accumulation (a large batch in several small pieces): with a mean loss over
/// equal-sized pieces, the average of the pieces' gradients is the whole batch's gradient.
///
/// ```
/// use tapegrad_core::{rng, Array, Tape};
/// use tapegrad_nn::optim::{Optimizer, Sgd};
/// use tapegrad_nn::{loss, Act, Mlp, Module, OutputAct, ParamGrads};
/// # fn main() -> tapegrad_core::Result<()> {
/// let mut model = Mlp::<f32>::new(&[3, 4, 1], Act::Tanh, OutputAct::None, &mut rng(0))?;
/// let mut opt = Sgd::new(0.1);
/// let mut acc = ParamGrads::new();
/// let mut tape = Tape::new();
/// for piece in 0..2 {
///     let grads = {
///         let x = tape.constant(Array::full([8, 3], piece as f32));
///         let y = tape.constant(Array::ones([8, 1]));
///         let loss = loss::mse(model.forward(x)?, y, Default::default())?;
///         loss.backward()?
///     };
///     tape.reset();
///     acc.accumulate(&grads)?;
/// }
/// acc.average(); // the mean of the two pieces = the gradient of the 16-row batch
/// opt.step(&mut model, &acc)?;
/// acc.clear();
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ParamGrads<T: Element> {
    entries: Vec<Entry<T>>,
    batches: usize,
}

#[derive(Clone, Debug)]
struct Entry<T: Element> {
    id: ParamId,
    grad: Array<T>,
    /// False after `clear`: the buffer is kept for reuse but holds no gradient.
    live: bool,
}

impl<T: Element> Default for ParamGrads<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Element> ParamGrads<T> {
    /// No gradients.
    pub fn new() -> Self {
        ParamGrads {
            entries: Vec::new(),
            batches: 0,
        }
    }

    /// Takes the parameter gradients out of one backward pass (no copy).
    pub fn from_gradients(mut grads: Gradients<T>) -> Self {
        let ids: Vec<ParamId> = grads.params().map(|(id, _)| id).collect();
        let entries = ids
            .into_iter()
            .filter_map(|id| {
                grads.take_by_id(id).map(|grad| Entry {
                    id,
                    grad,
                    live: true,
                })
            })
            .collect();
        ParamGrads {
            entries,
            batches: 1,
        }
    }

    /// Adds every gradient of `grads` to the one held for the same parameter (a parameter
    /// seen for the first time starts from a copy), and counts one more batch.
    ///
    /// # Errors
    /// [`Error::Shape`] when a gradient's shape differs from the one held for its parameter
    /// (nothing is added then).
    pub fn accumulate(&mut self, grads: &dyn GradSource<T>) -> Result<()> {
        let mut bad = None;
        grads.for_each_grad(&mut |id, g| {
            if bad.is_none() {
                if let Some(e) = self.entries.iter().find(|e| e.id == id && e.live) {
                    if e.grad.shape() != g.shape() {
                        bad = Some(Error::shape(
                            "ParamGrads::accumulate",
                            e.grad.shape(),
                            g.shape(),
                            "a parameter's gradients must keep one shape",
                        ));
                    }
                }
            }
        });
        if let Some(e) = bad {
            return Err(e);
        }
        grads.for_each_grad(
            &mut |id, g| match self.entries.iter_mut().find(|e| e.id == id) {
                Some(e) if e.live => {
                    for (a, &b) in e.grad.data_mut().iter_mut().zip(g.data()) {
                        *a += b;
                    }
                }
                Some(e) if e.grad.shape() == g.shape() => {
                    e.grad.data_mut().copy_from_slice(g.data());
                    e.live = true;
                }
                Some(e) => {
                    e.grad = g.clone();
                    e.live = true;
                }
                None => self.entries.push(Entry {
                    id,
                    grad: g.clone(),
                    live: true,
                }),
            },
        );
        self.batches += 1;
        Ok(())
    }

    /// Multiplies every gradient by `factor`.
    pub fn scale(&mut self, factor: f64) {
        let f = T::of(factor);
        for e in self.entries.iter_mut().filter(|e| e.live) {
            e.grad.data_mut().iter_mut().for_each(|v| *v *= f);
        }
    }

    /// Divides by the number of accumulated batches (a no-op for 0 or 1), and counts them as
    /// one: the mean gradient over the batches.
    pub fn average(&mut self) {
        if self.batches > 1 {
            self.scale(1.0 / self.batches as f64);
            self.batches = 1;
        }
    }

    /// The number of backward passes accumulated since the last [`ParamGrads::clear`].
    pub fn batches(&self) -> usize {
        self.batches
    }

    /// Forgets every gradient, keeping the buffers for the next accumulation.
    pub fn clear(&mut self) {
        self.entries.iter_mut().for_each(|e| e.live = false);
        self.batches = 0;
    }

    /// The number of parameters with a gradient.
    pub fn len(&self) -> usize {
        self.entries.iter().filter(|e| e.live).count()
    }

    /// Whether no parameter has a gradient.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The gradient of a parameter, mutably.
    pub fn get_mut(&mut self, id: ParamId) -> Option<&mut Array<T>> {
        self.entries
            .iter_mut()
            .find(|e| e.id == id && e.live)
            .map(|e| &mut e.grad)
    }

    /// Every gradient with its parameter's id.
    pub fn iter(&self) -> impl Iterator<Item = (ParamId, &Array<T>)> + '_ {
        self.entries
            .iter()
            .filter(|e| e.live)
            .map(|e| (e.id, &e.grad))
    }

    /// Every gradient, mutably, with its parameter's id.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (ParamId, &mut Array<T>)> + '_ {
        self.entries
            .iter_mut()
            .filter(|e| e.live)
            .map(|e| (e.id, &mut e.grad))
    }

    /// The L2 norm of all gradients together (as if concatenated into one vector).
    pub fn global_norm(&self) -> f64 {
        self.iter()
            .flat_map(|(_, g)| g.data().iter())
            .map(|&v| v.as_f64() * v.as_f64())
            .sum::<f64>()
            .sqrt()
    }
}

impl<T: Element> From<Gradients<T>> for ParamGrads<T> {
    fn from(g: Gradients<T>) -> Self {
        ParamGrads::from_gradients(g)
    }
}

impl<T: Element> GradSource<T> for ParamGrads<T> {
    fn grad(&self, id: ParamId) -> Option<&Array<T>> {
        self.entries
            .iter()
            .find(|e| e.id == id && e.live)
            .map(|e| &e.grad)
    }

    fn for_each_grad(&self, f: &mut dyn FnMut(ParamId, &Array<T>)) {
        for (id, g) in self.iter() {
            f(id, g);
        }
    }
}
