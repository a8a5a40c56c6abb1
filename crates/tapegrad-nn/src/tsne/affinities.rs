//! The input affinities P of t-SNE: for every point a Gaussian over its `3·perplexity` nearest
//! neighbours, its width found by binary search so that the distribution's perplexity
//! (`exp` of its entropy in nats) is the one asked for, then symmetrised:
//! `p_ij = (p_j|i + p_i|j) / 2n`. As in scikit-learn's and openTSNE's Barnes-Hut variants,
//! only the neighbours get an affinity (the rest are below `exp(-9)`-ish of the row's mass at
//! perplexity 30), which keeps P sparse: about `n·3·perplexity` pairs instead of `n²`.

use tapegrad_core::{Array, Element, Error, Result};

/// Binary-search steps per row (scikit-learn's `n_steps`).
const STEPS: usize = 100;
/// The entropy tolerance of the binary search, in nats (scikit-learn's).
const TOLERANCE: f64 = 1e-5;

/// The symmetric joint affinities P, kept as the pairs `i < j` with `p_ij > 0` (each pair
/// stands for both `p_ij` and `p_ji`, which are equal), sorted by `(i, j)`. Over all ordered
/// pairs the affinities sum to 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Affinities {
    n: usize,
    rows: Vec<usize>,
    cols: Vec<usize>,
    p: Vec<f64>,
    neg_entropy: f64,
}

impl Affinities {
    /// The affinities of the rows of `x` `[n, d]` at the given perplexity, over each row's
    /// `min(n - 1, floor(3·perplexity) + 1)` nearest rows (Euclidean; equal distances rank by
    /// index).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `x` is not 2-D, has fewer than 2 rows, holds a NaN or
    /// infinite value, or when the perplexity is not finite, is below 1, or is not less
    /// than `n` (as scikit-learn requires).
    #[track_caller]
    pub fn compute<T: Element>(x: &Array<T>, perplexity: f64) -> Result<Self> {
        check_input(x, perplexity)?;
        let (n, d) = (x.dims()[0], x.dims()[1]);
        let data: Vec<f64> = x.data().iter().map(|v| v.as_f64()).collect();
        let k = (n - 1).min((3.0 * perplexity) as usize + 1);
        let mut pairs: Vec<(usize, usize, f64)> = Vec::with_capacity(n * k);
        let mut dist = vec![0.0; n];
        let mut order: Vec<usize> = Vec::with_capacity(n);
        for i in 0..n {
            nearest_others(&data, d, i, k, &mut dist, &mut order);
            let near: Vec<f64> = order.iter().map(|&j| dist[j]).collect();
            let cond = conditional_row(&near, perplexity);
            for (&j, &pj) in order.iter().zip(&cond) {
                let p = pj / (2.0 * n as f64);
                if p > 0.0 {
                    pairs.push((i.min(j), i.max(j), p));
                }
            }
        }
        pairs.sort_unstable_by_key(|a| (a.0, a.1));
        let mut out = Affinities {
            n,
            rows: vec![],
            cols: vec![],
            p: vec![],
            neg_entropy: 0.0,
        };
        for (i, j, p) in pairs {
            if out.rows.last() == Some(&i) && out.cols.last() == Some(&j) {
                *out.p.last_mut().expect("internal: a pair was pushed") += p;
            } else {
                out.rows.push(i);
                out.cols.push(j);
                out.p.push(p);
            }
        }
        out.neg_entropy = 2.0 * out.p.iter().map(|&p| p * p.ln()).sum::<f64>();
        Ok(out)
    }

    /// The number of points.
    pub fn n(&self) -> usize {
        self.n
    }

    /// The number of stored pairs `i < j`.
    pub fn len(&self) -> usize {
        self.p.len()
    }

    /// Whether no pair has an affinity.
    pub fn is_empty(&self) -> bool {
        self.p.is_empty()
    }

    /// The first point of every stored pair.
    pub fn rows(&self) -> &[usize] {
        &self.rows
    }

    /// The second point of every stored pair (always greater than the first).
    pub fn cols(&self) -> &[usize] {
        &self.cols
    }

    /// The affinity `p_ij` of every stored pair.
    pub fn values(&self) -> &[f64] {
        &self.p
    }

    /// `Σ p_ij log p_ij` over all ordered pairs: the constant part of KL(P‖Q).
    pub fn neg_entropy(&self) -> f64 {
        self.neg_entropy
    }

    /// P as a dense `[n, n]` matrix (both `p_ij` and `p_ji`), for small `n`: tests and
    /// checks.
    pub fn to_dense(&self) -> Array<f64> {
        let n = self.n;
        let mut m = vec![0.0; n * n];
        for ((&i, &j), &p) in self.rows.iter().zip(&self.cols).zip(&self.p) {
            m[i * n + j] = p;
            m[j * n + i] = p;
        }
        Array::from_vec(m, [n, n]).expect("internal: n·n values for [n, n]")
    }
}

