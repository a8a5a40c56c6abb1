//! t-SNE (van der Maaten & Hinton, 2008) written on the tape: a 2-D map of high-dimensional
//! points in which near neighbours stay near.
//!
//! The input affinities P ([`Affinities`]: Gaussian, perplexity 30 by default, found by
//! binary search, over each point's `3·perplexity` nearest neighbours, symmetrised) are
//! computed once. The embedding is then optimised on KL(P‖Q), Q the Student-t affinities of
//! the map, with the loss written as tensor expressions ([`loss`]) and its gradient from
//! `backward`: no gradient formula is written by hand. The optimiser is the paper's (and
//! scikit-learn's): early exaggeration (P × 12 for the first 250 iterations), momentum 0.5
//! then 0.8, delta-bar-delta gains (+0.2 / ×0.8, at least 0.01), learning rate
//! `max(n / 12 / 4, 50)` unless given, start `N(0, 1e-4²)` (seeded) unless given.
//!
//! The repulsion is exact: `n²` pairs per iteration, summed in row blocks (see [`loss`]).
//! 5,000 points and 1,000 iterations take about 55 s of CPU time, split over the cores
//! (docs/performance.md).
//!
//! ```
//! use tapegrad_core::Array;
//! use tapegrad_nn::tsne::{neighbour_accuracy, Tsne};
//! # fn main() -> tapegrad_core::Result<()> {
//! // two clusters of 20 points in 5-D, 10 apart on every axis, each spread over [0, 1]
//! let x = Array::<f64>::from_fn([40, 5], |i| {
//!     let (row, col) = (i / 5, i % 5);
//!     (row / 20) as f64 * 10.0 + ((row * 7 + col * 3) % 11) as f64 * 0.1
//! });
//! let labels: Vec<usize> = (0..40).map(|i| i / 20).collect();
//! let fit = Tsne::new().perplexity(10.0).iterations(500).seed(1).fit(&x)?;
//! assert_eq!(fit.embedding.dims(), &[40, 2]);
//! assert_eq!(neighbour_accuracy(&fit.embedding, &labels, 5)?, 1.0);
//! # Ok(()) }
//! ```

mod affinities;
pub mod loss;

pub use affinities::{conditional_row, perplexity_of, Affinities};

use rand_distr::{Distribution, Normal};
use tapegrad_core::{rng, Array, Element, Error, Result};

/// The smallest gain (scikit-learn's `min_gain`).
const MIN_GAIN: f64 = 0.01;

/// The settings of a t-SNE run, with scikit-learn's defaults; [`Tsne::fit`] runs it.
#[derive(Debug, Clone)]
pub struct Tsne {
    perplexity: f64,
    iterations: usize,
    early_exaggeration: f64,
    exaggeration_iterations: usize,
    momentum: (f64, f64),
    learning_rate: Option<f64>,
    seed: u64,
    init: Option<Array<f64>>,
}

impl Default for Tsne {
    fn default() -> Self {
        Self::new()
    }
}

/// The result of [`Tsne::fit`].
#[derive(Debug, Clone)]
pub struct TsneFit<T: Element> {
    /// The map, `[n, 2]`.
    pub embedding: Array<T>,
    /// KL(P‖Q) of the final map (without exaggeration).
    pub kl: f64,
    /// KL(P‖Q) (without exaggeration) before each iteration, then after the last:
    /// `iterations + 1` values.
    pub kl_history: Vec<f64>,
    /// The iterations run.
    pub iterations: usize,
}

impl Tsne {
    /// Perplexity 30, 1,000 iterations (the first 250 with exaggeration 12 and momentum 0.5,
    /// then 0.8), automatic learning rate, seed 0, random start.
    pub fn new() -> Self {
        Tsne {
            perplexity: 30.0,
            iterations: 1000,
            early_exaggeration: 12.0,
            exaggeration_iterations: 250,
            momentum: (0.5, 0.8),
            learning_rate: None,
            seed: 0,
            init: None,
        }
    }

    /// The perplexity: roughly the number of neighbours each point attends to.
    pub fn perplexity(mut self, perplexity: f64) -> Self {
        self.perplexity = perplexity;
        self
    }

