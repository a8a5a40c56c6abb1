//! The second-order check used by `grad_of_grad.rs` and `grad_of_grad_f32.rs` (included there
//! with `#[path]`, after `mod common`): it reruns every
//! property of [`gradient_properties!`] with `check` replaced by [`check`] here.
//!
//! For an op `f` and a case's inputs, [`check`] first compares the recorded first-order
//! gradient (`grad`, the tensor form of each rule) with `backward()`'s (the array form), then
//! runs the public `gradcheck` on `F(x) = Σ_i ⟨∂(Σ r·f(x))/∂x_i, v_i⟩`, with `r` and `v` fixed
//! random weights: `gradcheck` compares `F`'s tape gradient, the Hessian-vector product
//! `H·v` obtained by differentiating the recorded gradient, with central differences of `F`,
//! i.e. of the first-order gradient along each coordinate.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use rand::{rngs::StdRng, SeedableRng};
use tapegrad_core::{grad, Array, Element, GradcheckOptions, Result, Tape, Tensor};

/// `F(x)` above on `tape`: the inputs are re-entered as `x_i + 0` with a `var` zero, so the
/// gradient reaches them also when `gradcheck` records them as constants; `r` (the upstream
/// gradient, passed as `grad_outputs`) and `v` are drawn from `seed`.
pub fn hvp_objective<'t, T: Element>(
    f: &impl Fn(&'t Tape<T>, &[Tensor<'t, T>]) -> Result<Tensor<'t, T>>,
    tape: &'t Tape<T>,
    xs: &[Tensor<'t, T>],
    seed: u64,
) -> Result<Tensor<'t, T>> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5EC0_4D0D);
    let zero = tape.var(Array::scalar(T::zero()));
    let zs: Vec<Tensor<'t, T>> = xs.iter().map(|x| x.add(zero)).collect::<Result<_>>()?;
    let y = f(tape, &zs)?;
    let r = tape.constant(Array::rand_uniform(y.shape(), -1.0, 1.0, &mut rng));
    let gs = grad(&[y], &zs, Some(&[r]), true)?;
    let mut total = tape.constant(Array::scalar(T::zero()));
    for (g, z) in gs.iter().zip(&zs) {
        let v = tape.constant(Array::rand_uniform(z.shape(), -1.0, 1.0, &mut rng));
        if let Some(g) = g {
            total = total.add(g.mul(v)?.sum())?;
        }
    }
    Ok(total)
}

/// Fails the case unless the recorded first-order gradients equal `backward()`'s within
/// `atol + rtol·|backward|` (the two forms of each rule sum in different orders).
pub fn first_order_agrees<T: Element>(
    f: &impl for<'t> Fn(&'t Tape<T>, &[Tensor<'t, T>]) -> Result<Tensor<'t, T>>,
    inputs: &[Array<T>],
    seed: u64,
    (atol, rtol): (f64, f64),
) -> std::result::Result<(), TestCaseError> {
    let fail = |e: tapegrad_core::Error| TestCaseError::fail(format!("error: {e}"));
    let tape = Tape::new();
    let xs: Vec<_> = inputs.iter().map(|x| tape.var(x.clone())).collect();
    let y = f(&tape, &xs).map_err(fail)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let r = tape.constant(Array::rand_uniform(y.shape(), -1.0, 1.0, &mut rng));
    let arrays = y.mul(r).map_err(fail)?.sum().backward().map_err(fail)?;
    let tensors = grad(&[y], &xs, Some(&[r]), false).map_err(fail)?;
    for (i, (x, g)) in xs.iter().zip(&tensors).enumerate() {
        let zeros = Array::zeros(x.shape());
        let want = arrays.get(*x).unwrap_or(&zeros);
        let got = g.map_or_else(|| zeros.clone(), |g| g.to_array());
        prop_assert_eq!(got.shape(), want.shape());
        for (j, (&a, &b)) in got.data().iter().zip(want.data()).enumerate() {
            let (a, b) = (a.as_f64(), b.as_f64());
            prop_assert!(
                (a - b).abs() <= atol + rtol * b.abs() || (a.is_nan() && b.is_nan()),
                "input {i} element {j}: recorded {a} vs backward {b}"
            );
        }
    }
    Ok(())
}

/// Both checks of this module for one op and one case: replaces `common::check` inside the
/// property macro (a local item shadows the glob import).
pub fn check_second_order<T: Element>(
    f: impl for<'t> Fn(&'t Tape<T>, &[Tensor<'t, T>]) -> Result<Tensor<'t, T>>,
    inputs: &[Array<f64>],
    opts: GradcheckOptions,
    agree: (f64, f64),
) -> std::result::Result<(), TestCaseError> {
    let xs: Vec<Array<T>> = inputs.iter().map(Array::cast).collect();
    first_order_agrees(&f, &xs, opts.seed, agree)?;
    let seed = opts.seed;
    crate::common::check::<T>(|tape, ts| hvp_objective(&f, tape, ts, seed), inputs, opts)
}

/// `second_order_properties!(T, cases, opts, (atol, rtol))`: every property of
/// [`gradient_properties!`] in `T`, `cases` per op, with `check` replaced by
/// [`check_second_order`] at `opts` and the first-order tolerance `(atol, rtol)`.
macro_rules! second_order_properties {
    ($t:ty, $cases:expr, $opts:expr, $tol:expr) => {
        /// The second-order check in place of `common::check` inside the property macro.
        fn check<T: tapegrad_core::Element>(
            f: impl for<'t> Fn(
                &'t tapegrad_core::Tape<T>,
                &[tapegrad_core::Tensor<'t, T>],
            ) -> tapegrad_core::Result<tapegrad_core::Tensor<'t, T>>,
            inputs: &[tapegrad_core::Array<f64>],
            opts: tapegrad_core::GradcheckOptions,
        ) -> std::result::Result<(), proptest::test_runner::TestCaseError> {
            second_order::check_second_order(f, inputs, opts, $tol)
        }

        gradient_properties!($t, $cases, $opts);
    };
}
