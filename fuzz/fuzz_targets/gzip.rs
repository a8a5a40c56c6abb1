//! `read::gunzip` under a 1 MiB limit: never more than the limit, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use tapegrad_data::read;

const LIMIT: u64 = 1 << 20;

fuzz_target!(|data: &[u8]| {
    if let Ok(out) = read::gunzip(data, Path::new("fuzz.gz"), LIMIT) {
        assert!(out.len() as u64 <= LIMIT);
    }
    // Random bytes rarely start a gzip stream: try the input behind a valid header too.
    let mut framed = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    framed.extend_from_slice(data);
    if let Ok(out) = read::gunzip(&framed, Path::new("fuzz.gz"), LIMIT) {
        assert!(out.len() as u64 <= LIMIT);
    }
});
