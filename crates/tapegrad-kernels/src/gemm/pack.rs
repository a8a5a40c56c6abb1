//! Packing: copying a strided block of an operand into contiguous panels, the layout the
//! microkernels stream through.
//!
//! A `rows x cols` block (element (r, c) at `src[r * rs + c * cs]`) becomes panels of `W`
//! columns: panel `q` starts at `dst + q * rows * W` and holds element (r, q * W + j) at
//! `r * W + j`, zero past the last column. rhs blocks are packed as they are (`W = nr`); lhs
//! blocks are packed through their transpose (`W = mr`), which gives each `mr x kc` panel its
//! columns one after another. The functions are `#[inline(always)]` so that each CPU path's
//! wrapper compiles them with its own vector instructions.

use crate::Scalar;

/// Packs the block into panels of `W` columns (see the module documentation).
///
/// # Safety
///
/// `src` is valid for reads of every `src[r * rs + c * cs]` with `r < rows`, `c < cols`;
/// `dst` is valid for `rows * cols.div_ceil(W) * W` writes and does not overlap `src`.
#[allow(unsafe_code)]
#[inline(always)]
pub(super) unsafe fn panels<T: Scalar, const W: usize, const SIMD: bool>(
    rows: usize,
    cols: usize,
    src: *const T,
    rs: usize,
    cs: usize,
    dst: *mut T,
) {
    for (q, c0) in (0..cols).step_by(W).enumerate() {
        let w = W.min(cols - c0);
        // SAFETY: panel q lies inside dst's rows * cols.div_ceil(W) * W elements; the source
        // columns c0..c0 + w are inside the block.
        unsafe {
            let panel = std::slice::from_raw_parts_mut(dst.add(q * rows * W), rows * W);
            let src = src.add(c0 * cs);
            if cs == 1 {
                // each panel row is w consecutive source elements: a plain copy
                if w == W {
                    // a fixed-size copy: vector moves, not a call to memcpy
                    for (r, out) in panel.chunks_exact_mut(W).enumerate() {
                        out.copy_from_slice(&*src.add(r * rs).cast::<[T; W]>());
                    }
                } else {
                    for (r, out) in panel.chunks_exact_mut(W).enumerate() {
                        let row = std::slice::from_raw_parts(src.add(r * rs), w);
                        out[..w].copy_from_slice(row);
                        out[w..].fill(T::zero());
                    }
                }
            } else if rs == 1 {
                // each panel column is a contiguous source line: transpose in 8-row strips
                transpose::<T, W, SIMD>(rows, w, src, cs, panel);
            } else {
                for (r, out) in panel.chunks_exact_mut(W).enumerate() {
                    for (j, o) in out.iter_mut().enumerate() {
                        *o = if j < w {
                            *src.add(r * rs + j * cs)
                        } else {
                            T::zero()
                        };
                    }
                }
            }
        }
    }
}

/// `panel[r * W + j] = src[j * cs + r]` for `r < rows`, `j < w`, zero for `w <= j < W`. With
/// `SIMD` (the x86 paths, which have AVX2), whole 8 x 8 (f32) or 4 x 4 (f64) squares are
/// transposed in registers; the rest element by element.
///
/// # Safety
///
/// `src` valid for those reads, `panel` holds `rows * W` elements and does not overlap `src`;
/// with `SIMD` the CPU has AVX2.
#[allow(unsafe_code)]
#[inline(always)]
unsafe fn transpose<T: Scalar, const W: usize, const SIMD: bool>(
    rows: usize,
    w: usize,
    src: *const T,
    cs: usize,
    panel: &mut [T],
) {
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if SIMD {
        let side = 32 / size_of::<T>();
        let (full_rows, full_lines) = (rows / side * side, w / side * side);
        for r0 in (0..full_rows).step_by(side) {
            for j0 in (0..full_lines).step_by(side) {
                // SAFETY: the square's rows r0..r0 + side of lines j0..j0 + side are inside
                // the block, and its outputs inside the panel; the CPU has AVX2.
                unsafe {
                    square::<T>(
                        src.add(j0 * cs + r0),
                        cs,
                        panel.as_mut_ptr().add(r0 * W + j0),
                        W,
                    )
                };
            }
            for r in r0..r0 + side {
                for j in full_lines..W {
                    panel[r * W + j] = if j < w {
                        // SAFETY: row r of source line j is inside the block.
                        unsafe { *src.add(j * cs + r) }
                    } else {
                        T::zero()
                    };
                }
            }
        }
        done = full_rows;
    }
    for r in done..rows {
        for j in 0..W {
            panel[r * W + j] = if j < w {
                // SAFETY: row r of source line j is inside the block.
                unsafe { *src.add(j * cs + r) }
            } else {
                T::zero()
            };
        }
    }
}