/// The conditional distribution `p_j|i ∝ exp(-β·d_j)` over one point's neighbours, given
/// their squared distances `dist_sq`, with `β` found by binary search (at most 100 halvings,
/// to 1e-5 nats, as scikit-learn) so that its perplexity `exp(H)` (H the entropy in nats) is
/// `perplexity`. The distances are shifted by their minimum first, which changes nothing but
/// keeps `exp` from underflowing on far-apart data. Sums to 1 (an empty row gives an empty
/// distribution).
pub fn conditional_row(dist_sq: &[f64], perplexity: f64) -> Vec<f64> {
    let lo = dist_sq.iter().copied().fold(f64::INFINITY, f64::min);
    let d: Vec<f64> = dist_sq.iter().map(|&v| v - lo).collect();
    let target = perplexity.ln();
    let (mut beta, mut beta_min, mut beta_max) = (1.0_f64, f64::NEG_INFINITY, f64::INFINITY);
    let mut p = vec![0.0; d.len()];
    for _ in 0..STEPS {
        let mut sum = 0.0;
        for (pj, &dj) in p.iter_mut().zip(&d) {
            *pj = (-dj * beta).exp();
            sum += *pj;
        }
        let mut weighted = 0.0;
        for (pj, &dj) in p.iter_mut().zip(&d) {
            *pj /= sum;
            weighted += dj * *pj;
        }
        let entropy = sum.ln() + beta * weighted;
        let diff = entropy - target;
        if diff.abs() <= TOLERANCE {
            break;
        }
        if diff > 0.0 {
            beta_min = beta;
            beta = if beta_max.is_finite() {
                (beta + beta_max) / 2.0
            } else {
                beta * 2.0
            };
        } else {
            beta_max = beta;
            beta = if beta_min.is_finite() {
                (beta + beta_min) / 2.0
            } else {
                beta / 2.0
            };
        }
    }
    p
}

/// The perplexity `exp(H)` of a distribution (H its entropy in nats).
pub fn perplexity_of(p: &[f64]) -> f64 {
    (-p.iter()
        .filter(|&&v| v > 0.0)
        .map(|&v| v * v.ln())
        .sum::<f64>())
    .exp()
}

#[track_caller]
/// The `k` rows of `data` (`n x d`, row-major) nearest to row `i`, itself left out, into
/// `order`, nearest first (equal distances rank by index); `dist` (length `n`) receives every
/// row's squared Euclidean distance to row `i`. Shared by the affinities and
/// [`neighbour_accuracy`](super::neighbour_accuracy), so both rank neighbours alike.
pub(crate) fn nearest_others(
    data: &[f64],
    d: usize,
    i: usize,
    k: usize,
    dist: &mut [f64],
    order: &mut Vec<usize>,
) {
    let xi = &data[i * d..(i + 1) * d];
    for (j, dj) in dist.iter_mut().enumerate() {
        let xj = &data[j * d..(j + 1) * d];
        *dj = xi.iter().zip(xj).map(|(a, b)| (a - b) * (a - b)).sum();
    }
    order.clear();
    order.extend((0..dist.len()).filter(|&j| j != i));
    let rank = |a: &usize, b: &usize| dist[*a].total_cmp(&dist[*b]).then(a.cmp(b));
    if k < order.len() {
        order.select_nth_unstable_by(k - 1, rank);
        order.truncate(k);
    }
    order.sort_unstable_by(rank);
}

fn check_input<T: Element>(x: &Array<T>, perplexity: f64) -> Result<()> {
    if x.rank() != 2 {
        return Err(Error::invalid(
            "tsne",
            format!("input must be 2-D [n, d], got {}", x.shape()),
        ));
    }
    let n = x.dims()[0];
    if n < 2 {
        return Err(Error::invalid(
            "tsne",
            format!("needs at least 2 points, got {n}"),
        ));
    }
    if let Some(i) = x.data().iter().position(|v| !v.is_finite()) {
        let (row, col) = (i / x.dims()[1], i % x.dims()[1]);
        return Err(Error::invalid(
            "tsne",
            format!(
                "input value at [{row}, {col}] is {} (NaN or infinite)",
                x.data()[i]
            ),
        ));
    }
    if !perplexity.is_finite() || perplexity < 1.0 {
        return Err(Error::invalid(
            "tsne",
            format!("perplexity must be >= 1, got {perplexity}"),
        ));
    }
    if perplexity >= n as f64 {
        return Err(Error::invalid(
            "tsne",
            format!("perplexity {perplexity} must be less than the number of points {n}"),
        ));
    }
    Ok(())
}
