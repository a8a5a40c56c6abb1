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

use std::path::{Path, PathBuf};
use tapegrad_data::{csv, idx};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A temp file removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, bytes: &[u8]) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tapegrad-fuzz-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        TempFile(p)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// 50 MB of zeros behind an IDX header that promises 100 bytes: the reader must stop at the
/// promise, not inflate the whole bomb.
#[test]
fn gzip_bomb_idx_stops_at_the_header_promise() {
    let _g = lock();
    let mut content = vec![0u8, 0, 0x08, 1, 0, 0, 0, 100];
    content.resize(50 * MIB, 0);
    let gz = gzip(&content);
    drop(content);
    assert!(gz.len() < 100 * KIB, "{}", gz.len());
    let f = TempFile::new("bomb-idx.gz", &gz);
    let (r, peak) = peak_of(|| idx::read_idx(&f.0));
    let msg = r.unwrap_err().to_string();
    assert!(msg.starts_with(&f.0.display().to_string()), "{msg}");
    assert!(msg.contains("need 100 data bytes"), "{msg}");
    assert!(msg.contains("too many"), "{msg}");
    // The compressed file, the header and 100 bytes, the decoder's state.
    assert!(peak < gz.len() + 256 * KIB, "peak {peak} bytes");
}

/// `1,4294967295`: one row whose label would make four billion classes.
#[test]
fn huge_label_is_an_error_not_an_allocation() {
    let _g = lock();
    let (r, peak) = peak_of(|| csv::parse_labeled(b"1,4294967295", Path::new("tiny.csv"), None));
    let msg = r.unwrap_err().to_string();
    assert!(msg.starts_with("tiny.csv: at byte 2: line 1, column 2: "), "{msg}");
    assert!(msg.contains("4294967295"), "{msg}");
    assert!(peak < 64 * KIB, "peak {peak} bytes");
}

/// A header promising 4 GiB of u8: refused before anything is inflated.
#[test]
fn gzip_idx_promising_more_than_the_limit_is_refused() {
    let _g = lock();
    let mut content = vec![0u8, 0, 0x08, 1, 0xff, 0xff, 0xff, 0xff];
    content.resize(1 << 20, 7);
    let gz = gzip(&content);
    let f = TempFile::new("huge-promise.gz", &gz);
    let (r, peak) = peak_of(|| idx::read_idx(&f.0));
    let msg = r.unwrap_err().to_string();
    assert!(msg.contains("more than the limit of 1073741824 bytes"), "{msg}");
    assert!(peak < gz.len() + 256 * KIB, "peak {peak} bytes");
    // Under a limit that allows it, the promise is honoured but only what is there is kept:
    // 1 MiB inflated, then "truncated".
    let (r, peak) = peak_of(|| idx::read_idx_with_limit(&f.0, 8 << 30));
    let msg = r.unwrap_err().to_string();
    assert!(msg.contains("truncated"), "{msg}");
    assert!(peak < gz.len() + 2 * MIB + 256 * KIB, "peak {peak} bytes");
}

/// A MNIST folder whose labels file is a bomb: a one-line error naming it, no big allocation.
#[test]
fn gzip_bomb_in_a_mnist_folder() {
    use tapegrad_data::mnist;
    let _g = lock();
    let dir = TempFile::new("marker", b"");
    let dir = dir.0.parent().unwrap().to_path_buf();
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
    let (r, peak) = peak_of(|| mnist::load(&dir));
    let msg = r.unwrap_err().to_string();
    assert!(!msg.contains('\n'), "{msg}");
    assert!(msg.contains("train-labels-idx1-ubyte.gz: at byte 11: "), "{msg}");
    assert!(msg.contains("over 1 MiB too many"), "{msg}");
    assert!(peak < bomb.len() + 512 * KIB, "peak {peak} bytes");
}
