//! A mutation fuzzer for the safetensors readers (`load` and `Checkpoint::load`), run as a
//! proptest: a checkpoint and a plain model file made here are mutated (bit flips, truncation,
//! the header length set to huge or near values, JSON edits with the length kept consistent,
//! garbage appended, a long shape that still parses) and loaded. Every load returns `Ok` or
//! `Err`, never panics, and never allocates more than the documented bound: at its peak
//! `FILE_FACTOR` times the file's size plus `HEADER_FACTOR` times its header's size plus
//! `ALLOC_SLACK` bytes (a counting global allocator watches; this binary holds this one test,
//! so no other test's allocations are counted).
//!
//! 3000 cases take a few seconds. More: `PROPTEST_CASES=100000 cargo test -p tapegrad-nn
//! --test load_fuzz --release`.

use proptest::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use tapegrad_core::{rng, Array, Tape};
use tapegrad_nn::optim::{Adam, Optimizer};
use tapegrad_nn::{load, loss, save, Activation, Checkpoint, Mlp, Module, Progress};

/// The system allocator, keeping the bytes in use and their peak.
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let now = CURRENT.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

#[allow(unsafe_code)]
// The one place of this test binary that needs `unsafe`.
// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counters are plain atomics and allocate nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged (the caller upholds `alloc`'s contract).
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged (`ptr` came from `alloc` with `layout`).
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged (the caller upholds `realloc`'s contract).
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The documented bound (`load`'s docs): a load's peak allocation is at most `FILE_FACTOR`
/// times the file's size (its bytes, then the arrays made of them) plus `HEADER_FACTOR` times
/// the header's size (the JSON parser's tree: a shape's `1,` becomes a 32-byte value in a
/// growing vector) plus `ALLOC_SLACK`.
const FILE_FACTOR: usize = 2;
/// See `FILE_FACTOR`.
const HEADER_FACTOR: usize = 64;
/// See `FILE_FACTOR`.
const ALLOC_SLACK: usize = 64 * 1024;

fn model() -> Mlp<f32> {
    Mlp::new(
        &[4, 8, 3],
        Activation::Tanh,
        Activation::Identity,
        &mut rng(0),
    )
    .expect("sizes")
}

/// The two files the mutations start from: a checkpoint (model, Adam state, progress) and a
/// plain model file.
fn seeds() -> &'static (Vec<u8>, Vec<u8>) {
    static SEEDS: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let dir = scratch();
        let mut m = model();
        let mut opt = Adam::new(0.01);
        let mut tape = Tape::new();
        for _ in 0..2 {
            let grads = {
                let pred = m
                    .forward(tape.constant(Array::ones([2, 4])))
                    .expect("forward");
                loss::mse(
                    pred,
                    tape.constant(Array::zeros([2, 3])),
                    Default::default(),
                )
                .and_then(|l| l.backward())
                .expect("backward")
            };
            tape.reset();
            opt.step(&mut m, &grads).expect("step");
        }
        let ckpt = dir.join("seed-ckpt.safetensors");
        let progress = Progress {
            epoch: 2,
            step: 0,
            global_step: 2,
            seed: 5,
        };
        Checkpoint::save(&ckpt, &m, &opt, &progress).expect("checkpoint");
        let plain = dir.join("seed-plain.safetensors");
        save(&m, &plain).expect("save");
        (
            fs::read(&ckpt).expect("read"),
            fs::read(&plain).expect("read"),
        )
    })
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tapegrad-load-fuzz-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Tokens spliced into the JSON header.
const TOKENS: &[&str] = &[
    "\"",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "0",
    "-1",
    "99999999999999999999",
    "18446744073709551615",
    "4294967296",
    "1e308",
    "null",
    "true",
    "\"F64\"",
    "\"I8\"",
    "\"BOOL\"",
    "\"F32\"",
    "[]",
    "{}",
    "\\u0000",
    "\"optimizer.state.0.weight.exp_avg\"",
    "\"tapegrad.epoch\"",
    "\"data_offsets\"",
    "\"shape\"",
    "[0,0]",
    "[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]",
    "\"__metadata__\"",
    "\"tapegrad.optimizer\":\"sgd\"",
];

