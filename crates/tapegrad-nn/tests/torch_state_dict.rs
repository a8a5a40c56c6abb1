//! PyTorch state dicts ([`save_torch`] / [`load_torch`]): each layer's tensors under torch's
//! names, layouts and dtypes (read back with the safetensors crate, values checked element by
//! element), round trips in f32 and f64, files of another architecture or dtype (the first
//! tensor that does not fit is named, the model is left as it was), corrupt files (errors,
//! never panics) and the atomic write.

use safetensors::tensor::{Dtype, SafeTensors};
use std::fs;
use tapegrad_core::{rng, Array, Conv2dOptions, Element, Result, Tape};
use tapegrad_nn::Activation::{Identity, Relu, Sigmoid, Tanh};
use tapegrad_nn::{
    load, load_torch, save, save_torch, Autoencoder, BatchNorm1d, BatchNorm2d, Conv2d, Dense,
    Embedding, Flatten, Init, LayerNorm, Mlp, Module, Sequential,
};

mod common;

fn scratch(name: &str) -> common::Scratch {
    common::Scratch::new("nn-torch", name)
}

/// Every parameter and buffer of `m`, by name (copies).
fn state<T: Element>(m: &dyn Module<T>) -> Vec<(String, Array<T>)> {
    let mut v: Vec<(String, Array<T>)> = m
        .named_params()
        .into_iter()
        .map(|(n, p)| (n, p.value().clone()))
        .collect();
    v.extend(m.named_buffers());
    v
}

/// Conv2d, BatchNorm2d, ReLU, Flatten, Dense, LayerNorm and a Dense without bias: torch's
/// `nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
/// nn.Linear(8, 3), nn.LayerNorm(3), nn.Linear(3, 2, bias=False))`, for `[N, 1, 4, 4]` inputs.
fn mixed<T: Element>(seed: u64) -> Result<Sequential<T>> {
    let mut r = rng(seed);
    Ok(Sequential::new()
        .with(Conv2d::new(
            1,
            2,
            (3, 3),
            Conv2dOptions::default(),
            true,
            &mut r,
        )?)
        .with(BatchNorm2d::new(2))
        .with(Relu)
        .with(Flatten)
        .with(Dense::new(8, 3, Init::HeNormal, &mut r))
        .with(LayerNorm::new(&[3]))
        .with(Dense::new_without_bias(3, 2, Init::XavierUniform, &mut r)))
}

/// Two training-mode forward passes: the batch norm's running statistics and counter move.
fn run_twice<T: Element>(m: &dyn Module<T>, seed: u64) -> Result<Array<T>> {
    let tape = Tape::new();
    let x = Array::<T>::randn([5, 1, 4, 4], 0.0, 1.0, &mut rng(seed));
    m.forward(tape.constant(x.clone()))?;
    Ok(m.forward(tape.constant(x))?.to_array())
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
fn every_layer_is_saved_as_torch_holds_it() -> Result<()> {
    let dir = scratch("layouts");
    let m = mixed::<f32>(1)?;
    run_twice(&m, 2)?;
    let path = dir.join("mixed.safetensors");
    save_torch(&m, &path)?;
    let bytes = fs::read(&path).expect("written");
    let st = SafeTensors::deserialize(&bytes).expect("a valid safetensors file");
    let mut names = st.names();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "0.bias",
            "0.weight",
            "1.bias",
            "1.num_batches_tracked",
            "1.running_mean",
            "1.running_var",
            "1.weight",
            "4.bias",
            "4.weight",
            "5.bias",
            "5.weight",
            "6.weight"
        ]
    );
    let (_, meta) = SafeTensors::read_metadata(&bytes).expect("header");
    assert_eq!(
        meta.metadata().as_ref().and_then(|m| m.get("format")),
        Some(&"pt".to_string())
    );
    let layers = m.layers();
    let by_name: std::collections::HashMap<String, Array<f32>> = state(&m).into_iter().collect();
    // Conv2d, BatchNorm2d and LayerNorm tensors: as tapegrad holds them
    for name in [
        "0.weight",
        "0.bias",
        "1.weight",
        "1.bias",
        "1.running_mean",
        "1.running_var",
        "5.weight",
        "5.bias",
    ] {
        let t = st.tensor(name).expect("present");
        let want = &by_name[name];
        assert_eq!(t.dtype(), Dtype::F32, "{name}");
        assert_eq!(t.shape(), want.dims(), "{name}");
        assert_eq!(f32s(t.data()), want.data(), "{name}");
    }
    assert_eq!(st.tensor("0.weight").unwrap().shape(), [2, 1, 3, 3]);
    // the running statistics did move (so the check above compares real values)
    assert!(by_name["1.running_mean"].data().iter().any(|&v| v != 0.0));
    // num_batches_tracked: torch's int64 scalar, two training passes
    let n = st.tensor("1.num_batches_tracked").unwrap();
    assert_eq!((n.dtype(), n.shape()), (Dtype::I64, &[][..]));
    assert_eq!(n.data(), 2i64.to_le_bytes());
    // Dense weights: [out, in], element [o][i] is tapegrad's [i][o]
    for (name, layer, (i_n, o_n)) in [("4.weight", 4, (8, 3)), ("6.weight", 6, (3, 2))] {
        let t = st.tensor(name).unwrap();
        assert_eq!((t.dtype(), t.shape()), (Dtype::F32, &[o_n, i_n][..]));
        let got = f32s(t.data());
        let w = layers[layer].named_params()[0].1.value().clone();
        assert_eq!(w.dims(), [i_n, o_n]);
        for o in 0..o_n {
            for i in 0..i_n {
                assert_eq!(got[o * i_n + i], w.data()[i * o_n + o], "{name}[{o}][{i}]");
            }
        }
    }
    assert_eq!(st.tensor("4.bias").unwrap().shape(), [3]);
    Ok(())
}

