//! Hostile input for the readers: gzip bombs, absurd labels and header fields, and a
//! proptest-driven mutator over small valid IDX, gzip and CSV files. Every input must give
//! `Ok` or `Err` (never a panic, abort or hang), and a counting global allocator checks that the
//! peak heap use of each read stays under the bound documented in `docs/data-formats.md`.
//!
//! Every test in this binary holds [`LOCK`] for its whole run, so the allocator's global
//! counters only see one test at a time.
#![allow(unsafe_code)] // the counting allocator below: the one `unsafe impl` in this binary

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

/// The system allocator, keeping the bytes currently allocated and their peak.
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(size: usize) {
    let now = CURRENT.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

fn shrank(size: usize) {
    CURRENT.fetch_sub(size, Ordering::Relaxed);
}

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the only addition is updating two atomic counters.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed through unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrank(layout.size());
        // SAFETY: the caller's contract for `dealloc` is passed through unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Counted as if the old and new blocks were both live for a moment (a moving realloc),
        // so the peak is never under-estimated.
        let before = CURRENT.load(Ordering::Relaxed);
        PEAK.fetch_max(before + new_size, Ordering::Relaxed);
        // SAFETY: the caller's contract for `realloc` is passed through unchanged.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            shrank(layout.size());
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Serialises the tests of this binary (see the module comment).
static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `f` and returns its result with the peak number of heap bytes it had allocated at
/// once (beyond what was allocated when it started).
fn peak_of<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let r = f();
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    (r, peak)
}

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

use std::path::Path;
use tapegrad_data::{csv, idx};

mod common;
use common::{gzip, TempDir};

/// 50 MB of zeros behind an IDX header that promises 100 bytes: the reader must stop at the
/// promise, not inflate the whole bomb.
#[test]
#[cfg_attr(miri, ignore)] // thousands of cases and 50 MB bombs: far too slow under Miri
fn gzip_bomb_idx_stops_at_the_header_promise() {
    let _g = lock();
    let mut content = vec![0u8, 0, 0x08, 1, 0, 0, 0, 100];
    content.resize(50 * MIB, 0);
    let gz = gzip(&content);
    drop(content);
    assert!(gz.len() < 100 * KIB, "{}", gz.len());
    let tmp = TempDir::new("fuzz");
    let f = tmp.write("bomb-idx.gz", &gz);
    let (r, peak) = peak_of(|| idx::read_idx(&f));
    let msg = r.unwrap_err().to_string();
    assert!(msg.starts_with(&f.display().to_string()), "{msg}");
    assert!(msg.contains("need 100 data bytes"), "{msg}");
    assert!(msg.contains("too many"), "{msg}");
    // The compressed file, the header and 100 bytes, the decoder's state.
    assert!(peak < gz.len() + 256 * KIB, "peak {peak} bytes");
}

/// 50 MB of zeros (about 50 KB of gzip) as a CSV file and through `read::gunzip`: the
/// inflation stops at the limit, and the peak stays under the limit plus the file and the
/// decoder's state (the doubling buffer: 1.5 x the limit while it moves).
#[test]
#[cfg_attr(miri, ignore)] // thousands of cases and 50 MB bombs: far too slow under Miri
fn gzip_bomb_csv_and_gunzip_stop_at_the_limit() {
    let _g = lock();
    let gz = gzip(&vec![0u8; 50 * MIB]);
    assert!(gz.len() < 100 * KIB, "{}", gz.len());
    let tmp = TempDir::new("fuzz");
    let f = tmp.write("bomb.csv.gz", &gz);
    let opts = csv::CsvOptions::new().max_decompressed(MIB as u64);
    let (r, peak) = peak_of(|| opts.read(&f));
    let msg = r.unwrap_err().to_string();
    assert!(msg.starts_with(&f.display().to_string()), "{msg}");
    assert!(
        msg.contains("more than the limit of 1048576 bytes"),
        "{msg}"
    );
    // The buffer doubles up to the limit: 512 KiB and 1 MiB both live while it moves.
    assert!(
        peak < gz.len() + MIB + MIB / 2 + 256 * KIB,
        "peak {peak} bytes"
    );
    let (r, peak) = peak_of(|| tapegrad_data::read::gunzip(&gz, Path::new("b.gz"), MIB as u64));
    assert!(r.is_err());
    assert!(peak < MIB + MIB / 2 + 256 * KIB, "peak {peak} bytes");
}

