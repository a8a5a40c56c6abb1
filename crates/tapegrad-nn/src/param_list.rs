//! Parameters without a model: `Vec<Param<T>>` is a [`Module`] (as torch's
//! `nn.ParameterList`) whose parameters are named `0`, `1`, ..., so that optimizers,
//! [`save`](crate::save) / [`load`](crate::load), [`Checkpoint`](crate::Checkpoint) and
//! clipping work on parameters used in tensor expressions; and [`ParamRefs`], the same for
//! parameters that live in separate variables, behind
//! [`Optimizer::step_params`](crate::optim::Optimizer::step_params).

use crate::module::{describe_children, Module};
use crate::path::ParamPath;
use tapegrad_core::{Element, Error, Param, Result, Tensor};

/// The error of a parameter list's forward pass: it has none (as torch's `ParameterList`).
#[track_caller]
fn no_forward(len: usize) -> Error {
    Error::invalid(
        "ParameterList::forward",
        format!(
            "a parameter list ({len} parameters) has no forward pass: use its parameters in \
             tensor expressions (`tape.param(&params[0])`)"
        ),
    )
}

/// `ParameterList(\n  (0): Parameter [3, 2]\n  ...)`, as torch lists one.
fn describe_list<'a, T: Element>(params: impl Iterator<Item = &'a Param<T>>) -> String {
    let children = params
        .enumerate()
        .map(|(i, p)| (i.to_string(), format!("Parameter {}", p.value().shape())));
    describe_children("ParameterList", children)
}

/// The [`Module`] of a list of parameters, numbered from 0, in a type whose `iter()` and
/// `iter_mut()` give `&Param<T>` and `&mut Param<T>` (possibly through one more reference).
macro_rules! param_list_module {
    ($(#[$doc:meta])* impl[$($gen:tt)*] for $ty:ty) => {
        $(#[$doc])*
        impl<$($gen)*> Module<T> for $ty {
            /// A parameter list has no forward pass.
            ///
            /// # Errors
            /// Always [`Error::InvalidArgument`], naming the list's length.
            fn forward<'t>(&self, _x: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
                Err(no_forward(self.len()))
            }

            fn visit<'a>(
                &'a self,
                path: &mut ParamPath,
                f: &mut dyn FnMut(&ParamPath, &'a Param<T>),
            ) {
                for (i, p) in self.iter().enumerate() {
                    path.child(i, |path| f(path, p));
                }
            }

            fn visit_mut<'a>(
                &'a mut self,
                path: &mut ParamPath,
                f: &mut dyn FnMut(&ParamPath, &'a mut Param<T>),
            ) {
                for (i, p) in self.iter_mut().enumerate() {
                    path.child(i, |path| f(path, p));
                }
            }

            fn describe(&self) -> String {
                describe_list(self.iter())
            }
        }
    };
}

param_list_module! {
    /// A list of parameters is a module without a forward pass (torch's `nn.ParameterList`):
    /// its parameters are named `0`, `1`, ..., so an optimizer steps them
    /// (`opt.step(&mut params, &grads)`) and [`save`](crate::save), [`load`](crate::load),
    /// [`Checkpoint`](crate::Checkpoint) and the optimizers' `export_state` / `import_state`
    /// work on them as on any model. For parameters kept in separate variables, see
    /// [`Optimizer::step_params`](crate::optim::Optimizer::step_params).
    ///
    /// ```
    /// use tapegrad_core::{Array, Param, Tape};
    /// use tapegrad_nn::optim::{Adam, Optimizer};
    /// use tapegrad_nn::Module;
    /// # fn main() -> tapegrad_core::Result<()> {
    /// // minimize (w - 3)² + b² with w and b used in an expression, not in a layer
    /// let mut params = vec![Param::new(Array::<f64>::zeros([1])), Param::new(Array::ones([1]))];
    /// let mut opt = Adam::new(0.1);
    /// let mut tape = Tape::new();
    /// for _ in 0..300 {
    ///     let (_, grads) = tape.value_and_grad(|tape| {
    ///         let (w, b) = (tape.param(&params[0]), tape.param(&params[1]));
    ///         Ok(w.sub_scalar(3.0).square().add(b.square())?.sum())
    ///     })?;
    ///     opt.step(&mut params, &grads)?;
    /// }
    /// assert!((params[0].value().data()[0] - 3.0).abs() < 1e-2);
    /// let names: Vec<String> = params.named_params().into_iter().map(|(n, _)| n).collect();
    /// assert_eq!(names, ["0", "1"]);
    /// assert!(params.forward(tape.constant(Array::zeros([1]))).is_err()); // no forward
    /// # Ok(()) }
    /// ```
    impl[T: Element] for Vec<Param<T>>
}

/// Parameters kept in separate variables, borrowed as one [`Module`] (named `0`, `1`, ... in
/// the slice's order, as a `Vec<Param<T>>` names them): what
/// [`Optimizer::step_params`](crate::optim::Optimizer::step_params) steps. Build one with
/// `ParamRefs(&mut [&mut w, &mut b])` to checkpoint such parameters too
/// ([`Optimizer::export_state`](crate::optim::Optimizer::export_state) of it, or
/// [`Checkpoint::capture`](crate::Checkpoint::capture)).
///
/// ```
/// use tapegrad_core::{Array, Param};
/// use tapegrad_nn::{Module, ParamRefs};
/// let (mut w, mut b) = (Param::new(Array::<f32>::zeros([2, 2])), Param::new(Array::zeros([2])));
/// let refs = ParamRefs(&mut [&mut w, &mut b]);
/// assert_eq!(refs.param_count(), 6);
/// assert_eq!(refs.named_params()[1].0, "1");
/// ```
#[derive(Debug)]
pub struct ParamRefs<'a, 'p, T: Element>(pub &'a mut [&'p mut Param<T>]);

impl<'p, T: Element> ParamRefs<'_, 'p, T> {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn iter(&self) -> impl Iterator<Item = &Param<T>> {
        self.0.iter().map(|p| &**p)
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = &mut Param<T>> + use<'_, 'p, T> {
        self.0.iter_mut().map(|p| &mut **p)
    }
}

param_list_module! {
    /// The parameters in the slice's order, named `0`, `1`, ...; no forward pass.
    impl[T: Element] for ParamRefs<'_, '_, T>
}