#[test]
fn round_trips_f32_and_f64_with_buffers() -> Result<()> {
    let dir = scratch("round-trip");
    // f32, with batch norm buffers
    let a = mixed::<f32>(1)?;
    run_twice(&a, 2)?;
    let path = dir.join("a.safetensors");
    a.save_torch(&path)?;
    let mut b = mixed::<f32>(3)?;
    assert_ne!(state(&a), state(&b));
    b.load_torch(&path)?;
    assert_eq!(state(&a), state(&b));
    // f64 (torch's `model.double()`), through `dyn Module`
    let ae = Autoencoder::<f64>::new(8, &[6], 3, Tanh, Sigmoid, &mut rng(4))?;
    let path = dir.join("ae.safetensors");
    save_torch(&ae, &path)?;
    let bytes = fs::read(&path).expect("written");
    let st = SafeTensors::deserialize(&bytes).expect("valid");
    let w = st.tensor("decoder.0.weight").unwrap();
    assert_eq!((w.dtype(), w.shape()), (Dtype::F64, &[6, 3][..]));
    let mut ae2: Box<dyn Module<f64>> = Box::new(Autoencoder::<f64>::new(
        8,
        &[6],
        3,
        Tanh,
        Sigmoid,
        &mut rng(5),
    )?);
    load_torch(&mut *ae2, &path)?;
    assert_eq!(state(&ae), state(&*ae2));
    // BatchNorm1d and Embedding
    let mut r = rng(6);
    let m = Sequential::<f32>::new()
        .with(Dense::new(4, 3, Init::HeNormal, &mut r))
        .with(BatchNorm1d::new(3));
    m.forward(Tape::new().constant(Array::randn([6, 4], 0.0, 1.0, &mut r)))?;
    let path = dir.join("bn1d.safetensors");
    save_torch(&m, &path)?;
    let mut m2 = Sequential::<f32>::new()
        .with(Dense::new(4, 3, Init::HeNormal, &mut r))
        .with(BatchNorm1d::new(3));
    load_torch(&mut m2, &path)?;
    assert_eq!(state(&m), state(&m2));
    assert_eq!(
        m2.named_buffers()[2].1.data(),
        &[1.0],
        "num_batches_tracked"
    );
    let e = Embedding::<f32>::new(5, 2, &mut r);
    let path = dir.join("emb.safetensors");
    save_torch(&e, &path)?;
    let bytes = fs::read(&path).expect("written");
    let st = SafeTensors::deserialize(&bytes).expect("valid");
    assert_eq!(st.tensor("weight").unwrap().shape(), [5, 2]);
    assert_eq!(
        f32s(st.tensor("weight").unwrap().data()),
        e.weight().value().data()
    );
    // no temporary file is left behind
    let left = common::sorted_names(&dir);
    assert_eq!(left.len(), 4, "{left:?}");
    Ok(())
}

/// `load_torch` fails, leaving `m` (parameters and buffers) as it was; the message.
fn torch_err<T: Element>(m: &mut dyn Module<T>, path: &std::path::Path) -> String {
    let before = state(m);
    let err = load_torch(m, path).expect_err("must not load");
    assert_eq!(before, state(m), "a failed load leaves the model as it was");
    let msg = err.to_string();
    assert!(msg.starts_with(&path.display().to_string()), "{msg}");
    msg
}

