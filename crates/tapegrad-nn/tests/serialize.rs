//! Save/load in the safetensors format: round trips, the file layout, loading into another
//! architecture (clear errors, model untouched), truncated and corrupt files (errors, never
//! panics), and the write-to-temporary-then-rename save.

use proptest::prelude::*;
use std::fs;
use tapegrad_core::{rng, Array, Error, Result, Tape};
use tapegrad_nn::Activation::{Identity, Relu, Sigmoid, Tanh};
use tapegrad_nn::{load, save, Autoencoder, Mlp, Module};

mod common;

/// A fresh, empty directory for one test.
/// A fresh folder for one test, removed when the test ends.
fn scratch(name: &str) -> common::Scratch {
    common::Scratch::new("nn", name)
}

fn params<T: tapegrad_core::Element>(m: &dyn Module<T>) -> Vec<(String, Array<T>)> {
    m.named_params()
        .into_iter()
        .map(|(n, p)| (n, p.value().clone()))
        .collect()
}

fn xor_mlp(seed: u64) -> Mlp<f32> {
    Mlp::new(&[2, 4, 1], Tanh, Sigmoid, &mut rng(seed)).expect("sizes")
}

#[test]
fn round_trip_f32_and_f64() -> Result<()> {
    let dir = scratch("round-trip");
    let a = Mlp::<f32>::new(&[64, 64, 32, 10], Relu, Identity, &mut rng(1))?;
    let path = dir.join("digits.safetensors");
    a.save(&path)?;
    let mut b = Mlp::<f32>::new(&[64, 64, 32, 10], Relu, Identity, &mut rng(2))?;
    assert_ne!(params(&a), params(&b));
    b.load(&path)?;
    assert_eq!(params(&a), params(&b));
    // the same outputs, too
    let x = Array::<f32>::randn([3, 64], 0.0, 1.0, &mut rng(3));
    let tape = Tape::new();
    let (ya, yb) = (
        a.forward(tape.constant(x.clone()))?.to_array(),
        b.forward(tape.constant(x))?.to_array(),
    );
    assert_eq!(ya, yb);

    let ae = Autoencoder::<f64>::new(8, &[6], 3, Tanh, Sigmoid, &mut rng(4))?;
    let path = dir.join("ae.safetensors");
    save(&ae, &path)?; // the free function works on any module, `dyn` included
    let mut ae2: Box<dyn Module<f64>> = Box::new(Autoencoder::<f64>::new(
        8,
        &[6],
        3,
        Tanh,
        Sigmoid,
        &mut rng(5),
    )?);
    load(&mut *ae2, &path)?;
    assert_eq!(params(&ae), params(&*ae2));
    let left = common::sorted_names(&dir);
    assert_eq!(
        left.len(),
        2,
        "only the two model files, no temporary file: {left:?}"
    );
    Ok(())
}

