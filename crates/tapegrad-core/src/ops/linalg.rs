//! Matrix products: `matmul` (2-D, batched 3-D, and 3-D by a shared 2-D matrix) and the fused
//! dense-layer op `linear` (x·w + b, then an activation).

use crate::array::Array;
use crate::element::Element;
use crate::error::{Error, Result};
use crate::kernels::{self, simd, MatRef};
use crate::op::{Activation, Op};
use crate::shape::Shape;
use crate::tape::{LazyProduct, Tensor, Value};
use smallvec::SmallVec;
use std::panic::Location;

/// How a matmul's operands line up: `batch` products of `[m, k] x [k, n]`; an operand that is
/// not batched is shared by every product.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MatmulDims {
    pub batch: usize,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub a_batched: bool,
    pub b_batched: bool,
}

impl MatmulDims {
    #[track_caller]
    pub fn of(a: &Shape, b: &Shape) -> Result<(MatmulDims, Shape)> {
        // Taken here: `Location::caller()` inside the closure would name this file, since a
        // closure does not inherit `#[track_caller]`.
        let location = Location::caller();
        let err = |reason: String| Error::Shape {
            op: "matmul",
            lhs: a.clone(),
            rhs: b.clone(),
            reason,
            location,
        };
        let (ra, rb) = (a.rank(), b.rank());
        if !(2..=3).contains(&ra) || !(2..=3).contains(&rb) {
            return Err(err(
                "operands must be 2-D ([m, k]) or 3-D ([batch, m, k])".into()
            ));
        }
        let (m, k) = (a.dim(ra - 2), a.dim(ra - 1));
        let (k2, n) = (b.dim(rb - 2), b.dim(rb - 1));
        if k != k2 {
            return Err(err(format!("inner dims {k} and {k2} differ")));
        }
        let (ba, bb) = ((ra == 3).then(|| a.dim(0)), (rb == 3).then(|| b.dim(0)));
        let batch = match (ba, bb) {
            (Some(x), Some(y)) if x != y => {
                return Err(err(format!("batch sizes {x} and {y} differ")));
            }
            (Some(x), _) | (None, Some(x)) => x,
            (None, None) => 1,
        };
        let out = if ra == 3 || rb == 3 {
            Shape::new(&[batch, m, n])
        } else {
            Shape::new(&[m, n])
        };
        if out.try_numel().is_none() {
            return Err(err(format!(
                "the product's shape {out} holds too many elements"
            )));
        }
        let mut d = MatmulDims {
            batch,
            m,
            k,
            n,
            a_batched: ba.is_some(),
            b_batched: bb.is_some(),
        };
        // [B, m, k] x [k, n] has the layout of one [B·m, k] x [k, n] product.
        if d.a_batched && !d.b_batched {
            d.m *= d.batch;
            d.batch = 1;
            d.a_batched = false;
        }
        Ok((d, out))
    }

    /// `c[i] (+)= op(a[i]) · op(b[i])` over the batch, with operand views chosen by the closures.
    pub fn forward<T: Element>(&self, a: &[T], b: &[T], out: &mut [T]) {
        let MatmulDims { m, k, n, .. } = *self;
        self.each_item(out, m * n, |i, dst| {
            let ao = if self.a_batched { i * m * k } else { 0 };
            let bo = if self.b_batched { i * k * n } else { 0 };
            kernels::gemm(
                m,
                n,
                k,
                dst,
                false,
                MatRef::rows(&a[ao..ao + m * k], k),
                MatRef::rows(&b[bo..bo + k * n], n),
            );
        });
    }

    /// The gradient for `a`: `g · bᵀ` (summed over the batch when `a` is shared).
    pub fn grad_a<T: Element>(&self, g: &[T], b: &[T], da: &mut [T]) {
        let MatmulDims { m, k, n, .. } = *self;
        let product = |i: usize, dst: &mut [T], acc: bool| {
            let bo = if self.b_batched { i * k * n } else { 0 };
            kernels::gemm(
                m,
                k,
                n,
                dst,
                acc,
                MatRef::rows(&g[i * m * n..(i + 1) * m * n], n),
                MatRef::transposed(&b[bo..bo + k * n], n),
            );
        };
        if self.a_batched {
            self.each_item(da, m * k, |i, dst| product(i, dst, false));
        } else {
            self.sum_items(&mut da[..m * k], product);
        }
    }

