//! `Embedding`: a lookup table of `num` vectors of size `dim`, indexed by class indices,
//! recorded as the core's [`Tensor::index_select`] (so repeated indices add up their
//! gradients).

use crate::module::Module;
use crate::onnx::proto::DataType;
use crate::onnx::{Attr, OnnxGraph};
use crate::path::ParamPath;
use rand::Rng;
use tapegrad_core::{Array, Element, Error, Param, Result, Shape, Tape, Tensor};

/// A lookup table (as `torch.nn.Embedding(num_embeddings, embedding_dim)`): `weight` is
/// `[num, dim]`, initialized `N(0, 1)` as torch's; index `i` gives row `i`.
///
/// # Input
/// tapegrad tensors hold floats, so [`forward`](Module::forward) takes the indices as a
/// tensor of **integer-valued floats** of any shape `S` (`[N]`, `[N, L]`, ...) and returns
/// `S + [dim]`; a value that is not a whole number in `0..num` is an error. The indices are
/// data, not a differentiable input: no gradient flows to them.
/// [`forward_indices`](Embedding::forward_indices) takes `&[usize]` directly.
///
/// The rows are picked by [`Tensor::index_select`] on the weight, so an index used several
/// times gets the sum of its rows' gradients (as torch), and rows not used get 0.
///
/// ```
/// use tapegrad_core::{rng, Array, Tape};
/// use tapegrad_nn::{Embedding, Module};
/// # fn main() -> tapegrad_core::Result<()> {
/// let emb = Embedding::<f64>::new(10, 3, &mut rng(0));
/// assert_eq!(emb.to_string(), "Embedding(10, 3)");
/// let tape = Tape::new();
/// let idx = tape.constant(Array::from_vec(vec![1.0, 2.0, 4.0, 5.0, 4.0, 3.0], [2, 3])?);
/// let y = emb.forward(idx)?;
/// assert_eq!(y.shape().dims(), &[2, 3, 3]);
/// // index 4, used twice, gets the gradient of both uses
/// let g = y.sum().backward()?;
/// let gw = g.param(emb.weight()).unwrap();
/// assert_eq!(gw.data()[4 * 3..5 * 3], [2.0, 2.0, 2.0]);
/// assert_eq!(gw.data()[..3], [0.0, 0.0, 0.0]);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Embedding<T: Element> {
    weight: Param<T>,
}

impl<T: Element> Embedding<T> {
    /// A table of `num` rows of size `dim`, drawn `N(0, 1)` from `rng` (torch's init).
    pub fn new<R: Rng + ?Sized>(num: usize, dim: usize, rng: &mut R) -> Self {
        Embedding {
            weight: Param::new(Array::randn([num, dim], 0.0, 1.0, rng)),
        }
    }

    /// A table with the given weight `[num, dim]`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the weight is not 2-D.
    #[track_caller]
    pub fn from_array(weight: Array<T>) -> Result<Self> {
        if weight.rank() != 2 {
            return Err(Error::invalid(
                "Embedding::from_array",
                format!("the weight must be 2-D [num, dim], got {}", weight.shape()),
            ));
        }
        Ok(Embedding {
            weight: Param::new(weight),
        })
    }

    /// The number of rows, `num`.
    pub fn num_embeddings(&self) -> usize {
        self.weight.value().dims()[0]
    }

    /// The size of a row, `dim`.
    pub fn embedding_dim(&self) -> usize {
        self.weight.value().dims()[1]
    }

    /// The weight `[num, dim]`.
    pub fn weight(&self) -> &Param<T> {
        &self.weight
    }

    /// The rows at `indices`, `[indices.len(), dim]`, recorded on `tape`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an index `>= num`.
    #[track_caller]
    pub fn forward_indices<'t>(
        &self,
        tape: &'t Tape<T>,
        indices: &[usize],
    ) -> Result<Tensor<'t, T>> {
        tape.param(&self.weight).index_select(indices)
    }
}

impl<T: Element> Module<T> for Embedding<T> {
    /// The rows at the indices `x` (integer-valued floats of any shape `S`), `S + [dim]`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a value that is not a whole number in `0..num`.
    fn forward<'t>(&self, x: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        let num = self.num_embeddings();
        let indices = {
            let v = x.value();
            let mut out = Vec::with_capacity(v.numel());
            for &e in v.data() {
                let f = e.as_f64();
                if !(f >= 0.0 && f.fract() == 0.0 && f < num as f64) {
                    return Err(Error::invalid(
                        "Embedding",
                        format!("indices must be whole numbers in 0..{num}, got {f}"),
                    ));
                }
                out.push(f as usize);
            }
            out
        };
        let rows = self.forward_indices(x.tape(), &indices)?;
        let mut dims = x.shape().dims().to_vec();
        dims.push(self.embedding_dim());
        rows.reshape(Shape::new(&dims))
    }

    /// `Cast` of the indices to `INT64` (ONNX truncates; `forward` refuses an index that is not
    /// a whole number), then `Gather` of the weight's rows.
    fn export_onnx(&self, g: &mut OnnxGraph, input: &str) -> Result<String> {
        let d = g.dims(input)?.to_vec();
        let idx = g.node(
            "Cast",
            &[input],
            vec![Attr::Int("to", DataType::Int64 as i64)],
            d.clone(),
        )?;
        let w = g.initializer("weight", self.weight.value());
        let mut out = d;
        out.push(Some(self.embedding_dim()));
        g.node("Gather", &[&w, &idx], vec![Attr::Int("axis", 0)], out)
    }

    fn visit<'a>(&'a self, path: &mut ParamPath, f: &mut dyn FnMut(&ParamPath, &'a Param<T>)) {
        path.child("weight", |p| f(p, &self.weight));
    }

    fn visit_mut<'a>(
        &'a mut self,
        path: &mut ParamPath,
        f: &mut dyn FnMut(&ParamPath, &'a mut Param<T>),
    ) {
        path.child("weight", |p| f(p, &mut self.weight));
    }

    /// As torch prints it: `Embedding(10, 3)`.
    fn describe(&self) -> String {
        format!(
            "Embedding({}, {})",
            self.num_embeddings(),
            self.embedding_dim()
        )
    }
}

impl<T: Element> std::fmt::Display for Embedding<T> {
    /// As [`Module::describe`].
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}