#[derive(Clone, Debug)]
enum Mutation {
    /// XOR bytes at positions (modulo the length).
    Flips(Vec<(usize, u8)>),
    /// Keep this many bytes (modulo the length + 1).
    Truncate(usize),
    /// Set the header length field.
    HeaderLen(u64),
    /// Set the header length field near the true one.
    HeaderLenNear(i64),
    /// Replace `len` header bytes at `at` by a token, fixing the header length.
    Json { at: usize, len: usize, token: usize },
    /// Append garbage.
    Append(Vec<u8>),
    /// Put this many `1,` into the first shape (valid JSON, the same element count): a large
    /// header that parses, to measure what parsing costs.
    LongShape(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        prop::collection::vec((any::<usize>(), 1u8..), 1..8).prop_map(Mutation::Flips),
        any::<usize>().prop_map(Mutation::Truncate),
        prop_oneof![
            any::<u64>(),
            Just(u64::MAX),
            Just(u64::MAX / 2),
            Just(100_000_001),
            Just(99_999_999),
            Just(1 << 32)
        ]
        .prop_map(Mutation::HeaderLen),
        (-64i64..64).prop_map(Mutation::HeaderLenNear),
        (any::<usize>(), 0usize..12, 0..TOKENS.len()).prop_map(|(at, len, token)| Mutation::Json {
            at,
            len,
            token
        }),
        prop::collection::vec(any::<u8>(), 1..64).prop_map(Mutation::Append),
        (1usize..50_000).prop_map(Mutation::LongShape),
    ]
}

fn header_len(b: &[u8]) -> usize {
    u64::from_le_bytes(b[..8].try_into().expect("8 bytes")) as usize
}

fn apply(mut b: Vec<u8>, m: &Mutation) -> Vec<u8> {
    match m {
        Mutation::Flips(flips) => {
            let n = b.len();
            for &(at, x) in flips {
                b[at % n] ^= x;
            }
        }
        Mutation::Truncate(keep) => b.truncate(keep % (b.len() + 1)),
        Mutation::HeaderLen(v) => b[..8].copy_from_slice(&v.to_le_bytes()),
        Mutation::HeaderLenNear(d) => {
            let v = header_len(&b).saturating_add_signed(*d as isize) as u64;
            b[..8].copy_from_slice(&v.to_le_bytes());
        }
        Mutation::Json { at, len, token } => {
            // within the header as far as the file holds it (earlier mutations may have
            // broken the length field)
            let n = header_len(&b).min(b.len() - 8);
            if n == 0 {
                return b;
            }
            let at = 8 + at % n;
            let end = (at + len).min(8 + n);
            let token = TOKENS[*token].as_bytes();
            b.splice(at..end, token.iter().copied());
            let new_n = n - (end - at) + token.len();
            b[..8].copy_from_slice(&(new_n as u64).to_le_bytes());
        }
        Mutation::Append(tail) => b.extend_from_slice(tail),
        Mutation::LongShape(k) => {
            let n = header_len(&b).min(b.len() - 8);
            let needle = b"\"shape\":[";
            if let Some(at) = b[8..8 + n].windows(needle.len()).position(|w| w == needle) {
                let at = 8 + at + needle.len();
                b.splice(at..at, b"1,".repeat(*k));
                b[..8].copy_from_slice(&((n + 2 * k) as u64).to_le_bytes());
            }
        }
    }
    b
}

/// Peak bytes allocated by `f` beyond what was in use before.
fn peak_of(f: impl FnOnce()) -> usize {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    f();
    PEAK.load(Ordering::Relaxed).saturating_sub(base)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    #[cfg_attr(miri, ignore)] // thousands of file loads
    fn mutated_files_load_or_fail_cleanly_within_the_allocation_bound(
        which in 0usize..2,
        muts in prop::collection::vec(mutation(), 1..4),
    ) {
        let (ckpt, plain) = seeds();
        let mut bytes = if which == 0 { ckpt.clone() } else { plain.clone() };
        for m in &muts {
            if bytes.len() < 8 {
                break;
            }
            bytes = apply(bytes, m);
        }
        let path = scratch().join("mutated.safetensors");
        fs::write(&path, &bytes).expect("write");
        // the header as far as the file holds it
        let header = if bytes.len() >= 8 { header_len(&bytes).min(bytes.len() - 8) } else { 0 };
        let bound = FILE_FACTOR * bytes.len() + HEADER_FACTOR * header + ALLOC_SLACK;

        let mut m = model();
        let peak = peak_of(|| {
            let _ = load(&mut m, &path);
        });
        prop_assert!(peak <= bound, "load: {peak} bytes for a {}-byte file", bytes.len());

        let mut opt = Adam::<f32>::new(0.5);
        let peak = peak_of(|| {
            if Checkpoint::load(&path, &mut m, &mut opt).is_ok() {
                // whatever loaded has the model's shapes
                assert_eq!(m.named_params().len(), 4);
            }
        });
        prop_assert!(peak <= bound, "Checkpoint::load: {peak} bytes for a {}-byte file", bytes.len());
        // a failed checkpoint load leaves the optimizer as it was
        prop_assert!(opt.lr() == 0.5 || opt.lr() == 0.01);
    }
}
