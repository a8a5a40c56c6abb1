//! A small fork-join pool: the calling thread plus `num_threads() - 1` helper threads that
//! stay awake (spinning) for a moment after each job, so the products and big loops of a
//! training step, which come every few microseconds, split over the cores without waking a
//! sleeping thread each time.
//!
//! Why not Rayon's pool: measured in docs/performance.md, splitting a step's products over
//! Rayon made training slower, as its workers fell asleep between products and three threads
//! (the caller and two workers) competed for two cores. Here the caller always does a share
//! itself, so `n` threads do `n` shares, and **a share no helper has started by the time the
//! caller is free is taken back and run by the caller**: a helper that is asleep, or whose
//! core is busy with another program, never makes the caller wait. (Without that, epochs of
//! the ae workload took 6 to 11 s instead of 0.5 s while a compiler ran on the other core.)
//!
//! One job at a time: a second thread asking for the pool while it is busy (tests running in
//! parallel, or a task that itself asks for parallelism) runs its tasks itself, in order.
//! Task `t` is the same piece of work whichever thread runs it, so for a fixed thread count
//! every floating-point result is the same on every run.

use smallvec::SmallVec;
use std::any::Any;
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, TryLockError};
use std::thread::Thread;
use std::time::{Duration, Instant};

/// How long an idle helper keeps spinning for the next job before it parks (a parked helper
/// costs nothing; waking it takes a few microseconds, and the caller does not wait for it).
const SPIN: Duration = Duration::from_micros(200);

/// When a helper has no core of its own (another program holds it, or the scheduler put the
/// helper on the caller's core, where its spinning would take turns with the caller), the
/// pool steps aside for [`BACK_OFF`] and runs every job on the caller; the signs are a share
/// an awake helper never started while the caller did its own, or a started share that kept
/// the caller waiting [`STALL`] longer than its own share took. Measured while a busy loop
/// held the other core of a 2-core machine, without this an mlp epoch took 1 to 8 s instead
/// of the 0.2 to 0.4 s a single thread takes there.
const STALL: Duration = Duration::from_micros(200);

/// A share an awake helper has not started after the caller worked this long on its own
/// counts as a stall (shorter jobs can finish before a helper polls).
const STEAL_STALL: Duration = Duration::from_micros(20);

/// How long jobs run serially after a stall.
const BACK_OFF: Duration = Duration::from_millis(20);

/// Until when (nanoseconds after [`clock_origin`]) jobs run serially.
static SERIAL_UNTIL: AtomicU64 = AtomicU64::new(0);

/// The instant the pool's clock counts from.
fn clock_origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// Nanoseconds since [`clock_origin`].
fn now_ns() -> u64 {
    clock_origin().elapsed().as_nanos() as u64
}

/// Whether a recent stall asked jobs to run serially.
fn backing_off() -> bool {
    let until = SERIAL_UNTIL.load(Ordering::Relaxed);
    until != 0 && now_ns() < until
}

/// Runs jobs serially for the next [`BACK_OFF`].
fn back_off() {
    SERIAL_UNTIL.store(now_ns() + BACK_OFF.as_nanos() as u64, Ordering::Relaxed);
}