/// `1,4294967295`: one row whose label would make four billion classes.
#[test]
#[cfg_attr(miri, ignore)] // thousands of cases and 50 MB bombs: far too slow under Miri
fn huge_label_is_an_error_not_an_allocation() {
    let _g = lock();
    let (r, peak) = peak_of(|| csv::parse_labeled(b"1,4294967295", Path::new("tiny.csv"), None));
    let msg = r.unwrap_err().to_string();
    assert!(
        msg.starts_with("tiny.csv: at byte 2: line 1, column 2: "),
        "{msg}"
    );
    assert!(msg.contains("4294967295"), "{msg}");
    assert!(peak < 64 * KIB, "peak {peak} bytes");
}

/// A header promising 4 GiB of u8: refused before anything is inflated.
#[test]
#[cfg_attr(miri, ignore)] // thousands of cases and 50 MB bombs: far too slow under Miri
fn gzip_idx_promising_more_than_the_limit_is_refused() {
    let _g = lock();
    let mut content = vec![0u8, 0, 0x08, 1, 0xff, 0xff, 0xff, 0xff];
    content.resize(1 << 20, 7);
    let gz = gzip(&content);
    let tmp = TempDir::new("fuzz");
    let f = tmp.write("huge-promise.gz", &gz);
    let (r, peak) = peak_of(|| idx::read_idx(&f));
    let msg = r.unwrap_err().to_string();
    assert!(
        msg.contains("more than the limit of 1073741824 bytes"),
        "{msg}"
    );
    assert!(peak < gz.len() + 256 * KIB, "peak {peak} bytes");
    // Under a limit that allows it, the promise is honoured but only what is there is kept:
    // 1 MiB inflated, then "truncated".
    let (r, peak) = peak_of(|| idx::read_idx_with_limit(&f, 8 << 30));
    let msg = r.unwrap_err().to_string();
    assert!(msg.contains("truncated"), "{msg}");
    assert!(peak < gz.len() + 2 * MIB + 256 * KIB, "peak {peak} bytes");
}

/// A MNIST folder whose labels file is a bomb: a one-line error naming it, no big allocation.
#[test]
#[cfg_attr(miri, ignore)] // thousands of cases and 50 MB bombs: far too slow under Miri
fn gzip_bomb_in_a_mnist_folder() {
    use tapegrad_data::mnist;
    let _g = lock();
    let tmp = TempDir::new("fuzz-mnist");
    let dir = &tmp.0;
    let idx = |dims: &[u32], fill: usize| {
        let mut b = vec![0u8, 0, 0x08, dims.len() as u8];
        for d in dims {
            b.extend_from_slice(&d.to_be_bytes());
        }
        let n: usize = dims.iter().map(|&d| d as usize).product();
        b.resize(b.len() + n + fill, 0);
        b
    };
    std::fs::write(dir.join("train-images-idx3-ubyte"), idx(&[3, 2, 2], 0)).unwrap();
    let bomb = gzip(&idx(&[3], 40 * MIB));
    std::fs::write(dir.join("train-labels-idx1-ubyte.gz"), &bomb).unwrap();
    std::fs::write(dir.join("t10k-images-idx3-ubyte"), idx(&[2, 2, 2], 0)).unwrap();
    std::fs::write(dir.join("t10k-labels-idx1-ubyte"), idx(&[2], 0)).unwrap();
    let (r, peak) = peak_of(|| mnist::load(dir));
    let msg = r.unwrap_err().to_string();
    assert!(!msg.contains('\n'), "{msg}");
    assert!(
        msg.contains("train-labels-idx1-ubyte.gz: at byte 11: "),
        "{msg}"
    );
    assert!(msg.contains("at least 1 MiB too many"), "{msg}");
    assert!(peak < bomb.len() + 512 * KIB, "peak {peak} bytes");
}

// ---------------------------------------------------------------------------------------------
// The mutator: small valid files, then bit flips, truncation, insertion and deletion of bytes
// or tokens, and 4-byte fields set to extreme values.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use tapegrad_data::csv::{CsvOptions, Delimiter, Header, LabelColumn};
use tapegrad_data::idx::{decode_idx, encode_idx, IdxArray, IdxData};
use tapegrad_data::read;

