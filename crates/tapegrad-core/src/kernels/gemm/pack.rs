//! Packing: copying a strided block of an operand into contiguous panels, the layout the
//! microkernels stream through.
//!
//! A `rows x cols` block (element (r, c) at `src[r * rs + c * cs]`) becomes panels of `W`
//! columns: panel `q` starts at `dst + q * rows * W` and holds element (r, q * W + j) at
//! `r * W + j`, zero past the last column. rhs blocks are packed as they are (`W = nr`); lhs
//! blocks are packed through their transpose (`W = mr`), which gives each `mr x kc` panel its
//! columns one after another. The functions are `#[inline(always)]` so that each CPU path's
//! wrapper compiles them with its own vector instructions.

use crate::element::Element;

/// Packs the block into panels of `W` columns (see the module documentation).
///
/// # Safety
///
/// `src` is valid for reads of every `src[r * rs + c * cs]` with `r < rows`, `c < cols`;
/// `dst` is valid for `rows * cols.div_ceil(W) * W` writes and does not overlap `src`.
#[allow(unsafe_code)]
#[inline(always)]
pub(super) unsafe fn panels<T: Element, const W: usize>(
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
                for (r, out) in panel.chunks_exact_mut(W).enumerate() {
                    let row = std::slice::from_raw_parts(src.add(r * rs), w);
                    out[..w].copy_from_slice(row);
                    out[w..].fill(T::zero());
                }
            } else if rs == 1 {
                // each panel column is a contiguous source line: transpose in 8-row strips
                transpose::<T, W>(rows, w, src, cs, panel);
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

/// `panel[r * W + j] = src[j * cs + r]` for `r < rows`, `j < w`, zero for `w <= j < W`.
///
/// # Safety
///
/// `src` valid for those reads, `panel` holds `rows * W` elements and does not overlap `src`.
#[allow(unsafe_code)]
#[inline(always)]
unsafe fn transpose<T: Element, const W: usize>(
    rows: usize,
    w: usize,
    src: *const T,
    cs: usize,
    panel: &mut [T],
) {
    const STRIP: usize = 8;
    let full = rows / STRIP * STRIP;
    for r0 in (0..full).step_by(STRIP) {
        let out = &mut panel[r0 * W..(r0 + STRIP) * W];
        for j in 0..W {
            if j < w {
                // SAFETY: rows r0..r0 + 8 of source line j are inside the block.
                let line = unsafe { std::slice::from_raw_parts(src.add(j * cs + r0), STRIP) };
                for (r, &v) in line.iter().enumerate() {
                    out[r * W + j] = v;
                }
            } else {
                for r in 0..STRIP {
                    out[r * W + j] = T::zero();
                }
            }
        }
    }
    for r in full..rows {
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
