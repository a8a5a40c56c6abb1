//! [`Checkpoint`]: the model, the optimizer's state and the [`Progress`] of training in one
//! safetensors file, to resume training exactly.

use crate::module::Module;
use crate::optim::{Optimizer, OptimizerState, ParamState};
use crate::serialize::{
    encode, format_err, max_file_len, model_tensors, model_values, named_buffers, param_bytes,
    read_bounded, set_values, write_file_atomic, Parsed,
};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use tapegrad_core::{Array, Element, Error, Result};

/// The metadata key that marks a checkpoint (its value is the format version, `1`).
pub(crate) const MARK: &str = "tapegrad.checkpoint";
/// The prefix of the optimizer's tensors.
pub(crate) const OPTIMIZER_PREFIX: &str = "optimizer.state.";
/// The prefix of a caller's extra tensors.
pub(crate) const EXTRA_PREFIX: &str = "extra.";
const META_EXTRA: &str = "tapegrad.extra.";
const META_OPT: &str = "tapegrad.optimizer";
const META_OPT_STATE: &str = "tapegrad.optimizer.state.";

/// Where training stands: what a [`Checkpoint`] records besides the model and the optimizer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Progress {
    /// Epochs completed.
    pub epoch: usize,
    /// Steps completed in the epoch after `epoch` (0 at an epoch boundary, which is where
    /// `tapegrad::train::fit` writes its checkpoints).
    pub step: usize,
    /// Optimizer steps taken in all (the position of a per-step learning-rate schedule:
    /// `opt.set_lr(schedule.lr_at(global_step))`).
    pub global_step: u64,
    /// The seed that training's random streams are derived from.
    pub seed: u64,
}

