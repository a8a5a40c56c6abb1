//! Argument errors of the data API carry the caller's location: the line of this file that
//! made the call, never a line inside the library.

use tapegrad_core::{Array, Error};
use tapegrad_data::{Dataset, RegressionSet};

/// Checks that `e` is an argument error located at `line` of this file.
#[track_caller]
fn assert_here(e: Error, line: u32) {
    let msg = e.to_string();
    match e {
        Error::InvalidArgument { location, .. } | Error::Shape { location, .. } => {
            assert_eq!(location.file(), file!(), "{msg}");
            assert_eq!(location.line(), line, "{msg}");
        }
        other => panic!("expected an argument error, got {other:?}"),
    }
    assert!(msg.contains(&format!("(at {}:{line}:", file!())), "{msg}");
}

fn toy() -> Dataset<f32> {
    let x = Array::from_vec((0..8).map(|v| v as f32).collect(), [4, 2]).unwrap();
    Dataset::new(x, vec![0, 1, 2, 1], 3).unwrap()
}

#[test]
fn dataset_errors_point_at_the_caller() {
    let ds = toy();
    let e = ds.labels_at(&[9]).unwrap_err();
    assert_here(e, line!() - 1);
    let e = ds.batch(&[0, 7]).unwrap_err();
    assert_here(e, line!() - 1);
    let e = ds.select(&[4]).unwrap_err();
    assert_here(e, line!() - 1);
    let r = RegressionSet::new(ds.x.clone(), Array::<f32>::zeros([4, 1])).unwrap();
    let e = r.select(&[4]).unwrap_err();
    assert_here(e, line!() - 1);
    let e = tapegrad_data::train_test_split(&ds, 1.5, 0, false).unwrap_err();
    assert_here(e, line!() - 1);
}

#[test]
fn every_argument_error_points_at_the_caller() {
    use tapegrad_data::csv::{CsvOptions, Delimiter};
    use tapegrad_data::{
        accuracy, knn_accuracy, knn_classify, mse, one_hot, psnr, split_indices, synthetic,
        train_test_split, Batches, ClassificationReport, ConfusionMatrix, MinMaxScaler, Pca,
        StandardScaler,
    };
    let ds = toy();
    let x = ds.x.clone();
    let other = Array::<f32>::zeros([4, 3]);
    let r = RegressionSet::new(x.clone(), Array::<f32>::zeros([4, 1])).unwrap();

    let e = Dataset::new(x.clone(), vec![0, 5, 0, 0], 2).unwrap_err();
    assert_here(e, line!() - 1);
    let e = toy().with_class_names(["a"]).unwrap_err();
    assert_here(e, line!() - 1);
    let e = RegressionSet::new(x.clone(), Array::<f32>::zeros([3, 1])).unwrap_err();
    assert_here(e, line!() - 1);
    let e = r.batch(&[9]).unwrap_err();
    assert_here(e, line!() - 1);
    let e = train_test_split(&r, 0.5, 0, true).unwrap_err();
    assert_here(e, line!() - 1);
    let e = split_indices(4, 0.5, 0, Some(&[0, 1])).unwrap_err();
    assert_here(e, line!() - 1);
    let e = Batches::new(4, 0, None, false).unwrap_err();
    assert_here(e, line!() - 1);
    let e = one_hot::<f32>(&[0, 3], 2).unwrap_err();
    assert_here(e, line!() - 1);
    let e = StandardScaler::fit(&Array::<f32>::zeros([0, 2])).unwrap_err();
    assert_here(e, line!() - 1);
    let s = StandardScaler::fit(&x).unwrap();
    let e = s.transform(&other).unwrap_err();
    assert_here(e, line!() - 1);
    let e = MinMaxScaler::fit_range(&x, 1.0, 0.0).unwrap_err();
    assert_here(e, line!() - 1);
    let e = Pca::fit(&x, 3).unwrap_err();
    assert_here(e, line!() - 1);
    let e = Pca::fit(&Array::<f32>::full([2, 2], f32::NAN), 1).unwrap_err();
    assert_here(e, line!() - 1);
    let pca = Pca::fit(&x, 1).unwrap();
    let e = pca.transform(&other).unwrap_err();
    assert_here(e, line!() - 1);
    let e = pca.inverse_transform(&other).unwrap_err();
    assert_here(e, line!() - 1);
    let e = accuracy(&[0, 1], &[0]).unwrap_err();
    assert_here(e, line!() - 1);
    let e = ConfusionMatrix::new(&[0, 4], &[0, 1], 2).unwrap_err();
    assert_here(e, line!() - 1);
    let e = ClassificationReport::new(&[0], &[0, 1], 2).unwrap_err();
    assert_here(e, line!() - 1);
    let e = mse(&x, &other).unwrap_err();
    assert_here(e, line!() - 1);
    let e = psnr(&x, &x, -1.0).unwrap_err();
    assert_here(e, line!() - 1);
    let e = knn_classify(&x, &ds.y, &other, 1).unwrap_err();
    assert_here(e, line!() - 1);
    let e = knn_accuracy(&x, &ds.y, &x, &[0], 1).unwrap_err();
    assert_here(e, line!() - 1);
    let e = synthetic::spirals(10, 0, 0.1, 1).unwrap_err();
    assert_here(e, line!() - 1);
    let e = synthetic::two_moons(0, 0.1, 1).unwrap_err();
    assert_here(e, line!() - 1);
    let e = synthetic::noisy_xor(10, -1.0, 1).unwrap_err();
    assert_here(e, line!() - 1);
    let e = synthetic::linear_regression(0, 2, 0.1, 1).unwrap_err();
    assert_here(e, line!() - 1);
    let bad = CsvOptions::new().delimiter(Delimiter::Char('7'));
    let e = bad.parse(b"1,2\n", "t.csv".as_ref()).unwrap_err();
    assert_here(e, line!() - 1);
    let e = bad.parse_labeled(b"1,2\n", "t.csv".as_ref()).unwrap_err();
    assert_here(e, line!() - 1);
}
