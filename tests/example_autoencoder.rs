//! The autoencoder example at reduced size on the bundled digits: it learns (reconstruction
//! error well below the mean-image baseline, k-NN on the 4-number codes far above chance,
//! denoising beats the noisy input), writes its figures, and reports a missing MNIST folder
//! as a clean error. Also the example's class centroids (its PCA is tapegrad-data's, tested
//! there).

#[allow(dead_code)]
#[path = "../examples/autoencoder/main.rs"]
mod autoencoder;

use autoencoder::{class_centroids, run, Args, ImageSource};
use tapegrad::Array;

mod common;
use common::{check_missing_mnist, check_written, file_names, TempDir};

fn small_args(out: &TempDir) -> Args {
    let mut args = Args {
        source: ImageSource {
            digits: true,
            ..ImageSource::default()
        },
        epochs: Some(60),
        denoise_epochs: Some(60),
        hidden: Some(vec![64]),
        latent: 4,
        batch_size: 32,
        lr: 3e-3,
        ..Args::default()
    };
    args.common.out = Some(out.0.clone());
    args.common.quiet = true;
    args
}

#[test]
fn learns_digits_codes_and_denoises() {
    let out = TempDir::new("example-autoencoder", "digits");
    let r = run(&small_args(&out)).expect("the example runs on the bundled digits");
    assert_eq!(r.rows, (1293, 144, 360));
    assert_eq!(r.encoder, [64, 64, 4]);
    assert_eq!(r.history.len(), 60);
    // Reconstructions: far better than drawing every digit as the mean image.
    assert!(
        r.test_mse < 0.6 * r.baseline_mse,
        "test MSE {} vs baseline {}",
        r.test_mse,
        r.baseline_mse
    );
    assert!(r.test_psnr > 13.0, "PSNR {}", r.test_psnr);
    // k-NN (k = 5) on the 4-number codes: chance is 10%.
    assert_eq!(r.knn_k, 5);
    assert!(r.knn_accuracy > 0.7, "k-NN accuracy {}", r.knn_accuracy);
    assert_eq!(r.knn_correct as f64 / 360.0, r.knn_accuracy);
    // Denoising at sigma 0.2, 0.4, 0.6: at 0.4 and 0.6 the output is much closer to the clean
    // images than the noisy input, and the denoiser beats the plain autoencoder.
    let sigmas: Vec<f64> = r.denoise.iter().map(|d| d.sigma).collect();
    assert_eq!(sigmas, [0.2, 0.4, 0.6]);
    for d in &r.denoise[1..] {
        assert!(d.denoised_mse < 0.6 * d.noisy_mse, "{d:?}");
        assert!(d.denoised_mse < d.plain_mse, "{d:?}");
    }
    let noisy: Vec<f64> = r.denoise.iter().map(|d| d.noisy_mse).collect();
    assert!(noisy[0] < noisy[1] && noisy[1] < noisy[2], "{noisy:?}");
    // Every figure and CSV is written, non-empty, and the PNGs are PNGs.
    let names = file_names(&r.files);
    for want in [
        "history.csv",
        "loss.png",
        "reconstructions.png",
        "latent.png",
        "interpolation.png",
        "denoise_history.csv",
        "denoising.png",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }
    check_written(&r.files, &out.0, 0, Some(61));
    let shown = r.to_string();
    assert!(
        shown.contains("k-NN (k=5) accuracy on the test codes"),
        "{shown}"
    );
    assert!(shown.contains("denoising"), "{shown}");
}

#[test]
fn missing_mnist_is_a_clean_error() {
    let empty = TempDir::new("example-autoencoder", "empty");
    let out = TempDir::new("example-autoencoder", "missing-out");
    let mut args = small_args(&out);
    args.source.digits = false;
    args.source.data_dir = Some(empty.0.clone());
    let err = run(&args).expect_err("an empty folder holds no MNIST");
    let msg = err.to_string();
    check_missing_mnist(&msg, &empty.0);
    // Nothing was trained or written.
    assert_eq!(std::fs::read_dir(&out.0).unwrap().count(), 0);
}

#[test]
fn centroids_are_class_means() {
    let z = Array::<f32>::from_vec(vec![0., 0., 2., 2., 10., 10., 1., 5.], [4, 2]).unwrap();
    let c = class_centroids(&z, &[0, 0, 1, 2], 4).unwrap();
    assert_eq!(c.data(), &[1., 1., 10., 10., 1., 5., 0., 0.]);
    assert!(class_centroids(&z, &[0, 0, 1, 4], 4).is_err());
}
