//! t-SNE: the affinities' binary search, the tape gradient of KL(P‖Q) against t-SNE's
//! closed-form gradient, maps of well-separated clusters, determinism, and bad input.

use rand::Rng;
use tapegrad_core::{rng, Array, Error, Result};
use tapegrad_nn::tsne::{
    conditional_row, loss, neighbour_accuracy, perplexity_of, Affinities, Tsne,
};

/// `per` points around each of three centres 20 apart in `dim`-D (unit noise), and labels.
fn clusters(per: usize, dim: usize, seed: u64) -> (Array<f64>, Vec<usize>) {
    let mut r = rng(seed);
    let mut data = Vec::with_capacity(3 * per * dim);
    let mut labels = Vec::with_capacity(3 * per);
    for i in 0..3 * per {
        let c = i % 3;
        labels.push(c);
        for d in 0..dim {
            let centre = if d == c { 20.0 } else { 0.0 };
            data.push(centre + r.random_range(-1.0..1.0));
        }
    }
    (Array::from_vec(data, [3 * per, dim]).unwrap(), labels)
}

#[test]
fn binary_search_hits_the_perplexity() {
    let mut r = rng(3);
    for &perplexity in &[2.0, 5.0, 30.0] {
        for scale in [0.01, 1.0, 1e4] {
            let dist: Vec<f64> = (0..91).map(|_| scale * r.random_range(0.0..10.0)).collect();
            let p = conditional_row(&dist, perplexity);
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            let got = perplexity_of(&p);
            // 1e-5 nats of entropy is a relative 1e-5 of the perplexity
            assert!(
                (got / perplexity - 1.0).abs() < 2e-5,
                "{perplexity} at {scale}: {got}"
            );
        }
    }
}

#[test]
fn affinities_are_symmetric_and_sum_to_one() -> Result<()> {
    let (x, _) = clusters(20, 4, 0);
    let aff = Affinities::compute(&x, 10.0)?;
    let dense = aff.to_dense();
    let n = aff.n();
    let total: f64 = dense.data().iter().sum();
    assert!((total - 1.0).abs() < 1e-12, "sum {total}");
    for i in 0..n {
        assert_eq!(dense.data()[i * n + i], 0.0);
        for j in 0..n {
            assert_eq!(dense.data()[i * n + j], dense.data()[j * n + i]);
        }
    }
    assert!(aff.rows().iter().zip(aff.cols()).all(|(i, j)| i < j));
    // 31 neighbours per point, of which at least the 19 in its own cluster get an affinity
    assert!(
        aff.len() >= 3 * 19 * 20 / 2 && aff.len() <= n * 31,
        "{} pairs",
        aff.len()
    );
    assert!(aff.values().iter().all(|&p| p > 0.0));
    assert!(aff.neg_entropy().is_finite());
    Ok(())
}

/// KL(P‖Q) and 4·Σ_j (α·p_ij − q_ij)(y_i − y_j)(1 + |y_i − y_j|²)^-1, computed directly.
fn closed_form(p: &Array<f64>, y: &[f64], n: usize, alpha: f64) -> (f64, Vec<f64>) {
    let p = p.data();
    let w = |i: usize, j: usize| {
        let d = (y[2 * i] - y[2 * j]).powi(2) + (y[2 * i + 1] - y[2 * j + 1]).powi(2);
        1.0 / (1.0 + d)
    };
    let z: f64 = (0..n)
        .flat_map(|i| (0..n).map(move |j| (i, j)))
        .filter(|(i, j)| i != j)
        .map(|(i, j)| w(i, j))
        .sum();
    let mut kl = 0.0;
    let mut grad = vec![0.0; 2 * n];
    for i in 0..n {
        for j in 0..n {
            if i == j {
                continue;
            }
            let q = w(i, j) / z;
            if p[i * n + j] > 0.0 {
                kl += p[i * n + j] * (p[i * n + j] / q).ln();
            }
            for c in 0..2 {
                grad[2 * i + c] +=
                    4.0 * (alpha * p[i * n + j] - q) * (y[2 * i + c] - y[2 * j + c]) * w(i, j);
            }
        }
    }
    (kl, grad)
}

#[test]
fn tape_gradient_matches_the_closed_form() -> Result<()> {
    let (x, _) = clusters(4, 3, 5); // 12 points
    let aff = Affinities::compute(&x, 3.0)?;
    let n = aff.n();
    let mut r = rng(9);
    let y: Vec<f64> = (0..2 * n).map(|_| r.random_range(-2.0..2.0)).collect();
    let ya = Array::from_vec(y.clone(), [n, 2])?;
    for &alpha in &[1.0, 12.0] {
        let (kl, grad) = closed_form(&aff.to_dense(), &y, n, alpha);
        // blocks of 1, 5 (uneven) and all rows
        for block in [1, 5, n] {
            let eval = loss::evaluate_in_blocks(&ya, &aff, alpha, block)?;
            assert!((eval.kl - kl).abs() < 1e-12, "kl {} vs {kl}", eval.kl);
            for (a, b) in eval.grad.iter().zip(&grad) {
                assert!(
                    (a - b).abs() < 1e-12 * (1.0 + b.abs()),
                    "block {block}: {a} vs {b}"
                );
            }
        }
        let eval = loss::evaluate(&ya, &aff, alpha)?;
        assert!((eval.kl - kl).abs() < 1e-12);
    }
    Ok(())
}

