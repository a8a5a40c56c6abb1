//! tapegrad-nn: layers, losses, initializers and optimizers built from tape ops only, so every
//! gradient comes from the tape.
#![deny(unsafe_code)]
#![warn(missing_docs)]