#[derive(Clone, Debug)]
enum Mutation {
    /// Flips bit `.1` of the byte at `.0`.
    Flip(usize, u8),
    /// Cuts the file at `.0`.
    Truncate(usize),
    /// Inserts bytes at `.0`.
    Insert(usize, Vec<u8>),
    /// Deletes up to `.1` bytes at `.0`.
    Delete(usize, usize),
    /// Overwrites the 4-byte-aligned field at `.0` with a big-endian `.1`.
    SetU32(usize, u32),
}

/// Values that break size arithmetic.
const EXTREMES: &[u32] = &[
    0,
    1,
    0xff,
    0x0001_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    0xffff_ffff,
];

/// Byte strings that binary headers care about.
const BIN_TOKENS: &[&[u8]] = &[
    &[0, 0, 0, 0],
    &[0xff, 0xff, 0xff, 0xff],
    &[0x1f, 0x8b],
    &[0, 0, 0x08, 0x01],
    &[0, 0, 0x0e, 0xff],
];

/// Tokens that CSV parsing cares about.
const CSV_TOKENS: &[&[u8]] = &[
    b",",
    b"\t",
    b" ",
    b"\n",
    b"\r\n",
    b"\"",
    b"4294967295",
    b"18446744073709551616",
    b"1e308",
    b"-1",
    b"nan",
    b"inf",
    b"0.5",
    b"999999999999999999999999999999",
    b"\xc3\xa9",
    b"\xff",
    b"1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0",
];

fn mutation(tokens: &'static [&'static [u8]]) -> impl Strategy<Value = Mutation> {
    let insert = prop_oneof![
        any::<u8>().prop_map(|b| vec![b]),
        proptest::sample::select(tokens).prop_map(|t| t.to_vec()),
    ];
    prop_oneof![
        3 => (any::<usize>(), 0u8..8).prop_map(|(p, b)| Mutation::Flip(p, b)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        2 => (any::<usize>(), insert).prop_map(|(p, t)| Mutation::Insert(p, t)),
        2 => (any::<usize>(), 1usize..8).prop_map(|(p, n)| Mutation::Delete(p, n)),
        2 => (any::<usize>(), proptest::sample::select(EXTREMES))
            .prop_map(|(p, v)| Mutation::SetU32(p, v)),
    ]
}

/// Zero to three mutations (zero: the valid file itself, one case in seven or so).
fn mutations(tokens: &'static [&'static [u8]]) -> impl Strategy<Value = Vec<Mutation>> {
    proptest::collection::vec(mutation(tokens), 0..4)
}

fn apply(bytes: &mut Vec<u8>, ms: &[Mutation]) {
    for m in ms {
        let len = bytes.len();
        match m {
            Mutation::Flip(p, b) if len > 0 => bytes[p % len] ^= 1 << b,
            Mutation::Truncate(p) => bytes.truncate(p % (len + 1)),
            Mutation::Insert(p, t) => {
                let at = p % (len + 1);
                bytes.splice(at..at, t.iter().copied());
            }
            Mutation::Delete(p, n) if len > 0 => {
                let at = p % len;
                bytes.drain(at..(at + n).min(len));
            }
            Mutation::SetU32(p, v) if len >= 4 => {
                let at = (p % (len / 4)) * 4;
                bytes[at..at + 4].copy_from_slice(&v.to_be_bytes());
            }
            _ => {}
        }
    }
}

/// A seeded runner: the same cases on every run.
fn runner(cases: u32, seed: u8) -> TestRunner {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &[seed; 32]),
    )
}

/// How many bytes a plain decoder inflates from `gz` (up to `cap`), corrupt or not.
fn inflatable(gz: &[u8], cap: u64) -> usize {
    use std::io::Read;
    let mut d = flate2::read::MultiGzDecoder::new(gz).take(cap);
    let mut n = 0;
    let mut buf = [0u8; 8192];
    while let Ok(k) = d.read(&mut buf) {
        if k == 0 {
            break;
        }
        n += k;
    }
    n
}

fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), TestCaseError> {
    if ok {
        Ok(())
    } else {
        Err(TestCaseError::fail(what()))
    }
}

fn idx_seeds() -> Vec<Vec<u8>> {
    let a = |dims: Vec<usize>, data: IdxData| encode_idx(&IdxArray::new(dims, data).unwrap());
    vec![
        a(vec![3, 2, 2], IdxData::U8((0..12).collect())),
        a(vec![5], IdxData::U8(vec![0, 1, 9, 3, 4])),
        a(vec![2, 3], IdxData::I16(vec![-3, 0, 7, 300, -300, 1])),
        a(vec![1, 2, 2], IdxData::I32(vec![i32::MIN, -1, 0, i32::MAX])),
        a(vec![2, 1, 1, 2], IdxData::F32(vec![0.5, -1.0, 3.25, 1e30])),
        a(vec![2], IdxData::F64(vec![1.0, -2.5])),
    ]
}

