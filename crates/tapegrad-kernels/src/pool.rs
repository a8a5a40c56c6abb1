//! A per-thread free list of element buffers, so that a training loop in its steady state
//! allocates nothing: every array of tapegrad-core gives its buffer back here when it is
//! dropped (e.g. when a tape is reset and clears the step's values, or a step's gradients go
//! out of scope), and the kernels take their output buffers from here.
//!
//! Buffers are kept in buckets by power-of-two capacity. The pool is bounded: at most 1024
//! buffers per bucket up to 4096 elements and 64 per larger bucket, no buffer over 2^24
//! elements (`MAX_POOLED`), and at most 2^27 elements in all (`MAX_TOTAL`); anything beyond
//! is freed as usual.

use crate::Scalar;
use std::any::{Any, TypeId};
use std::cell::RefCell;

/// Buffers kept per capacity bucket: many small ones (a long chain of tiny ops), fewer large.
fn per_bucket(k: usize) -> usize {
    if k <= 12 {
        1024
    } else {
        64
    }
}
/// The largest buffer (in elements) worth keeping: 16 M elements (64 MB of f32).
const MAX_POOLED: usize = 1 << 24;
/// The most elements kept in all, per thread and element type (512 MB of f32; a bound, not
/// a reservation). A LeNet step on batches of 128 (the `cnn` workload) needs more than 2^26:
/// at 2^25 it refaulted about 4 MB of buffers a step, at 2^26 it still allocated 7 buffers
/// (3.2 MB) a step; at this size it allocates none.
const MAX_TOTAL: usize = 1 << 27;
/// Fresh buffers up to this size are rounded up to a power of two, so they fit any request
/// of their bucket later.
const ROUND_UP_LIMIT: usize = 1 << 22;
const BUCKETS: usize = 25;

struct Pool<T> {
    buckets: Vec<Vec<Vec<T>>>,
    total: usize,
}

impl<T> Pool<T> {
    const fn new() -> Self {
        Pool {
            buckets: Vec::new(),
            total: 0,
        }
    }

    /// A kept buffer with room for `len` elements. With `initialized`, one already holding
    /// `len` values (so [`scratch`] need not zero a tail) is preferred among those looked at.
    fn take(&mut self, len: usize, initialized: bool) -> Option<Vec<T>> {
        let ceil = ceil_log2(len);
        let buckets = [ceil, ceil.wrapping_sub(1), ceil + 1];
        let passes: &[fn(usize, usize, usize) -> bool] = if initialized {
            &[|vlen, _, len| vlen >= len, |_, cap, len| cap >= len]
        } else {
            &[|_, cap, len| cap >= len]
        };
        for fits in passes {
            for k in buckets {
                let Some(bucket) = self.buckets.get_mut(k) else {
                    continue;
                };
                // every buffer of bucket `ceil` or above fits; below, look at the last few only
                let found = bucket
                    .iter()
                    .rev()
                    .take(8)
                    .position(|v| fits(v.len(), v.capacity(), len));
                if let Some(back) = found {
                    let v = bucket.swap_remove(bucket.len() - 1 - back);
                    self.total -= v.capacity();
                    return Some(v);
                }
            }
        }
        None
    }

    fn give(&mut self, v: Vec<T>) {
        let cap = v.capacity();
        if cap == 0 || cap > MAX_POOLED {
            return;
        }
        let k = floor_log2(cap);
        // over budget: make room by freeing larger buffers (a one-off evaluation's outputs must
        // not crowd out the buffers every training step reuses), else free this one
        while self.total + cap > MAX_TOTAL {
            let Some(b) = (k + 1..self.buckets.len())
                .rev()
                .find(|&b| !self.buckets[b].is_empty())
            else {
                return;
            };
            let big = self.buckets[b]
                .pop()
                .expect("internal: bucket is not empty");
            self.total -= big.capacity();
        }
        if self.buckets.len() <= k {
            self.buckets.resize_with(BUCKETS.max(k + 1), Vec::new);
        }
        if self.buckets[k].len() < per_bucket(k) {
            // kept with its length: `scratch` can hand the values out again, unwritten
            // (elements are plain numbers: nothing to drop, nothing to leak)
            self.total += cap;
            self.buckets[k].push(v);
        }
    }
}

fn floor_log2(n: usize) -> usize {
    (usize::BITS - 1 - n.leading_zeros()) as usize
}

fn ceil_log2(n: usize) -> usize {
    if n <= 1 {
        0
    } else {
        floor_log2(n - 1) + 1
    }
}

struct Pools {
    f32: Pool<f32>,
    f64: Pool<f64>,
}

thread_local! {
    static POOLS: RefCell<Pools> = const { RefCell::new(Pools { f32: Pool::new(), f64: Pool::new() }) };
}

