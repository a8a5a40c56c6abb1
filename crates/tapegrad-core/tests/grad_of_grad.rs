//! Second derivatives of every op in f64, against central differences: every property of
//! `gradient_properties!` (the first-order suite: the same strategies, shapes, broadcasting,
//! reductions, softmax/log-softmax, the fused losses and `linear`) rerun with its `check`
//! replaced by the second-order check of `common/second_order.rs`, 256 cases per op:
//!
//! 1. the recorded gradient of `grad(.., create_graph)` (the tensor form of each rule) equals
//!    `backward()`'s array gradient within `1e-10 + 1e-9·|g|` (a different summation order);
//! 2. `gradcheck` at `GradcheckOptions::f64()` on `F(x) = Σ ⟨∂(Σ r·f)/∂x_i, v_i⟩`: the
//!    recorded Hessian-vector product against central differences of the first-order gradient.
//!
//! Piecewise-linear ops (relu, leaky_relu, abs, max) are sampled away from their kinks, where
//! their second derivative is 0: the recorded gradient is then a constant-mask product and
//! `F`'s gradient is 0 (or `F` needs none at all), which the differences confirm.

#[macro_use]
mod common;
#[macro_use]
#[path = "common/second_order.rs"]
mod second_order;

second_order_properties!(f64, 256, GradcheckOptions::f64(), (1e-10, 1e-9));
