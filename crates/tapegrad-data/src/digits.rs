//! The datasets bundled in the repository's `data/` folder, compiled into the library so they
//! load without any path: digits and iris.

use crate::csv::CsvOptions;
use crate::dataset::Dataset;
use std::path::Path;
use std::sync::OnceLock;

static DIGITS_GZ: &[u8] = include_bytes!("../data/digits.csv.gz");
static IRIS_CSV: &[u8] = include_bytes!("../data/iris.csv");

/// The digits set: 1,797 handwritten digits as 8x8 images, 10 classes.
///
/// `x` is `[1797, 64]`: each row an image flattened row by row, pixel values 0 to 16 as `f32`
/// (scale them, e.g. with [`StandardScaler`](crate::StandardScaler) or by dividing by 16);
/// `y` holds the digit, 0 to 9. The file is parsed once per process; later calls copy it.
///
/// Source: UCI Machine Learning Repository, "Optical Recognition of Handwritten Digits"
/// (E. Alpaydin, C. Kaynak, 1998), test part as bundled with scikit-learn; licence CC BY 4.0.
///
/// ```
/// let ds = tapegrad_data::digits();
/// assert_eq!((ds.len(), ds.features(), ds.classes), (1797, 64, 10));
/// ```
pub fn digits() -> Dataset<f32> {
    static DIGITS: OnceLock<Dataset<f32>> = OnceLock::new();
    DIGITS
        .get_or_init(|| {
            let path = Path::new("data/digits.csv.gz (bundled)");
            CsvOptions::new()
                .parse_labeled(DIGITS_GZ, path)
                .expect("internal: bundled digits CSV")
        })
        .clone()
}

/// Fisher's iris set: 150 flowers, 4 measurements each (sepal length, sepal width, petal
/// length, petal width, in cm), 3 classes named `setosa`, `versicolor`, `virginica`.
///
/// Source: UCI Machine Learning Repository, "Iris" (R. A. Fisher, 1936), as bundled with
/// scikit-learn; licence CC BY 4.0.
///
/// ```
/// let ds = tapegrad_data::iris();
/// assert_eq!((ds.len(), ds.features(), ds.classes), (150, 4, 3));
/// assert_eq!(ds.class_names[2], "virginica");
/// ```
pub fn iris() -> Dataset<f32> {
    static IRIS: OnceLock<Dataset<f32>> = OnceLock::new();
    IRIS.get_or_init(|| {
        // The first line is scikit-learn's `150,4,setosa,versicolor,virginica`: counts, then
        // the class names.
        CsvOptions::new()
            .parse_labeled(IRIS_CSV, Path::new("data/iris.csv (bundled)"))
            .expect("internal: bundled iris CSV")
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_parses() {
        let ds = digits();
        assert_eq!(ds.x.dims(), &[1797, 64]);
        assert_eq!(ds.classes, 10);
        let counts = ds.class_counts();
        assert_eq!(counts.iter().sum::<usize>(), 1797);
        assert!(
            counts.iter().all(|&c| (170..=190).contains(&c)),
            "{counts:?}"
        );
        assert!(ds
            .x
            .data()
            .iter()
            .all(|&v| (0.0..=16.0).contains(&v) && v.fract() == 0.0));
        assert_eq!(ds.x.data().iter().cloned().fold(0f32, f32::max), 16.0);
        // The first image is a 0, the last an 8 (as in scikit-learn's copy).
        assert_eq!((ds.y[0], ds.y[1796]), (0, 8));
        assert_eq!(&ds.x.data()[..8], &[0., 0., 5., 13., 9., 1., 0., 0.]);
        assert_eq!(digits(), ds); // cached, same data
    }

    #[test]
    fn iris_parses() {
        let ds = iris();
        assert_eq!(ds.x.dims(), &[150, 4]);
        assert_eq!(ds.class_counts(), vec![50, 50, 50]);
        assert_eq!(ds.class_names, vec!["setosa", "versicolor", "virginica"]);
        assert_eq!(ds.x.data()[..4], [5.1, 3.5, 1.4, 0.2]);
    }
}
