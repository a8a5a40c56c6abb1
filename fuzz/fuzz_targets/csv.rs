//! CSV: the first byte picks the options (delimiter, header, label column, classes, table or
//! labelled set), the rest is the content (raw, or gzip when it starts with 1f 8b).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use tapegrad_data::csv::{CsvOptions, Delimiter, Header, LabelColumn};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, text)) = data.split_first() else {
        return;
    };
    let delimiter = [
        Delimiter::Auto,
        Delimiter::Comma,
        Delimiter::Tab,
        Delimiter::Whitespace,
    ][usize::from(pick & 3)];
    let header =
        [Header::Auto, Header::Names, Header::None, Header::Sklearn][usize::from((pick >> 2) & 3)];
    let label = match (pick >> 4) & 3 {
        0 => LabelColumn::Last,
        1 => LabelColumn::Index(0),
        2 => LabelColumn::Name("b".into()),
        _ => LabelColumn::Index(2),
    };
    let mut opts = CsvOptions::new()
        .delimiter(delimiter)
        .header(header)
        .label(label)
        .max_decompressed(1 << 20);
    if pick & 0x40 != 0 {
        opts = opts.classes(3);
    }
    let p = Path::new("fuzz.csv");
    if pick & 0x80 != 0 {
        if let Ok(ds) = opts.parse_labeled(text, p) {
            assert!(ds.y.iter().all(|&l| l < ds.classes));
            // Bounded by what the file holds: its rows, or the class names it spells out.
            assert!(ds.classes <= (ds.len() + 1).max(text.len()) || ds.classes == 3);
            assert_eq!(ds.class_names.len(), ds.classes);
        }
    } else if let Ok(t) = opts.parse(text, p) {
        assert_eq!(t.values.len(), t.rows * t.cols);
    }
});