/// Runs `f` on this thread's pool for `T` (f32 and f64 have one each).
fn with_pool<T: Scalar, R>(f: impl FnOnce(&mut Pool<T>) -> R) -> Option<R> {
    POOLS
        .try_with(|p| {
            let mut p = p.try_borrow_mut().ok()?;
            let any: &mut dyn Any = if TypeId::of::<T>() == TypeId::of::<f32>() {
                &mut p.f32
            } else {
                &mut p.f64
            };
            any.downcast_mut::<Pool<T>>().map(f)
        })
        .ok()
        .flatten()
}

/// An empty buffer with room for at least `len` elements, reused when possible.
pub fn take<T: Scalar>(len: usize) -> Vec<T> {
    let mut v = take_kept(len, false);
    v.clear();
    v
}

/// A buffer with room for `len` elements, as the pool kept it (its old values, if any).
fn take_kept<T: Scalar>(len: usize, initialized: bool) -> Vec<T> {
    if len == 0 {
        return Vec::new();
    }
    if let Some(v) = with_pool::<T, _>(|p| p.take(len, initialized)).flatten() {
        return v;
    }
    let cap = if len <= ROUND_UP_LIMIT {
        len.next_power_of_two()
    } else {
        len
    };
    Vec::with_capacity(cap)
}

/// Gives a buffer back for reuse (or frees it when the pool is full).
pub fn give<T: Scalar>(v: Vec<T>) {
    if v.capacity() != 0 {
        let mut slot = Some(v);
        with_pool::<T, _>(|p| p.give(slot.take().expect("internal: buffer given once")));
    }
}

/// A buffer of `len` elements whose values are unspecified: those a reused buffer held
/// (zeros past its old length), for an output a kernel overwrites in full (a GEMM that does
/// not accumulate). Saves the fill that [`filled`] does.
pub fn scratch<T: Scalar>(len: usize) -> Vec<T> {
    let mut v = take_kept(len, true);
    if v.len() >= len {
        v.truncate(len);
    } else {
        v.resize(len, T::zero());
    }
    v
}

/// A buffer of `len` copies of `value`.
pub fn filled<T: Scalar>(len: usize, value: T) -> Vec<T> {
    let mut v = take(len);
    v.resize(len, value);
    v
}

/// A buffer holding the items of `iter`, which yields about `len` of them.
pub fn collect<T: Scalar>(len: usize, iter: impl Iterator<Item = T>) -> Vec<T> {
    let mut v = take(len);
    v.extend(iter);
    v
}

/// A pooled copy of a slice.
pub fn copy_of<T: Scalar>(s: &[T]) -> Vec<T> {
    let mut v = take(s.len());
    v.extend_from_slice(s);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_buffer_comes_back() {
        let v: Vec<f32> = take(100);
        let (ptr, cap) = (v.as_ptr(), v.capacity());
        assert!(cap >= 100);
        give(v);
        let w: Vec<f32> = take(90);
        assert_eq!((w.as_ptr(), w.capacity()), (ptr, cap));
        assert!(w.is_empty());
        give(w);
        // f64 has its own pool
        let x: Vec<f64> = take(100);
        assert_ne!(x.as_ptr() as usize, ptr as usize);
    }

    #[test]
    fn scratch_has_the_length_asked_and_reuses_kept_values() {
        let mut v: Vec<f64> = filled(64, 7.0);
        v[63] = 9.0;
        let ptr = v.as_ptr();
        give(v);
        // shorter: the kept values, cut to length
        let w: Vec<f64> = scratch(40);
        assert_eq!((w.as_ptr(), w.len()), (ptr, 40));
        assert!(w.iter().all(|&x| x == 7.0));
        give(w);
        // longer than it was kept: the new tail is zero
        let w: Vec<f64> = scratch(64);
        assert_eq!(w.len(), 64);
        assert!(w[..40].iter().all(|&x| x == 7.0) && w[40..].iter().all(|&x| x == 0.0));
        give(w);
        // take still hands out empty buffers
        let t: Vec<f64> = take(64);
        assert!(t.is_empty() && t.capacity() >= 64);
        let z: Vec<f32> = scratch(0);
        assert!(z.is_empty());
    }

    #[test]
    fn scratch_prefers_a_buffer_that_already_holds_the_length() {
        // two buffers of one bucket, given back short and long: scratch takes the long one
        // (nothing to zero), whichever was given last
        let long: Vec<f32> = filled(120, 3.0);
        let short: Vec<f32> = filled(70, 5.0);
        let long_ptr = long.as_ptr();
        give(long);
        give(short);
        let w: Vec<f32> = scratch(100);
        assert_eq!((w.as_ptr(), w.len()), (long_ptr, 100));
        assert!(w.iter().all(|&x| x == 3.0));
        give(w);
    }

    #[test]
    fn log2_helpers() {
        assert_eq!((floor_log2(1), floor_log2(7), floor_log2(8)), (0, 2, 3));
        assert_eq!(
            (ceil_log2(1), ceil_log2(7), ceil_log2(8), ceil_log2(9)),
            (0, 3, 3, 4)
        );
    }
}
