//! IDX: the first byte picks the path (in memory; a raw file; the rest gzipped into a file,
//! so that headers promising absurd sizes reach the bounded inflater), the rest is the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::{Path, PathBuf};
use tapegrad_data::{idx, read};

fn scratch() -> PathBuf {
    std::env::temp_dir().join(format!("tapegrad-fuzz-idx-{}", std::process::id()))
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => {
            if let Ok(a) = idx::decode_idx(rest, Path::new("fuzz.idx")) {
                assert_eq!(a.dims.iter().product::<usize>(), a.data.len());
            }
        }
        1 => {
            let p = scratch();
            std::fs::write(&p, rest).expect("scratch file");
            let _ = idx::read_idx(&p);
        }
        _ => {
            let p = scratch();
            std::fs::write(&p, read::gzip(rest)).expect("scratch file");
            let r = idx::read_idx(&p);
            // A gzip file holds exactly what the uncompressed one does.
            assert_eq!(
                r.is_ok(),
                idx::decode_idx(rest, Path::new("fuzz.idx")).is_ok()
            );
        }
    }
});