    /// The gradient for `b`: `aᵀ · g` (summed over the batch when `b` is shared).
    pub fn grad_b<T: Element>(&self, g: &[T], a: &[T], db: &mut [T]) {
        let MatmulDims { m, k, n, .. } = *self;
        let product = |i: usize, dst: &mut [T], acc: bool| {
            let ao = if self.a_batched { i * m * k } else { 0 };
            kernels::gemm(
                k,
                n,
                m,
                dst,
                acc,
                MatRef::transposed(&a[ao..ao + m * k], k),
                MatRef::rows(&g[i * m * n..(i + 1) * m * n], n),
            );
        };
        if self.b_batched {
            self.each_item(db, k * n, |i, dst| product(i, dst, false));
        } else {
            self.sum_items(&mut db[..k * n], product);
        }
    }

    /// Whether the batch's products are shared out to the threads whole: each too small
    /// for the GEMM to split it (below [`kernels::parallel_threshold`] multiply-adds, as a
    /// convolution's per-sample product), all of them together large enough.
    fn split_batch(&self) -> bool {
        let each = self.m.saturating_mul(self.n).saturating_mul(self.k);
        let threshold = kernels::parallel_threshold();
        self.batch > 1 && each < threshold && each.saturating_mul(self.batch) >= threshold
    }

    /// Calls `f(i, dst_i)` for every product `i`, `dst_i` being its `block` elements of
    /// `dst`: runs of whole products on the threads when [`MatmulDims::split_batch`] says.
    fn each_item<T: Element>(
        &self,
        dst: &mut [T],
        block: usize,
        f: impl Fn(usize, &mut [T]) + Sync,
    ) {
        let dst = &mut dst[..self.batch * block];
        let run = |start: usize, run: &mut [T]| {
            for (q, d) in run.chunks_mut(block.max(1)).enumerate() {
                f(start / block.max(1) + q, d);
            }
        };
        if self.split_batch() {
            kernels::parallel::for_each_run(dst, 1, block, run);
        } else {
            run(0, dst);
        }
    }

    /// `dst = Σ_i product_i`, where `f(i, dst, accumulate)` writes (or adds) product `i`:
    /// summed in [`SUM_GROUPS`] runs of the batch, each into its own buffer, then the runs'
    /// sums added in order. The grouping depends on the shapes only, so the result is the
    /// same whatever the thread count; the runs go to the threads when
    /// [`MatmulDims::split_batch`] says.
    fn sum_items<T: Element>(&self, dst: &mut [T], f: impl Fn(usize, &mut [T], bool) + Sync) {
        let each = self.m.saturating_mul(self.n).saturating_mul(self.k);
        let groups = if each < SMALL_PRODUCT {
            SUM_GROUPS.min(self.batch)
        } else {
            1
        };
        let per = self.batch.div_ceil(groups.max(1));
        let sum_run = |first: usize, d: &mut [T]| {
            for i in first..(first + per).min(self.batch) {
                f(i, d, i > first);
            }
        };
        if groups <= 1 {
            sum_run(0, dst);
            return;
        }
        let mut partial: SmallVec<[Vec<T>; SUM_GROUPS]> = (1..groups)
            .map(|_| kernels::pool::scratch(dst.len()))
            .collect();
        let mut runs: SmallVec<[(usize, &mut [T]); SUM_GROUPS]> = std::iter::once(&mut *dst)
            .chain(partial.iter_mut().map(|p| &mut p[..]))
            .enumerate()
            .map(|(g, d)| (g * per, d))
            .collect();
        if self.split_batch() {
            kernels::parallel_for_each(&mut runs, |(first, d)| sum_run(*first, d));
        } else {
            runs.iter_mut().for_each(|(first, d)| sum_run(*first, d));
        }
        drop(runs);
        for p in partial {
            dst.iter_mut().zip(&p).for_each(|(d, &v)| *d += v);
            kernels::pool::give(p);
        }
    }
}

/// Products (multiply-adds) below which a summed batch of them is added up in
/// [`SUM_GROUPS`] runs, so that the runs can go to threads of their own.
const SMALL_PRODUCT: usize = 1 << 20;

/// The runs a sum over a batch of small products is split into (see
/// [`MatmulDims::sum_items`]).
const SUM_GROUPS: usize = 4;

/// `op(a)·op(b)` for 2-D arrays whose shapes `matmul_t` checked.
pub(crate) fn product_t<T: Element>(a: &Array<T>, b: &Array<T>, ta: bool, tb: bool) -> Array<T> {
    let (ac, bc) = (a.dims()[1], b.dims()[1]);
    let (m, k) = if ta {
        (ac, a.dims()[0])
    } else {
        (a.dims()[0], ac)
    };
    let n = if tb { b.dims()[0] } else { bc };
    let out = Shape::new(&[m, n]);
    // every element is written by the GEMM (not accumulating)
    let mut data = crate::kernels::pool::scratch(out.numel());
    kernels::gemm(
        m,
        n,
        k,
        &mut data,
        false,
        view(a.data(), ac, ta),
        view(b.data(), bc, tb),
    );
    Array::from_parts(data, out)
}

