//! Property tests: splits partition the rows and keep class shares, batches visit every row
//! once, IDX and CSV round-trip, one-hot inverts argmax, scalers invert.

use proptest::prelude::*;
use tapegrad_core::Array;
use tapegrad_data::idx::{decode_idx, encode_idx, IdxArray, IdxData};
use tapegrad_data::{csv, one_hot, split_indices, Batches, MinMaxScaler, StandardScaler};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn split_partitions_and_stratifies(
        labels in prop::collection::vec(0usize..4, 2..200),
        fraction in 0.05f64..0.95,
        seed in any::<u64>(),
        stratified in any::<bool>(),
    ) {
        let n = labels.len();
        let n_test = (fraction * n as f64).ceil() as usize;
        prop_assume!(n_test >= 1 && n_test < n);
        let (train, test) =
            split_indices(n, fraction, seed, stratified.then_some(&labels[..])).unwrap();
        prop_assert_eq!(test.len(), n_test);
        let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
        all.sort_unstable();
        prop_assert_eq!(all, (0..n).collect::<Vec<_>>());
        if stratified {
            for c in 0..4 {
                let n_c = labels.iter().filter(|&&l| l == c).count();
                let t_c = test.iter().filter(|&&i| labels[i] == c).count();
                let ideal = n_c as f64 * n_test as f64 / n as f64;
                prop_assert!((t_c as f64 - ideal).abs() < 1.0, "class {c}: {t_c} vs {ideal}");
            }
        }
    }

    #[test]
    fn batches_visit_every_row_once(
        n in 0usize..300,
        bs in 1usize..40,
        seed in prop::option::of(any::<u64>()),
        drop_last in any::<bool>(),
        epoch in 0u64..1000,
    ) {
        let mut b = Batches::new(n, bs, seed, drop_last).unwrap();
        let expect_batches = b.len();
        let batches: Vec<Vec<usize>> = b.epoch(epoch).map(<[usize]>::to_vec).collect();
        prop_assert_eq!(batches.len(), expect_batches);
        prop_assert!(batches.iter().all(|x| x.len() == bs || (!drop_last && x.len() < bs)));
        let mut all = batches.concat();
        let used = all.len();
        prop_assert_eq!(used, if drop_last { n / bs * bs } else { n });
        all.sort_unstable();
        all.dedup();
        prop_assert_eq!(all.len(), used);
        prop_assert!(all.iter().all(|&i| i < n));
    }

    #[test]
    fn idx_round_trip(
        dims in prop::collection::vec(1usize..5, 1..4),
        seed in any::<u64>(),
        kind in 0usize..6,
    ) {
        let n: usize = dims.iter().product();
        let v = |i: usize| (seed.wrapping_mul(i as u64 + 1) >> 40) as i64 - (1 << 23);
        let data = match kind {
            0 => IdxData::U8((0..n).map(|i| v(i) as u8).collect()),
            1 => IdxData::I8((0..n).map(|i| v(i) as i8).collect()),
            2 => IdxData::I16((0..n).map(|i| v(i) as i16).collect()),
            3 => IdxData::I32((0..n).map(|i| v(i) as i32).collect()),
            4 => IdxData::F32((0..n).map(|i| v(i) as f32 / 7.0).collect()),
            _ => IdxData::F64((0..n).map(|i| v(i) as f64 / 7.0).collect()),
        };
        let a = IdxArray::new(dims, data).unwrap();
        let bytes = encode_idx(&a);
        prop_assert_eq!(decode_idx(&bytes, "p".as_ref()).unwrap(), a);
        // Any cut is an error, never a panic.
        let cut = (seed as usize) % bytes.len();
        prop_assert!(decode_idx(&bytes[..cut], "p".as_ref()).is_err());
    }

    #[test]
    fn csv_round_trip(values in prop::collection::vec(-1e6f64..1e6, 1..60), cols in 1usize..6) {
        let rows = values.len() / cols;
        prop_assume!(rows >= 1);
        let text: String = values[..rows * cols]
            .chunks(cols)
            .map(|r| r.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",") + "\n")
            .collect();
        let t = csv::parse(text.as_bytes(), "p.csv".as_ref()).unwrap();
        prop_assert_eq!((t.rows, t.cols), (rows, cols));
        prop_assert_eq!(&t.values[..], &values[..rows * cols]);
    }

    #[test]
    fn one_hot_inverts_argmax(labels in prop::collection::vec(0usize..7, 0..50)) {
        let oh = one_hot::<f32>(&labels, 7).unwrap();
        prop_assert_eq!(oh.argmax_rows().unwrap(), labels);
        prop_assert!(oh.data().iter().sum::<f32>() as usize == oh.dims()[0]);
    }

    #[test]
    fn scalers_invert(data in prop::collection::vec(-100f64..100.0, 3..60)) {
        let rows = data.len() / 3;
        let x = Array::from_vec(data[..rows * 3].to_vec(), [rows, 3]).unwrap();
        let s = StandardScaler::fit(&x).unwrap();
        let back = s.inverse_transform(&s.transform(&x).unwrap()).unwrap();
        prop_assert!(back.approx_eq(&x, 1e-9, 1e-9));
        let m = MinMaxScaler::fit(&x).unwrap();
        let t = m.transform(&x).unwrap();
        prop_assert!(t.data().iter().all(|&v| (-1e-12..=1.0 + 1e-12).contains(&v)));
        prop_assert!(m.inverse_transform(&t).unwrap().approx_eq(&x, 1e-9, 1e-9));
    }
}
