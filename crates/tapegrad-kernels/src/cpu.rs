//! Which CPU path the kernels run: [`KernelPath`], detected once (the best one this CPU has),
//! or chosen by the `TAPEGRAD_KERNEL` environment variable ([`ENV_VAR`]) or by
//! [`set_kernel_path`], so that each path can be tested and measured on one machine.
//!
//! The path decides both the GEMM's micro-kernels (`gemm/`) and the instructions the
//! elementwise loops are compiled for ([`vectorized`](crate::vectorized)).

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};

/// The environment variable that picks the kernel path when the process starts:
/// `avx512`, `avx2` or `portable` (case-insensitive). Unset or empty: the best path of the
/// CPU. A path the CPU lacks falls back to the best one it has, and an unknown value to the
/// best path, each with a warning on stderr.
pub const ENV_VAR: &str = "TAPEGRAD_KERNEL";

/// A CPU path of the kernels, best first.
///
/// ```
/// use tapegrad_kernels::{kernel_path, set_kernel_path, KernelPath};
/// let before = kernel_path();
/// // portable runs on every CPU
/// assert_eq!(set_kernel_path(KernelPath::Portable), KernelPath::Portable);
/// assert_eq!(kernel_path().name(), "portable");
/// set_kernel_path(before);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KernelPath {
    /// AVX-512F micro-kernels, and elementwise loops compiled for x86-64-v4.
    Avx512,
    /// AVX2 + FMA micro-kernels, and elementwise loops compiled for x86-64-v3.
    Avx2,
    /// Plain Rust micro-kernels, and elementwise loops compiled for the target's baseline
    /// (SSE2 on x86-64).
    Portable,
}

impl KernelPath {
    /// Every path, best first.
    pub const ALL: [KernelPath; 3] = [KernelPath::Avx512, KernelPath::Avx2, KernelPath::Portable];

    /// The name `TAPEGRAD_KERNEL` takes for this path: `avx512`, `avx2` or `portable`.
    pub fn name(self) -> &'static str {
        match self {
            KernelPath::Avx512 => "avx512",
            KernelPath::Avx2 => "avx2",
            KernelPath::Portable => "portable",
        }
    }

    /// Whether this CPU has the path's instructions.
    pub fn is_supported(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            KernelPath::Avx512 => {
                is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx2")
                    && is_x86_feature_detected!("fma")
            }
            #[cfg(target_arch = "x86_64")]
            KernelPath::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(not(target_arch = "x86_64"))]
            KernelPath::Avx512 | KernelPath::Avx2 => false,
            KernelPath::Portable => true,
        }
    }

    /// The paths this CPU can run, best first.
    pub fn available() -> Vec<KernelPath> {
        Self::ALL.into_iter().filter(|p| p.is_supported()).collect()
    }

    /// The best path this CPU can run.
    pub fn best() -> KernelPath {
        Self::ALL
            .into_iter()
            .find(|p| p.is_supported())
            .unwrap_or(KernelPath::Portable)
    }

    /// This path if the CPU has it, else the best path below it that it has.
    fn or_below(self) -> KernelPath {
        Self::ALL
            .into_iter()
            .skip_while(|&p| p != self)
            .find(|p| p.is_supported())
            .unwrap_or(KernelPath::Portable)
    }

    fn code(self) -> u8 {
        match self {
            KernelPath::Avx512 => 1,
            KernelPath::Avx2 => 2,
            KernelPath::Portable => 3,
        }
    }

    fn from_code(code: u8) -> Option<KernelPath> {
        match code {
            1 => Some(KernelPath::Avx512),
            2 => Some(KernelPath::Avx2),
            3 => Some(KernelPath::Portable),
            _ => None,
        }
    }
}

impl fmt::Display for KernelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing a [`KernelPath`] name: the text that is not one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownKernelPath(pub String);

impl fmt::Display for UnknownKernelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown kernel path {:?}: expected avx512, avx2 or portable",
            self.0
        )
    }
}

impl std::error::Error for UnknownKernelPath {}

impl FromStr for KernelPath {
    type Err = UnknownKernelPath;

