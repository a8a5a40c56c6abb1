//! The [`Module`] trait: a forward pass recorded on its input's tape, plus a visit of the
//! parameters by dotted path (`encoder.0.weight`), a training/evaluation switch, and a
//! printable summary.

use crate::onnx::OnnxGraph;
use crate::path::ParamPath;
use crate::torch::TorchLayout;
use std::fmt;
use std::path::Path;
use tapegrad_core::{Array, Element, Error, Param, Result, Tensor};

/// A layer or a model: a function of one tensor whose parameters live in the module and are
/// bound to the input's tape by `forward` (`x.tape().param(&p)`), so the tape gives their
/// gradients.
///
/// A module implements three things: [`forward`](Module::forward), and the two parameter
/// visits, [`visit`](Module::visit) (shared) and [`visit_mut`](Module::visit_mut) (mutable),
/// which call a function with every parameter and its [`ParamPath`]. Everything else comes
/// from those: names ([`Module::named_params`]), counts, [`save`](crate::save) /
/// [`load`](crate::load), the optimizers, `fit` and [`gradcheck_module`](crate::gradcheck_module).
///
/// A module with state that is saved but not trained (running statistics, as torch's
/// buffers) also implements [`visit_buffers`](Module::visit_buffers) and
/// [`visit_buffers_mut`](Module::visit_buffers_mut); their defaults visit nothing.
///
/// The trait is object-safe: containers hold `Box<dyn Module<T>>`, and optimizers and
/// [`save`](crate::save) take `&dyn Module<T>` / `&mut dyn Module<T>`.
///
/// Names are dotted paths, torch-style: a [`Dense`](crate::Dense) has `weight` and `bias`; a
/// container puts its children's position or role in front of their names (`0.weight`,
/// `encoder.2.bias`) with [`ParamPath::child`].
///
/// ```
/// use tapegrad_core::{rng, Array, Tape};
/// use tapegrad_nn::{Activation, Mlp, Module};
/// # fn main() -> tapegrad_core::Result<()> {
/// let model = Mlp::<f32>::new(&[2, 4, 1], Activation::Tanh, Activation::Sigmoid, &mut rng(0))?;
/// let names: Vec<String> = model.named_params().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias"]);
/// assert_eq!(model.param_count(), 2 * 4 + 4 + 4 * 1 + 1);
/// let tape = Tape::new();
/// let y = model.forward(tape.constant(Array::zeros([3, 2])))?;
/// assert_eq!(y.shape().dims(), &[3, 1]);
/// # Ok(()) }
/// ```
///
/// A module of your own (its parameters bound with [`Tape::param`](tapegrad_core::Tape::param)
/// on the input's tape):
///
/// ```
/// use tapegrad_core::{Array, Param, Result, Tape, Tensor};
/// use tapegrad_nn::{Module, ParamPath};
///
/// /// y = a·x, elementwise, with one learned scale per feature.
/// struct Scale {
///     a: Param<f64>,
/// }
///
/// impl Module<f64> for Scale {
///     fn forward<'t>(&self, x: Tensor<'t, f64>) -> Result<Tensor<'t, f64>> {
///         x.mul(x.tape().param(&self.a))
///     }
///     fn visit<'a>(&'a self, path: &mut ParamPath, f: &mut dyn FnMut(&ParamPath, &'a Param<f64>)) {
///         path.child("a", |p| f(p, &self.a));
///     }
///     fn visit_mut<'a>(
///         &'a mut self,
///         path: &mut ParamPath,
///         f: &mut dyn FnMut(&ParamPath, &'a mut Param<f64>),
///     ) {
///         path.child("a", |p| f(p, &mut self.a));
///     }
/// }
///
/// # fn main() -> Result<()> {
/// let m = Scale { a: Param::new(Array::from_vec(vec![2.0, 3.0], [2])?) };
/// let tape = Tape::new();
/// let y = m.forward(tape.constant(Array::ones([4, 2])))?;
/// assert_eq!(y.value().data()[..2], [2.0, 3.0]);
/// assert_eq!(m.named_params()[0].0, "a");
/// # Ok(()) }
/// ```
pub trait Module<T: Element> {
    /// Records the module's computation of `x` on `x`'s tape and returns its output.
    ///
    /// `#[track_caller]` (every implementation inherits it): an error names the line of the
    /// code that called `forward` (or `fit`), through containers and `dyn Module` too; a
    /// container adds the path of the child where it arose (`(in module `encoder.2`:
    /// Dense(in=4, out=2, bias))`).
    ///
    /// # Errors
    /// Shape errors when `x` does not fit the module (each names both shapes).
    #[track_caller]
    fn forward<'t>(&self, x: Tensor<'t, T>) -> Result<Tensor<'t, T>>;

    /// Adds the module's computation in evaluation mode to the ONNX graph `g`, reading the
    /// value named `input`, and returns the name of its output value (see
    /// [`onnx`](crate::onnx); [`save_onnx`](crate::save_onnx) calls it on the whole model).
    /// Parameters become initializers with [`OnnxGraph::initializer`], named as the
    /// parameters; containers call each child with its scope, `child.export_onnx(&mut
    /// g.child(i), x)`, so the names are the dotted paths of [`Module::visit`].
    ///
    /// The default is an error naming the module ([`Module::describe`]): a module is
    /// exportable only if it says how.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the module has no ONNX form, or cannot take the
    /// shape of `input` (as `forward` would refuse it).
    #[track_caller]
    fn export_onnx(&self, g: &mut OnnxGraph, input: &str) -> Result<String> {
        let _ = (g, input);
        let d = self.describe();
        Err(Error::invalid(
            "onnx export",
            format!(
                "{} has no ONNX form (a module is exported by its Module::export_onnx)",
                d.lines().next().unwrap_or_default()
            ),
        ))
    }

    /// Calls `f` with every parameter and its path, in a fixed order. `path` is where this
    /// module stands (pass `&mut ParamPath::new()` at the top); push a child's or a
    /// parameter's segment around the call with [`ParamPath::child`]. Nothing is allocated
    /// for the path (up to 8 levels deep), so the optimizers' hot path uses this visit too.
    fn visit<'a>(&'a self, path: &mut ParamPath, f: &mut dyn FnMut(&ParamPath, &'a Param<T>));

    /// As [`Module::visit`], with mutable access (optimizers, loading). It must visit the
    /// same parameters in the same order.
    fn visit_mut<'a>(
        &'a mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, &'a mut Param<T>),
    );

    /// Calls `f` with every buffer and its path, in a fixed order: state that is not trained
    /// but belongs to the model, as torch's buffers (a [`BatchNorm2d`](crate::BatchNorm2d)'s
    /// `running_mean`, `running_var` and `num_batches_tracked`). [`save`](crate::save),
    /// [`load`](crate::load) and [`Checkpoint`](crate::Checkpoint) store buffers beside the
    /// parameters, under their dotted names; optimizers never see them. The default visits
    /// nothing (a module without buffers needs nothing new); containers pass it to every
    /// child, with the child's segment pushed as in [`Module::visit`].
    fn visit_buffers(&self, path: &mut ParamPath, f: &mut dyn FnMut(&ParamPath, &Array<T>)) {
        let _ = (path, f);
    }

    /// As [`Module::visit_buffers`], with mutable access (loading). It must visit the same
    /// buffers in the same order; `f` must keep each buffer's shape.
    fn visit_buffers_mut(
        &mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, &mut Array<T>),
    ) {
        let _ = (path, f);
    }

    /// Every buffer (copied) with its dotted name, in visiting order.
    fn named_buffers(&self) -> Vec<(String, Array<T>)> {
        let mut v = Vec::new();
        self.visit_buffers(&mut ParamPath::new(), &mut |path, b| {
            v.push((path.to_string(), b.clone()))
        });
        v
    }

    /// Switches training mode (on) or evaluation mode (off). Layers such as
    /// [`Dropout`](crate::Dropout) obey it; containers pass it to every child. The default
    /// does nothing (a layer that behaves the same in both modes).
    fn set_training(&mut self, training: bool) {
        let _ = training;
    }

    /// Restarts the module's random streams (e.g. [`Dropout`](crate::Dropout)'s masks) from
    /// `stream`, a number derived from where training stands (`fit` passes one derived from
    /// `(seed, epoch, step)` before every step). A module that draws random numbers while
    /// training should derive them from its own seed and the last `stream`, so that training
    /// resumed from a [`Checkpoint`](crate::Checkpoint) draws exactly what an uninterrupted run
    /// draws. Containers pass it to every child; the default does nothing.
    fn reseed(&mut self, stream: u64) {
        let _ = stream;
    }

    /// A description as torch prints modules: one line for a layer (`Dense(in=2, out=4,
    /// bias)`); a container lists its children, one per line, indented. The default is the
    /// type's name.
    fn describe(&self) -> String {
        let name = std::any::type_name::<Self>();
        let base = name.split('<').next().unwrap_or(name);
        base.rsplit("::").next().unwrap_or(base).to_string()
    }

    /// Training mode on (as torch's `model.train()`).
    fn train(&mut self) {
        self.set_training(true);
    }

    /// Evaluation mode on (as torch's `model.eval()`): dropout becomes the identity.
    fn eval(&mut self) {
        self.set_training(false);
    }

    /// The number of scalar parameters (the sum of every parameter's element count).
    fn param_count(&self) -> usize {
        let mut n = 0;
        self.visit(&mut ParamPath::new(), &mut |_, p| n += p.value().numel());
        n
    }

    /// Every parameter with its dotted name, in visiting order.
    fn named_params(&self) -> Vec<(String, &Param<T>)> {
        let mut v = Vec::new();
        self.visit(&mut ParamPath::new(), &mut |path, p| {
            v.push((path.to_string(), p))
        });
        v
    }

    /// Every parameter with its dotted name, mutably, in visiting order.
    fn named_params_mut(&mut self) -> Vec<(String, &mut Param<T>)> {
        let mut v = Vec::new();
        self.visit_mut(&mut ParamPath::new(), &mut |path, p| {
            v.push((path.to_string(), p))
        });
        v
    }

    /// Saves the parameters to a safetensors file; see [`save`](crate::save).
    ///
    /// # Errors
    /// As [`save`](crate::save).
    fn save(&self, path: impl AsRef<Path>) -> Result<()>
    where
        Self: Sized,
    {
        crate::serialize::save(self, path)
    }

    /// Loads the parameters from a safetensors file; see [`load`](crate::load).
    ///
    /// # Errors
    /// As [`load`](crate::load).
    fn load(&mut self, path: impl AsRef<Path>) -> Result<()>
    where
        Self: Sized,
    {
        crate::serialize::load(self, path)
    }

    /// Calls `f` with every tensor of PyTorch's `state_dict()` for the matching torch model:
    /// every parameter and buffer with its dotted name, its value as tapegrad holds it, and
    /// the [`TorchLayout`] that says how torch holds it. [`save_torch`](crate::save_torch)
    /// and [`load_torch`](crate::load_torch) are built on it.
    ///
    /// The default visits the parameters ([`Module::visit`]) and then the buffers
    /// ([`Module::visit_buffers`]) as [`TorchLayout::Same`]: right for a layer that stores
    /// its tensors as torch does (`Conv2d`, `LayerNorm`, `Embedding`, a `Vec<Param<T>>`).
    /// A layer whose layout differs overrides it ([`Dense`](crate::Dense): its `[in, out]`
    /// weight is torch's `[out, in]`, [`TorchLayout::Transposed`]; a
    /// [`BatchNorm`](crate::BatchNorm)'s `num_batches_tracked` is an `int64`,
    /// [`TorchLayout::Int64`]); and a container overrides it to pass it to every child with
    /// the child's segment pushed, as in [`Module::visit`], so that each child tells its own
    /// layout. A container of your own must do the same.
    fn visit_torch(
        &self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, &Array<T>, TorchLayout),
    ) {
        self.visit(path, &mut |p, param| f(p, param.value(), TorchLayout::Same));
        self.visit_buffers(path, &mut |p, b| f(p, b, TorchLayout::Same));
    }

    /// Saves the parameters and buffers as PyTorch's state dict; see
    /// [`save_torch`](crate::save_torch).
    ///
    /// # Errors
    /// As [`save_torch`](crate::save_torch).
    fn save_torch(&self, path: impl AsRef<Path>) -> Result<()>
    where
        Self: Sized,
    {
        crate::torch::save_torch(self, path)
    }

    /// Loads the parameters and buffers from PyTorch's state dict; see
    /// [`load_torch`](crate::load_torch).
    ///
    /// # Errors
    /// As [`load_torch`](crate::load_torch).
    fn load_torch(&mut self, path: impl AsRef<Path>) -> Result<()>
    where
        Self: Sized,
    {
        crate::torch::load_torch(self, path)
    }
}

