//! The packing buffers: two per thread (rhs panels, lhs panels), 64-byte aligned, grown when a
//! product needs more and kept for the next one, so that a thread in its steady state packs
//! without allocating.

use std::alloc::{alloc_zeroed, dealloc, handle_alloc_error, Layout};
use std::cell::RefCell;

/// Alignment of the buffers in bytes: a cache line, and the width of an AVX-512 vector.
const ALIGN: usize = 64;

/// A zero-initialized, 64-byte aligned byte buffer that only grows.
struct Aligned {
    ptr: *mut u8,
    bytes: usize,
}

impl Aligned {
    const fn new() -> Self {
        Aligned {
            ptr: std::ptr::null_mut(),
            bytes: 0,
        }
    }

    /// The buffer, at least `bytes` long (its old contents are dropped when it grows).
    #[allow(unsafe_code)]
    fn reserve(&mut self, bytes: usize) -> *mut u8 {
        if bytes > self.bytes {
            self.free();
            // round up so that a slightly larger product later does not reallocate
            let layout = bytes
                .checked_next_multiple_of(1 << 16)
                .and_then(|size| Layout::from_size_align(size, ALIGN).ok())
                .expect("internal: gemm packing buffer size overflows");
            let size = layout.size();
            // Zeroed, so every element is initialized (zero bits are 0.0 in f32 and f64): the
            // packing code may then borrow panels as slices. Only a growth pays for it.
            // SAFETY: the layout has a nonzero size.
            let ptr = unsafe { alloc_zeroed(layout) };
            if ptr.is_null() {
                handle_alloc_error(layout);
            }
            self.ptr = ptr;
            self.bytes = size;
        }
        self.ptr
    }

    #[allow(unsafe_code)]
    fn free(&mut self) {
        if !self.ptr.is_null() {
            let layout = Layout::from_size_align(self.bytes, ALIGN)
                .expect("internal: gemm packing buffer layout was valid when allocated");
            // SAFETY: `ptr` was allocated by `reserve` with exactly this layout.
            unsafe { dealloc(self.ptr, layout) };
            self.ptr = std::ptr::null_mut();
            self.bytes = 0;
        }
    }
}

impl Drop for Aligned {
    fn drop(&mut self) {
        self.free();
    }
}

thread_local! {
    /// This thread's rhs and lhs packing buffers.
    static BUFFERS: RefCell<[Aligned; 2]> = const { RefCell::new([Aligned::new(), Aligned::new()]) };
}

/// Runs `f` with this thread's rhs and lhs buffers, at least `rhs_len` and `lhs_len` elements
/// of `T` long (initialized: zeros, or what an earlier product left), 64-byte aligned. `f`
/// must not call `with` again.
pub(super) fn with<T, R>(rhs_len: usize, lhs_len: usize, f: impl FnOnce(*mut T, *mut T) -> R) -> R {
    BUFFERS.with(|cell| {
        let mut bufs = cell
            .try_borrow_mut()
            .expect("internal: gemm packing buffers borrowed twice");
        let bytes = |len: usize| {
            len.checked_mul(size_of::<T>())
                .expect("internal: gemm packing buffer size overflows")
        };
        let rhs = bufs[0].reserve(bytes(rhs_len)).cast::<T>();
        let lhs = bufs[1].reserve(bytes(lhs_len)).cast::<T>();
        f(rhs, lhs)
    })
}

/// The capacities in bytes of this thread's (rhs, lhs) buffers.
#[cfg(test)]
pub(super) fn capacities() -> (usize, usize) {
    BUFFERS.with(|cell| {
        let bufs = cell.borrow();
        (bufs[0].bytes, bufs[1].bytes)
    })
}