    /// The total number of iterations, the exaggerated ones included.
    pub fn iterations(mut self, iterations: usize) -> Self {
        self.iterations = iterations;
        self
    }

    /// The factor on P during the first iterations (12), and how many (250).
    pub fn early_exaggeration(mut self, factor: f64, iterations: usize) -> Self {
        self.early_exaggeration = factor;
        self.exaggeration_iterations = iterations;
        self
    }

    /// The momentum during (0.5) and after (0.8) the exaggerated iterations.
    pub fn momentum(mut self, early: f64, late: f64) -> Self {
        self.momentum = (early, late);
        self
    }

    /// A fixed learning rate instead of `max(n / early_exaggeration / 4, 50)`.
    pub fn learning_rate(mut self, rate: f64) -> Self {
        self.learning_rate = Some(rate);
        self
    }

    /// The seed of the random start.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Starts from this `[n, 2]` map instead of a random one (e.g. the first two principal
    /// components scaled to standard deviation 1e-4, scikit-learn's `init="pca"`).
    pub fn init(mut self, embedding: Array<f64>) -> Self {
        self.init = Some(embedding);
        self
    }

    /// Computes the affinities of the rows of `x` `[n, d]` and optimises a 2-D map of them.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for input that is not 2-D, has NaN or infinite values or
    /// fewer points than the perplexity needs (perplexity must be below `n`), for zero
    /// iterations, a learning rate or exaggeration that is not positive and finite, a
    /// momentum outside `[0, 1)`, or a start that is not `[n, 2]` and finite.
    #[track_caller]
    pub fn fit<T: Element>(&self, x: &Array<T>) -> Result<TsneFit<T>> {
        self.check()?;
        let affinities = Affinities::compute(x, self.perplexity)?;
        let start = self.start(affinities.n())?;
        self.optimise(&affinities, start)
    }

    /// Optimises a map for given affinities from `start` (`[n, 2]`, row-major).
    fn optimise<T: Element>(&self, affinities: &Affinities, mut y: Vec<f64>) -> Result<TsneFit<T>> {
        let n = affinities.n();
        let rate = self
            .learning_rate
            .unwrap_or_else(|| (n as f64 / self.early_exaggeration / 4.0).max(50.0));
        let mut update = vec![0.0_f64; n * 2];
        let mut gains = vec![1.0_f64; n * 2];
        let mut kl_history = Vec::with_capacity(self.iterations + 1);
        for it in 0..self.iterations {
            let early = it < self.exaggeration_iterations;
            let (exaggeration, momentum) = if early {
                (self.early_exaggeration, self.momentum.0)
            } else {
                (1.0, self.momentum.1)
            };
            let eval = loss::evaluate(&to_array::<T>(&y, n)?, affinities, exaggeration)?;
            kl_history.push(eval.kl);
            for i in 0..n * 2 {
                let g = eval.grad[i];
                // delta-bar-delta: grow the gain while the step keeps its direction
                gains[i] = if update[i] * g < 0.0 {
                    gains[i] + 0.2
                } else {
                    gains[i] * 0.8
                };
                gains[i] = gains[i].max(MIN_GAIN);
                update[i] = momentum * update[i] - rate * gains[i] * g;
                y[i] += update[i];
            }
        }
        let embedding = to_array::<T>(&y, n)?;
        let kl = loss::evaluate(&embedding, affinities, 1.0)?.kl;
        kl_history.push(kl);
        Ok(TsneFit {
            embedding,
            kl,
            kl_history,
            iterations: self.iterations,
        })
    }

    /// The starting map: the given one, or `N(0, 1e-4²)` from the seed.
    #[track_caller]
    fn start(&self, n: usize) -> Result<Vec<f64>> {
        match &self.init {
            Some(init) => {
                if init.dims() != [n, 2] {
                    return Err(Error::invalid(
                        "tsne",
                        format!("init must be [{n}, 2] for {n} points, got {}", init.shape()),
                    ));
                }
                if init.data().iter().any(|v| !v.is_finite()) {
                    return Err(Error::invalid("tsne", "init holds a NaN or infinite value"));
                }
                Ok(init.data().to_vec())
            }
            None => {
                let normal = Normal::new(0.0, 1e-4).expect("internal: 1e-4 is a valid std");
                let mut r = rng(self.seed);
                Ok((0..n * 2).map(|_| normal.sample(&mut r)).collect())
            }
        }
    }