/// The two parameter visits of a module without parameters (they visit nothing).
macro_rules! no_params {
    ($t:ty) => {
        fn visit<'a>(
            &'a self,
            _: &mut $crate::ParamPath,
            _: &mut dyn FnMut(&$crate::ParamPath, &'a tapegrad_core::Param<$t>),
        ) {
        }
        fn visit_mut<'a>(
            &'a mut self,
            _: &mut $crate::ParamPath,
            _: &mut dyn FnMut(&$crate::ParamPath, &'a mut tapegrad_core::Param<$t>),
        ) {
        }
    };
}
pub(crate) use no_params;

/// The visit of a layer whose parameters are a `weight` and a `bias` (either may be absent),
/// under torch's names: Dense, Conv2d, BatchNorm and LayerNorm share it.
pub(crate) fn visit_weight_bias<'a, T: Element>(
    path: &mut ParamPath,
    f: &mut dyn FnMut(&ParamPath, &'a Param<T>),
    weight: Option<&'a Param<T>>,
    bias: Option<&'a Param<T>>,
) {
    for (name, p) in [("weight", weight), ("bias", bias)] {
        if let Some(p) = p {
            path.child(name, |path| f(path, p));
        }
    }
}

/// [`visit_weight_bias`] with mutable access.
pub(crate) fn visit_weight_bias_mut<'a, T: Element>(
    path: &mut ParamPath,
    f: &mut dyn FnMut(&ParamPath, &'a mut Param<T>),
    weight: Option<&'a mut Param<T>>,
    bias: Option<&'a mut Param<T>>,
) {
    for (name, p) in [("weight", weight), ("bias", bias)] {
        if let Some(p) = p {
            path.child(name, |path| f(path, p));
        }
    }
}