#[test]
fn the_file_is_plain_safetensors() -> Result<()> {
    let dir = scratch("layout");
    let m = xor_mlp(0);
    let path = dir.join("xor.safetensors");
    m.save(&path)?;
    let bytes = fs::read(&path).expect("written");
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header = std::str::from_utf8(&bytes[8..8 + n]).expect("a UTF-8 JSON header");
    assert!(header.contains(r#""0.weight":{"dtype":"F32","shape":[2,4],"data_offsets":["#));
    assert!(header.contains(r#""2.bias":{"dtype":"F32","shape":[1],"data_offsets":["#));
    assert!(header.contains(r#""__metadata__":{"format":"pt"}"#));
    assert_eq!(bytes.len(), 8 + n + 17 * 4, "17 f32 parameters");
    // the raw little-endian bytes of 0.weight are in the data section
    let w: Vec<u8> = m.layers()[0]
        .weight()
        .value()
        .data()
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    assert!(bytes[8 + n..]
        .windows(w.len())
        .any(|win| win == w.as_slice()));
    Ok(())
}

fn load_err(m: &mut dyn Module<f32>, path: &std::path::Path) -> String {
    let before = params(m);
    let err = load(m, path).expect_err("must not load");
    assert_eq!(
        before,
        params(m),
        "a failed load leaves the model as it was"
    );
    err.to_string()
}

#[test]
fn loading_into_another_architecture_fails_clearly() -> Result<()> {
    let dir = scratch("mismatch");
    let path = dir.join("xor.safetensors");
    xor_mlp(0).save(&path)?;
    let shown = path.display().to_string();

    // a wider hidden layer: a shape mismatch, naming the tensor and both shapes
    let mut wide = Mlp::<f32>::new(&[2, 8, 1], Tanh, Sigmoid, &mut rng(1))?;
    let err = load_err(&mut wide, &path);
    assert_eq!(
        err,
        format!("{shown}: tensor `0.weight` has shape [2, 4] in the file but [2, 8] in the model")
    );
    // a deeper model: a tensor missing from the file
    let mut deep = Mlp::<f32>::new(&[2, 4, 4, 1], Tanh, Sigmoid, &mut rng(1))?;
    let err = load_err(&mut deep, &path);
    assert!(
        err.contains("tensor `2.weight` has shape [4, 1] in the file but [4, 4]"),
        "{err}"
    );
    let mut deeper = Mlp::<f32>::new(&[2, 4, 1, 1], Tanh, Sigmoid, &mut rng(1))?;
    let err = load_err(&mut deeper, &path);
    assert!(
        err.ends_with("tensor `4.weight` (shape [1, 1]) is missing from the file"),
        "{err}"
    );
    // a smaller model: the file has a tensor the model does not have
    let mut small = Mlp::<f32>::new(&[2, 4], Tanh, Sigmoid, &mut rng(1))?;
    let err = load_err(&mut small, &path);
    assert!(
        err.ends_with("the file has tensor `2.bias` that the model does not have"),
        "{err}"
    );
    // another element type: f64 parameters into an f32 model
    let f64_path = dir.join("xor64.safetensors");
    Mlp::<f64>::new(&[2, 4, 1], Tanh, Sigmoid, &mut rng(0))?.save(&f64_path)?;
    let mut m = xor_mlp(1);
    let err = load_err(&mut m, &f64_path);
    assert!(
        err.ends_with("tensor `0.weight` has dtype F64 in the file but F32 in the model"),
        "{err}"
    );
    // an autoencoder's names are not an MLP's
    let ae = Autoencoder::<f32>::new(2, &[], 4, Tanh, Identity, &mut rng(0))?;
    let ae_path = dir.join("ae.safetensors");
    ae.save(&ae_path)?;
    let err = load_err(&mut xor_mlp(2), &ae_path);
    let want = "tensor `0.weight` (shape [2, 4]) is missing from the file";
    assert!(err.ends_with(want), "{err}");
    Ok(())
}

#[test]
fn missing_truncated_and_garbage_files_are_errors() -> Result<()> {
    let dir = scratch("corrupt");
    let path = dir.join("xor.safetensors");
    xor_mlp(0).save(&path)?;
    let bytes = fs::read(&path).expect("written");
    let mut m = xor_mlp(1);

    match load(&mut m, dir.join("nope.safetensors")) {
        Err(Error::Io { path: p, .. }) => assert!(p.ends_with("nope.safetensors")),
        other => panic!("expected an Io error, got {other:?}"),
    }
    let bad = dir.join("bad.safetensors");
    for len in 0..bytes.len() {
        fs::write(&bad, &bytes[..len]).expect("write");
        match load(&mut m, &bad) {
            Err(Error::Format { path: p, .. }) => assert_eq!(p, bad),
            other => panic!("truncated to {len} bytes: expected a Format error, got {other:?}"),
        }
    }
    fs::write(&bad, b"definitely not a model file").expect("write");
    let err = load_err(&mut m, &bad);
    assert!(err.contains("not a valid safetensors file"), "{err}");
    // a header that claims an absurd size
    let mut huge = u64::MAX.to_le_bytes().to_vec();
    huge.extend_from_slice(b"{}");
    fs::write(&bad, &huge).expect("write");
    assert!(load(&mut m, &bad).is_err());
    Ok(())
}

#[test]
fn save_replaces_atomically_and_reports_unwritable_paths() -> Result<()> {
    let dir = scratch("atomic");
    let path = dir.join("m.safetensors");
    fs::write(&path, b"old contents").expect("write");
    let m = xor_mlp(3);
    m.save(&path)?;
    let mut back = xor_mlp(4);
    back.load(&path)?;
    assert_eq!(params(&back), params(&m));
    let entries: Vec<_> = fs::read_dir(&dir).expect("dir").collect();
    assert_eq!(entries.len(), 1, "only the model file remains");

    let missing_dir = dir.join("no-such-dir").join("m.safetensors");
    match m.save(&missing_dir) {
        Err(Error::Io { path: p, .. }) => {
            assert_eq!(p, missing_dir, "the error names the file asked for")
        }
        other => panic!("expected an Io error, got {other:?}"),
    }
    // a failed save leaves no temporary file behind (here: the target is a folder, so the
    // rename fails after the temporary file was written)
    let folder = dir.join("a-folder");
    fs::create_dir_all(folder.join("inside")).expect("mkdir");
    assert!(matches!(m.save(&folder), Err(Error::Io { .. })));
    common::assert_entries(&dir, &["a-folder", "m.safetensors"]);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Any flipped bytes give either an error or a model with the right shapes: never a panic.
    #[test]
    fn corrupt_bytes_never_panic(flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..6)) {
        let dir = scratch("flips");
        let path = dir.join("m.safetensors");
        xor_mlp(0).save(&path).unwrap();
        let mut bytes = fs::read(&path).unwrap();
        let len = bytes.len();
        for (pos, v) in flips {
            bytes[pos % len] ^= v | 1;
        }
        fs::write(&path, &bytes).unwrap();
        let mut m = xor_mlp(1);
        if load(&mut m, &path).is_ok() {
            let dims: Vec<Vec<usize>> =
                m.named_params().iter().map(|(_, p)| p.value().dims().to_vec()).collect();
            prop_assert_eq!(dims, vec![vec![2, 4], vec![4], vec![4, 1], vec![1]]);
        }
    }
}

#[test]
fn a_file_larger_than_any_model_file_is_refused_before_it_is_read() -> Result<()> {
    let dir = scratch("huge");
    let path = dir.join("huge.safetensors");
    // a sparse 4 GiB file: reading it would allocate 4 GiB
    let f = fs::File::create(&path).expect("create");
    f.set_len(4 << 30).expect("set_len");
    drop(f);
    let mut m = xor_mlp(0);
    let before = params(&m);
    let err = load(&mut m, &path).unwrap_err();
    assert!(
        matches!(&err, Error::Format { path: p, .. } if *p == path)
            && err.to_string().contains("the file has 4294967296 bytes, more than a model or checkpoint of these parameters can have"),
        "{err}"
    );
    assert_eq!(params(&m), before);
    Ok(())
}