/// A row-major matrix with `cols` columns, read as it is or transposed.
pub(crate) fn view<T>(data: &[T], cols: usize, transposed: bool) -> MatRef<'_, T> {
    if transposed {
        MatRef::transposed(data, cols)
    } else {
        MatRef::rows(data, cols)
    }
}

/// Applies a fused activation in place.
pub(crate) fn activate<T: Element>(act: Activation, z: &mut [T]) {
    match act {
        Activation::Identity => {}
        // NaN stays NaN (as torch.relu): `v <= 0` is false for NaN
        Activation::Relu => simd::map_in_place(z, simd::CHEAP_GRAIN, |v| {
            if v <= T::zero() {
                T::zero()
            } else {
                v
            }
        }),
        Activation::Sigmoid => simd::map_in_place(z, simd::COSTLY_GRAIN, T::sigmoid),
        Activation::Tanh => simd::map_in_place(z, simd::COSTLY_GRAIN, T::tanh_fast),
        a => {
            unreachable!("internal: linear records only the activations that fuse, not {a}")
        }
    }
}

impl<'t, T: Element> Tensor<'t, T> {
    /// The matrix product (as `torch.matmul`): `[m, k] x [k, n] -> [m, n]`,
    /// `[B, m, k] x [B, k, n] -> [B, m, n]`, and a shared operand: `[B, m, k] x [k, n]` or
    /// `[m, k] x [B, k, n]` (its gradient sums over the batch).
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f32>::new();
    /// let a = tape.constant(Array::ones([2, 3]));
    /// let b = tape.constant(Array::ones([4, 5]));
    /// let err = a.matmul(b).unwrap_err().to_string();
    /// assert!(err.starts_with("matmul: [2, 3] x [4, 5]: inner dims 3 and 4 differ"));
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// [`Error::Shape`] when the inner or batch dims differ or an operand is not 2-D/3-D.
    #[track_caller]
    pub fn matmul(self, rhs: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
        self.check_tape(&rhs, "matmul")?;
        let value = {
            let nodes = self.tape.nodes.borrow();
            let (a, b) = (&*nodes[self.id].value, &*nodes[rhs.id].value);
            let (d, out) = MatmulDims::of(a.shape(), b.shape())?;
            // every element is written: by the GEMM (not accumulating)
            let mut data = crate::kernels::pool::scratch(out.numel());
            d.forward(a.data(), b.data(), &mut data);
            Array::from_parts(data, out)
        };
        Ok(self.record(Op::Matmul(self.id, rhs.id), value))
    }

