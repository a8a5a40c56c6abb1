//! The portable path, plain Rust for any CPU: `4 x 8` tiles for f32 and `4 x 4` for f64,
//! written as array loops the compiler vectorizes for the baseline instruction set.

use super::{pack, KernelFn, PackFn, Spec};
use crate::Scalar;

/// A microkernel instance: `R` rows of `NR` columns; `PACKED` reads an `MR`-wide packed lhs
/// panel.
///
/// # Safety
///
/// See [`KernelFn`].
#[allow(unsafe_code, clippy::too_many_arguments)]
unsafe fn kernel<
    T: Scalar,
    const R: usize,
    const PACKED: bool,
    const MR: usize,
    const NR: usize,
>(
    k: usize,
    a: *const T,
    a_rs: usize,
    a_cs: usize,
    b: *const T,
    b_rs: usize,
    c: *mut T,
    c_rs: usize,
    load_c: bool,
) {
    let (a_rs, a_cs) = if PACKED { (1, MR) } else { (a_rs, a_cs) };
    let mut acc = [[T::zero(); NR]; R];
    // Addresses come from in-bounds offsets of elements that are read or written (never a
    // pointer stepped past the last one), and `c` is written through raw pointers only: it
    // may be the uninitialized scratch tile, which must not be borrowed as a slice.
    // `b`'s row `p` holds NR initialized elements (an operand, or a packed panel padded
    // with zeros).
    // SAFETY: the reads and writes are exactly those of the KernelFn contract, which the
    // caller guarantees, and every element read is initialized (above).
    unsafe {
        for p in 0..k {
            let bp = &*b.add(p * b_rs).cast::<[T; NR]>();
            for (i, row) in acc.iter_mut().enumerate() {
                let av = *a.add(i * a_rs + p * a_cs);
                for (x, &y) in row.iter_mut().zip(bp) {
                    *x += av * y;
                }
            }
        }
        for (i, row) in acc.iter().enumerate() {
            for (j, &x) in row.iter().enumerate() {
                let o = c.add(i * c_rs + j);
                o.write(if load_c { o.read() + x } else { x });
            }
        }
    }
}

/// Packs blocks into `W`-wide panels (see [`PackFn`]).
///
/// # Safety
///
/// See [`PackFn`].
#[allow(unsafe_code)]
unsafe fn pack_panels<T: Scalar, const W: usize>(
    rows: usize,
    cols: usize,
    src: *const T,
    rs: usize,
    cs: usize,
    dst: *mut T,
) {
    // SAFETY: the PackFn contract is pack::panels'.
    unsafe { pack::panels::<T, W, false>(rows, cols, src, rs, cs, dst) }
}

/// The table of the portable kernel's instances for 1 to `MR` rows.
macro_rules! table {
    ($t:ty, $packed:literal, $mr:literal, $nr:literal; $($r:literal)*) => {
        &[$(kernel::<$t, $r, $packed, $mr, $nr> as KernelFn<$t>),*]
    };
}

/// f32, portable.
pub(super) static F32: Spec<f32> = Spec {
    mr: 4,
    nr: 8,
    kc: 256,
    mc: 1024,
    nc: 512,
    direct_rhs_rows: 512,
    packed: table!(f32, true, 4, 8; 1 2 3 4),
    strided: table!(f32, false, 4, 8; 1 2 3 4),
    narrow: 4,
    narrow_packed: table!(f32, true, 4, 4; 1 2 3 4),
    narrow_strided: table!(f32, false, 4, 4; 1 2 3 4),
    pack_rhs: pack_panels::<f32, 8> as PackFn<f32>,
    pack_lhs: pack_panels::<f32, 4> as PackFn<f32>,
};

/// f64, portable.
pub(super) static F64: Spec<f64> = Spec {
    mr: 4,
    nr: 4,
    kc: 256,
    mc: 1024,
    nc: 256,
    direct_rhs_rows: 512,
    packed: table!(f64, true, 4, 4; 1 2 3 4),
    strided: table!(f64, false, 4, 4; 1 2 3 4),
    narrow: 2,
    narrow_packed: table!(f64, true, 4, 2; 1 2 3 4),
    narrow_strided: table!(f64, false, 4, 2; 1 2 3 4),
    pack_rhs: pack_panels::<f64, 4> as PackFn<f64>,
    pack_lhs: pack_panels::<f64, 4> as PackFn<f64>,
};
