//! `Pca`: known answers (a line, a diagonal covariance, a tilted long axis), orthonormal
//! components, centred projections, inverse transforms, a property test over random small
//! matrices, and the errors for bad input.

use proptest::prelude::*;
use tapegrad_core::{rng, Array, Error};
use tapegrad_data::Pca;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn assert_orthonormal(pca: &Pca, tol: f64) {
    for (k, a) in pca.components.iter().enumerate() {
        for (l, b) in pca.components.iter().enumerate() {
            let want = if k == l { 1.0 } else { 0.0 };
            let d = dot(a, b);
            assert!((d - want).abs() < tol, "components {k} and {l}: {d}");
        }
    }
}

#[test]
fn pca_finds_the_long_axis() {
    // Points spread along (3, 4)/5 with a little spread across it, offset by (10, -2, 1) in 3-D.
    let g = Array::<f32>::randn([500, 2], 0.0, 1.0, &mut rng(7));
    let x = Array::from_fn([500, 3], |i| {
        let (r, c) = (i / 3, i % 3);
        let (t, s) = (5.0 * g.data()[2 * r], 0.1 * g.data()[2 * r + 1]);
        match c {
            0 => 10.0 + t * 0.6 - s * 0.8,
            1 => -2.0 + t * 0.8 + s * 0.6,
            _ => 1.0,
        }
    });
    let pca = Pca::fit(&x, 3).unwrap();
    let c = &pca.components[0];
    assert!(
        (c[0] - 0.6).abs() < 1e-3 && (c[1] - 0.8).abs() < 1e-3,
        "{c:?}"
    );
    assert!(c[2].abs() < 1e-6, "{c:?}");
    let ex = &pca.explained_variance_ratio;
    assert!(ex[0] > 0.999 && ex[2] < 1e-9, "{ex:?}");
    assert!((pca.mean[0] - 10.0).abs() < 0.5 && (pca.mean[2] - 1.0).abs() < 1e-6);
    // Projections are centred, with the variance of the first component.
    let p = Pca::fit(&x, 2).unwrap().transform(&x).unwrap();
    assert_eq!(p.dims(), [500, 2]);
    let first: Vec<f64> = p.data().iter().step_by(2).map(|&v| f64::from(v)).collect();
    let mean0 = first.iter().sum::<f64>() / 500.0;
    let var0 = first.iter().map(|q| (q - mean0).powi(2)).sum::<f64>() / 499.0;
    assert!(mean0.abs() < 1e-4, "{mean0}");
    assert!(
        (var0 - pca.explained_variance[0]).abs() < 1e-3 * var0,
        "{var0} vs {:?}",
        pca.explained_variance
    );
    assert!(Pca::fit(&Array::<f32>::zeros([1, 3]), 1).is_err());
}

#[test]
fn points_on_a_line_have_one_component() {
    // x = (1, -2, 2) t + (5, 0, 1): all the variance along (1, -2, 2)/3.
    let ts = [-3.0, -1.0, 0.5, 2.0, 4.0, 7.5];
    let x = Array::from_fn([6, 3], |i| {
        let t = ts[i / 3];
        [1.0 * t + 5.0, -2.0 * t, 2.0 * t + 1.0][i % 3]
    });
    let pca = Pca::fit(&x, 3).unwrap();
    let want = [1.0 / 3.0, -2.0 / 3.0, 2.0 / 3.0];
    for (c, w) in pca.components[0].iter().zip(want) {
        assert!((c - w).abs() < 1e-12, "{:?}", pca.components[0]);
    }
    let r = &pca.explained_variance_ratio;
    assert!(
        (r[0] - 1.0).abs() < 1e-12 && r[1] < 1e-12 && r[2] < 1e-12,
        "{r:?}"
    );
    let mean_t = ts.iter().sum::<f64>() / 6.0;
    let var_t = ts.iter().map(|t| (t - mean_t).powi(2)).sum::<f64>() / 5.0;
    assert!((pca.explained_variance[0] - 9.0 * var_t).abs() < 1e-9);
    assert_orthonormal(&pca, 1e-12);
    // One component reconstructs the line exactly.
    let one = Pca::fit(&x, 1).unwrap();
    assert_eq!(one.n_components(), 1);
    assert_eq!(one.n_features(), 3);
    let back = one.inverse_transform(&one.transform(&x).unwrap()).unwrap();
    for (a, b) in back.data().iter().zip(x.data()) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
}

#[test]
fn a_diagonal_covariance_gives_the_axes() {
    // Columns independent by construction: (+-1, +-3, +-2) in all 8 sign patterns, so the
    // covariance is diag(1, 9, 4) * 8/7 exactly.
    let x = Array::<f64>::from_fn([8, 3], |i| {
        let (r, c) = (i / 3, i % 3);
        let sign = if (r >> c) & 1 == 1 { -1.0 } else { 1.0 };
        sign * [1.0, 3.0, 2.0][c]
    });
    let pca = Pca::fit(&x, 3).unwrap();
    let k = 8.0 / 7.0;
    let want_var = [9.0 * k, 4.0 * k, k];
    for (v, w) in pca.explained_variance.iter().zip(want_var) {
        assert!((v - w).abs() < 1e-12, "{:?}", pca.explained_variance);
    }
    let axes = [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]];
    for (c, a) in pca.components.iter().zip(axes) {
        for (ci, ai) in c.iter().zip(a) {
            assert!((ci - ai).abs() < 1e-12, "{:?}", pca.components);
        }
    }
    let r = &pca.explained_variance_ratio;
    for (ri, w) in r.iter().zip([9.0 / 14.0, 4.0 / 14.0, 1.0 / 14.0]) {
        assert!((ri - w).abs() < 1e-12, "{r:?}");
    }
    assert_eq!(pca.mean, [0.0, 0.0, 0.0]);
}

