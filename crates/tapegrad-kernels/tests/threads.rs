//! The thread pool's limits, through the public API (a process of its own: the thread count is
//! global): `set_num_threads` is capped at `MAX_THREADS`, and a panic in a task on a helper
//! thread reaches the caller with its own payload.

use tapegrad_kernels::{num_threads, parallel_for_each, set_num_threads, MAX_THREADS};

/// The threads of this process whose name starts with "tapegrad-" (the pool's helpers).
#[cfg(all(target_os = "linux", not(miri)))]
fn helper_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task is readable")
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("tapegrad-"))
        .count()
}

#[test]
fn a_huge_thread_count_is_capped() {
    set_num_threads(100_000);
    assert_eq!(num_threads(), MAX_THREADS);
    // a job with far more items than the cap: one run per thread, at most MAX_THREADS - 1
    // helpers (Miri: a few items, its threads are slow)
    let len = if cfg!(miri) { 3 } else { 100_000 };
    let mut items = vec![0u32; len];
    parallel_for_each(&mut items, |x| *x += 1);
    assert!(items.iter().all(|&x| x == 1));
    #[cfg(all(target_os = "linux", not(miri)))]
    {
        let helpers = helper_threads();
        assert!(
            helpers < MAX_THREADS,
            "{helpers} helper threads for a cap of {MAX_THREADS}"
        );
    }
    set_num_threads(MAX_THREADS - 1);
    assert_eq!(num_threads(), MAX_THREADS - 1);
    set_num_threads(0);
    assert!((1..=MAX_THREADS).contains(&num_threads()));
}

#[test]
fn a_helpers_panic_reaches_the_caller_with_its_payload() {
    // two threads: item 0 on the caller, item 1 on the helper, which panics; the caller's
    // item waits a moment so that the helper has claimed its share (otherwise the caller
    // takes it back and runs it itself: the same payload, but not the case under test)
    set_num_threads(2);
    let mut items = [0usize, 17];
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        parallel_for_each(&mut items, |&mut i| {
            if i == 0 {
                std::thread::sleep(std::time::Duration::from_millis(50));
            } else {
                panic!("boom {i}");
            }
        })
    }));
    let payload = caught.expect_err("the task panicked");
    assert_eq!(
        payload.downcast_ref::<String>().map(String::as_str),
        Some("boom 17"),
        "the caller saw another payload"
    );
}
