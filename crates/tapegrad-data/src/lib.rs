//! tapegrad-data: everything a training program needs besides the model: datasets, readers,
//! splitting, scaling, batching and metrics.
#![deny(unsafe_code)]
#![warn(missing_docs)]
