//! tapegrad's own single-threaded GEMM: `dst (+)= lhs · rhs` on strided operands, with no heap
//! allocation in the steady state. Threads, if any, are the caller's: each runs
//! [`gemm_serial`] on its own block of `dst`.
//!
//! The algorithm is BLIS's. The product is cut into blocks: `kc` of the shared dimension at a
//! time, `nc` columns of `rhs` (a `kc x nc` block sized for the L2 cache, packed into
//! contiguous `kc x nr` panels), `mc` rows of `lhs` (packed once for all of `rhs` when it
//! must be packed). The microkernel keeps an `mr x nr` tile
//! of `dst` in registers; per step of the shared dimension it broadcasts one `lhs` element per
//! row and multiplies it into the `nr / lanes` vector loads of that `rhs` row. Its `mr x kc`
//! slice of `lhs` stays in L1 while it sweeps the `rhs` panels streaming from L2.
//!
//! - `avx512`: AVX-512F microkernels (`12 x 32` for f32, `12 x 16` for f64: 24 of the 32
//!   vector registers accumulate);
//! - `avx2`: AVX2 + FMA microkernels (`6 x 16` for f32, `6 x 8` for f64: 12 of 16);
//! - `portable`: plain Rust for any CPU (`4 x 8` for f32, `4 x 4` for f64);
//! - `pack`: copying operand blocks into panels (transposing 8 x 8 squares in registers on
//!   x86); `buffer`: the thread-local, 64-byte aligned packing buffers, grown when too
//!   small and kept, so that a call in the steady state allocates nothing.
//!
//! Every microkernel has an instance per row count (`1..=mr`, for the last rows) and a narrow
//! form (half of `nr`, for a ragged last panel); a last panel of other widths goes through a
//! scratch tile. Operands are read in place where packing would not pay (measured on Zen 5):
//! `lhs` when its rows are contiguous or `k` fits one `kc` block, a row-major `rhs` when `lhs`
//! has at most 512 rows; the tiniest products (at most 512 multiply-adds) run a plain loop.
//! The CPU path is [`kernel_path`](crate::kernel_path) (the best one, detected once, unless
//! `TAPEGRAD_KERNEL` or [`set_kernel_path`](crate::set_kernel_path) chose another); tests force
//! each path with [`gemm_with`].
//!
//! The summation order depends only on the shapes and the CPU path (not on strides or on
//! addresses), so the same inputs give bit-identical results on every call.

/// Defines a SIMD microkernel `$name::<R, PACKED>` (see [`KernelFn`]) for one element type and
/// instruction set: an `R x (NV * lanes)` tile of accumulators in registers; per step of `k`,
/// `NV` vector loads of `b` and `R` broadcasts of `a`, each multiplied into a row.
#[cfg(target_arch = "x86_64")]
macro_rules! simd_kernel {
    (
        $name:ident, $features:literal, $t:ty, $mr:literal, $nv:literal, $lanes:literal,
        zero: $zero:ident, splat: $splat:ident, load: $load:ident, store: $store:ident,
        fma: $fma:ident, add: $add:ident
    ) => {
        /// A microkernel instance: `R` rows; `PACKED` reads an `mr`-wide packed lhs panel.
        ///
        /// # Safety
        ///
        /// See [`KernelFn`](super::KernelFn); the CPU must have the enabled features.
        #[allow(unsafe_code, clippy::too_many_arguments)]
        #[target_feature(enable = $features)]
        unsafe fn $name<const R: usize, const PACKED: bool>(
            k: usize,
            a: *const $t,
            a_rs: usize,
            a_cs: usize,
            b: *const $t,
            b_rs: usize,
            c: *mut $t,
            c_rs: usize,
            load_c: bool,
        ) {
            let (a_rs, a_cs) = if PACKED { (1, $mr) } else { (a_rs, a_cs) };
            let mut acc = [[$zero(); $nv]; R];
            // Every address is computed from the operand's start and the offset of an element
            // that is read (step p < k), never by stepping a pointer on: a pointer stepped
            // past the last step would leave its allocation, which is UB even unread.
            // SAFETY: the accesses are the KernelFn contract's, which the caller guarantees (each
            // offset in bounds, fitting isize); the features are enabled on this function.
            unsafe {
                for p in 0..k {
                    let (ap, bp) = (a.add(p * a_cs), b.add(p * b_rs));
                    let mut bv = [$zero(); $nv];
                    for (v, x) in bv.iter_mut().enumerate() {
                        *x = $load(bp.add(v * $lanes));
                    }
                    for (i, row) in acc.iter_mut().enumerate() {
                        let av = $splat(*ap.add(i * a_rs));
                        for (x, y) in row.iter_mut().zip(&bv) {
                            *x = $fma(av, *y, *x);
                        }
                    }
                }
                for (i, row) in acc.iter().enumerate() {
                    for (v, x) in row.iter().enumerate() {
                        let p = c.add(i * c_rs + v * $lanes);
                        let r = if load_c { $add($load(p), *x) } else { *x };
                        $store(p, r);
                    }
                }
            }
        }
    };
}