    /// The 2-D matrix product of optionally transposed operands: `op(self) · op(rhs)`, where
    /// `op(x)` is `xᵀ` when its flag is set (BLAS's `transa`/`transb`). Equal to
    /// `self.t()?.matmul(rhs)` and so on, but the transposes are read through strides: no
    /// transposed copy is made or recorded. Gradient rules use it (`G·Bᵀ`, `Aᵀ·G`), so
    /// gradients of gradients stay copy-free.
    ///
    /// ```
    /// use tapegrad_core::{Array, Tape};
    /// # fn main() -> tapegrad_core::Result<()> {
    /// let tape = Tape::<f64>::new();
    /// let a = tape.constant(Array::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [3, 2])?);
    /// let aat = a.matmul_t(a, false, true)?; // a · aᵀ: [3, 3]
    /// assert_eq!(aat.to_array().data(), &[5.0, 11.0, 17.0, 11.0, 25.0, 39.0, 17.0, 39.0, 61.0]);
    /// let ata = a.matmul_t(a, true, false)?; // aᵀ · a: [2, 2]
    /// assert_eq!(ata.to_array().data(), &[35.0, 44.0, 44.0, 56.0]);
    /// # Ok(()) }
    /// ```
    /// # Errors
    /// [`Error::Shape`] when an operand is not 2-D or the inner dims (after transposing)
    /// differ; [`Error::TapeMismatch`].
    #[track_caller]
    pub fn matmul_t(self, rhs: Tensor<'t, T>, ta: bool, tb: bool) -> Result<Tensor<'t, T>> {
        self.check_tape(&rhs, "matmul_t")?;
        // taken here: a closure does not inherit `#[track_caller]`
        let location = Location::caller();
        {
            let nodes = self.tape.nodes.borrow();
            let (a, b) = (&*nodes[self.id].value, &*nodes[rhs.id].value);
            let err = |reason: String| Error::Shape {
                op: "matmul_t",
                lhs: a.shape().clone(),
                rhs: b.shape().clone(),
                reason,
                location,
            };
            if a.rank() != 2 || b.rank() != 2 {
                return Err(err("operands must be 2-D".into()));
            }
            let (m, k) = if ta {
                (a.dims()[1], a.dims()[0])
            } else {
                (a.dims()[0], a.dims()[1])
            };
            let (k2, n) = if tb {
                (b.dims()[1], b.dims()[0])
            } else {
                (b.dims()[0], b.dims()[1])
            };
            if k != k2 {
                return Err(err(format!(
                    "inner dims {k} and {k2} differ (ta={ta}, tb={tb})"
                )));
            }
            let out = Shape::new(&[m, n]);
            if out.try_numel().is_none() {
                return Err(err(format!(
                    "the product's shape {out} holds too many elements"
                )));
            }
        }
        let op = Op::MatmulT {
            a: self.id,
            b: rhs.id,
            ta,
            tb,
        };
        if self.tape.lazy_products.get() {
            let lazy = LazyProduct::new(self.value(), rhs.value(), ta, tb);
            return Ok(self.record_value(op, Value::Lazy(Box::new(lazy))));
        }
        let value = {
            let nodes = self.tape.nodes.borrow();
            product_t(&nodes[self.id].value, &nodes[rhs.id].value, ta, tb)
        };
        Ok(self.record(op, value))
    }

    /// The fused dense layer `act(x · w + b)` for `x: [N, in]`, `w: [in, out]`, `b: [out]`:
    /// one node instead of three, with its own backward rule. An activation that does not
    /// [fuse](Activation::fuses_into_linear) (leaky ReLU, softmax, GELU, ...) is applied as a node of its
    /// own after it.
    ///
    /// # Errors
    /// [`Error::Shape`] when `x` or `w` is not 2-D, the inner dims differ, or `b` is not
    /// `[out]`; [`Error::TapeMismatch`]; the activation's errors (softmax's axis).
    #[track_caller]
    pub fn linear(
        self,
        w: Tensor<'t, T>,
        b: Option<Tensor<'t, T>>,
        act: Activation,
    ) -> Result<Tensor<'t, T>> {
        if !act.fuses_into_linear() {
            return self.linear(w, b, Activation::Identity)?.activate(act);
        }
        self.check_tape(&w, "linear")?;
        if let Some(b) = &b {
            self.check_tape(b, "linear")?;
        }
        let value = {
            let nodes = self.tape.nodes.borrow();
            let (x, wv) = (&*nodes[self.id].value, &*nodes[w.id].value);
            if x.rank() != 2 || wv.rank() != 2 || x.dims()[1] != wv.dims()[0] {
                return Err(Error::Shape {
                    op: "linear",
                    lhs: x.shape().clone(),
                    rhs: wv.shape().clone(),
                    reason: "expects x [N, in] and w [in, out]".into(),
                    location: Location::caller(),
                });
            }
            let (n, i, o) = (x.dims()[0], x.dims()[1], wv.dims()[1]);
            let out = Shape::new(&[n, o]);
            let Some(len) = out.try_numel() else {
                return Err(Error::Shape {
                    op: "linear",
                    lhs: x.shape().clone(),
                    rhs: wv.shape().clone(),
                    reason: format!("the output's shape {out} holds too many elements"),
                    location: Location::caller(),
                });
            };
            // every element is written: the bias rows, then the GEMM (accumulating onto them),
            // or the GEMM alone
            let mut data = crate::kernels::pool::scratch(len);
            if let Some(b) = &b {
                let bv = &*nodes[b.id].value;
                if bv.dims() != [o] {
                    return Err(Error::Shape {
                        op: "linear",
                        lhs: wv.shape().clone(),
                        rhs: bv.shape().clone(),
                        reason: format!("the bias must be [{o}]"),
                        location: Location::caller(),
                    });
                }
                for row in data.chunks_mut(o.max(1)) {
                    row.copy_from_slice(bv.data());
                }
            }
            kernels::gemm(
                n,
                o,
                i,
                &mut data,
                b.is_some(),
                MatRef::rows(x.data(), i),
                MatRef::rows(wv.data(), o),
            );
            activate(act, &mut data);
            Array::from_parts(data, out)
        };
        Ok(self.record(
            Op::Linear {
                x: self.id,
                w: w.id,
                b: b.map(|b| b.id),
                act,
            },
            value,
        ))
    }
}