/// Checkpoints: everything needed to resume training exactly, in one safetensors file.
///
/// A checkpoint holds the model's parameters (under their own dotted names, so PyTorch's
/// `safetensors.torch.load_file` reads them, and [`load`](crate::load) loads the model part
/// alone), the optimizer's settings and per-parameter state ([`OptimizerState`]: Adam's
/// moments and step counts, SGD's momentum buffers, RMSProp's and Adagrad's accumulators),
/// and the [`Progress`] of training: epochs and steps done, and the seed that every random
/// stream of training is derived from.
///
/// There is no random-generator state to save: `tapegrad::train::fit` draws
/// every random thing from `(seed, epoch, step)` (the shuffling of epoch `e` from
/// `(seed, e)`, the input noise and the dropout masks of a step from `(seed, epoch, step)`,
/// see [`Module::reseed`]), so the progress numbers are the generator state. A loop of your
/// own resumes exactly when it does the same.
///
/// # The file
///
/// A plain safetensors file:
///
/// | what | where |
/// |---|---|
/// | a parameter | tensor `<name>` (e.g. `0.weight`), the model's dtype |
/// | an optimizer buffer | tensor `optimizer.state.<name>.<buffer>` (e.g. `optimizer.state.0.weight.exp_avg`) |
/// | a caller's array | tensor `extra.<key>` (e.g. `fit`'s best weights, `extra.best.0.weight`) |
/// | the marker | metadata `tapegrad.checkpoint` = `1`, and `format` = `pt` |
/// | progress | metadata `tapegrad.epoch`, `tapegrad.step`, `tapegrad.global_step`, `tapegrad.seed` |
/// | the optimizer | metadata `tapegrad.optimizer` (its kind), `tapegrad.optimizer.<setting>` |
/// | step counts | metadata `tapegrad.optimizer.state.<name>.step` |
/// | a caller's value | metadata `tapegrad.extra.<key>` |
///
/// Numbers are written in decimal so that they read back bit for bit. The file is written
/// atomically ([`write_file_atomic`](crate::write_file_atomic)); reading it checks every name,
/// shape, dtype and count before the model or the optimizer is changed.
///
/// ```
/// use tapegrad_core::{rng, Array, Tape};
/// use tapegrad_nn::optim::{Adam, Optimizer};
/// use tapegrad_nn::{loss, Activation, Checkpoint, Mlp, Module, Progress};
/// # fn main() -> tapegrad_core::Result<()> {
/// let dir = std::env::temp_dir().join(format!("tapegrad-doc-ckpt-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("run.safetensors");
/// let mut model = Mlp::<f32>::new(&[2, 8, 1], Activation::Tanh, Activation::Identity, &mut rng(0))?;
/// let mut opt = Adam::new(0.01);
/// let (x, y) = (Array::<f32>::ones([4, 2]), Array::<f32>::zeros([4, 1]));
/// let mut tape = Tape::new();
/// for _ in 0..3 {
///     let grads = {
///         let pred = model.forward(tape.constant(x.clone()))?;
///         loss::mse(pred, tape.constant(y.clone()), Default::default())?.backward()?
///     };
///     tape.reset();
///     opt.step(&mut model, &grads)?;
/// }
/// Checkpoint::save(&path, &model, &opt, &Progress { epoch: 1, global_step: 3, ..Progress::default() })?;
///
/// // later, maybe in another process: the same architecture, any weights
/// let mut model2 = Mlp::<f32>::new(&[2, 8, 1], Activation::Tanh, Activation::Identity, &mut rng(9))?;
/// let mut opt2 = Adam::new(0.5);
/// let progress = Checkpoint::load(&path, &mut model2, &mut opt2)?;
/// assert_eq!((progress.epoch, progress.global_step), (1, 3));
/// assert_eq!(opt2.lr(), 0.01); // the settings come back too
/// assert_eq!(model2.layers()[0].weight().value(), model.layers()[0].weight().value());
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok(()) }
/// ```
///
/// The value: everything of a checkpoint but the model's parameters (the [`Progress`], the
/// optimizer's state, and a caller's own values and arrays (e.g. `tapegrad::train::fit`
/// keeps its history and its early-stopping state there)).
///
/// [`Checkpoint::save`] and [`Checkpoint::load`] are the short forms: the model, the optimizer
/// and the progress in one call. [`Checkpoint::capture`] + [`Checkpoint::write`] and
/// [`Checkpoint::load_all`] let a caller add and read its extras.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint<T: Element> {
    /// Where training stands.
    pub progress: Progress,
    /// The optimizer's settings and state, by parameter name.
    pub optimizer: OptimizerState<T>,
    /// The caller's values, by key (stored as metadata `tapegrad.extra.<key>`).
    pub extra: BTreeMap<String, String>,
    /// The caller's arrays, by key (stored as tensors `extra.<key>`).
    pub extra_tensors: BTreeMap<String, Array<T>>,
}

impl<T: Element> Checkpoint<T> {
    /// Writes `model`, `optimizer`'s state and `progress` to a checkpoint file at `path`
    /// (atomically: readers and a crash see the old file or the whole new one).
    ///
    /// # Errors
    /// The optimizer's [`Optimizer::export_state`] errors (an optimizer that cannot be
    /// checkpointed); [`Error::Io`] naming the file when it cannot be written;
    /// [`Error::InvalidArgument`] when two tensors would share a name.
    #[track_caller]
    pub fn save(
        path: impl AsRef<Path>,
        model: &dyn Module<T>,
        optimizer: &dyn Optimizer<T>,
        progress: &Progress,
    ) -> Result<()> {
        Self::capture(model, optimizer, *progress)?.write(path, model)
    }

    /// Loads a checkpoint written by [`Checkpoint::save`] (or by `fit`) into `model` and
    /// `optimizer` (settings included: the learning rate, betas, ...), and returns its
    /// [`Progress`]. Everything is checked first: on error neither is changed.
    ///
    /// # Errors
    /// As [`Checkpoint::load_all`].
    #[track_caller]
    pub fn load(
        path: impl AsRef<Path>,
        model: &mut dyn Module<T>,
        optimizer: &mut dyn Optimizer<T>,
    ) -> Result<Progress> {
        Ok(Self::load_all(path, model, optimizer)?.progress)
    }

