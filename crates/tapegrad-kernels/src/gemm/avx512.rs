//! AVX-512F microkernels: `12 x 32` tiles for f32 and `12 x 16` for f64, i.e. 24 vector
//! accumulators of the 32 zmm registers, two FMAs per broadcast element of lhs.

use super::{PackFn, Spec};
use std::arch::x86_64::{
    _mm512_add_pd, _mm512_add_ps, _mm512_fmadd_pd, _mm512_fmadd_ps, _mm512_loadu_pd,
    _mm512_loadu_ps, _mm512_set1_pd, _mm512_set1_ps, _mm512_setzero_pd, _mm512_setzero_ps,
    _mm512_storeu_pd, _mm512_storeu_ps,
};

simd_kernel!(
    kernel_f32, "avx512f,avx2,fma", f32, 12, 2, 16,
    zero: _mm512_setzero_ps, splat: _mm512_set1_ps, load: _mm512_loadu_ps,
    store: _mm512_storeu_ps, fma: _mm512_fmadd_ps, add: _mm512_add_ps
);

simd_kernel!(
    narrow_f32, "avx512f,avx2,fma", f32, 12, 1, 16,
    zero: _mm512_setzero_ps, splat: _mm512_set1_ps, load: _mm512_loadu_ps,
    store: _mm512_storeu_ps, fma: _mm512_fmadd_ps, add: _mm512_add_ps
);

simd_kernel!(
    kernel_f64, "avx512f,avx2,fma", f64, 12, 2, 8,
    zero: _mm512_setzero_pd, splat: _mm512_set1_pd, load: _mm512_loadu_pd,
    store: _mm512_storeu_pd, fma: _mm512_fmadd_pd, add: _mm512_add_pd
);

simd_kernel!(
    narrow_f64, "avx512f,avx2,fma", f64, 12, 1, 8,
    zero: _mm512_setzero_pd, splat: _mm512_set1_pd, load: _mm512_loadu_pd,
    store: _mm512_storeu_pd, fma: _mm512_fmadd_pd, add: _mm512_add_pd
);

pack_fn!(
    pack_rhs_f32,
    "avx512f,avx2,fma",
    f32,
    32,
    "Packs f32 rhs blocks into 32-wide panels (see [`PackFn`])."
);

pack_fn!(
    pack_lhs_f32,
    "avx512f,avx2,fma",
    f32,
    12,
    "Packs transposed f32 lhs blocks into 12-wide panels (see [`PackFn`])."
);

pack_fn!(
    pack_rhs_f64,
    "avx512f,avx2,fma",
    f64,
    16,
    "Packs f64 rhs blocks into 16-wide panels (see [`PackFn`])."
);

pack_fn!(
    pack_lhs_f64,
    "avx512f,avx2,fma",
    f64,
    12,
    "Packs transposed f64 lhs blocks into 12-wide panels (see [`PackFn`])."
);

/// f32 on AVX-512F. kc = 384: a 12 x 384 lhs panel is 18 KB of the 48 KB L1; nc = 480: a
/// 384 x 480 rhs block is 720 KB of the 1 MB L2.
pub(super) static F32: Spec<f32> = Spec {
    mr: 12,
    nr: 32,
    kc: 384,
    mc: 1536,
    nc: 480,
    direct_rhs_rows: 512,
    packed: kernel_table!(kernel_f32, f32, true; 1 2 3 4 5 6 7 8 9 10 11 12),
    strided: kernel_table!(kernel_f32, f32, false; 1 2 3 4 5 6 7 8 9 10 11 12),
    narrow: 16,
    narrow_packed: kernel_table!(narrow_f32, f32, true; 1 2 3 4 5 6 7 8 9 10 11 12),
    narrow_strided: kernel_table!(narrow_f32, f32, false; 1 2 3 4 5 6 7 8 9 10 11 12),
    pack_rhs: pack_rhs_f32 as PackFn<f32>,
    pack_lhs: pack_lhs_f32 as PackFn<f32>,
};

/// f64 on AVX-512F: the same bytes per block as f32 (kc = 256, nc = 240).
pub(super) static F64: Spec<f64> = Spec {
    mr: 12,
    nr: 16,
    kc: 256,
    mc: 1536,
    nc: 240,
    direct_rhs_rows: 512,
    packed: kernel_table!(kernel_f64, f64, true; 1 2 3 4 5 6 7 8 9 10 11 12),
    strided: kernel_table!(kernel_f64, f64, false; 1 2 3 4 5 6 7 8 9 10 11 12),
    narrow: 8,
    narrow_packed: kernel_table!(narrow_f64, f64, true; 1 2 3 4 5 6 7 8 9 10 11 12),
    narrow_strided: kernel_table!(narrow_f64, f64, false; 1 2 3 4 5 6 7 8 9 10 11 12),
    pack_rhs: pack_rhs_f64 as PackFn<f64>,
    pack_lhs: pack_lhs_f64 as PackFn<f64>,
};
