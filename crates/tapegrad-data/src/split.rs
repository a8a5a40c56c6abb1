//! Seeded train/test splits, plain or stratified (each class split in the same proportion).
//!
//! The test part has `ceil(test_fraction * N)` rows, as in scikit-learn's
//! `train_test_split`, so 1,797 digits with a fraction of 0.2 split 1,437 / 360.

use crate::dataset::Subset;
use rand::seq::SliceRandom;
use tapegrad_core::{rng, Error, Result};

/// Splits a set into (train, test) rows: a seeded shuffle, then the first
/// `ceil(test_fraction * N)` shuffled rows are the test part. With `stratified`, every class
/// keeps (as nearly as integer counts allow) its share in both parts; it needs a set with
/// labels (a [`Dataset`](crate::Dataset)). Both parts come out shuffled.
///
/// ```
/// use tapegrad_data::{iris, train_test_split};
/// # fn main() -> tapegrad_core::Result<()> {
/// let (train, test) = train_test_split(&iris(), 0.2, 0, true)?;
/// assert_eq!(test.class_counts(), vec![10, 10, 10]); // 50 of each class in iris
/// assert_eq!(train.len(), 120);
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] when `test_fraction` is not strictly between 0 and 1, when one
/// part would be empty, or when `stratified` is asked for a set without labels.
#[track_caller]
pub fn train_test_split<D: Subset>(
    ds: &D,
    test_fraction: f64,
    seed: u64,
    stratified: bool,
) -> Result<(D, D)> {
    let labels = match (stratified, ds.strata()) {
        (false, _) => None,
        (true, Some(labels)) => Some(labels),
        // Not in a closure, so that the error is located at the caller.
        (true, None) => {
            return Err(Error::invalid(
                "train_test_split",
                "stratified splitting needs class labels; this set has none",
            ))
        }
    };
    let (train, test) = split_indices(ds.len(), test_fraction, seed, labels)?;
    Ok((ds.select(&train)?, ds.select(&test)?))
}

/// The row indices of a split of `n` rows: (train, test), each in shuffled order. With
/// `labels` (one per row) the split is stratified. The same arguments give the same split.
///
/// In a stratified split the test part still has `ceil(test_fraction * n)` rows; class `c`
/// with `n_c` rows gets `floor(n_c * n_test / n)` of them, and the rows left over go to the
/// classes with the largest remainders (ties: the smaller class index).
///
/// # Errors
/// [`Error::InvalidArgument`] when `test_fraction` is not strictly between 0 and 1, a part
/// would be empty, or `labels` does not have `n` entries.
#[track_caller]
pub fn split_indices(
    n: usize,
    test_fraction: f64,
    seed: u64,
    labels: Option<&[usize]>,
) -> Result<(Vec<usize>, Vec<usize>)> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(Error::invalid(
            "train_test_split",
            format!("test_fraction must be between 0 and 1 (exclusive), got {test_fraction}"),
        ));
    }
    let n_test = (test_fraction * n as f64).ceil() as usize;
    if n_test == 0 || n_test >= n {
        return Err(Error::invalid(
            "train_test_split",
            format!(
                "a test fraction of {test_fraction} of {n} rows leaves {n_test} test and {} \
                 train rows; both parts need at least one",
                n.saturating_sub(n_test)
            ),
        ));
    }
    let mut r = rng(seed);
    let (mut train, mut test) = match labels {
        None => {
            let mut order: Vec<usize> = (0..n).collect();
            order.shuffle(&mut r);
            let train = order.split_off(n_test);
            (train, order)
        }
        Some(labels) => {
            if labels.len() != n {
                return Err(Error::invalid(
                    "train_test_split",
                    format!("{} labels given for {n} rows", labels.len()),
                ));
            }
            stratified(labels, n_test, &mut r)
        }
    };
    train.shuffle(&mut r);
    test.shuffle(&mut r);
    Ok((train, test))
}