/// The torch-style listing of numbered or named children:
/// `Name(\n  (key): child\n  ...\n)`, nested children indented.
pub(crate) fn describe_children<'a>(
    name: &str,
    children: impl IntoIterator<Item = (String, String)> + 'a,
) -> String {
    let mut s = format!("{name}(\n");
    for (key, desc) in children {
        s += &format!("  ({key}): {}\n", desc.replace('\n', "\n  "));
    }
    s + ")"
}

/// Writes a container's description and its total parameter count.
pub(crate) fn fmt_with_count<T: Element>(
    m: &(impl Module<T> + ?Sized),
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    write!(f, "{}\ntotal parameters: {}", m.describe(), m.param_count())
}

/// `impl Display for $container<T>` with [`fmt_with_count`]: the container's description,
/// then its total parameter count. The doc comment given goes on `fmt`.
macro_rules! display_with_count {
    ($(#[$doc:meta])* $container:ident) => {
        impl<T: Element> fmt::Display for $container<T> {
            $(#[$doc])*
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                crate::module::fmt_with_count(self, f)
            }
        }
    };
}
pub(crate) use display_with_count;

impl<T: Element> fmt::Display for dyn Module<T> + '_ {
    /// The module's description and its total parameter count.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_with_count(self, f)
    }
}