/// Transposes one square (8 x 8 f32 or 4 x 4 f64, one AVX register per line):
/// `dst[r * dst_rs + j] = src[j * src_cs + r]`.
///
/// # Safety
///
/// Every element named is valid, they do not overlap, `T` is f32 or f64, the CPU has AVX2.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[inline(always)]
unsafe fn square<T: Scalar>(src: *const T, src_cs: usize, dst: *mut T, dst_rs: usize) {
    if size_of::<T>() == 4 {
        // SAFETY: forwarded; T is f32.
        unsafe { square_f32(src.cast(), src_cs, dst.cast(), dst_rs) }
    } else {
        // SAFETY: forwarded; T is f64.
        unsafe { square_f64(src.cast(), src_cs, dst.cast(), dst_rs) }
    }
}

/// The 8 x 8 f32 transpose: unpack pairs, shuffle quads, swap 128-bit halves.
///
/// # Safety
///
/// As [`square`].
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[target_feature(enable = "avx2")]
unsafe fn square_f32(src: *const f32, src_cs: usize, dst: *mut f32, dst_rs: usize) {
    use std::arch::x86_64::*;
    // SAFETY: 8 loads of 8 and 8 stores of 8 elements, all inside the square.
    unsafe {
        let l = |j: usize| _mm256_loadu_ps(src.add(j * src_cs));
        let (r0, r1, r2, r3) = (l(0), l(1), l(2), l(3));
        let (r4, r5, r6, r7) = (l(4), l(5), l(6), l(7));
        let (t0, t1) = (_mm256_unpacklo_ps(r0, r1), _mm256_unpackhi_ps(r0, r1));
        let (t2, t3) = (_mm256_unpacklo_ps(r2, r3), _mm256_unpackhi_ps(r2, r3));
        let (t4, t5) = (_mm256_unpacklo_ps(r4, r5), _mm256_unpackhi_ps(r4, r5));
        let (t6, t7) = (_mm256_unpacklo_ps(r6, r7), _mm256_unpackhi_ps(r6, r7));
        let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        let s = |r: usize, v: __m256| _mm256_storeu_ps(dst.add(r * dst_rs), v);
        s(0, _mm256_permute2f128_ps::<0x20>(u0, u4));
        s(1, _mm256_permute2f128_ps::<0x20>(u1, u5));
        s(2, _mm256_permute2f128_ps::<0x20>(u2, u6));
        s(3, _mm256_permute2f128_ps::<0x20>(u3, u7));
        s(4, _mm256_permute2f128_ps::<0x31>(u0, u4));
        s(5, _mm256_permute2f128_ps::<0x31>(u1, u5));
        s(6, _mm256_permute2f128_ps::<0x31>(u2, u6));
        s(7, _mm256_permute2f128_ps::<0x31>(u3, u7));
    }
}

/// The 4 x 4 f64 transpose: unpack pairs, swap 128-bit halves.
///
/// # Safety
///
/// As [`square`].
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[target_feature(enable = "avx2")]
unsafe fn square_f64(src: *const f64, src_cs: usize, dst: *mut f64, dst_rs: usize) {
    use std::arch::x86_64::*;
    // SAFETY: 4 loads of 4 and 4 stores of 4 elements, all inside the square.
    unsafe {
        let l = |j: usize| _mm256_loadu_pd(src.add(j * src_cs));
        let (r0, r1, r2, r3) = (l(0), l(1), l(2), l(3));
        let (t0, t1) = (_mm256_unpacklo_pd(r0, r1), _mm256_unpackhi_pd(r0, r1));
        let (t2, t3) = (_mm256_unpacklo_pd(r2, r3), _mm256_unpackhi_pd(r2, r3));
        let s = |r: usize, v: __m256d| _mm256_storeu_pd(dst.add(r * dst_rs), v);
        s(0, _mm256_permute2f128_pd::<0x20>(t0, t2));
        s(1, _mm256_permute2f128_pd::<0x20>(t1, t3));
        s(2, _mm256_permute2f128_pd::<0x31>(t0, t2));
        s(3, _mm256_permute2f128_pd::<0x31>(t1, t3));
    }
}