    /// As [`Checkpoint::load`], returning the whole checkpoint (the progress, the caller's
    /// extras, and the optimizer state that was put into `optimizer`). The file is read
    /// within the bounds [`load`](crate::load) documents.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::Format`] naming the file when it
    /// is not a checkpoint (a plain model file included), is corrupt or too large, holds a
    /// number that does not parse, does not match `model`'s parameters (naming the tensor), or
    /// holds optimizer state that does not fit `optimizer` (another kind, a parameter the
    /// model does not have, a buffer of the wrong length).
    #[track_caller]
    pub fn load_all(
        path: impl AsRef<Path>,
        model: &mut dyn Module<T>,
        optimizer: &mut dyn Optimizer<T>,
    ) -> Result<Self> {
        let path = path.as_ref();
        let (ckpt, values) = Self::read_values(path, model)?;
        ckpt.restore_optimizer(path, model, optimizer)?;
        set_values(model, values)?;
        Ok(ckpt)
    }

    /// A checkpoint of `optimizer`'s state (named by `model`'s parameter names) at
    /// `progress`, with no extras.
    ///
    /// # Errors
    /// The optimizer's [`Optimizer::export_state`] errors.
    #[track_caller]
    pub fn capture(
        model: &dyn Module<T>,
        optimizer: &dyn Optimizer<T>,
        progress: Progress,
    ) -> Result<Self> {
        Ok(Checkpoint {
            progress,
            optimizer: optimizer.export_state(model)?,
            extra: BTreeMap::new(),
            extra_tensors: BTreeMap::new(),
        })
    }

    /// Writes this checkpoint with `model`'s parameters to `path`, atomically.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file when it cannot be written; [`Error::InvalidArgument`]
    /// when two tensors would share a name, or a key or a kind holds characters that cannot
    /// be read back (a setting or buffer name with a `.`).
    pub fn write(&self, path: impl AsRef<Path>, model: &dyn Module<T>) -> Result<()> {
        let path = path.as_ref();
        let mut meta = HashMap::from([
            ("format".to_string(), "pt".to_string()),
            (MARK.to_string(), "1".to_string()),
        ]);
        let p = &self.progress;
        for (k, v) in [
            ("epoch", p.epoch.to_string()),
            ("step", p.step.to_string()),
            ("global_step", p.global_step.to_string()),
            ("seed", p.seed.to_string()),
        ] {
            meta.insert(format!("tapegrad.{k}"), v);
        }
        let opt = &self.optimizer;
        meta.insert(META_OPT.to_string(), opt.kind.clone());
        for (k, v) in &opt.settings {
            check_key("an optimizer setting", k)?;
            meta.insert(format!("{META_OPT}.{k}"), v.to_string());
        }
        let buffers = named_buffers(model);
        let mut tensors: Vec<(String, &Array<T>)> = model_tensors(model, &buffers);
        for (name, ps) in &opt.params {
            if let Some(step) = ps.step {
                meta.insert(format!("{META_OPT_STATE}{name}.step"), step.to_string());
            }
            for (buf, a) in &ps.buffers {
                check_key("an optimizer buffer", buf)?;
                tensors.push((format!("{OPTIMIZER_PREFIX}{name}.{buf}"), a));
            }
        }
        for (k, v) in &self.extra {
            meta.insert(format!("{META_EXTRA}{k}"), v.clone());
        }
        for (k, a) in &self.extra_tensors {
            tensors.push((format!("{EXTRA_PREFIX}{k}"), a));
        }
        let bytes = encode(path, &tensors, meta)?;
        write_file_atomic(path, &bytes)
    }

    #[track_caller]
    fn restore_optimizer(
        &self,
        path: &Path,
        model: &dyn Module<T>,
        optimizer: &mut dyn Optimizer<T>,
    ) -> Result<()> {
        optimizer
            .import_state(model, &self.optimizer)
            .map_err(|e| match e {
                Error::InvalidArgument { message, .. } => format_err(
                    path,
                    format!("the checkpoint's optimizer state does not fit: {message}"),
                ),
                e => e,
            })
    }

