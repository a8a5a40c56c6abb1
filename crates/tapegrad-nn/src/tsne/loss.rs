//! KL(P‖Q) written as tensor expressions, and its gradient from the tape.
//!
//! With Student-t affinities `w_ij = (1 + |y_i − y_j|²)^-1`, `q_ij = w_ij / Z` and
//! `Z = Σ_{k≠l} w_kl`, and P summing to 1,
//!
//! ```text
//! KL(P‖Q) = Σ p_ij log p_ij  +  Σ p_ij log(1 + |y_i − y_j|²)  +  log Z
//!           (a constant)        (attraction, over P's pairs)    (repulsion, over all pairs)
//! ```
//!
//! Both terms are tape expressions ([`attraction`], [`student_t_sum`]) and `backward` gives
//! their gradients. The attraction runs over P's sparse pairs. The repulsion `Z` runs over
//! all `n²` pairs: it is summed in blocks of rows, each block on its own tape (reset between
//! blocks, so a block's `[rows, n]` intermediates are freed and their memory reused instead
//! of `n²` values per op staying alive), over the upper triangle only (`w` is symmetric).
//! `Z` is the sum of the blocks' values and `∇Z` the sum of their gradients; the only step
//! written by hand is the chain rule through the final `log`: `∇ log Z = ∇Z / Z`.

use super::Affinities;
use std::sync::Arc;
use tapegrad_core::{parallel_for_each, Array, Element, Result, Tape, Tensor};

/// Rows per repulsion block: a block's `[64, n]` intermediates stay in cache (32 and 128
/// measured no better).
const BLOCK: usize = 64;
/// Groups of blocks run side by side; a fixed count, so results do not depend on the
/// number of threads.
const GROUPS: usize = 8;

/// `1 + |a_i − b_j|²` `[m, n]` for the rows of `a` `[m, d]` and `b` `[n, d]`, as one
/// product: `[a_i, 1 + |a_i|², 1] · [−2·b_j, 1, |b_j|²] = 1 + |a_i|² + |b_j|² − 2·a_i·b_j`.
/// (One `[m, n]` result instead of one per term: the `n²` work is the memory traffic.)
pub fn one_plus_sq_distances<'t, T: Element>(
    a: Tensor<'t, T>,
    b: Tensor<'t, T>,
) -> Result<Tensor<'t, T>> {
    let tape = a.tape();
    let (m, n) = (a.shape().dim(0), b.shape().dim(0));
    let ones = |rows: usize| tape.constant(Array::ones([rows, 1]));
    let a_norms = a.square().sum_axis(1, true)?; // [m, 1]
    let b_norms = b.square().sum_axis(1, true)?; // [n, 1]
    let left = Tensor::concat(&[a, a_norms.add_scalar(1.0), ones(m)], 1)?;
    let right = Tensor::concat(&[b.mul_scalar(-2.0), ones(n), b_norms], 1)?;
    left.matmul_t(right, false, true)
}

/// `Σ_ij (1 + |a_i − b_j|²)^-1`: the Student-t kernel summed over every pair of rows.
pub fn student_t_sum<'t, T: Element>(a: Tensor<'t, T>, b: Tensor<'t, T>) -> Result<Tensor<'t, T>> {
    Ok(one_plus_sq_distances(a, b)?.reciprocal().sum())
}

/// `Σ_ij p_ij log(1 + |y_i − y_j|²)` over all ordered pairs, from P's pairs `i < j` (each
/// counted twice). `p` holds the pairs' affinities (already scaled by any exaggeration).
pub fn attraction<'t, T: Element>(
    y: Tensor<'t, T>,
    affinities: &Affinities,
    p: Arc<Array<T>>,
) -> Result<Tensor<'t, T>> {
    let diff = y
        .index_select(affinities.rows())?
        .sub(y.index_select(affinities.cols())?)?;
    let d = diff.square().sum_axis(1, false)?;
    Ok(d.log1p()
        .mul(y.tape().constant_shared(p))?
        .sum()
        .mul_scalar(2.0))
}

/// The parts of KL(P‖Q) at one embedding, and the gradient of the (exaggerated) loss.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// KL(P‖Q) without exaggeration.
    pub kl: f64,
    /// The gradient of `exaggeration · attraction + log Z` with respect to `y`, row-major
    /// `[n, 2]`: t-SNE's gradient (with P exaggerated).
    pub grad: Vec<f64>,
}