/// Defines `$name`, a [`PackFn`] into `$w`-wide panels, compiled with the instruction set
/// `$feature` enabled (so the packing loop uses it too).
#[cfg(target_arch = "x86_64")]
macro_rules! pack_fn {
    ($name:ident, $feature:literal, $t:ty, $w:literal, $doc:literal) => {
        #[doc = $doc]
        ///
        /// # Safety
        ///
        /// See [`PackFn`](super::PackFn); the CPU must have the instruction set `$feature`.
        #[allow(unsafe_code)]
        #[target_feature(enable = $feature)]
        unsafe fn $name(
            rows: usize,
            cols: usize,
            src: *const $t,
            rs: usize,
            cs: usize,
            dst: *mut $t,
        ) {
            // SAFETY: the PackFn contract is pack::panels'.
            unsafe { super::pack::panels::<$t, $w, true>(rows, cols, src, rs, cs, dst) }
        }
    };
}

/// The table of a kernel's instances for 1 to `mr` rows, packed or strided.
#[cfg(target_arch = "x86_64")]
macro_rules! kernel_table {
    ($name:ident, $t:ty, $packed:literal; $($r:literal)*) => {
        &[$($name::<$r, $packed> as super::KernelFn<$t>),*]
    };
}

#[cfg(target_arch = "x86_64")]
mod avx2;
// The AVX-512 intrinsics are stable since rustc 1.89 (the workspace asks for 1.93).
#[cfg(target_arch = "x86_64")]
mod avx512;
mod buffer;
mod pack;
mod portable;
#[cfg(test)]
mod tests;

use crate::Scalar;
use std::any::TypeId;

/// A microkernel: `c[i * c_rs + j] (+)= sum_p a[i * a_rs + p * a_cs] * b[p * b_rs + j]` for
/// `i` below its row count (a const parameter of each instance) and `j` below its column
/// count (`nr`, or half of it for the narrow forms); with `load_c`
/// the sum is added to `c`, otherwise it replaces `c` (unread). Instances for packed `lhs`
/// panels ignore `a_rs` and `a_cs` (they are `1` and `mr`).
///
/// # Safety
///
/// Every element named above must be valid to read (`a`, `b`) or read and write (`c`); `c`
/// must not overlap `a` or `b`; the CPU must have the instance's target features.
type KernelFn<T> = unsafe fn(
    k: usize,
    a: *const T,
    a_rs: usize,
    a_cs: usize,
    b: *const T,
    b_rs: usize,
    c: *mut T,
    c_rs: usize,
    load_c: bool,
);

/// Packs a `rows x cols` block of a strided matrix (element (r, c) at `src[r * rs + c * cs]`)
/// into panels of `w` columns (`nr` for rhs blocks, `mr` for transposed lhs blocks): panel `q`
/// starts at `dst + q * rows * w` and holds element (r, q * w + j) at `r * w + j`; columns past
/// `cols` are zero.
///
/// # Safety
///
/// `src` valid for every element of the block; `dst` valid for `rows * cols.div_ceil(w) * w`
/// writes and not overlapping `src`; the CPU has the spec's target features.
type PackFn<T> =
    unsafe fn(rows: usize, cols: usize, src: *const T, rs: usize, cs: usize, dst: *mut T);