    /// `avx512`, `avx2` or `portable`, case-insensitive, surrounding spaces ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim().to_ascii_lowercase();
        KernelPath::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| UnknownKernelPath(s.to_string()))
    }
}

/// The active path's code (see [`KernelPath::code`]); 0 until first asked.
static ACTIVE: AtomicU8 = AtomicU8::new(0);

/// The path a `TAPEGRAD_KERNEL` value asks for, and the warning to print, if any: `None` (or
/// an empty value) gives the best path without a warning.
fn from_env_value(value: Option<&str>) -> (KernelPath, Option<String>) {
    let best = KernelPath::best();
    let Some(value) = value.filter(|v| !v.trim().is_empty()) else {
        return (best, None);
    };
    match value.parse::<KernelPath>() {
        Ok(asked) => {
            let got = asked.or_below();
            let warning = (got != asked).then(|| {
                format!("tapegrad: {ENV_VAR}={value}: this CPU lacks the {asked} path; using {got}")
            });
            (got, warning)
        }
        Err(e) => (
            best,
            Some(format!("tapegrad: {ENV_VAR}: {e}; using {best}")),
        ),
    }
}

/// The path the kernels run now: on the first call, the one `TAPEGRAD_KERNEL` asks for
/// (see [`ENV_VAR`]), else the best this CPU has; after [`set_kernel_path`], that one.
pub fn kernel_path() -> KernelPath {
    if let Some(path) = KernelPath::from_code(ACTIVE.load(Ordering::Relaxed)) {
        return path;
    }
    let value = std::env::var(ENV_VAR).ok();
    let (path, warning) = from_env_value(value.as_deref());
    // only the thread that sets the path first prints the warning
    if ACTIVE
        .compare_exchange(0, path.code(), Ordering::Relaxed, Ordering::Relaxed)
        .is_ok()
    {
        if let Some(w) = warning {
            eprintln!("{w}");
        }
        path
    } else {
        kernel_path()
    }
}

/// Makes the kernels run `path` from now on (or, when this CPU lacks it, the best path below
/// it that it has) and returns the path now active. Meant for tests and measurements: call it
/// before the work it should apply to (a product already running finishes on its path; the
/// paths differ in the rounding of fused multiply-adds, so results may differ in the last
/// bits).
pub fn set_kernel_path(path: KernelPath) -> KernelPath {
    let got = path.or_below();
    ACTIVE.store(got.code(), Ordering::Relaxed);
    got
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back() {
        for p in KernelPath::ALL {
            assert_eq!(p.name().parse::<KernelPath>(), Ok(p));
            assert_eq!(p.to_string(), p.name());
        }
        assert_eq!(" AVX2 ".parse::<KernelPath>(), Ok(KernelPath::Avx2));
        let err = "sse".parse::<KernelPath>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown kernel path \"sse\": expected avx512, avx2 or portable"
        );
    }

    #[test]
    fn env_values() {
        let best = KernelPath::best();
        assert_eq!(from_env_value(None), (best, None));
        assert_eq!(from_env_value(Some("  ")), (best, None));
        assert_eq!(
            from_env_value(Some("portable")),
            (KernelPath::Portable, None)
        );
        let (p, w) = from_env_value(Some("neon"));
        assert_eq!(p, best);
        assert!(w.unwrap().contains("unknown kernel path \"neon\""));
        // a path the CPU has is taken without a warning; one it lacks falls back with one
        for asked in KernelPath::ALL {
            let (got, warning) = from_env_value(Some(asked.name()));
            assert!(got.is_supported());
            assert_eq!(warning.is_some(), !asked.is_supported());
            if asked.is_supported() {
                assert_eq!(got, asked);
            }
        }
    }

    #[test]
    fn available_is_best_first_and_ends_portable() {
        let a = KernelPath::available();
        assert_eq!(a.first(), Some(&KernelPath::best()));
        assert_eq!(a.last(), Some(&KernelPath::Portable));
        assert_eq!(KernelPath::Portable.or_below(), KernelPath::Portable);
    }
}