    #[track_caller]
    fn check(&self) -> Result<()> {
        if self.iterations == 0 {
            return Err(Error::invalid(
                "tsne",
                "iterations must be at least 1, got 0",
            ));
        }
        if let Some(rate) = self.learning_rate {
            if !(rate.is_finite() && rate > 0.0) {
                return Err(Error::invalid(
                    "tsne",
                    format!("learning rate must be positive and finite, got {rate}"),
                ));
            }
        }
        let e = self.early_exaggeration;
        if !(e.is_finite() && e > 0.0) {
            return Err(Error::invalid(
                "tsne",
                format!("early exaggeration must be positive and finite, got {e}"),
            ));
        }
        let (m0, m1) = self.momentum;
        if !((0.0..1.0).contains(&m0) && (0.0..1.0).contains(&m1)) {
            return Err(Error::invalid(
                "tsne",
                format!("momentum must be in [0, 1), got {m0} and {m1}"),
            ));
        }
        Ok(())
    }
}

fn to_array<T: Element>(y: &[f64], n: usize) -> Result<Array<T>> {
    Array::from_vec(y.iter().map(|&v| T::of(v)).collect(), [n, 2])
}

/// Leave-one-out k-NN accuracy of `labels` inside `embedding` `[n, d]`: for every point, the
/// majority label of its `k` nearest other points (Euclidean; equal distances rank by index;
/// a tied vote goes to the tied label of the nearest neighbour), compared with its own label.
/// `scripts/tsne_compare.py` computes the same number for scikit-learn's maps.
///
/// # Errors
/// [`Error::InvalidArgument`] when `embedding` is not 2-D, `labels` does not have one label
/// per row, `k` is 0 or not below `n`, or a value is NaN or infinite.
#[track_caller]
pub fn neighbour_accuracy<T: Element>(
    embedding: &Array<T>,
    labels: &[usize],
    k: usize,
) -> Result<f64> {
    if embedding.rank() != 2 {
        return Err(Error::invalid(
            "neighbour_accuracy",
            format!("embedding must be 2-D, got {}", embedding.shape()),
        ));
    }
    let (n, d) = (embedding.dims()[0], embedding.dims()[1]);
    if labels.len() != n {
        return Err(Error::invalid(
            "neighbour_accuracy",
            format!("{} labels for {n} points", labels.len()),
        ));
    }
    if k == 0 || k >= n {
        return Err(Error::invalid(
            "neighbour_accuracy",
            format!("k must be in 1..{n} for {n} points, got {k}"),
        ));
    }
    if embedding.data().iter().any(|v| !v.is_finite()) {
        return Err(Error::invalid(
            "neighbour_accuracy",
            "embedding holds a NaN or infinite value",
        ));
    }
    let x: Vec<f64> = embedding.data().iter().map(|v| v.as_f64()).collect();
    let classes = labels.iter().max().map_or(0, |&c| c + 1);
    let mut counts = vec![0usize; classes];
    let mut dist = vec![0.0; n];
    let mut order: Vec<usize> = Vec::with_capacity(n);
    let mut correct = 0usize;
    for i in 0..n {
        affinities::nearest_others(&x, d, i, k, &mut dist, &mut order);
        counts.iter_mut().for_each(|c| *c = 0);
        order.iter().for_each(|&j| counts[labels[j]] += 1);
        let top = counts.iter().copied().max().unwrap_or(0);
        let vote = order
            .iter()
            .map(|&j| labels[j])
            .find(|&c| counts[c] == top)
            .expect("internal: a neighbour has the top count");
        correct += usize::from(vote == labels[i]);
    }
    Ok(correct as f64 / n as f64)
}