/// A job as the helpers see it: the task function with its lifetime erased. Only valid while
/// the caller of [`run`] waits for the job to end, which it always does before returning.
#[derive(Clone, Copy)]
struct JobRef(*const (dyn Fn(usize) + Sync + 'static));

/// The state of a helper's share of job `seq`: `seq << 2 | tag`.
const POSTED: u64 = 0;
/// The helper claimed the share and is running it (it may read the job until `DONE`).
const STARTED: u64 = 1;
/// The share is finished, by the helper or taken back by the caller.
const DONE: u64 = 2;

/// One helper thread's mailbox, aligned to its own cache lines so the line the helper spins
/// on is not shared with data the calling thread writes.
#[repr(align(128))]
struct Slot {
    /// `seq << 2 | POSTED/STARTED/DONE` for the newest job posted to this helper.
    state: AtomicU64,
    /// Set while the helper is parked (or about to park): the poster must unpark it.
    sleeping: AtomicBool,
    /// The payload of a panic in a task on this helper (written before its share is marked
    /// `DONE`); the caller re-raises it.
    panic: Mutex<Option<Payload>>,
    thread: Thread,
}

/// What a panic carries (`std::panic::catch_unwind`'s error).
type Payload = Box<dyn Any + Send + 'static>;

/// Locks a mutex whose data stays valid even if a holder panicked (nothing panics while
/// holding these).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Drops a panic payload, even one whose destructor panics.
fn drop_payload(payload: Payload) {
    let drop_it = std::panic::AssertUnwindSafe(move || drop(payload));
    let _ = std::panic::catch_unwind(drop_it);
}

/// The pool: helpers are spawned on first use, up to what [`run`] is asked for (and never
/// more than [`MAX_THREADS`](super::matmul::MAX_THREADS)` - 1`).
struct Pool {
    /// Taken by the one thread that may post jobs; `try_lock` failing means "run serially".
    owner: Mutex<()>,
    /// The current job (written by the owner before posting, read by helpers after).
    job: UnsafeCell<Option<JobRef>>,
    /// The helpers (only the owner reads or grows this).
    slots: UnsafeCell<Vec<Arc<Slot>>>,
    /// The last job number posted.
    seq: UnsafeCell<u64>,
}

#[allow(unsafe_code)]
// A helper claims a share (`POSTED -> STARTED`, which requires the current job's number) and
// reports it `DONE`; the owner waits for every `STARTED` share before it writes again.
// SAFETY: `job`, `slots` and `seq` are only written by the thread holding `owner`, and only
// while no helper is between claiming a share and reporting it done (above).
unsafe impl Sync for Pool {}
#[allow(unsafe_code)]
// SAFETY: the raw job pointer is only dereferenced under the protocol above; the function it
// points to is `Sync`.
unsafe impl Send for JobRef {}
#[allow(unsafe_code)]
// SAFETY: as for Send: shared only under the protocol above, and the function is `Sync`.
unsafe impl Sync for JobRef {}

static POOL: Pool = Pool {
    owner: Mutex::new(()),
    job: UnsafeCell::new(None),
    slots: UnsafeCell::new(Vec::new()),
    seq: UnsafeCell::new(0),
};

/// Runs `f(0)`, `f(1)`, ..., `f(tasks - 1)` and returns when all have finished: task 0 on the
/// calling thread, task `t` on helper `t` if it starts it before the caller is free, else on
/// the caller. If the pool is busy (another thread's job, or a task asking for parallelism
/// itself) the tasks all run here in order. A panic in any task is re-raised here after every
/// task has ended.
pub(crate) fn run(tasks: usize, f: &(dyn Fn(usize) + Sync)) {
    if tasks <= 1 {
        if tasks == 1 {
            f(0);
        }
        return;
    }
    if backing_off() {
        (0..tasks).for_each(f);
        return;
    }
    let _owner = match POOL.owner.try_lock() {
        Ok(guard) => guard,
        // a task panicked under an earlier owner; the pool itself is intact
        Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        Err(TryLockError::WouldBlock) => {
            (0..tasks).for_each(f);
            return;
        }
    };
    #[allow(unsafe_code)]
    // SAFETY: we hold `owner` and every helper finished (or never started) the previous job,
    // which its owner waited for, so no other thread reads or writes these cells now.
    let (slots, seq) = unsafe {
        let slots = &mut *POOL.slots.get();
        while slots.len() < (tasks - 1).min(super::matmul::MAX_THREADS - 1) {
            match spawn_helper(slots.len()) {
                Some(slot) => slots.push(slot),
                None => break,
            }
        }
        let seq = &mut *POOL.seq.get();
        *seq += 1;
        // Erase the borrow's lifetime: `Wait` below does not let this function return (or
        // unwind) before every helper that started a share has finished it.
        let erased: &'static (dyn Fn(usize) + Sync) = std::mem::transmute(f);
        *POOL.job.get() = Some(JobRef(erased as *const _));
        (&*slots, *seq)
    };
    let helpers = slots.len().min(tasks - 1);
    // bit i: helper i was awake (spinning) when its share was posted
    let mut awake = 0u64;
    for (i, slot) in slots[..helpers].iter().enumerate() {
        // a payload left by an earlier job whose caller unwound before reading it
        if let Some(old) = lock(&slot.panic).take() {
            drop_payload(old);
        }
        slot.state.store(seq << 2 | POSTED, Ordering::SeqCst);
        if slot.sleeping.load(Ordering::SeqCst) {
            slot.thread.unpark();
        } else if i < 64 {
            awake |= 1 << i;
        }
    }
    let wait = Wait {
        slots: &slots[..helpers],
        seq,
    };
    let start = Instant::now();
    f(0);
    // take back every share no helper has started; then wait for the started ones
    let mut stalled = false;
    for (i, slot) in slots[..helpers].iter().enumerate() {
        let take = slot.state.compare_exchange(
            seq << 2 | POSTED,
            seq << 2 | DONE,
            Ordering::Acquire,
            Ordering::Acquire,
        );
        if take.is_ok() {
            // an awake helper that did not get to its share in all that time (long enough
            // to rule out a moment's delay) has no core
            stalled |= i < 64 && awake & (1 << i) != 0 && start.elapsed() > STEAL_STALL;
            f(i + 1);
        }
    }
    // tasks the pool could not give a helper (no thread could be spawned) run here
    (helpers + 1..tasks).for_each(f);
    let own = start.elapsed();
    drop(wait);
    // a helper that started its share and then kept us waiting lost its core mid-share
    stalled |= start.elapsed() - own > own + STALL;
    if stalled {
        back_off();
    }
    // take (and clear) every helper's payload; re-raise the first (lowest task) unchanged, so
    // the caller's `catch_unwind` sees the task's own message
    let mut first = None;
    for slot in &slots[..helpers] {
        if let Some(payload) = lock(&slot.panic).take() {
            match first {
                None => first = Some(payload),
                Some(_) => drop_payload(payload),
            }
        }
    }
    if let Some(payload) = first {
        std::panic::resume_unwind(payload);
    }
}

/// How many pieces to cut `len` elements into for [`parallel_for_each`]: one per thread
/// ([`num_threads`](crate::num_threads)), but none shorter than `grain` elements (at least 1).
/// Pick `grain` so that a piece takes a few microseconds or more; handing a piece to another
/// thread costs about one.
///
/// ```
/// let parts = tapegrad_kernels::parallel_parts(1_000, 4_096);
/// assert_eq!(parts, 1); // too little work to share
/// assert!(tapegrad_kernels::parallel_parts(1 << 20, 4_096) >= 1);
/// ```
pub fn parallel_parts(len: usize, grain: usize) -> usize {
    (len / grain.max(1)).clamp(1, crate::num_threads().max(1))
}

/// Runs `f` on every item, the items dealt out in contiguous runs to the calling thread and the
/// pool's helper threads (one run per thread, at most [`num_threads`](crate::num_threads)).
/// Each item is visited exactly once, by one thread; which thread does not change the
/// result. Returns when all are done. Typical use: cut the slices of a big loop into
/// [`parallel_parts`] pieces, zip the pieces into tuples, and pass those.
///
/// ```
/// let mut data = vec![1.0f32; 100_000];
/// let parts = tapegrad_kernels::parallel_parts(data.len(), 16_384);
/// let piece_len = data.len().div_ceil(parts);
/// let mut pieces: Vec<&mut [f32]> = data.chunks_mut(piece_len).collect();
/// tapegrad_kernels::parallel_for_each(&mut pieces, |piece| {
///     for x in piece.iter_mut() {
///         *x *= 2.0;
///     }
/// });
/// assert!(data.iter().all(|&x| x == 2.0));
/// ```
///
/// # Panics
/// If `f` panics on any item (re-raised here once every thread has stopped).
pub fn parallel_for_each<I: Send>(items: &mut [I], f: impl Fn(&mut I) + Sync) {
    let tasks = items.len().min(crate::num_threads().max(1));
    if tasks <= 1 {
        items.iter_mut().for_each(f);
        return;
    }
    let per = items.len().div_ceil(tasks);
    let len = items.len();
    let base = SharedPtr::new_mut(items);
    run(tasks, &|t| {
        let from = (t * per).min(len);
        let to = (from + per).min(len);
        for i in from..to {
            #[allow(unsafe_code)]
            // Task t visits indices from..to only, disjoint from every other task's.
            // SAFETY: i < `items.len()`, no other task touches item i, and `items` stays
            // mutably borrowed until `run` returns, after every task has finished.
            let item = unsafe { &mut *base.at(i) };
            f(item);
        }
    });
}

/// A raw pointer to a slice that the pool's threads may share, for kernels whose tasks each
/// touch their own disjoint part of one buffer (the kernel's `SAFETY` comment says why the
/// parts are disjoint). It keeps the slice's length, so [`SharedPtr::at`] only ever forms
/// pointers inside the slice (or one past its end): forming one anywhere else would be UB
/// even if it were never dereferenced.
pub(crate) struct SharedPtr<T> {
    ptr: *mut T,
    len: usize,
}

impl<T> Clone for SharedPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for SharedPtr<T> {}

#[allow(unsafe_code)]
// SAFETY: a SharedPtr is only dereferenced by tasks that touch disjoint elements (see each
// user), so sharing it is sharing `&mut` to disjoint parts, which `T: Send` allows.
unsafe impl<T: Send> Send for SharedPtr<T> {}
#[allow(unsafe_code)]
// SAFETY: as for Send: shared use only ever touches disjoint elements.
unsafe impl<T: Send> Sync for SharedPtr<T> {}

impl<T> SharedPtr<T> {
    /// The start of a slice the tasks will write (disjoint parts each).
    pub(crate) fn new_mut(s: &mut [T]) -> Self {
        SharedPtr {
            ptr: s.as_mut_ptr(),
            len: s.len(),
        }
    }

    /// The start of a slice the tasks will only read (the pointer must not be written
    /// through).
    pub(crate) fn new_read(s: &[T]) -> Self {
        SharedPtr {
            ptr: s.as_ptr().cast_mut(),
            len: s.len(),
        }
    }

    /// The pointer to element `i` (a method, so closures capture the whole wrapper).
    ///
    /// # Panics
    ///
    /// If `i` is past the end of the slice (`i > len`).
    pub(crate) fn at(&self, i: usize) -> *mut T {
        assert!(
            i <= self.len,
            "internal: SharedPtr offset {i} past {}",
            self.len
        );
        #[allow(unsafe_code)]
        // SAFETY: `ptr` is the start of a slice of `len` elements (one allocation, at most
        // isize::MAX bytes) and `i <= len`, so the result is inside it or one past its end.
        unsafe {
            self.ptr.add(i)
        }
    }
}

/// Cuts `data` into at most [`num_threads`](crate::num_threads) runs of whole `unit`s
/// (`data.len()` is a multiple of `unit`), none shorter than `grain` elements, and calls
/// `f(start, run)` for each on the pool, `start` being the run's offset in `data`. Too little
/// data for two runs: `f(0, data)` here. The elementwise, gather and softmax kernels use it
/// and read their inputs at the same offsets.
pub fn for_each_run<T: Send>(
    data: &mut [T],
    grain: usize,
    unit: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    let unit = unit.max(1);
    let units = data.len() / unit;
    let parts = parallel_parts(data.len(), grain).min(units);
    if parts <= 1 {
        f(0, data);
        return;
    }
    let run_len = units.div_ceil(parts) * unit;
    let mut runs: SmallVec<[(usize, &mut [T]); 8]> = data
        .chunks_mut(run_len)
        .enumerate()
        .map(|(i, run)| (i * run_len, run))
        .collect();
    parallel_for_each(&mut runs, |(start, run)| f(*start, run));
}

/// Waits (on drop, so also while unwinding from a panic in the caller's tasks) until no
/// helper is running a share of job `seq`; shares never started are taken back (not run).
struct Wait<'a> {
    slots: &'a [Arc<Slot>],
    seq: u64,
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        let done = self.seq << 2 | DONE;
        for slot in self.slots {
            let _ = slot.state.compare_exchange(
                self.seq << 2 | POSTED,
                done,
                Ordering::Acquire,
                Ordering::Acquire,
            );
            let mut spins = 0u32;
            while slot.state.load(Ordering::Acquire) != done {
                spins = spins.saturating_add(1);
                if spins < 4096 {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
        }
    }
}

/// Starts helper thread `index` (it runs task `index + 1`); `None` if the OS refuses a thread.
fn spawn_helper(index: usize) -> Option<Arc<Slot>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(format!("tapegrad-{}", index + 1))
        .spawn(move || {
            let slot = Arc::new(Slot {
                state: AtomicU64::new(DONE),
                sleeping: AtomicBool::new(false),
                panic: Mutex::new(None),
                thread: std::thread::current(),
            });
            tx.send(Arc::clone(&slot))
                .expect("internal: the pool waits for its new helper");
            helper_loop(&slot, index + 1);
        })
        .ok()?;
    rx.recv().ok()
}

/// A helper's life: wait for a share (spinning, then parked), claim it, run it, report done.
fn helper_loop(slot: &Slot, task: usize) {
    loop {
        let mut idle_since = Instant::now();
        let mut spins = 0u32;
        let state = loop {
            let state = slot.state.load(Ordering::Acquire);
            if state & 3 == POSTED {
                break state;
            }
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(256) && idle_since.elapsed() > SPIN {
                slot.sleeping.store(true, Ordering::SeqCst);
                if slot.state.load(Ordering::SeqCst) & 3 != POSTED {
                    std::thread::park();
                }
                slot.sleeping.store(false, Ordering::SeqCst);
                idle_since = Instant::now();
            } else {
                std::hint::spin_loop();
            }
        };
        let started = (state & !3) | STARTED;
        if slot
            .state
            .compare_exchange(state, started, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            continue; // the caller took this share back
        }
        #[allow(unsafe_code)]
        // The owner wrote `job` before posting (SeqCst store, seen by our Acquire loads
        // above) and, since we claimed the share, waits for our `DONE` before it returns.
        // SAFETY: so `job` is not written again while we read it, and the function it
        // points to is alive until we post `DONE`.
        let f = unsafe { &*(*POOL.job.get()).expect("internal: a job was posted").0 };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(task)));
        if let Err(payload) = result {
            // kept for the caller (who reads it after our DONE below); one left over from a
            // job whose caller unwound is dropped here (a panicking destructor must not end
            // this thread)
            if let Some(old) = lock(&slot.panic).replace(payload) {
                drop_payload(old);
            }
        }
        slot.state.store((state & !3) | DONE, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Repetitions of the jobs that look for races (few under Miri, which explores thread
    /// interleavings itself, and slowly).
    const REPS: usize = if cfg!(miri) { 4 } else { 100 };

    #[test]
    fn every_task_runs_once_on_its_own_thread() {
        for tasks in 0..5 {
            let hits: Vec<AtomicUsize> = (0..tasks).map(|_| AtomicUsize::new(0)).collect();
            let names = Mutex::new(vec![String::new(); tasks]);
            for _ in 0..REPS {
                run(tasks, &|t| {
                    hits[t].fetch_add(1, Ordering::Relaxed);
                    let name = std::thread::current().name().unwrap_or("").to_string();
                    names.lock().unwrap()[t] = name;
                });
            }
            for h in &hits {
                assert_eq!(h.load(Ordering::Relaxed), REPS);
            }
            // task t > 0 runs on helper t unless another test held the pool
            let names = names.into_inner().unwrap();
            for (t, name) in names.iter().enumerate().skip(1) {
                assert!(
                    name == &format!("tapegrad-{t}") || name == names[0].as_str(),
                    "task {t} ran on {name:?}"
                );
            }
        }
    }

    #[test]
    fn nested_and_concurrent_jobs_run_serially_instead_of_deadlocking() {
        let total = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    for _ in 0..REPS / 2 {
                        run(2, &|_| {
                            run(2, &|_| {
                                total.fetch_add(1, Ordering::Relaxed);
                            });
                        });
                    }
                });
            }
        });
        assert_eq!(total.load(Ordering::Relaxed), 3 * (REPS / 2) * 2 * 2);
    }

    #[test]
    fn a_helper_wakes_after_parking() {
        let sum = AtomicUsize::new(0);
        run(2, &|t| {
            sum.fetch_add(t + 1, Ordering::Relaxed);
        });
        std::thread::sleep(SPIN * 3 + Duration::from_millis(5));
        run(2, &|t| {
            sum.fetch_add(t + 1, Ordering::Relaxed);
        });
        assert_eq!(sum.load(Ordering::Relaxed), 6);
    }

    #[test]
    fn a_panic_on_a_helper_reaches_the_caller() {
        let caught = std::panic::catch_unwind(|| {
            run(2, &|t| {
                if t == 1 {
                    panic!("boom");
                }
            })
        });
        // if another test held the pool, task 1 ran (and panicked) here: a panic either way
        assert!(caught.is_err());
        // the pool still works afterwards
        let n = AtomicUsize::new(0);
        run(2, &|_| {
            n.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(n.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn for_each_visits_every_item_once() {
        for len in 0..7 {
            let mut items: Vec<(usize, u32)> = (0..len).map(|i| (i, 0)).collect();
            parallel_for_each(&mut items, |(_, hits)| *hits += 1);
            assert!(items.iter().all(|&(_, hits)| hits == 1));
        }
        assert_eq!(parallel_parts(10, 0), 10usize.min(crate::num_threads()));
        assert_eq!(parallel_parts(0, 8), 1);
    }

    #[test]
    fn a_helpers_panic_reaches_the_caller_with_its_payload() {
        for _ in 0..REPS / 2 {
            let caught = std::panic::catch_unwind(|| {
                run(3, &|t| {
                    if t == 2 {
                        std::panic::panic_any(format!("boom {}", 15 + t));
                    }
                })
            });
            // the task's own payload, whichever thread ran it (the caller takes back a share
            // no helper started, and runs everything if another test holds the pool)
            let payload = caught.expect_err("task 2 panicked");
            assert_eq!(
                payload.downcast_ref::<String>().map(String::as_str),
                Some("boom 17")
            );
        }
    }

    #[test]
    fn a_panic_everywhere_leaves_no_stale_flag() {
        // every task panics (the caller's too): the caller unwinds without reading the
        // helpers' flags; the next clean job must not report their old panics
        for tasks in [2, 3] {
            let caught = std::panic::catch_unwind(|| run(tasks, &|_| panic!("all fail")));
            assert!(caught.is_err());
            let caught = std::panic::catch_unwind(|| {
                run(tasks, &|t| {
                    if t > 0 {
                        panic!("helpers fail");
                    }
                })
            });
            assert!(caught.is_err());
            let n = AtomicUsize::new(0);
            run(tasks, &|_| {
                n.fetch_add(1, Ordering::Relaxed);
            });
            assert_eq!(n.load(Ordering::Relaxed), tasks);
        }
    }
}