/// IDX, uncompressed: `decode_idx` in memory and `read_idx` from a file. Bound: twice the
/// input (the file, the decoded values) plus 64 KiB, and 256 KiB more for `read_idx` (a
/// mutation may add the gzip magic bytes: the decoder's state).
#[test]
#[cfg_attr(miri, ignore)] // thousands of cases and 50 MB bombs: far too slow under Miri
fn mutated_idx_never_panics_and_stays_bounded() {
    let _g = lock();
    let seeds = idx_seeds();
    let tmp = TempDir::new("fuzz");
    let f = tmp.write("m.idx", b"");
    runner(1500, 1)
        .run(&(0..seeds.len(), mutations(BIN_TOKENS)), |(i, ms)| {
            let mut b = seeds[i].clone();
            apply(&mut b, &ms);
            let (r, peak) = peak_of(|| decode_idx(&b, Path::new("m.idx")));
            if let Ok(a) = &r {
                let n: usize = a.dims.iter().product();
                check(n == a.data.len(), || format!("{a:?}"))?;
            }
            let bound = 2 * b.len() + 64 * KIB;
            check(peak <= bound, || {
                format!("decode_idx: peak {peak} > {bound}")
            })?;
            std::fs::write(&f, &b).unwrap();
            let (r2, peak) = peak_of(|| idx::read_idx(&f));
            if !read::is_gzip(&b) {
                check(r.is_ok() == r2.is_ok(), || format!("{r:?} vs {r2:?}"))?;
            }
            // A mutation may have made it gzip: room for the decoder's state.
            let bound = bound + 256 * KIB;
            check(peak <= bound, || format!("read_idx: peak {peak} > {bound}"))
        })
        .unwrap();
}

/// IDX, gzipped: the content mutated then compressed (so headers promise extreme sizes), or
/// the compressed bytes mutated. Bound: the compressed file plus three times what inflates
/// (the buffer grows by doubling; the decoded values) plus 320 KiB (decoder state, buffers).
#[test]
#[cfg_attr(miri, ignore)] // thousands of cases and 50 MB bombs: far too slow under Miri
fn mutated_gzip_idx_never_panics_and_stays_bounded() {
    let _g = lock();
    let seeds = idx_seeds();
    let tmp = TempDir::new("fuzz");
    let f = tmp.write("m.idx.gz", b"");
    let cases = (0..seeds.len(), mutations(BIN_TOKENS), any::<bool>());
    runner(800, 2)
        .run(&cases, |(i, ms, after)| {
            let gz = if after {
                let mut gz = gzip(&seeds[i]);
                apply(&mut gz, &ms);
                gz
            } else {
                let mut b = seeds[i].clone();
                apply(&mut b, &ms);
                gzip(&b)
            };
            let inflated = inflatable(&gz, 64 * MIB as u64);
            std::fs::write(&f, &gz).unwrap();
            let (r, peak) = peak_of(|| idx::read_idx(&f));
            if let Err(e) = &r {
                check(!e.to_string().contains('\n'), || e.to_string())?;
            }
            let bound = gz.len() + 3 * inflated + 320 * KIB;
            check(peak <= bound, || format!("peak {peak} > {bound} ({r:?})"))
        })
        .unwrap();
}