fn stratified(
    labels: &[usize],
    n_test: usize,
    r: &mut rand::rngs::StdRng,
) -> (Vec<usize>, Vec<usize>) {
    let n = labels.len();
    let classes = labels.iter().max().map_or(0, |&m| m + 1);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (i, &l) in labels.iter().enumerate() {
        by_class[l].push(i);
    }
    // Largest-remainder allocation of the test rows to classes.
    let mut take: Vec<usize> = by_class.iter().map(|c| c.len() * n_test / n).collect();
    let mut left = n_test - take.iter().sum::<usize>();
    let mut order: Vec<usize> = (0..classes).collect();
    // Remainder of class c is (n_c * n_test) mod n; larger first, then smaller class index.
    order.sort_by_key(|&c| (std::cmp::Reverse(by_class[c].len() * n_test % n), c));
    for &c in order.iter().cycle().take(classes * 2) {
        if left == 0 {
            break;
        }
        if take[c] < by_class[c].len() {
            take[c] += 1;
            left -= 1;
        }
    }
    let mut train = Vec::with_capacity(n - n_test);
    let mut test = Vec::with_capacity(n_test);
    for (rows, k) in by_class.iter_mut().zip(take) {
        rows.shuffle(r);
        test.extend_from_slice(&rows[..k]);
        train.extend_from_slice(&rows[k..]);
    }
    (train, test)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{digits, Dataset, RegressionSet};
    use tapegrad_core::Array;

    #[test]
    fn sizes_cover_and_disjoint() {
        for (n, f, want) in [(10, 0.25, 3), (1797, 0.2, 360), (5, 0.5, 3), (2, 0.1, 1)] {
            let (tr, te) = split_indices(n, f, 1, None).unwrap();
            assert_eq!((tr.len(), te.len()), (n - want, want));
            let mut all: Vec<usize> = tr.iter().chain(&te).copied().collect();
            all.sort_unstable();
            assert_eq!(all, (0..n).collect::<Vec<_>>());
        }
    }

    #[test]
    fn same_seed_same_split_other_seed_differs() {
        let a = split_indices(100, 0.3, 5, None).unwrap();
        assert_eq!(a, split_indices(100, 0.3, 5, None).unwrap());
        assert_ne!(a, split_indices(100, 0.3, 6, None).unwrap());
    }

    #[test]
    fn bad_arguments() {
        for f in [0.0, 1.0, -0.5, f64::NAN] {
            let e = split_indices(10, f, 0, None).unwrap_err().to_string();
            assert!(e.contains("test_fraction must be between 0 and 1"), "{e}");
        }
        let e = split_indices(1, 0.5, 0, None).unwrap_err().to_string();
        assert!(e.contains("leaves 1 test and 0 train rows"), "{e}");
        let e = split_indices(3, 0.5, 0, Some(&[0, 1]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("2 labels given for 3 rows"), "{e}");
        let r = RegressionSet::new(Array::<f32>::zeros([4, 1]), Array::zeros([4, 1])).unwrap();
        let e = train_test_split(&r, 0.5, 0, true).unwrap_err().to_string();
        assert!(e.contains("needs class labels"), "{e}");
        assert_eq!(train_test_split(&r, 0.5, 0, false).unwrap().1.len(), 2);
    }

    #[test]
    fn stratified_keeps_class_shares() {
        let ds = digits();
        let (train, test) = train_test_split(&ds, 0.2, 42, true).unwrap();
        assert_eq!((train.len(), test.len()), (1437, 360));
        let (all, te) = (ds.class_counts(), test.class_counts());
        for (c, (&n_c, &t_c)) in all.iter().zip(&te).enumerate() {
            let ideal = n_c as f64 * 360.0 / 1797.0;
            assert!(
                (t_c as f64 - ideal).abs() < 1.0,
                "class {c}: {t_c} vs {ideal}"
            );
        }
        // Unbalanced toy: 90 zeros, 10 ones; 20% test gives exactly 18 and 2.
        let y: Vec<usize> = (0..100).map(|i| usize::from(i >= 90)).collect();
        let toy = Dataset::new(Array::<f32>::zeros([100, 1]), y, 2).unwrap();
        for seed in 0..5 {
            let (tr, te) = train_test_split(&toy, 0.2, seed, true).unwrap();
            assert_eq!(te.class_counts(), vec![18, 2]);
            assert_eq!(tr.class_counts(), vec![72, 8]);
        }
        // Remainders: 3 classes of 3 rows, 4 test rows: 1 each, the extra to class 0.
        let y = vec![0, 0, 0, 1, 1, 1, 2, 2, 2];
        let (_, te) = split_indices(9, 0.4, 3, Some(&y)).unwrap();
        let mut counts = [0; 3];
        te.iter().for_each(|&i| counts[y[i]] += 1);
        assert_eq!(counts, [2, 1, 1]);
    }

    #[test]
    fn split_rows_follow_their_labels() {
        let x = Array::<f32>::from_fn([50, 1], |i| i as f32);
        let y: Vec<usize> = (0..50).map(|i| i % 3).collect();
        let ds = Dataset::new(x, y, 3).unwrap();
        let (tr, te) = train_test_split(&ds, 0.3, 9, true).unwrap();
        for part in [&tr, &te] {
            for (row, &l) in part.x.data().iter().zip(&part.y) {
                assert_eq!(*row as usize % 3, l);
            }
        }
    }
}