#[test]
fn the_mean_projects_to_zero_and_constant_data_explains_nothing() {
    let x = Array::<f32>::randn([40, 4], 1.0, 2.0, &mut rng(11));
    let pca = Pca::fit(&x, 2).unwrap();
    let mean = Array::from_vec(pca.mean.iter().map(|&m| m as f32).collect(), [1, 4]).unwrap();
    let z = pca.transform(&mean).unwrap();
    assert_eq!(z.dims(), [1, 2]);
    assert!(z.data().iter().all(|v| v.abs() < 1e-5), "{:?}", z.data());

    let flat = Array::<f32>::full([5, 3], 2.5);
    let pca = Pca::fit(&flat, 3).unwrap();
    assert_eq!(pca.explained_variance, [0.0, 0.0, 0.0]);
    assert_eq!(pca.explained_variance_ratio, [0.0, 0.0, 0.0]);
    assert_orthonormal(&pca, 1e-15);
    assert!(pca
        .transform(&flat)
        .unwrap()
        .data()
        .iter()
        .all(|&v| v == 0.0));
}

fn invalid_message(e: Error, op: &str) -> String {
    match e {
        Error::InvalidArgument {
            op: got, message, ..
        } => {
            assert_eq!(got, op);
            message
        }
        other => panic!("expected InvalidArgument from {op}, got {other:?}"),
    }
}

#[test]
fn bad_input_is_a_clean_error() {
    let e = Pca::fit(&Array::<f32>::zeros([0, 3]), 1).unwrap_err();
    let m = invalid_message(e, "Pca::fit");
    assert!(m.contains("[0, 3]") && m.contains("at least 2 rows"), "{m}");
    let e = Pca::fit(&Array::<f32>::zeros([6]), 1).unwrap_err();
    assert!(invalid_message(e, "Pca::fit").contains("[6]"));

    let x = Array::<f32>::randn([10, 3], 0.0, 1.0, &mut rng(1));
    for k in [0, 4] {
        let m = invalid_message(Pca::fit(&x, k).unwrap_err(), "Pca::fit");
        assert!(
            m.contains("1..=3") && m.contains("[10, 3]") && m.contains(&format!("got {k}")),
            "{m}"
        );
    }

    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut y = x.clone();
        y.data_mut()[7] = bad;
        let m = invalid_message(Pca::fit(&y, 2).unwrap_err(), "Pca::fit");
        assert!(
            m.contains("non-finite") && m.contains("row 2, column 1"),
            "{m}"
        );
    }
    let huge = Array::<f64>::from_vec(vec![1e300, 0.0, -1e300, 1.0], [2, 2]).unwrap();
    let m = invalid_message(Pca::fit(&huge, 1).unwrap_err(), "Pca::fit");
    assert!(m.contains("overflows"), "{m}");

    let pca = Pca::fit(&x, 2).unwrap();
    let m = invalid_message(
        pca.transform(&Array::<f32>::zeros([4, 2])).unwrap_err(),
        "Pca::transform",
    );
    assert!(m.contains("3 features") && m.contains("[4, 2]"), "{m}");
    let m = invalid_message(
        pca.inverse_transform(&Array::<f32>::zeros([4, 3]))
            .unwrap_err(),
        "Pca::inverse_transform",
    );
    assert!(m.contains("2 components") && m.contains("[4, 3]"), "{m}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_matrices_decompose(
        (rows, cols, data) in (2usize..12, 1usize..6).prop_flat_map(|(r, c)| {
            (Just(r), Just(c), prop::collection::vec(-10.0f64..10.0, r * c))
        }),
    ) {
        let x = Array::from_vec(data, [rows, cols]).unwrap();
        let pca = Pca::fit(&x, cols).unwrap();
        assert_orthonormal(&pca, 1e-9);
        // Variances sorted, non-negative, and equal to the variance of the projections.
        let v = &pca.explained_variance;
        prop_assert!(v.windows(2).all(|w| w[0] >= w[1]) && v.iter().all(|&e| e >= 0.0));
        let z = pca.transform(&x).unwrap();
        for (k, &want) in v.iter().enumerate() {
            let col: Vec<f64> = z.data().iter().skip(k).step_by(cols).copied().collect();
            let m = col.iter().sum::<f64>() / rows as f64;
            let var = col.iter().map(|c| (c - m).powi(2)).sum::<f64>() / (rows - 1) as f64;
            prop_assert!(m.abs() < 1e-9, "mean {}", m);
            prop_assert!((var - want).abs() < 1e-8 * (1.0 + want), "{} vs {}", var, want);
        }
        // The total variance is kept: the ratios sum to 1 (or all 0 for constant data).
        let total: f64 = pca.explained_variance_ratio.iter().sum();
        prop_assert!((total - 1.0).abs() < 1e-9 || total == 0.0, "{}", total);
        // All components kept: the inverse transform gives the data back.
        let back = pca.inverse_transform(&z).unwrap();
        for (a, b) in back.data().iter().zip(x.data()) {
            prop_assert!((a - b).abs() < 1e-9, "{} vs {}", a, b);
        }
    }
}
