//! Which nn types may cross threads (docs/reliability.md, "Threads").

use tapegrad_nn::optim::{Adam, Sgd};
use tapegrad_nn::{Autoencoder, Dense, Dropout, Mlp};

fn send<T: Send>() {}
fn send_sync<T: Send + Sync>() {}

#[test]
fn models_and_optimizers_are_send_and_sync() {
    send_sync::<Dense<f32>>();
    send_sync::<Mlp<f32>>();
    send_sync::<Autoencoder<f64>>();
    send_sync::<Sgd<f32>>();
    send_sync::<Adam<f64>>();
    // Dropout keeps its mask generator in a RefCell: it moves, but is not shared
    send::<Dropout>();
}
