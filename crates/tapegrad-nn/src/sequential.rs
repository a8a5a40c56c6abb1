//! `Sequential`: a list of boxed modules applied in order.

use crate::module::{describe_children, display_with_count, in_child, Module};
use crate::onnx::OnnxGraph;
use crate::path::ParamPath;
use crate::torch::TorchLayout;
use std::fmt;
use tapegrad_core::{Array, Element, Param, Result, Tensor};

/// Modules applied one after another (as `torch.nn.Sequential`). Children are numbered by
/// position, activations included, so parameter names match torch's: a
/// `Dense, Tanh, Dense` stack has `0.weight`, `0.bias`, `2.weight`, `2.bias`.
///
/// ```
/// use tapegrad_core::{rng, Array, Tape};
/// use tapegrad_nn::{Activation, Dense, Init, Module, Sequential};
/// # fn main() -> tapegrad_core::Result<()> {
/// let mut r = rng(0);
/// let model = Sequential::<f32>::new()
///     .with(Dense::new(4, 8, Init::HeNormal, &mut r))
///     .with(Activation::Relu)
///     .with(Dense::new(8, 2, Init::XavierUniform, &mut r));
/// assert_eq!(
///     model.to_string(),
///     "Sequential(\n  (0): Dense(in=4, out=8, bias)\n  (1): ReLU\n  (2): Dense(in=8, out=2, bias)\n)\ntotal parameters: 58"
/// );
/// let tape = Tape::new();
/// let y = model.forward(tape.constant(Array::ones([3, 4])))?;
/// assert_eq!(y.shape().dims(), &[3, 2]);
/// # Ok(()) }
/// ```
pub struct Sequential<T: Element> {
    layers: Vec<Box<dyn Module<T>>>,
}

impl<T: Element> Default for Sequential<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Element> Sequential<T> {
    /// An empty stack (its forward is the identity).
    pub fn new() -> Self {
        Sequential { layers: Vec::new() }
    }

    /// A stack of the given modules.
    pub fn from_modules(layers: Vec<Box<dyn Module<T>>>) -> Self {
        Sequential { layers }
    }

    /// Appends a module (builder style).
    pub fn with(mut self, m: impl Module<T> + 'static) -> Self {
        self.push(m);
        self
    }

    /// Appends a module.
    pub fn push(&mut self, m: impl Module<T> + 'static) {
        self.layers.push(Box::new(m));
    }

    /// Appends a boxed module.
    pub fn push_boxed(&mut self, m: Box<dyn Module<T>>) {
        self.layers.push(m);
    }

    /// The number of modules.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether the stack is empty.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The modules, in order.
    pub fn layers(&self) -> &[Box<dyn Module<T>>] {
        &self.layers
    }

    /// The modules, mutably.
    pub fn layers_mut(&mut self) -> &mut [Box<dyn Module<T>>] {
        &mut self.layers
    }
}

impl<T: Element> Module<T> for Sequential<T> {
    /// Each module's forward in turn. An error names the child where it arose:
    /// `... (in module `1`: Dense(in=64, out=10, bias)) (at src/main.rs:9:5)`.
    fn forward<'t>(&self, x: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        let mut x = x;
        for (i, m) in self.layers.iter().enumerate() {
            // a plain loop, not a closure: the caller's location passes through
            x = match m.forward(x) {
                Ok(y) => y,
                Err(e) => return Err(in_child(e, &i.to_string(), || m.describe())),
            };
        }
        Ok(x)
    }

    /// Each module in order, in scope `i`.
    fn export_onnx(&self, g: &mut OnnxGraph, input: &str) -> Result<String> {
        let mut x = input.to_string();
        for (i, m) in self.layers.iter().enumerate() {
            x = match m.export_onnx(&mut g.child(i), &x) {
                Ok(y) => y,
                Err(e) => return Err(in_child(e, &i.to_string(), || m.describe())),
            };
        }
        Ok(x)
    }

    fn visit<'a>(&'a self, path: &mut ParamPath, f: &mut dyn FnMut(&ParamPath, &'a Param<T>)) {
        for (i, m) in self.layers.iter().enumerate() {
            path.child(i, |p| m.visit(p, f));
        }
    }

    fn visit_mut<'a>(
        &'a mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, &'a mut Param<T>),
    ) {
        for (i, m) in self.layers.iter_mut().enumerate() {
            path.child(i, |p| m.visit_mut(p, f));
        }
    }

    fn visit_buffers(&self, path: &mut ParamPath, f: &mut dyn FnMut(&ParamPath, &Array<T>)) {
        for (i, m) in self.layers.iter().enumerate() {
            path.child(i, |p| m.visit_buffers(p, f));
        }
    }

    fn visit_buffers_mut(
        &mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, &mut Array<T>),
    ) {
        for (i, m) in self.layers.iter_mut().enumerate() {
            path.child(i, |p| m.visit_buffers_mut(p, f));
        }
    }

    fn set_training(&mut self, training: bool) {
        self.layers
            .iter_mut()
            .for_each(|m| m.set_training(training));
    }

    fn reseed(&mut self, stream: u64) {
        self.layers.iter_mut().for_each(|m| m.reseed(stream));
    }

    fn describe(&self) -> String {
        describe_children(
            "Sequential",
            self.layers
                .iter()
                .enumerate()
                .map(|(i, m)| (i.to_string(), m.describe())),
        )
    }

    fn visit_torch(
        &self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, &Array<T>, TorchLayout),
    ) {
        for (i, m) in self.layers.iter().enumerate() {
            path.child(i, |p| m.visit_torch(p, f));
        }
    }
}

display_with_count!(
    /// One line per child (as torch prints it), then the total parameter count.
    Sequential
);

impl<T: Element> fmt::Debug for Sequential<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}
