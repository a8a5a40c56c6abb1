//! The second-derivative properties of `grad_of_grad.rs` in f32, 64 cases per op: the recorded
//! first-order gradient equals `backward()`'s within `1e-4 + 1e-4·|g|`, and the recorded
//! Hessian-vector product matches central differences of the first-order gradient at
//! `GradcheckOptions::f32()` (eps 1e-2 relative to `max(|x|, 1)`,
//! `|tape - numeric| <= 1e-2 + 2e-2·|numeric|`; see `gradcheck_f32.rs` for why that bound
//! suits f32: the function differentiated here is a gradient, one derivative further, with
//! the same step).

#[macro_use]
mod common;
#[macro_use]
#[path = "common/second_order.rs"]
mod second_order;

second_order_properties!(f32, 64, GradcheckOptions::f32(), (1e-4, 1e-4));