/// Everything the blocked driver needs to know about one CPU path for one element type.
pub(super) struct Spec<T: 'static> {
    /// Rows of a microkernel tile.
    mr: usize,
    /// Columns of a microkernel tile (a multiple of the vector width).
    nr: usize,
    /// The largest block of the shared dimension (L1: an `mr x kc` lhs panel).
    kc: usize,
    /// The most rows of lhs packed at once (a packed lhs block is reused for all of rhs, so
    /// this only bounds the buffer: `mc x kc` elements, 2-3 MB).
    mc: usize,
    /// The largest block of rhs columns (L2: a `kc x nc` packed block).
    nc: usize,
    /// With at most this many lhs rows, a row-major rhs is read in place (measured faster for
    /// a training step's products, 32 to 784 rows); above, packing it costs under 1/500 of
    /// the product and keeps the L2 stream contiguous.
    direct_rhs_rows: usize,
    /// Microkernels reading packed lhs panels; entry `r - 1` computes `r` rows.
    packed: &'static [KernelFn<T>],
    /// Microkernels reading lhs in place through its strides; entry `r - 1` computes `r` rows.
    strided: &'static [KernelFn<T>],
    /// Columns of the narrow microkernels (half of `nr`, or `nr` where there are none), for
    /// a ragged last panel.
    narrow: usize,
    /// Narrow microkernels reading packed lhs panels.
    narrow_packed: &'static [KernelFn<T>],
    /// Narrow microkernels reading lhs in place.
    narrow_strided: &'static [KernelFn<T>],
    /// Packs rhs (a `kc x nc` block) into `kc x nr` panels.
    pack_rhs: PackFn<T>,
    /// Packs lhs (an `mc x kc` block), given transposed (`kc x mc`), into `kc x mr` panels.
    pack_lhs: PackFn<T>,
}

/// The CPU paths ([`KernelPath`]); tests force each one the CPU supports with [`gemm_with`].
pub(crate) use crate::cpu::KernelPath as Path;

impl Path {
    /// The path's spec for f32.
    fn spec_f32(self) -> &'static Spec<f32> {
        match self {
            #[cfg(target_arch = "x86_64")]
            Path::Avx512 => &avx512::F32,
            #[cfg(target_arch = "x86_64")]
            Path::Avx2 => &avx2::F32,
            _ => &portable::F32,
        }
    }

    /// The path's spec for f64.
    fn spec_f64(self) -> &'static Spec<f64> {
        match self {
            #[cfg(target_arch = "x86_64")]
            Path::Avx512 => &avx512::F64,
            #[cfg(target_arch = "x86_64")]
            Path::Avx2 => &avx2::F64,
            _ => &portable::F64,
        }
    }
}

/// `dst[i*dst_rs + j] (+)= sum_l lhs[i*lhs_rs + l*lhs_cs] * rhs[l*rhs_rs + j*rhs_cs]` for
/// `i < m`, `j < n`, `l < k`; with `accumulate` the product is added to `dst`, without it `dst`
/// is overwritten (its old contents, even NaN, are never read). Single-threaded: callers split
/// threads over disjoint blocks of `dst`. Runs the best kernel of this CPU (detected once);
/// allocates nothing once the calling thread's packing buffers have grown to the sizes used.
///
/// # Safety
///
/// - When `m`, `n` and `k` are all nonzero, `lhs` is valid for reads of every
///   `lhs[i*lhs_rs + l*lhs_cs]` and `rhs` of every `rhs[l*rhs_rs + j*rhs_cs]` (the offsets
///   must not overflow `isize`); when `m` and `n` are nonzero, `dst` is valid for reads and
///   writes of every `dst[i*dst_rs + j]`. Nothing else is touched, and with `m == 0` or
///   `n == 0` no pointer is dereferenced.
/// - No element of `dst` written here overlaps an element of `lhs` or `rhs` read here, and
///   nothing else accesses them during the call. `dst_rs >= n` when `m > 1`, so the rows of
///   the block do not overlap each other. (`lhs` and `rhs` may overlap each other.)
#[allow(unsafe_code, clippy::too_many_arguments)]
pub(crate) unsafe fn gemm_serial<T: Scalar>(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut T,
    dst_rs: usize,
    accumulate: bool,
    lhs: *const T,
    lhs_rs: usize,
    lhs_cs: usize,
    rhs: *const T,
    rhs_rs: usize,
    rhs_cs: usize,
) {
    // SAFETY: the caller's contract is this function's.
    unsafe {
        gemm_with(
            crate::cpu::kernel_path(),
            m,
            n,
            k,
            dst,
            dst_rs,
            accumulate,
            lhs,
            lhs_rs,
            lhs_cs,
            rhs,
            rhs_rs,
            rhs_cs,
        )
    }
}