    /// Parses the file and checks the model's tensors; returns the checkpoint and the
    /// parameter values (in visiting order), changing nothing.
    fn read_values(path: &Path, model: &dyn Module<T>) -> Result<(Self, Vec<Array<T>>)> {
        let (bytes, count) = param_bytes(model);
        let buf = read_bounded(path, max_file_len(bytes, count))?;
        let file = Parsed::new(path, &buf)?;
        if file.meta(MARK) != Some("1") {
            return Err(format_err(
                path,
                "not a tapegrad checkpoint (no `tapegrad.checkpoint` metadata); a plain model \
                 file loads with `load`",
            ));
        }
        let values = model_values(path, &file, model)?;
        let num = |key: &str| -> Result<&str> {
            file.meta(key)
                .ok_or_else(|| format_err(path, format!("the metadata lacks `{key}`")))
        };
        let int = |key: &str| -> Result<u64> {
            let v = num(key)?;
            v.parse::<u64>().map_err(|_| {
                format_err(
                    path,
                    format!("metadata `{key}` = `{v}` is not a whole number"),
                )
            })
        };
        let size = |key: &str| -> Result<usize> {
            usize::try_from(int(key)?)
                .map_err(|_| format_err(path, format!("metadata `{key}` is too large")))
        };
        let progress = Progress {
            epoch: size("tapegrad.epoch")?,
            step: size("tapegrad.step")?,
            global_step: int("tapegrad.global_step")?,
            seed: int("tapegrad.seed")?,
        };
        let mut optimizer = OptimizerState::new(num(META_OPT)?);
        let mut extra = BTreeMap::new();
        let setting_prefix = format!("{META_OPT}.");
        for (k, v) in file.meta_entries() {
            if let Some(name) = k.strip_prefix(META_OPT_STATE) {
                let Some(param) = name.strip_suffix(".step") else {
                    return Err(format_err(path, format!("unknown metadata `{k}`")));
                };
                optimizer
                    .params
                    .entry(param.to_string())
                    .or_insert_with(ParamState::default)
                    .step = Some(int(k)?);
            } else if let Some(name) = k.strip_prefix(&setting_prefix) {
                let x = v.parse::<f64>().map_err(|_| {
                    format_err(path, format!("metadata `{k}` = `{v}` is not a number"))
                })?;
                optimizer.settings.insert(name.to_string(), x);
            } else if let Some(key) = k.strip_prefix(META_EXTRA) {
                extra.insert(key.to_string(), v.clone());
            }
        }
        let mut extra_tensors = BTreeMap::new();
        for name in file.names() {
            if let Some(rest) = name.strip_prefix(OPTIMIZER_PREFIX) {
                let (param, buf) = rest.rsplit_once('.').ok_or_else(|| {
                    format_err(path, format!("tensor `{name}` names no optimizer buffer"))
                })?;
                let a = file.tensor::<T>(path, &name, None)?;
                optimizer
                    .params
                    .entry(param.to_string())
                    .or_insert_with(ParamState::default)
                    .buffers
                    .insert(buf.to_string(), a);
            } else if let Some(key) = name.strip_prefix(EXTRA_PREFIX) {
                extra_tensors.insert(key.to_string(), file.tensor::<T>(path, &name, None)?);
            }
        }
        let ckpt = Checkpoint {
            progress,
            optimizer,
            extra,
            extra_tensors,
        };
        Ok((ckpt, values))
    }
}

/// An error unless `key` can be written as the last part of a dotted name.
fn check_key(what: &str, key: &str) -> Result<()> {
    if key.is_empty() || key.contains('.') {
        return Err(Error::invalid(
            "Checkpoint::write",
            format!("{what} is named `{key}`; names must be non-empty and without a `.`"),
        ));
    }
    Ok(())
}
