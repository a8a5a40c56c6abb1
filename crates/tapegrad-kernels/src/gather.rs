//! Gathering rows: the batch of a training step picked out of a data set, split over the
//! threads when it is large.

use crate::parallel::for_each_run;
use crate::pool;
use crate::Scalar;

/// Gathers split over the threads in pieces of at least this many elements (64 KB of f32,
/// some 5 µs of scattered reads): a batch of 128 MNIST rows goes to two threads.
const GATHER_GRAIN: usize = 1 << 14;

/// The rows `indices` (in order) of `src`, a row-major matrix of rows of `row` elements,
/// into a pooled buffer of `indices.len() * row` elements. A big batch (many random rows of
/// a big array, bound by memory latency, which each core hides on its own) is shared out in
/// runs of whole output rows.
///
/// ```
/// let src = [0.0f32, 1.0, 10.0, 11.0, 20.0, 21.0]; // three rows of two
/// assert_eq!(tapegrad_kernels::gather_rows(&src, 2, &[2, 0, 2]), [20.0, 21.0, 0.0, 1.0, 20.0, 21.0]);
/// ```
///
/// # Panics
///
/// If an index names a row past the end of `src`, or the output size overflows `usize`.
pub fn gather_rows<T: Scalar>(src: &[T], row: usize, indices: &[usize]) -> Vec<T> {
    // checked: `n` bounds the `set_len` below
    let n = indices
        .len()
        .checked_mul(row)
        .expect("gather_rows: output size overflows");
    let mut data = pool::take(n);
    if n == 0 {
        return data;
    }
    for_each_run(
        &mut data.spare_capacity_mut()[..n],
        GATHER_GRAIN,
        row,
        |at, out| {
            let rows = &indices[at / row..(at + out.len()) / row];
            for (o, &i) in out.chunks_mut(row).zip(rows) {
                // (checked slicing: a bad index panics here, before `set_len`)
                let from = i
                    .checked_mul(row)
                    .expect("gather_rows: row offset overflows");
                o.write_copy_of_slice(&src[from..from + row]);
            }
        },
    );
    #[allow(unsafe_code)]
    // The runs cover the first n = indices.len() * row elements of the spare capacity
    // exactly (whole rows, `n` a multiple of `row`); a panic in any run unwinds through
    // `for_each_run` before this line.
    // SAFETY: so all n elements were written above, and `take(n)` gave at least n of
    // capacity: setting the length to n exposes only initialized elements.
    unsafe {
        data.set_len(n)
    };
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gathers_rows_in_order_and_large_batches_in_runs() {
        assert!(gather_rows::<f64>(&[1.0, 2.0], 2, &[]).is_empty());
        // more elements than one grain, so it splits when there are threads
        let rows = if cfg!(miri) { 40 } else { 3000 };
        let row = if cfg!(miri) { 3 } else { 17 };
        let src: Vec<f32> = (0..rows * row).map(|v| v as f32).collect();
        let indices: Vec<usize> = (0..rows).map(|i| (i * 7919) % rows).collect();
        let out = gather_rows(&src, row, &indices);
        assert_eq!(out.len(), rows * row);
        for (o, &i) in out.chunks(row).zip(&indices) {
            assert_eq!(o, &src[i * row..(i + 1) * row]);
        }
    }

    #[test]
    #[should_panic]
    fn an_index_past_the_end_panics_before_anything_is_exposed() {
        gather_rows(&[1.0f32, 2.0, 3.0, 4.0], 2, &[0, 2]);
    }
}