#[test]
fn a_state_dict_of_another_architecture_names_the_first_misfit() -> Result<()> {
    let dir = scratch("misfit");
    let path = dir.join("xor.safetensors");
    Mlp::<f32>::new(&[2, 4, 1], Tanh, Sigmoid, &mut rng(0))?.save_torch(&path)?;

    let mut wider = Mlp::<f32>::new(&[2, 8, 1], Tanh, Sigmoid, &mut rng(1))?;
    let e = torch_err(&mut wider, &path);
    assert!(
        e.contains("tensor `0.weight` has shape [4, 2] in the file but [8, 2] in the model"),
        "{e}"
    );
    assert!(e.contains("[out, in]"), "{e}");

    let mut deeper = Mlp::<f32>::new(&[2, 4, 4, 1], Tanh, Sigmoid, &mut rng(1))?;
    let e = torch_err(&mut deeper, &path);
    assert!(
        e.contains("tensor `2.weight` has shape [1, 4] in the file but [4, 4]"),
        "{e}"
    );
    let mut deeper = Mlp::<f32>::new(&[2, 4, 1, 1], Tanh, Sigmoid, &mut rng(1))?;
    let e = torch_err(&mut deeper, &path);
    assert!(
        e.contains("tensor `4.weight` (shape [1, 1], F32") && e.contains("is missing"),
        "{e}"
    );

    let deep_path = dir.join("deep.safetensors");
    Mlp::<f32>::new(&[2, 4, 4, 1], Tanh, Sigmoid, &mut rng(0))?.save_torch(&deep_path)?;
    let mut small = Mlp::<f32>::new(&[2, 4, 1], Tanh, Sigmoid, &mut rng(1))?;
    let e = torch_err(&mut small, &deep_path);
    assert!(e.contains("tensor `2.weight` has shape [4, 4]"), "{e}");
    let mut two = Mlp::<f32>::new(&[2, 4, 4], Tanh, Sigmoid, &mut rng(1))?;
    let e = torch_err(&mut two, &deep_path);
    assert!(
        e.contains("the file has tensor `4.bias` that the model does not have"),
        "{e}"
    );

    // dtype: an f64 state dict into an f32 model
    let f64_path = dir.join("xor64.safetensors");
    Mlp::<f64>::new(&[2, 4, 1], Tanh, Sigmoid, &mut rng(0))?.save_torch(&f64_path)?;
    let mut m = Mlp::<f32>::new(&[2, 4, 1], Tanh, Sigmoid, &mut rng(1))?;
    let e = torch_err(&mut m, &f64_path);
    assert!(
        e.contains("tensor `0.weight` has dtype F64 in the file but F32 in the model"),
        "{e}"
    );

    // tapegrad's own layout is not torch's: `save`'s [in, out] weight and F32 counter
    let own = dir.join("own.safetensors");
    let bn = mixed::<f32>(2)?;
    save(&bn, &own)?;
    let mut bn2 = mixed::<f32>(3)?;
    let e = torch_err(&mut bn2, &own);
    assert!(
        e.contains("tensor `1.num_batches_tracked` has dtype F32 in the file but I64"),
        "{e}"
    );
    // and `load` refuses a torch file: the transposed weight
    let torch_file = dir.join("torch.safetensors");
    save_torch(&bn, &torch_file)?;
    let e = load(&mut bn2, &torch_file).unwrap_err().to_string();
    assert!(
        e.contains("tensor `4.weight` has shape [3, 8] in the file but [8, 3]"),
        "{e}"
    );
    Ok(())
}

#[test]
fn corrupt_and_truncated_files_are_errors() -> Result<()> {
    let dir = scratch("corrupt");
    let path = dir.join("m.safetensors");
    let m = mixed::<f32>(1)?;
    save_torch(&m, &path)?;
    let good = fs::read(&path).expect("written");
    let mut target = mixed::<f32>(2)?;
    let bad = dir.join("bad.safetensors");
    for cut in [0, 7, 8, 20, good.len() / 2, good.len() - 1] {
        fs::write(&bad, &good[..cut]).expect("write");
        torch_err(&mut target, &bad);
    }
    // byte flips anywhere: Ok or Err, never a panic
    let mut r = rng(9);
    use rand::Rng;
    for _ in 0..300 {
        let mut b = good.clone();
        for _ in 0..r.random_range(1..4) {
            let i = r.random_range(0..b.len());
            b[i] ^= 1 << r.random_range(0..8);
        }
        fs::write(&bad, &b).expect("write");
        let _ = load_torch(&mut target, &bad);
    }
    let missing = dir.join("nope.safetensors");
    let e = load_torch(&mut target, &missing).unwrap_err().to_string();
    assert!(e.contains("nope.safetensors"), "{e}");
    // an unwritable path is an error naming it, and leaves nothing behind
    let e = save_torch(&m, dir.join("no-such-dir").join("m.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no-such-dir"), "{e}");
    Ok(())
}

#[test]
fn identity_output_mlp_and_lenet_shaped_names() -> Result<()> {
    // the names the docs' torch models have (docs/interop.md)
    let m = Mlp::<f32>::new(&[784, 128, 64, 10], Relu, Identity, &mut rng(0))?;
    let mut names = Vec::new();
    m.visit_torch(&mut tapegrad_nn::ParamPath::new(), &mut |n, a, l| {
        names.push((n.to_string(), a.dims().to_vec(), l))
    });
    use tapegrad_nn::TorchLayout::{Same, Transposed};
    assert_eq!(
        names,
        [
            ("0.weight".to_string(), vec![784, 128], Transposed),
            ("0.bias".to_string(), vec![128], Same),
            ("2.weight".to_string(), vec![128, 64], Transposed),
            ("2.bias".to_string(), vec![64], Same),
            ("4.weight".to_string(), vec![64, 10], Transposed),
            ("4.bias".to_string(), vec![10], Same),
        ]
    );
    Ok(())
}