/// One group's share of the repulsion: its blocks, and their summed `Z` and `∇Z`.
struct Group {
    blocks: Vec<(usize, usize)>,
    z: f64,
    grad: Vec<f64>,
    error: Option<tapegrad_core::Error>,
}

/// Evaluates KL(P‖Q) and the gradient of `exaggeration · attraction + log Z` at `y` `[n, 2]`.
///
/// # Errors
/// Whatever the tape ops return (they do not fail on the shapes built here).
pub fn evaluate<T: Element>(
    y: &Array<T>,
    affinities: &Affinities,
    exaggeration: f64,
) -> Result<Evaluation> {
    evaluate_in_blocks(y, affinities, exaggeration, BLOCK)
}

/// [`evaluate`] with `block` rows per repulsion block (tests use small blocks).
///
/// # Errors
/// As [`evaluate`].
pub fn evaluate_in_blocks<T: Element>(
    y: &Array<T>,
    affinities: &Affinities,
    exaggeration: f64,
    block: usize,
) -> Result<Evaluation> {
    let n = y.dims()[0];
    let dims = y.dims()[1];
    // attraction: one tape
    let p = Arc::new(Array::from_vec(
        affinities.values().iter().map(|&v| T::of(v)).collect(),
        [affinities.len()],
    )?);
    let tape = Tape::new();
    let yv = tape.var(y.clone());
    let attract = attraction(yv, affinities, p)?;
    let attract_value = attract.item()?.as_f64();
    let mut grad: Vec<f64> = match attract.backward()?.get(yv) {
        Some(g) => g.data().iter().map(|v| exaggeration * v.as_f64()).collect(),
        None => vec![0.0; n * dims],
    };
    // repulsion: blocks of rows over the upper triangle, dealt round-robin to the groups
    let mut groups: Vec<Group> = (0..GROUPS)
        .map(|_| Group {
            blocks: vec![],
            z: 0.0,
            grad: vec![0.0; n * dims],
            error: None,
        })
        .collect();
    for (b, start) in (0..n).step_by(block.max(1)).enumerate() {
        groups[b % GROUPS]
            .blocks
            .push((start, (start + block).min(n)));
    }
    parallel_for_each(&mut groups, |g| {
        if let Err(e) = repulsion_group(y, g) {
            g.error = Some(e);
        }
    });
    let mut z = 0.0;
    let mut grad_z = vec![0.0; n * dims];
    for g in groups {
        if let Some(e) = g.error {
            return Err(e);
        }
        z += g.z;
        grad_z.iter_mut().zip(&g.grad).for_each(|(a, v)| *a += v);
    }
    // the chain rule through the log: ∇ log Z = ∇Z / Z
    grad.iter_mut()
        .zip(&grad_z)
        .for_each(|(a, gz)| *a += gz / z);
    Ok(Evaluation {
        kl: affinities.neg_entropy() + attract_value + z.ln(),
        grad,
    })
}

/// Sums `Z` and `∇Z` over a group's blocks, each on the reset tape: rows `r = s..e` against
/// themselves and against the rows after them, `Z_r = Σ w(r, r) − |r| + 2·Σ w(r, after)`
/// (the diagonal's `w_ii = 1` taken out, the pairs with later rows counted both ways).
fn repulsion_group<T: Element>(y: &Array<T>, group: &mut Group) -> Result<()> {
    let n = y.dims()[0];
    let mut tape = Tape::new();
    for &(s, e) in &group.blocks {
        tape.reset();
        let yv = tape.var(y.clone());
        let rows = yv.narrow(0, s as isize, e - s)?;
        let mut z = student_t_sum(rows, rows)?.add_scalar(-((e - s) as f64));
        if e < n {
            let after = yv.narrow(0, e as isize, n - e)?;
            z = z.add(student_t_sum(rows, after)?.mul_scalar(2.0))?;
        }
        group.z += z.item()?.as_f64();
        if let Some(g) = z.backward()?.get(yv) {
            for (a, v) in group.grad.iter_mut().zip(g.data()) {
                *a += v.as_f64();
            }
        }
    }
    Ok(())
}