/// A MNIST folder with one file mutated (raw or gzip): a one-line error or a set, and a
/// bound of the inputs plus eight times what they inflate to (the `f32` pixels) plus 512 KiB.
#[test]
#[cfg_attr(miri, ignore)] // thousands of cases and 50 MB bombs: far too slow under Miri
fn mutated_mnist_folder_never_panics() {
    use tapegrad_data::mnist;
    let _g = lock();
    let tmp = TempDir::new("fuzz-mnist");
    let dir = &tmp.0;
    let img =
        |n: usize| encode_idx(&IdxArray::new(vec![n, 3, 2], IdxData::U8(vec![7; n * 6])).unwrap());
    let lab = |n: usize| encode_idx(&IdxArray::new(vec![n], IdxData::U8(vec![3; n])).unwrap());
    let files = [img(4), lab(4), img(3), lab(3)];
    runner(200, 3)
        .run(
            &(0..4usize, mutations(BIN_TOKENS), any::<bool>()),
            |(which, ms, gz)| {
                let mut total = 0;
                for (k, name) in mnist::FILE_NAMES.iter().enumerate() {
                    for stale in [name.to_string(), format!("{name}.gz")] {
                        let _ = std::fs::remove_file(dir.join(stale));
                    }
                    let mut b = if gz {
                        gzip(&files[k])
                    } else {
                        files[k].clone()
                    };
                    if k == which {
                        apply(&mut b, &ms);
                    }
                    total += b.len() + inflatable(&b, 64 * MIB as u64);
                    let name = if gz {
                        format!("{name}.gz")
                    } else {
                        name.to_string()
                    };
                    std::fs::write(dir.join(name), &b).unwrap();
                }
                let (r, peak) = peak_of(|| mnist::load(dir));
                if let Err(e) = &r {
                    check(!e.to_string().contains('\n'), || e.to_string())?;
                }
                let bound = 8 * total + 512 * KIB;
                check(peak <= bound, || format!("peak {peak} > {bound} ({r:?})"))
            },
        )
        .unwrap();
}

/// `read::gunzip` under a 64 KiB limit: never more than the limit, bound the limit plus
/// 256 KiB (the doubling buffer's half while it moves, decoder state, the message).
#[test]
#[cfg_attr(miri, ignore)] // thousands of cases and 50 MB bombs: far too slow under Miri
fn mutated_gzip_never_panics_and_respects_the_limit() {
    let _g = lock();
    let text: Vec<u8> = (0..3000u32)
        .flat_map(|i| format!("{i},{}\n", i % 7).into_bytes())
        .collect();
    let seeds = [
        gzip(&text),
        gzip(&vec![0u8; 200 * KIB]),
        gzip(b""),
        [gzip(b"ab"), gzip(b"cd")].concat(),
    ];
    const LIMIT: usize = 64 * KIB;
    runner(600, 4)
        .run(&(0..seeds.len(), mutations(BIN_TOKENS)), |(i, ms)| {
            let mut gz = seeds[i].clone();
            apply(&mut gz, &ms);
            let (r, peak) = peak_of(|| read::gunzip(&gz, Path::new("m.gz"), LIMIT as u64));
            if let Ok(out) = &r {
                check(out.len() <= LIMIT, || format!("{} bytes", out.len()))?;
            }
            let bound = LIMIT + 256 * KIB;
            check(peak <= bound, || format!("peak {peak} > {bound}"))
        })
        .unwrap();
}

