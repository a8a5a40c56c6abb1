//! Helpers shared by the nn tests: a one-parameter test module, a training loop and a folder
//! listing.
#![allow(dead_code, unused_macros, unused_imports)] // each test binary uses a part of them

use tapegrad_core::{Array, Element, Result, Tape};
use tapegrad_nn::optim::Optimizer;
use tapegrad_nn::{loss, Module, Reduction};

/// `steps` steps of `opt` on the mean squared error of `model(x)` against `y`, one tape reused.
pub fn regress<T: Element>(
    opt: &mut dyn Optimizer<T>,
    model: &mut dyn Module<T>,
    x: &Array<T>,
    y: &Array<T>,
    steps: usize,
) -> Result<()> {
    let mut tape = Tape::new();
    for _ in 0..steps {
        let grads = {
            let pred = model.forward(tape.constant(x.clone()))?;
            loss::mse(pred, tape.constant(y.clone()), Reduction::Mean)?.backward()?
        };
        tape.reset();
        opt.step(model, &grads)?;
    }
    Ok(())
}

/// `one_param_module!(Name, |x, w| body)`: a `struct Name { w: Param<f64> }` whose one
/// parameter is named `w` and whose forward is `body`, with `w` the parameter on `x`'s tape.
/// Its description is the default one, the type's name.
macro_rules! one_param_module {
    ($(#[$meta:meta])* $name:ident, |$x:ident, $w:ident| $body:expr) => {
        $(#[$meta])*
        struct $name {
            w: ::tapegrad_core::Param<f64>,
        }

        impl ::tapegrad_nn::Module<f64> for $name {
            fn forward<'t>(
                &self,
                $x: ::tapegrad_core::Tensor<'t, f64>,
            ) -> ::tapegrad_core::Result<::tapegrad_core::Tensor<'t, f64>> {
                let $w = $x.tape().param(&self.w);
                $body
            }
            fn visit<'a>(
                &'a self,
                path: &mut ::tapegrad_nn::ParamPath,
                f: &mut dyn FnMut(&::tapegrad_nn::ParamPath, &'a ::tapegrad_core::Param<f64>),
            ) {
                path.child("w", |p| f(p, &self.w));
            }
            fn visit_mut<'a>(
                &'a mut self,
                path: &mut ::tapegrad_nn::ParamPath,
                f: &mut dyn FnMut(&::tapegrad_nn::ParamPath, &'a mut ::tapegrad_core::Param<f64>),
            ) {
                path.child("w", |p| f(p, &mut self.w));
            }
        }
    };
}
pub(crate) use one_param_module;

/// The names of the entries of `dir`, sorted.
pub fn sorted_names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Asserts that `dir` holds exactly the entries `want` (sorted): no temporary file is left.
#[track_caller]
pub fn assert_entries(dir: &std::path::Path, want: &[&str]) {
    assert_eq!(sorted_names(dir), want, "no temporary file is left");
}

/// A fresh, empty folder under the system's temp folder, removed when dropped; derefs to its
/// path.
pub struct Scratch(std::path::PathBuf);

impl Scratch {
    /// `<temp>/tapegrad-<prefix>-<pid>-<name>`, emptied first.
    pub fn new(prefix: &str, name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("tapegrad-{prefix}-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }
}

impl std::ops::Deref for Scratch {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl AsRef<std::path::Path> for Scratch {
    fn as_ref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
