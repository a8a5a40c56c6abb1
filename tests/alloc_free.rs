//! A training step in its steady state allocates nothing: the batch gather, the forward pass,
//! the loss, `backward`, the tape's reset and the Adam update all take their buffers from the
//! per-thread pool. (`examples/bench.rs` reports the same as `allocs_per_step`; this test keeps
//! it at 0.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tapegrad::nn::optim::{Adam, Optimizer};
use tapegrad::nn::{Activation, Mlp, Module};
use tapegrad::{Array, Tape};

/// The system allocator, counting allocations while `COUNTING` is set.
struct CountingAlloc;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

fn count() {
    if COUNTING.load(Ordering::Relaxed) {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
    }
}

#[allow(unsafe_code)]
// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the only addition is reading a flag and bumping a counter.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract for `alloc` is passed through unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as for `dealloc`; `new_size` is the caller's, passed through.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

#[test]
fn a_training_step_in_its_steady_state_allocates_nothing() {
    // one thread: the only test of this binary, so nothing else allocates while it counts
    tapegrad::set_num_threads(1);
    let (n, batch) = (256, 32);
    let x = Array::<f32>::from_vec(
        (0..n * 20).map(|i| (i % 17) as f32 / 17.0).collect(),
        [n, 20],
    )
    .unwrap();
    let y: Vec<usize> = (0..n).map(|i| i % 3).collect();
    let mut rng = tapegrad::rng(0);
    let mut net = Mlp::<f32>::new(
        &[20, 16, 3],
        Activation::Relu,
        Activation::Identity,
        &mut rng,
    )
    .unwrap();
    let mut opt = Adam::new(1e-3);
    let mut tape = Tape::<f32>::new();
    let mut labels = Vec::with_capacity(batch);
    let batches: Vec<Vec<usize>> = (0..n / batch)
        .map(|b| (b * batch..(b + 1) * batch).collect())
        .collect();
    let mut step = |idx: &[usize]| {
        labels.clear();
        labels.extend(idx.iter().map(|&i| y[i]));
        let grads = {
            let xb = tape.constant(x.select_rows(idx).unwrap());
            let loss = net
                .forward(xb)
                .unwrap()
                .cross_entropy_with_logits(&labels)
                .unwrap();
            assert!(loss.item().unwrap().is_finite());
            loss.backward().unwrap()
        };
        tape.reset();
        opt.step(&mut net, &grads).unwrap();
    };
    // warm-up: the pool and the optimizer's state fill up
    for idx in batches.iter().cycle().take(20) {
        step(idx);
    }
    COUNTING.store(true, Ordering::Relaxed);
    for idx in batches.iter().cycle().take(20) {
        step(idx);
    }
    COUNTING.store(false, Ordering::Relaxed);
    assert_eq!(
        ALLOCS.load(Ordering::Relaxed),
        0,
        "allocations in 20 steady-state steps"
    );
}