impl<T: Element> Module<T> for Box<dyn Module<T> + '_> {
    fn forward<'t>(&self, x: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        (**self).forward(x)
    }
    fn export_onnx(&self, g: &mut OnnxGraph, input: &str) -> Result<String> {
        (**self).export_onnx(g, input)
    }
    fn visit<'a>(&'a self, path: &mut ParamPath, f: &mut dyn FnMut(&ParamPath, &'a Param<T>)) {
        (**self).visit(path, f);
    }
    fn visit_mut<'a>(
        &'a mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, &'a mut Param<T>),
    ) {
        (**self).visit_mut(path, f);
    }
    fn visit_buffers(&self, path: &mut ParamPath, f: &mut dyn FnMut(&ParamPath, &Array<T>)) {
        (**self).visit_buffers(path, f);
    }
    fn visit_buffers_mut(
        &mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, &mut Array<T>),
    ) {
        (**self).visit_buffers_mut(path, f);
    }
    fn set_training(&mut self, training: bool) {
        (**self).set_training(training);
    }
    fn reseed(&mut self, stream: u64) {
        (**self).reseed(stream);
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
    fn visit_torch(
        &self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, &Array<T>, TorchLayout),
    ) {
        (**self).visit_torch(path, f);
    }
}

/// SplitMix64's finaliser over `seed` and `stream`: unrelated seeds for nearby streams (the
/// mixing `fit` and [`Module::reseed`] use to derive random streams).
///
/// ```
/// use tapegrad_nn::mix_seed;
/// assert_ne!(mix_seed(0, 1), mix_seed(0, 2));
/// assert_eq!(mix_seed(7, 3), mix_seed(7, 3));
/// ```
pub fn mix_seed(seed: u64, stream: u64) -> u64 {
    let mut z = seed ^ stream.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const IN_MODULE: &str = " (in module `";

/// Adds to an error that arose in the child `child` (described by `describe`) the child's
/// path: `(in module `child`: Dense(in=4, out=2, bias))` after the error's reason; an error
/// that already names a path (from a nested container) gets `child.` put in front of it.
/// Errors without a message (axis, data-length, ...) are returned as they are.
pub(crate) fn in_child(e: Error, child: &str, describe: impl FnOnce() -> String) -> Error {
    let add = |text: &mut String| match text.rfind(IN_MODULE) {
        Some(i) => text.insert_str(i + IN_MODULE.len(), &format!("{child}.")),
        None => {
            let d = describe();
            let first = d.lines().next().unwrap_or_default();
            text.push_str(&format!("{IN_MODULE}{child}`: {first})"));
        }
    };
    match e {
        Error::Shape {
            op,
            lhs,
            rhs,
            mut reason,
            location,
        } => {
            add(&mut reason);
            Error::Shape {
                op,
                lhs,
                rhs,
                reason,
                location,
            }
        }
        Error::InvalidArgument {
            op,
            mut message,
            location,
        } => {
            add(&mut message);
            Error::InvalidArgument {
                op,
                message,
                location,
            }
        }
        e => e,
    }
}
