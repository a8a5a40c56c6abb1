//! A module's shape error names the line of the user's code that called `forward`, directly,
//! through `dyn Module` and through containers.

use tapegrad_core::{rng, Array, Tape};
use tapegrad_nn::Activation::{Identity, Relu, Sigmoid};
use tapegrad_nn::{Dense, Init, Module, Sequential};

fn names_this_file(e: &tapegrad_core::Error) -> bool {
    e.to_string().contains("tests/locations.rs")
}

#[test]
fn dense_forward_names_the_callers_line() {
    let tape = Tape::<f32>::new();
    let x = tape.constant(Array::zeros([4, 5]));
    let d = Dense::<f32>::new(3, 2, Init::XavierNormal, &mut rng(0));
    let e = d.forward(x).unwrap_err();
    assert!(names_this_file(&e), "{e}");
    let boxed: Box<dyn Module<f32>> =
        Box::new(Dense::<f32>::new(3, 2, Init::XavierNormal, &mut rng(0)));
    let e = boxed.forward(x).unwrap_err();
    assert!(names_this_file(&e), "through dyn Module: {e}");
}

#[test]
fn sequential_forward_names_the_callers_line() {
    let tape = Tape::<f32>::new();
    let mut s = Sequential::<f32>::new();
    s.push(Dense::<f32>::new(5, 3, Init::XavierNormal, &mut rng(0)));
    s.push(Dense::<f32>::new(4, 2, Init::XavierNormal, &mut rng(1)));
    let e = s.forward(tape.constant(Array::zeros([2, 5]))).unwrap_err();
    assert!(e.to_string().starts_with("dense: [2, 3]"), "{e}");
    assert!(names_this_file(&e), "{e}");
}

#[test]
fn mlp_and_autoencoder_forward_name_the_callers_line() {
    use tapegrad_nn::{Autoencoder, Mlp};
    let tape = Tape::<f32>::new();
    let x = tape.constant(Array::zeros([2, 7]));
    let m = Mlp::<f32>::new(&[5, 3, 2], Relu, Identity, &mut rng(0)).unwrap();
    let e = m.forward(x).unwrap_err();
    assert!(names_this_file(&e), "{e}");
    let ae = Autoencoder::<f32>::new(5, &[3], 2, Relu, Sigmoid, &mut rng(0)).unwrap();
    let e = ae.forward(x).unwrap_err();
    assert!(names_this_file(&e), "{e}");
    let e = ae.decode(x).unwrap_err();
    assert!(names_this_file(&e), "{e}");
}