#[test]
fn clusters_separate_and_kl_decreases() -> Result<()> {
    let (x, labels) = clusters(50, 10, 1); // 150 points
    let fit = Tsne::new()
        .perplexity(20.0)
        .iterations(500)
        .seed(2)
        .fit(&x)?;
    assert_eq!(fit.embedding.dims(), &[150, 2]);
    assert_eq!(fit.iterations, 500);
    assert_eq!(fit.kl_history.len(), 501);
    assert_eq!(neighbour_accuracy(&fit.embedding, &labels, 5)?, 1.0);
    let first = fit.kl_history[0];
    let after_exaggeration = fit.kl_history[250];
    assert!(
        fit.kl < after_exaggeration && after_exaggeration < first,
        "{:?}",
        fit.kl_history
    );
    assert!(fit.kl < 0.5 * first, "kl {} from {first}", fit.kl);
    // f32 gives a map of the same quality
    let fit32 = Tsne::new()
        .perplexity(20.0)
        .iterations(500)
        .seed(2)
        .fit(&x.cast::<f32>())?;
    assert_eq!(neighbour_accuracy(&fit32.embedding, &labels, 5)?, 1.0);
    Ok(())
}

#[test]
fn the_same_seed_gives_the_same_map() -> Result<()> {
    let (x, _) = clusters(20, 5, 4);
    let run = |seed| {
        Tsne::new()
            .perplexity(10.0)
            .iterations(120)
            .seed(seed)
            .fit(&x.cast::<f32>())
    };
    let (a, b, c) = (run(7)?, run(7)?, run(8)?);
    assert_eq!(a.embedding.data(), b.embedding.data());
    assert_eq!(a.kl, b.kl);
    assert_ne!(a.embedding.data(), c.embedding.data());
    // a given start is used as is
    let init = Array::from_fn([60, 2], |i| (i as f64 * 0.37).sin() * 1e-4);
    let d = Tsne::new()
        .perplexity(10.0)
        .iterations(120)
        .init(init.clone())
        .fit(&x)?;
    let e = Tsne::new()
        .perplexity(10.0)
        .iterations(120)
        .seed(99)
        .init(init)
        .fit(&x)?;
    assert_eq!(d.embedding.data(), e.embedding.data());
    Ok(())
}

fn message(e: Error) -> String {
    e.to_string()
}

#[test]
fn bad_input_is_an_error() {
    let (x, labels) = clusters(5, 3, 0); // 15 points
    let err = Tsne::new().fit(&x).unwrap_err(); // perplexity 30 for 15 points
    assert!(message(err).contains("perplexity 30 must be less than the number of points 15"));
    let mut nan = x.clone();
    nan.data_mut()[7] = f64::NAN;
    let err = Tsne::new().perplexity(3.0).fit(&nan).unwrap_err();
    assert!(message(err).contains("[2, 1] is NaN"));
    let err = Tsne::new()
        .perplexity(3.0)
        .iterations(0)
        .fit(&x)
        .unwrap_err();
    assert!(message(err).contains("iterations must be at least 1"));
    let err = Tsne::new().perplexity(0.5).fit(&x).unwrap_err();
    assert!(message(err).contains("perplexity must be >= 1"));
    let err = Tsne::new()
        .perplexity(3.0)
        .learning_rate(-1.0)
        .fit(&x)
        .unwrap_err();
    assert!(message(err).contains("learning rate"));
    let err = Tsne::new()
        .perplexity(3.0)
        .momentum(0.5, 1.0)
        .fit(&x)
        .unwrap_err();
    assert!(message(err).contains("momentum"));
    let err = Tsne::new()
        .perplexity(3.0)
        .init(Array::zeros([14, 2]))
        .fit(&x)
        .unwrap_err();
    assert!(message(err).contains("init must be [15, 2]"));
    let flat = Array::<f64>::zeros([15]);
    assert!(message(Tsne::new().perplexity(3.0).fit(&flat).unwrap_err()).contains("2-D"));
    let one = Array::<f64>::zeros([1, 3]);
    assert!(message(Tsne::new().perplexity(1.0).fit(&one).unwrap_err()).contains("at least 2"));
    // the metric
    assert!(neighbour_accuracy(&x, &labels[..14], 5).is_err());
    assert!(neighbour_accuracy(&x, &labels, 0).is_err());
    assert!(neighbour_accuracy(&x, &labels, 15).is_err());
    assert!(neighbour_accuracy(&nan, &labels, 5).is_err());
}

#[test]
fn neighbour_accuracy_is_leave_one_out() -> Result<()> {
    // 1-D: 0, 1, 2 are class 0; 10, 11 class 1; 2.5 is class 1 but among class 0
    let x = Array::from_vec(vec![0., 1., 2., 10., 11., 2.5], [6, 1])?;
    let labels = [0, 0, 0, 1, 1, 1];
    // k = 1: every point but 2.5 (nearest 2, class 0) and 2 (nearest 2.5) is right
    assert!((neighbour_accuracy(&x, &labels, 1)? - 4.0 / 6.0).abs() < 1e-12);
    Ok(())
}