/// [`gemm_serial`] on a chosen CPU path.
///
/// # Safety
///
/// As [`gemm_serial`], and `path` must be supported by this CPU (one of
/// [`Path::available`]).
#[allow(unsafe_code, clippy::too_many_arguments)]
pub(crate) unsafe fn gemm_with<T: Scalar>(
    path: Path,
    m: usize,
    n: usize,
    k: usize,
    dst: *mut T,
    dst_rs: usize,
    accumulate: bool,
    lhs: *const T,
    lhs_rs: usize,
    lhs_cs: usize,
    rhs: *const T,
    rhs_rs: usize,
    rhs_cs: usize,
) {
    debug_assert!(
        path.is_supported(),
        "internal: gemm path {path:?} not supported"
    );
    debug_assert!(m <= 1 || dst_rs >= n, "internal: gemm dst rows overlap");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m {
                // SAFETY: row i of the dst block, valid by the contract.
                unsafe { std::slice::from_raw_parts_mut(dst.add(i * dst_rs), n) }.fill(T::zero());
            }
        }
        return;
    }
    let op = Operands {
        m,
        n,
        k,
        dst,
        dst_rs,
        accumulate,
        lhs,
        lhs_rs,
        lhs_cs,
        rhs,
        rhs_rs,
        rhs_cs,
    };
    if m.saturating_mul(n).saturating_mul(k) <= TINY {
        // SAFETY: the contract of this function.
        unsafe { tiny(&op) };
        return;
    }
    let id = TypeId::of::<T>();
    if id == TypeId::of::<f32>() {
        // SAFETY: T is f32 (same TypeId), so the casts change nothing; the contract is
        // forwarded and the spec's path is supported (checked by the caller).
        unsafe { blocked(path.spec_f32(), &op.cast::<f32>()) }
    } else if id == TypeId::of::<f64>() {
        // SAFETY: as above, with f64.
        unsafe { blocked(path.spec_f64(), &op.cast::<f64>()) }
    } else {
        // SAFETY: the contract of this function.
        unsafe { tiny(&op) }
    }
}

/// Products with at most this many multiply-adds run [`tiny`]: below it, a plain loop is
/// faster than setting up tiles.
const TINY: usize = 512;

/// The arguments of one product.
struct Operands<T> {
    m: usize,
    n: usize,
    k: usize,
    dst: *mut T,
    dst_rs: usize,
    accumulate: bool,
    lhs: *const T,
    lhs_rs: usize,
    lhs_cs: usize,
    rhs: *const T,
    rhs_rs: usize,
    rhs_cs: usize,
}

impl<T> Operands<T> {
    /// The same operands with the pointers cast to `U` (used once `T == U` is known).
    fn cast<U>(&self) -> Operands<U> {
        Operands {
            m: self.m,
            n: self.n,
            k: self.k,
            dst: self.dst.cast(),
            dst_rs: self.dst_rs,
            accumulate: self.accumulate,
            lhs: self.lhs.cast(),
            lhs_rs: self.lhs_rs,
            lhs_cs: self.lhs_cs,
            rhs: self.rhs.cast(),
            rhs_rs: self.rhs_rs,
            rhs_cs: self.rhs_cs,
        }
    }
}

