//! The examples' shared helpers (examples/common): the validation rows are carved from the
//! training rows only (stratified, seeded) and never meet the test rows; and epoch axes are
//! labelled with whole numbers.

#[allow(unused_imports)] // the module's own `#![allow(dead_code)]` covers its unused items
#[path = "../examples/common/mod.rs"]
mod example_common;

use example_common::images::{self, carve_validation, VAL_FRACTION};
use example_common::plot::{integer_tick, integer_ticks};
use plotters::coord::ranged1d::Ranged;
use plotters::coord::types::RangedCoordf64;
use std::collections::HashMap;
use tapegrad::data::{self, train_test_split, Dataset};
use tapegrad::{Array, Error};

/// `n` rows whose one feature is the row's number, in `classes` classes (row `i` is class
/// `i % classes`).
fn numbered(n: usize, classes: usize) -> Dataset<f32> {
    let x = Array::from_vec((0..n).map(|i| i as f32).collect(), [n, 1]).unwrap();
    let y = (0..n).map(|i| i % classes).collect();
    Dataset::new(x, y, classes).unwrap()
}

fn ids(ds: &Dataset<f32>) -> Vec<usize> {
    let mut v: Vec<usize> = ds.x.data().iter().map(|&v| v as usize).collect();
    v.sort_unstable();
    v
}

#[test]
fn validation_rows_come_from_the_training_rows_only() {
    let all = numbered(1000, 10);
    let (train, test) = train_test_split(&all, 0.2, 7, true).unwrap();
    let (fit_rows, val) = carve_validation(&train, 0.1, 7).unwrap();
    assert_eq!((fit_rows.len(), val.len(), test.len()), (720, 80, 200));
    // the validation and the remaining training rows partition the training rows
    let mut both = [ids(&fit_rows), ids(&val)].concat();
    both.sort_unstable();
    assert_eq!(both, ids(&train));
    // and no validation row is a test row
    let test_ids = ids(&test);
    assert!(ids(&val).iter().all(|i| test_ids.binary_search(i).is_err()));
    // stratified: 8 of each class
    assert_eq!(val.class_counts(), vec![8; 10]);
    // seeded: the same seed draws the same rows, another seed others
    assert_eq!(ids(&carve_validation(&train, 0.1, 7).unwrap().1), ids(&val));
    assert_ne!(ids(&carve_validation(&train, 0.1, 8).unwrap().1), ids(&val));
}

#[test]
fn a_bad_validation_fraction_is_an_error() {
    let train = numbered(100, 2);
    for f in [0.0, 1.0, -0.1, 1.5, f64::NAN] {
        let err = carve_validation(&train, f, 0).unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }), "{f}: {err}");
        assert!(err.to_string().contains("--val-fraction"), "{err}");
    }
}

/// How many times each row (its pixels' bits) occurs in `ds`.
fn row_counts(ds: &Dataset<f32>) -> HashMap<Vec<u32>, usize> {
    let d = ds.features();
    let mut m = HashMap::new();
    for row in ds.x.data().chunks_exact(d) {
        *m.entry(row.iter().map(|v| v.to_bits()).collect())
            .or_insert(0) += 1;
    }
    m
}

#[test]
fn the_digits_images_split_into_training_validation_and_test() {
    let im = images::load(None, true, VAL_FRACTION, 3).unwrap();
    assert_eq!(
        (im.train.len(), im.val.len(), im.test.len()),
        (1293, 144, 360)
    );
    // the same training / test split as before, scaled to [0, 1]
    let mut ds = data::digits();
    ds.x = ds.x.map(|v| v / 16.0);
    let (train, test) = train_test_split(&ds, 0.2, 3, true).unwrap();
    assert_eq!(row_counts(&im.test), row_counts(&test));
    // training + validation rows = the training rows, as a multiset of images
    let mut joined = row_counts(&im.train);
    for (row, n) in row_counts(&im.val) {
        *joined.entry(row).or_insert(0) += n;
    }
    assert_eq!(joined, row_counts(&train));
    // stratified: every class in the validation rows
    assert!(
        im.val.class_counts().iter().all(|&c| c >= 13),
        "{:?}",
        im.val.class_counts()
    );
    // a bad fraction is an error, not a panic
    assert!(images::load(None, true, 1.0, 3).is_err());
}

#[test]
fn integer_ticks_label_whole_numbers_only() {
    assert_eq!(integer_tick(&3.0), "3");
    assert_eq!(integer_tick(&20.0), "20");
    assert_eq!(integer_tick(&0.0), "0");
    assert_eq!(integer_tick(&(2.0 + 1e-9)), "2");
    assert_eq!(integer_tick(&2.5), "");
    assert_eq!(integer_tick(&1.2), "");
    // plotters' tick positions on an epoch axis 1..=n (one epoch: 1..2, as the figures pad it)
    for n in 1..=300usize {
        let (x0, x1) = (1.0, (n as f64).max(2.0));
        let axis: RangedCoordf64 = (x0..x1).into();
        let ticks = axis.key_points(integer_ticks(x0, x1));
        assert!(ticks.len() >= 2, "n {n}: {ticks:?}");
        for t in ticks {
            assert_eq!(t, t.round(), "n {n}: tick {t}");
            assert!(!integer_tick(&t).is_empty(), "n {n}: tick {t}");
        }
    }
}
