//! `Param<T>`: a model weight that outlives tapes. Its data is shared with the tape that binds
//! it (no copy) and copied on write only if a tape still holds it while it is updated.
//!
//! Every change of a parameter's value ([`Param::value_mut`], [`Param::set`]) gives it a new
//! shared array while a tape holds the old one (the tape's binding keeps the old array, so
//! what was recorded stays exact). [`Tape::param`](crate::Tape::param) compares the shared
//! arrays by pointer, so it sees every change made since the binding and binds the parameter
//! again with its new value: a tape can never read a stale parameter.

use crate::array::Array;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::op::ParamId;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

static NEXT_PARAM: AtomicU64 = AtomicU64::new(1);

/// A persistent, updatable array with a stable [`ParamId`], e.g. a layer's weight.
///
/// ```
/// use tapegrad_core::{Array, Param, Tape};
/// # fn main() -> tapegrad_core::Result<()> {
/// let mut w = Param::new(Array::<f64>::from_vec(vec![3.0], [1])?);
/// let grad = {
///     let tape = Tape::new();
///     let loss = tape.param(&w).square().sum(); // w²
///     loss.backward()?.param(&w).unwrap().clone() // 2w = 6
/// };
/// for (v, g) in w.value_mut().data_mut().iter_mut().zip(grad.data()) {
///     *v -= 0.5 * g; // one SGD step: 3 - 0.5·6 = 0
/// }
/// assert_eq!(w.value().data(), &[0.0]);
/// # Ok(()) }
/// ```
pub struct Param<T: Element> {
    id: ParamId,
    value: Arc<Array<T>>,
}

impl<T: Element> Param<T> {
    /// A new parameter with a fresh id.
    pub fn new(value: Array<T>) -> Self {
        Param {
            id: ParamId(NEXT_PARAM.fetch_add(1, Ordering::Relaxed)),
            value: Arc::new(value),
        }
    }

    /// The stable id (keys optimizer state and gradients).
    pub fn id(&self) -> ParamId {
        self.id
    }

    /// The current value.
    pub fn value(&self) -> &Array<T> {
        &self.value
    }

    /// The value, mutably. If a tape still shares it, it is copied first (copy on write), so
    /// reset the tape before updating to avoid the copy. The tape keeps the old value for what
    /// it recorded, and its next [`Tape::param`](crate::Tape::param) of this parameter binds
    /// the new one.
    pub fn value_mut(&mut self) -> &mut Array<T> {
        Arc::make_mut(&mut self.value)
    }

    /// Replaces the value with one of the same shape. A tape that bound the old value keeps
    /// it for what it recorded; its next [`Tape::param`](crate::Tape::param) of this
    /// parameter binds the new one.
    ///
    /// # Errors
    /// [`Error::Shape`] when the shapes differ.
    #[track_caller]
    pub fn set(&mut self, value: Array<T>) -> Result<()> {
        if value.shape() != self.value.shape() {
            return Err(Error::shape(
                "Param::set",
                self.value.shape(),
                value.shape(),
                "a parameter keeps its shape",
            ));
        }
        self.value = Arc::new(value);
        Ok(())
    }

    pub(crate) fn shared(&self) -> Arc<Array<T>> {
        Arc::clone(&self.value)
    }

    /// Whether `a` is this parameter's current array (the same allocation). While a tape holds
    /// a binding's array, every change of the value gives the parameter another allocation
    /// (copy on write, or a new array in [`Param::set`]), so `false` means "changed since
    /// bound".
    pub(crate) fn is(&self, a: &Arc<Array<T>>) -> bool {
        Arc::ptr_eq(&self.value, a)
    }
}

impl<T: Element> Clone for Param<T> {
    /// A deep copy with a *new* id (an independent parameter, e.g. for a copied model).
    fn clone(&self) -> Self {
        Param::new((*self.value).clone())
    }
}

impl<T: Element> std::fmt::Debug for Param<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Param(p{} {})", self.id.0, self.value.shape())
    }
}
