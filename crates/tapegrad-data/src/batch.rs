//! Mini-batches: row indices in shuffled (or fixed) order, one slice per batch.
//!
//! [`Batches`] owns one `Vec<usize>` for the order and reuses it every epoch: an epoch's order
//! depends only on `(seed, epoch)`, so epoch 3 is the same whether or not epochs 0 to 2 ran.
//! Gather a batch's rows with [`Array::select_rows`](tapegrad_core::Array::select_rows) and its
//! labels with [`Dataset::labels_at`](crate::Dataset::labels_at) (or both with
//! [`Dataset::batch`](crate::Dataset::batch)).

use rand::seq::SliceRandom;
use tapegrad_core::{rng, Error, Result};

/// Mini-batch row indices over `n_rows` rows.
///
/// ```
/// use tapegrad_data::Batches;
/// # fn main() -> tapegrad_core::Result<()> {
/// let mut b = Batches::new(10, 4, None, false)?; // no shuffling, keep the last partial batch
/// let sizes: Vec<usize> = b.epoch(0).map(|idx| idx.len()).collect();
/// assert_eq!(sizes, vec![4, 4, 2]);
/// let mut b = Batches::new(10, 4, Some(1), true)?; // shuffled, drop the partial batch
/// assert_eq!(b.len(), 2);
/// let first: Vec<Vec<usize>> = b.epoch(5).map(<[usize]>::to_vec).collect();
/// let again: Vec<Vec<usize>> = b.epoch(5).map(<[usize]>::to_vec).collect();
/// assert_eq!(first, again); // same (seed, epoch), same order
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Batches {
    order: Vec<usize>,
    batch_size: usize,
    seed: Option<u64>,
    drop_last: bool,
}

/// The batches of one epoch: slices of row indices (see [`Batches::epoch`]).
#[derive(Clone, Debug)]
pub struct Epoch<'a> {
    chunks: std::slice::Chunks<'a, usize>,
}

impl<'a> Iterator for Epoch<'a> {
    type Item = &'a [usize];

    fn next(&mut self) -> Option<&'a [usize]> {
        self.chunks.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.chunks.size_hint()
    }
}

impl ExactSizeIterator for Epoch<'_> {}

/// Mixes a seed and an epoch into one seed (SplitMix64's finaliser), so that nearby epochs
/// get unrelated streams.
pub(crate) fn mix(seed: u64, stream: u64) -> u64 {
    let mut z = seed ^ stream.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Batches {
    /// Batches of `batch_size` rows over rows `0..n_rows`. With `shuffle_seed`, each epoch
    /// visits the rows in an order drawn from `(seed, epoch)`; without, in order `0..n_rows`.
    /// With `drop_last`, a last batch smaller than `batch_size` is left out (those rows are
    /// skipped in that epoch, different ones each epoch when shuffling).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `batch_size` is 0.
    #[track_caller]
    pub fn new(
        n_rows: usize,
        batch_size: usize,
        shuffle_seed: Option<u64>,
        drop_last: bool,
    ) -> Result<Self> {
        if batch_size == 0 {
            return Err(Error::invalid(
                "Batches::new",
                "batch_size must be at least 1",
            ));
        }
        Ok(Batches {
            order: (0..n_rows).collect(),
            batch_size,
            seed: shuffle_seed,
            drop_last,
        })
    }

    /// The number of batches per epoch.
    pub fn len(&self) -> usize {
        let n = self.order.len();
        if self.drop_last {
            n / self.batch_size
        } else {
            n.div_ceil(self.batch_size)
        }
    }

    /// Whether an epoch has no batches (no rows, or fewer than `batch_size` with `drop_last`).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of rows.
    pub fn n_rows(&self) -> usize {
        self.order.len()
    }

    /// The batch size.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The batches of epoch `epoch`: reorders the rows (without allocating) and iterates over
    /// slices of the order.
    pub fn epoch(&mut self, epoch: u64) -> Epoch<'_> {
        if let Some(seed) = self.seed {
            for (i, v) in self.order.iter_mut().enumerate() {
                *v = i;
            }
            self.order.shuffle(&mut rng(mix(seed, epoch)));
        }
        let used = if self.drop_last {
            self.order.len() / self.batch_size * self.batch_size
        } else {
            self.order.len()
        };
        Epoch {
            chunks: self.order[..used].chunks(self.batch_size),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(b: &mut Batches, e: u64) -> Vec<Vec<usize>> {
        b.epoch(e).map(<[usize]>::to_vec).collect()
    }

    #[test]
    fn every_row_once_per_epoch() {
        let mut b = Batches::new(103, 10, Some(42), false).unwrap();
        assert_eq!(b.len(), 11);
        for e in 0..3 {
            let batches = collect(&mut b, e);
            assert_eq!(batches.len(), 11);
            assert!(batches[..10].iter().all(|x| x.len() == 10));
            assert_eq!(batches[10].len(), 3);
            let mut all: Vec<usize> = batches.concat();
            all.sort_unstable();
            assert_eq!(all, (0..103).collect::<Vec<_>>());
        }
    }

    #[test]
    fn order_depends_on_seed_and_epoch_only() {
        let mut a = Batches::new(50, 7, Some(3), false).unwrap();
        let mut b = Batches::new(50, 7, Some(3), false).unwrap();
        let e2 = collect(&mut a, 2);
        collect(&mut b, 0);
        collect(&mut b, 1);
        assert_eq!(collect(&mut b, 2), e2);
        assert_ne!(collect(&mut a, 3), e2);
        let mut c = Batches::new(50, 7, Some(4), false).unwrap();
        assert_ne!(collect(&mut c, 2), e2);
        // Shuffled, not the identity.
        assert_ne!(e2.concat(), (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn unshuffled_is_in_order() {
        let mut b = Batches::new(5, 2, None, false).unwrap();
        assert_eq!(collect(&mut b, 9), vec![vec![0, 1], vec![2, 3], vec![4]]);
        assert_eq!(b.epoch(0).len(), 3);
    }

    #[test]
    fn drop_last() {
        let mut b = Batches::new(103, 10, Some(1), true).unwrap();
        assert_eq!(b.len(), 10);
        let batches = collect(&mut b, 0);
        assert_eq!(batches.len(), 10);
        assert!(batches.iter().all(|x| x.len() == 10));
        let mut all = batches.concat();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 100);
        let mut small = Batches::new(3, 4, None, true).unwrap();
        assert!(small.is_empty());
        assert_eq!(small.epoch(0).count(), 0);
        let mut exact = Batches::new(8, 4, None, true).unwrap();
        assert_eq!(exact.epoch(0).count(), 2);
    }

    #[test]
    fn zero_batch_size_is_an_error() {
        let e = Batches::new(3, 0, None, false).unwrap_err().to_string();
        assert!(e.contains("batch_size must be at least 1"), "{e}");
        let b = Batches::new(0, 4, Some(1), false).unwrap();
        assert!(b.is_empty());
    }
}