/// The plain loop for the tiniest products: each element of `dst` is one sum over `l` in
/// order.
///
/// # Safety
///
/// The contract of [`gemm_serial`], with `m`, `n`, `k` nonzero.
#[allow(unsafe_code)]
unsafe fn tiny<T: Scalar>(op: &Operands<T>) {
    for i in 0..op.m {
        for j in 0..op.n {
            let mut s = T::zero();
            for l in 0..op.k {
                // SAFETY: (i, l) and (l, j) are inside the operands by the contract.
                s += unsafe {
                    *op.lhs.add(i * op.lhs_rs + l * op.lhs_cs)
                        * *op.rhs.add(l * op.rhs_rs + j * op.rhs_cs)
                };
            }
            // SAFETY: (i, j) is inside the dst block by the contract.
            let d = unsafe { &mut *op.dst.add(i * op.dst_rs + j) };
            *d = if op.accumulate { *d + s } else { s };
        }
    }
}

/// The largest microkernel tile any spec uses (`mr * nr`), for the scratch tile of edge
/// columns.
const MAX_TILE: usize = 12 * 32;

/// The blocked product through one spec's microkernels.
///
/// # Safety
///
/// The contract of [`gemm_serial`] with `m`, `n`, `k` nonzero, and the spec's path is
/// supported by this CPU.
#[allow(unsafe_code)]
unsafe fn blocked<T: Scalar>(spec: &Spec<T>, op: &Operands<T>) {
    let (mr, nr) = (spec.mr, spec.nr);
    #[allow(clippy::manual_is_multiple_of)] // is_multiple_of needs rustc 1.87
    let tiles_fit = mr * nr <= MAX_TILE && spec.mc % mr == 0 && spec.nc % nr == 0;
    debug_assert!(tiles_fit, "internal: gemm spec blocks are not whole tiles");
    let Operands { m, n, k, .. } = *op;
    // Balanced blocks: k = 1100 with kc = 384 gives three blocks of 367, not 384 + 384 + 332.
    let kc = k.div_ceil(k.div_ceil(spec.kc));
    let nc = n.div_ceil(n.div_ceil(spec.nc)).next_multiple_of(nr);
    let mc = m.div_ceil(m.div_ceil(spec.mc)).next_multiple_of(mr);
    // lhs is read in place when its rows are contiguous (packing them is a transpose, which
    // costs more than it saves: measured) or when one kc block covers k (its mr x k panel
    // then sits in L1 as a packed one would); otherwise (transposed or general strides with a
    // large k) its panels are packed, each a contiguous copy.
    let direct_lhs = op.lhs_cs == 1 || k <= spec.kc;
    // A row-major rhs is read in place below `direct_rhs_rows` rows of lhs; above, packing it
    // costs under 1/500 of the product and makes the L2 stream contiguous.
    let direct_rhs = op.rhs_cs == 1 && m <= spec.direct_rhs_rows;
    let ragged = n % nr != 0;
    let rhs_len = if !direct_rhs {
        kc * nc
    } else if ragged {
        kc * nr
    } else {
        0
    };
    let lhs_len = if direct_lhs { 0 } else { kc * mc };
    let run = |rhs_buf: *mut T, lhs_buf: *mut T| {
        // the scratch tile of ragged columns: the kernel writes what is read back
        let mut tile = std::mem::MaybeUninit::<[T; MAX_TILE]>::uninit();
        let tile = tile.as_mut_ptr().cast::<T>();
        for ic in (0..m).step_by(mc) {
            let mb = mc.min(m - ic);
            for pc in (0..k).step_by(kc) {
                let kb = kc.min(k - pc);
                let load_c = op.accumulate || pc > 0;
                // SAFETY: (ic, pc) is inside lhs.
                let lhs_block = unsafe { op.lhs.add(ic * op.lhs_rs + pc * op.lhs_cs) };
                if !direct_lhs {
                    // lhs transposed is a kc x mc matrix: pack its columns in mr panels, once
                    // for all the rhs blocks
                    // SAFETY: the block is inside lhs; lhs_buf holds kc * mc elements.
                    unsafe { (spec.pack_lhs)(kb, mb, lhs_block, op.lhs_cs, op.lhs_rs, lhs_buf) };
                }
                for jc in (0..n).step_by(nc) {
                    let nb = nc.min(n - jc);
                    let full_cols = nb / nr * nr;
                    // SAFETY: (pc, jc) is inside rhs (pc < k, jc < n).
                    let rhs_block = unsafe { op.rhs.add(pc * op.rhs_rs + jc * op.rhs_cs) };
                    if !direct_rhs {
                        // SAFETY: the kb x nb block is inside rhs; rhs_buf holds kc * nc >=
                        // kb * nb.next_multiple_of(nr) elements (nb <= nc, a multiple of nr).
                        unsafe {
                            (spec.pack_rhs)(kb, nb, rhs_block, op.rhs_rs, op.rhs_cs, rhs_buf)
                        };
                    } else if full_cols < nb {
                        // only the ragged last panel: reading it in place would run past `n`
                        // SAFETY: its kb x (nb - full_cols) block is inside rhs; rhs_buf holds
                        // kc * nr elements (ragged).
                        unsafe {
                            (spec.pack_rhs)(
                                kb,
                                nb - full_cols,
                                rhs_block.add(full_cols),
                                op.rhs_rs,
                                1,
                                rhs_buf,
                            )
                        };
                    }
                    for ir in (0..mb).step_by(mr) {
                        let rows = mr.min(mb - ir);
                        let (a, a_rs, a_cs) = if direct_lhs {
                            (
                                // SAFETY: row ic + ir < m of lhs, so the offset stays inside
                                // lhs's allocation.
                                unsafe { lhs_block.add(ir * op.lhs_rs) },
                                op.lhs_rs,
                                op.lhs_cs,
                            )
                        } else {
                            // SAFETY: panel ir / mr of the packed block.
                            (unsafe { lhs_buf.add(ir * kb) }.cast_const(), 1, mr)
                        };
                        let (full, narrow) = if direct_lhs {
                            (spec.strided[rows - 1], spec.narrow_strided[rows - 1])
                        } else {
                            (spec.packed[rows - 1], spec.narrow_packed[rows - 1])
                        };
                        // SAFETY: (ic + ir, jc) is inside the dst block.
                        let dst_rows = unsafe { op.dst.add((ic + ir) * op.dst_rs + jc) };
                        for jr in (0..nb).step_by(nr) {
                            // SAFETY: (ic + ir, jc + jr) is inside the dst block.
                            let c = unsafe { dst_rows.add(jr) };
                            let (b, b_rs) = if !direct_rhs {
                                // SAFETY: panel jr / nr of the packed block.
                                (unsafe { rhs_buf.add(jr * kb) }.cast_const(), nr)
                            } else if jr < full_cols {
                                // SAFETY: (pc, jc + jr) is inside rhs, and so are the nr
                                // columns from it (jr < full_cols).
                                (unsafe { rhs_block.add(jr) }, op.rhs_rs)
                            } else {
                                (rhs_buf.cast_const(), nr)
                            };
                            let cols = nr.min(nb - jr);
                            // In all three kernel calls: a holds rows x kb elements at its
                            // strides, b kb rows of nr (in place, or a packed panel padded
                            // with zeros), and the spec's path is supported by this CPU.
                            if cols == nr {
                                // SAFETY: as above; c is a full rows x nr tile of dst.
                                unsafe { full(kb, a, a_rs, a_cs, b, b_rs, c, op.dst_rs, load_c) };
                            } else if cols == spec.narrow {
                                // SAFETY: as above; c is a rows x narrow tile of dst.
                                unsafe { narrow(kb, a, a_rs, a_cs, b, b_rs, c, op.dst_rs, load_c) };
                            } else {
                                // ragged columns: compute the tile (or its narrow left part)
                                // into scratch, then add or copy its valid part
                                let kernel = if cols < spec.narrow { narrow } else { full };
                                // SAFETY: as above; the scratch tile holds mr * nr <= MAX_TILE
                                // elements at row stride nr (load_c false: only written).
                                unsafe { kernel(kb, a, a_rs, a_cs, b, b_rs, tile, nr, false) };
                                for i in 0..rows {
                                    for j in 0..cols {
                                        // SAFETY: (i, j) of the dst tile, and of the scratch
                                        // tile, where the kernel wrote it.
                                        unsafe {
                                            let d = c.add(i * op.dst_rs + j);
                                            let s = *tile.add(i * nr + j);
                                            *d = if load_c { *d + s } else { s };
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    if rhs_len == 0 && lhs_len == 0 {
        run(std::ptr::null_mut(), std::ptr::null_mut());
    } else {
        buffer::with(rhs_len, lhs_len, run);
    }
}