fn csv_seeds() -> Vec<Vec<u8>> {
    [
        "3,4,class_0,class_1\n0.5,1,2,3,0\n4,5,6,7,1\n8,9,10,11.25,1\n",
        "a,b,label\n1,2,0\n3,4,1\n5,6,2\n",
        "x\ty\tz\n1\t2\t0\n3\t4\t1\n",
        "1 2  0\n  3 4 1\n5 6 1\n",
        "1,2\r\n3,4\r\n\r\n5,6\r\n",
        "7\n8\n9\n",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

fn csv_options() -> impl Strategy<Value = (CsvOptions, bool)> {
    let delimiter = proptest::sample::select(vec![
        Delimiter::Auto,
        Delimiter::Comma,
        Delimiter::Tab,
        Delimiter::Whitespace,
        Delimiter::Char(';'),
    ]);
    let header = proptest::sample::select(vec![
        Header::Auto,
        Header::Names,
        Header::None,
        Header::Sklearn,
    ]);
    let label = proptest::sample::select(vec![
        LabelColumn::Last,
        LabelColumn::Index(0),
        LabelColumn::Index(2),
        LabelColumn::Name("b".into()),
    ]);
    let classes = proptest::option::of(0usize..5);
    let set = (delimiter, header, label, classes).prop_map(|(d, h, l, c)| {
        let o = CsvOptions::new().delimiter(d).header(h).label(l);
        match c {
            Some(c) => o.classes(c),
            None => o,
        }
    });
    // Half the time the defaults, which most files are read with.
    let opts = prop_oneof![Just(CsvOptions::new()), set];
    (opts, any::<bool>()).prop_map(|(o, labeled)| (o.max_decompressed(MIB as u64), labeled))
}

/// CSV, raw or gzip, with every kind of option. Bound: the input plus 16 times the text
/// (values, labels, features, class names) plus 256 KiB.
#[test]
#[cfg_attr(miri, ignore)] // thousands of cases and 50 MB bombs: far too slow under Miri
fn mutated_csv_never_panics_and_stays_bounded() {
    let _g = lock();
    let seeds = csv_seeds();
    let cases = (
        0..seeds.len(),
        mutations(CSV_TOKENS),
        csv_options(),
        0u8..3, // 0 raw, 1 gzip of the mutated text, 2 mutated gzip
    );
    runner(2500, 5)
        .run(&cases, |(i, ms, (opts, labeled), form)| {
            let mut b = seeds[i].clone();
            if form == 2 {
                b = gzip(&b);
            }
            apply(&mut b, &ms);
            if form == 1 {
                b = gzip(&b);
            }
            let text = if read::is_gzip(&b) {
                inflatable(&b, MIB as u64 + 1)
            } else {
                b.len()
            };
            let p = Path::new("m.csv");
            let (r, peak) = peak_of(|| {
                if labeled {
                    opts.parse_labeled(&b, p).map(|ds| {
                        assert!(ds.y.iter().all(|&l| l < ds.classes));
                        // Bounded by what the file holds: its rows, or the class names
                        // it spells out (or the classes the options give, at most 4).
                        assert!(ds.classes <= (ds.len() + 1).max(text).max(4));
                        ds.len()
                    })
                } else {
                    opts.parse(&b, p).map(|t| t.rows)
                }
            });
            if let Err(e) = &r {
                let msg = e.to_string();
                check(msg.starts_with("m.csv") && !msg.contains('\n'), || {
                    msg.clone()
                })?;
            }
            let bound = b.len() + 16 * text + 256 * KIB;
            check(peak <= bound, || format!("peak {peak} > {bound} ({r:?})"))
        })
        .unwrap();
}

/// The CSV bound on files big enough for the multiple to matter: short fields (the worst
/// case: 8 bytes of `f64` per 2 bytes of text), many rows, many classes.
#[test]
#[cfg_attr(miri, ignore)] // thousands of cases and 50 MB bombs: far too slow under Miri
fn csv_memory_is_a_small_multiple_of_the_text() {
    let _g = lock();
    let mut worst = String::new();
    for i in 0..100_000 {
        worst.push_str(&format!("1,{}\n", i % 9));
    }
    let mut many_classes = String::new();
    for i in 0..50_000 {
        many_classes.push_str(&format!("{i},{i}\n"));
    }
    let wide: String = (0..200_000)
        .map(|i| if i % 2 == 0 { "1," } else { "2," })
        .collect::<String>()
        + "0\n";
    for (name, text) in [
        ("worst", &worst),
        ("many-classes", &many_classes),
        ("wide", &wide),
    ] {
        for labeled in [false, true] {
            let b = text.as_bytes();
            let (r, peak) = peak_of(|| {
                if labeled {
                    csv::parse_labeled(b, Path::new("big.csv"), None).map(|d| d.len())
                } else {
                    csv::parse(b, Path::new("big.csv")).map(|t| t.rows)
                }
            });
            assert!(r.is_ok(), "{name}: {r:?}");
            // Measured when written: 7.9 x the text for a table, 9.2 x for a labelled set.
            assert!(peak <= 16 * b.len() + 256 * KIB, "{name}: peak {peak}");
        }
    }
    // Gzipped, the same plus the compressed input.
    let gz = gzip(worst.as_bytes());
    let (r, peak) = peak_of(|| csv::parse_labeled(&gz, Path::new("big.csv.gz"), None));
    assert_eq!(r.unwrap().len(), 100_000);
    assert!(
        peak <= gz.len() + 16 * worst.len() + 256 * KIB,
        "peak {peak}"
    );
}

// ---------------------------------------------------------------------------------------------
// NumPy: `.npy` files and `.npz` archives.

use tapegrad_core::Array;
use tapegrad_data::npy;

/// Tokens that an `.npy` header cares about.
const NPY_TOKENS: &[&[u8]] = &[
    b"'shape'",
    b"'descr'",
    b"'fortran_order'",
    b"True",
    b"(",
    b")",
    b"[",
    b",",
    b":",
    b"4294967296",
    b"18446744073709551615",
    b"-1",
    b"'<f8'",
    b"'>i2'",
    b"'|O'",
    b"'<U9'",
    b"[('a', '<f4')]",
    b"\x93NUMPY\x02\x00",
    b"\xff\xff\xff\xff",
];

fn npy_seeds() -> Vec<Vec<u8>> {
    let f32s = Array::<f32>::from_vec((0..6).map(|v| v as f32 - 2.5).collect(), [2, 3]).unwrap();
    let mut v2 = npy::encode_npy(&Array::<f64>::from_vec(vec![1.0, -2.0], [2]).unwrap());
    // version 2.0: a 4-byte header length
    v2[6] = 2;
    v2.splice(10..10, [0, 0]);
    vec![
        npy::encode_npy(&f32s),
        npy::encode_npy(&Array::<f64>::scalar(0.5)),
        npy::encode_npy_labels(&[3, 0, 9, 1]),
        v2,
    ]
}

/// `.npy`, decoded as an `f64` array and as labels. Bound: the input plus 8 bytes per input
/// byte (at most one element per byte, as `f64`) plus 256 KiB (the header's parse).
#[test]
#[cfg_attr(miri, ignore)] // thousands of cases: far too slow under Miri
fn mutated_npy_never_panics_and_stays_bounded() {
    let _g = lock();
    let seeds = npy_seeds();
    // the seeds themselves are valid (the v2 header length is still right)
    for s in &seeds {
        npy::decode_npy::<f64>(s, Path::new("seed.npy")).unwrap();
    }
    runner(1500, 6)
        .run(&(0..seeds.len(), mutations(NPY_TOKENS)), |(i, ms)| {
            let mut b = seeds[i].clone();
            apply(&mut b, &ms);
            let p = Path::new("m.npy");
            let (r, peak) = peak_of(|| npy::decode_npy::<f64>(&b, p).map(|a| a.numel()));
            if let Err(e) = &r {
                let msg = e.to_string();
                check(msg.starts_with("m.npy: ") && !msg.contains('\n'), || {
                    msg.clone()
                })?;
            }
            let bound = 9 * b.len() + 256 * KIB;
            check(peak <= bound, || {
                format!("decode_npy: peak {peak} > {bound} ({r:?})")
            })?;
            let (r, peak) = peak_of(|| npy::decode_npy_labels(&b, p).map(|l| l.len()));
            check(peak <= bound, || {
                format!("labels: peak {peak} > {bound} ({r:?})")
            })
        })
        .unwrap();
}

/// `.npz`, stored or deflated, the archive's bytes mutated, read under a 64 KiB limit, then
/// every member decoded. Bound: the file plus three times the limit (a member's buffer while
/// it grows, the decoded values) plus 512 KiB.
#[test]
#[cfg_attr(miri, ignore)] // thousands of cases: far too slow under Miri
fn mutated_npz_never_panics_and_stays_bounded() {
    let _g = lock();
    let tmp = TempDir::new("fuzz-npz");
    let x = Array::<f32>::from_vec((0..12).map(|v| v as f32).collect(), [4, 3]).unwrap();
    let ds = tapegrad_data::Dataset::new(x, vec![0, 2, 1, 1], 3).unwrap();
    let seeds: Vec<Vec<u8>> = [false, true]
        .iter()
        .map(|&c| {
            let p = tmp.path("seed.npz");
            npy::write_npz_dataset(&p, &ds, c).unwrap();
            std::fs::read(&p).unwrap()
        })
        .collect();
    let f = tmp.path("m.npz");
    const LIMIT: usize = 64 * KIB;
    runner(800, 7)
        .run(&(0..seeds.len(), mutations(BIN_TOKENS)), |(i, ms)| {
            let mut b = seeds[i].clone();
            apply(&mut b, &ms);
            std::fs::write(&f, &b).unwrap();
            let (r, peak) = peak_of(|| {
                let npz = npy::read_npz_with_limit(&f, LIMIT as u64)?;
                let names: Vec<String> = npz.names().iter().map(|n| n.to_string()).collect();
                for n in &names {
                    let _ = npz.array::<f64>(n);
                    let _ = npz.labels(n);
                }
                npz.dataset::<f32>("x", "y", None).map(|d| d.len())
            });
            if let Err(e) = &r {
                let msg = e.to_string();
                check(msg.contains("m.npz") && !msg.contains('\n'), || msg.clone())?;
            }
            let bound = b.len() + 3 * LIMIT + 512 * KIB;
            check(peak <= bound, || format!("peak {peak} > {bound} ({r:?})"))
        })
        .unwrap();
}
