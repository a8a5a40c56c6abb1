//! AVX2 + FMA microkernels: `6 x 16` tiles for f32 and `6 x 8` for f64, i.e. 12 vector
//! accumulators of the 16 ymm registers, two FMAs per broadcast element of lhs.

use super::{PackFn, Spec};
use std::arch::x86_64::{
    _mm256_add_pd, _mm256_add_ps, _mm256_fmadd_pd, _mm256_fmadd_ps, _mm256_loadu_pd,
    _mm256_loadu_ps, _mm256_set1_pd, _mm256_set1_ps, _mm256_setzero_pd, _mm256_setzero_ps,
    _mm256_storeu_pd, _mm256_storeu_ps,
};

simd_kernel!(
    kernel_f32, "avx2,fma", f32, 6, 2, 8,
    zero: _mm256_setzero_ps, splat: _mm256_set1_ps, load: _mm256_loadu_ps,
    store: _mm256_storeu_ps, fma: _mm256_fmadd_ps, add: _mm256_add_ps
);

simd_kernel!(
    narrow_f32, "avx2,fma", f32, 6, 1, 8,
    zero: _mm256_setzero_ps, splat: _mm256_set1_ps, load: _mm256_loadu_ps,
    store: _mm256_storeu_ps, fma: _mm256_fmadd_ps, add: _mm256_add_ps
);

simd_kernel!(
    kernel_f64, "avx2,fma", f64, 6, 2, 4,
    zero: _mm256_setzero_pd, splat: _mm256_set1_pd, load: _mm256_loadu_pd,
    store: _mm256_storeu_pd, fma: _mm256_fmadd_pd, add: _mm256_add_pd
);

simd_kernel!(
    narrow_f64, "avx2,fma", f64, 6, 1, 4,
    zero: _mm256_setzero_pd, splat: _mm256_set1_pd, load: _mm256_loadu_pd,
    store: _mm256_storeu_pd, fma: _mm256_fmadd_pd, add: _mm256_add_pd
);

pack_fn!(
    pack_rhs_f32,
    "avx2,fma",
    f32,
    16,
    "Packs f32 rhs blocks into 16-wide panels (see [`PackFn`])."
);

pack_fn!(
    pack_lhs_f32,
    "avx2,fma",
    f32,
    6,
    "Packs transposed f32 lhs blocks into 6-wide panels (see [`PackFn`])."
);

pack_fn!(
    pack_rhs_f64,
    "avx2,fma",
    f64,
    8,
    "Packs f64 rhs blocks into 8-wide panels (see [`PackFn`])."
);

pack_fn!(
    pack_lhs_f64,
    "avx2,fma",
    f64,
    6,
    "Packs transposed f64 lhs blocks into 6-wide panels (see [`PackFn`])."
);

/// f32 on AVX2 + FMA. kc = 256: a 6 x 256 lhs panel is 6 KB of L1 (32 KB on older CPUs);
/// nc = 480: a 256 x 480 rhs block is 480 KB of L2.
pub(super) static F32: Spec<f32> = Spec {
    mr: 6,
    nr: 16,
    kc: 256,
    mc: 1536,
    nc: 480,
    direct_rhs_rows: 512,
    packed: kernel_table!(kernel_f32, f32, true; 1 2 3 4 5 6),
    strided: kernel_table!(kernel_f32, f32, false; 1 2 3 4 5 6),
    narrow: 8,
    narrow_packed: kernel_table!(narrow_f32, f32, true; 1 2 3 4 5 6),
    narrow_strided: kernel_table!(narrow_f32, f32, false; 1 2 3 4 5 6),
    pack_rhs: pack_rhs_f32 as PackFn<f32>,
    pack_lhs: pack_lhs_f32 as PackFn<f32>,
};

/// f64 on AVX2 + FMA: the same bytes per block as f32 (kc = 256, nc = 240).
pub(super) static F64: Spec<f64> = Spec {
    mr: 6,
    nr: 8,
    kc: 256,
    mc: 1536,
    nc: 240,
    direct_rhs_rows: 512,
    packed: kernel_table!(kernel_f64, f64, true; 1 2 3 4 5 6),
    strided: kernel_table!(kernel_f64, f64, false; 1 2 3 4 5 6),
    narrow: 4,
    narrow_packed: kernel_table!(narrow_f64, f64, true; 1 2 3 4 5 6),
    narrow_strided: kernel_table!(narrow_f64, f64, false; 1 2 3 4 5 6),
    pack_rhs: pack_rhs_f64 as PackFn<f64>,
    pack_lhs: pack_lhs_f64 as PackFn<f64>,
};
