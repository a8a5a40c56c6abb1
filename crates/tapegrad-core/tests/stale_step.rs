//! A training step cannot read stale values: a parameter changed since it was bound is bound
//! again (rebound) by the next `Tape::param`, `Tensor::value` hands out an owned handle that
//! does not block the next op, and `Tape::value_and_grad` records, runs backward and resets
//! the tape in one call.

use tapegrad_core::{Array, Param, Tape};

fn arr(v: &[f64], dims: &[usize]) -> Array<f64> {
    Array::from_vec(v.to_vec(), dims).unwrap()
}

/// The new user's loop: update the weight, record again on the same tape, no reset. Before
/// the fix `tape.param` returned the first binding, so the loss stayed 9.0 while the weight
/// marched from 3 to -4.5 on a gradient that never changed.
#[test]
fn updating_a_param_without_reset_reads_the_new_value() {
    let mut w = Param::new(arr(&[3.0], &[1]));
    let tape = Tape::<f64>::new();
    let mut losses = Vec::new();
    for _ in 0..5 {
        let loss = tape.param(&w).square().sum(); // w²
        losses.push(loss.item().unwrap());
        let g = loss.backward().unwrap().param(&w).unwrap().clone(); // 2w
        for (v, g) in w.value_mut().data_mut().iter_mut().zip(g.data()) {
            *v -= 0.25 * g; // w ← w - 0.25·2w = w/2
        }
    }
    // w halves each step: 3, 1.5, 0.75, 0.375, 0.1875 -> losses w², then w = 3/32
    assert_eq!(losses, [9.0, 2.25, 0.5625, 0.140625, 0.03515625]);
    assert_eq!(w.value().data(), &[0.09375]);
}

/// `Tensor::value` no longer hands out a borrow of the tape's nodes: holding it while the next
/// op records used to panic with a BorrowMutError.
#[test]
fn a_value_held_across_the_next_op_does_not_panic() {
    let tape = Tape::<f64>::new();
    let x = tape.var(arr(&[1.0, 2.0], &[2]));
    let v = x.value();
    let y = x.exp(); // records while `v` lives
    let yv = y.value();
    let z = (y * x).sum();
    assert_eq!(v.data(), &[1.0, 2.0]);
    assert_eq!(yv.data(), &[1f64.exp(), 2f64.exp()]);
    // the value stays valid and unchanged after backward too
    let g = z.backward().unwrap();
    // d(Σ x·eˣ)/dx = eˣ + x·eˣ
    let want: Vec<f64> = [1.0f64, 2.0].iter().map(|&a| a.exp() * (1.0 + a)).collect();
    assert_eq!(g.get(x).unwrap().data(), &want[..]);
    assert_eq!(yv.data(), &[1f64.exp(), 2f64.exp()]);
    // a param's value is its parameter's array
    let p = Param::new(arr(&[4.0], &[1]));
    let pv = tape.param(&p).value();
    let _ = tape.param(&p).square();
    assert_eq!(pv.data(), &[4.0]);
}

#[test]
fn a_changed_param_is_bound_again_and_an_unchanged_one_is_not() {
    let mut p = Param::new(arr(&[1.0, 2.0], &[2]));
    let tape = Tape::<f64>::new();
    let first = tape.param(&p);
    assert_eq!(tape.param(&p).id(), first.id(), "unchanged: the same node");
    // an update through value_mut (copy on write: the tape holds the old array)
    p.value_mut().data_mut()[0] = 10.0;
    let second = tape.param(&p);
    assert_ne!(second.id(), first.id());
    assert_eq!(
        first.to_array().data(),
        &[1.0, 2.0],
        "the old binding keeps its value"
    );
    assert_eq!(second.to_array().data(), &[10.0, 2.0]);
    assert_eq!(
        tape.param(&p).id(),
        second.id(),
        "the latest binding is reused"
    );
    // a replacement through set
    p.set(arr(&[5.0, 6.0], &[2])).unwrap();
    let third = tape.param(&p);
    assert_eq!(third.to_array().data(), &[5.0, 6.0]);
    assert_eq!(tape.len(), 3, "one node per binding");
    // a value handle held by the user is no change: copy on write happens only on update
    let _v = third.value();
    assert_eq!(tape.param(&p).id(), third.id());
}

/// A loss that uses a binding from before a change and one from after: each binding gets its
/// own gradient (at its own value), and the parameter's gradient is their sum, as PyTorch's
/// `w.grad` sums the contributions of every use of `w`.
#[test]
fn a_loss_of_the_old_and_the_new_binding_sums_their_gradients() {
    let mut w = Param::new(arr(&[3.0], &[1]));
    let tape = Tape::<f64>::new();
    let a = tape.param(&w); // 3
    let only_old = (a * a).sum(); // recorded before the change
    w.set(arr(&[2.0], &[1])).unwrap();
    // bound again, at 2; L = a·a·b + b: dL/da = 2ab = 12, dL/db = a² + 1 = 10
    let b = tape.param(&w);
    let loss = (a * a * b + b).sum();
    assert_eq!(loss.item().unwrap(), 20.0);
    let mut g = loss.backward().unwrap();
    assert_eq!(g.get(a).unwrap().data(), &[12.0]);
    assert_eq!(g.get(b).unwrap().data(), &[10.0]);
    assert_eq!(g.param(&w).unwrap().data(), &[22.0]);
    assert_eq!(g.by_id(w.id()).unwrap().data(), &[22.0]);
    let all: Vec<_> = g.params().map(|(id, g)| (id, g.data().to_vec())).collect();
    assert_eq!(all, [(w.id(), vec![22.0])], "one entry per parameter");
    assert_eq!(g.take_by_id(w.id()).unwrap().data(), &[22.0]);
    assert!(g.take_by_id(w.id()).is_none(), "taken");
    // a loss recorded with the old binding only, differentiated after the rebinding: its
    // gradient at the old value, found by parameter too
    let g = only_old.backward().unwrap();
    assert_eq!(g.param(&w).unwrap().data(), &[6.0]); // 2a
    assert!(g.get(b).is_none());
    assert_eq!(g.params().count(), 1);
    // a loss of the new binding only: the gradient at the new value
    let g = (b * b).sum().backward().unwrap();
    assert_eq!(g.param(&w).unwrap().data(), &[4.0]); // 2b
}

#[test]
fn two_params_one_rebound_keep_their_own_gradients() {
    let mut w = Param::new(arr(&[1.0, 2.0], &[2]));
    let v = Param::new(arr(&[3.0, 4.0], &[2]));
    let tape = Tape::<f64>::new();
    let (w0, v0) = (tape.param(&w), tape.param(&v));
    w.value_mut().data_mut()[1] = -1.0;
    let w1 = tape.param(&w);
    assert_eq!(tape.param(&v).id(), v0.id());
    // L = Σ w0·v0 + Σ w1·v0: dL/dw0 = v0, dL/dw1 = v0, dL/dv0 = w0 + w1
    let loss = ((w0 * v0).sum() + (w1 * v0).sum()).sum();
    let g = loss.backward().unwrap();
    assert_eq!(g.param(&w).unwrap().data(), &[6.0, 8.0]);
    assert_eq!(g.param(&v).unwrap().data(), &[2.0, 1.0]);
    let ids: Vec<_> = g.params().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&w.id()) && ids.contains(&v.id()));
}

#[test]
fn a_value_outlives_the_tape_reset() {
    let mut tape = Tape::<f32>::new();
    let v = {
        let x = tape.constant(Array::from_vec(vec![0.0, 1.0], [2]).unwrap());
        x.exp().value()
    };
    tape.reset();
    let _ = tape
        .constant(Array::from_vec(vec![7.0, 7.0], [2]).unwrap())
        .exp();
    assert_eq!(v.data(), &[1.0, 1f32.exp()]);
}

#[test]
fn value_and_grad_records_runs_backward_and_resets() {
    let mut w = Param::new(arr(&[3.0], &[1]));
    let mut tape = Tape::<f64>::new();
    let _left_over = tape.constant(arr(&[1.0], &[1])); // emptied before recording
    let mut losses = Vec::new();
    for _ in 0..5 {
        let (loss, g) = tape
            .value_and_grad(|tape| Ok(tape.param(&w).square().sum()))
            .unwrap();
        assert!(tape.is_empty(), "reset after the step");
        losses.push(loss);
        let g = g.param(&w).unwrap().data()[0];
        w.value_mut().data_mut()[0] -= 0.25 * g;
    }
    assert_eq!(losses, [9.0, 2.25, 0.5625, 0.140625, 0.03515625]);
    assert_eq!(w.value().data(), &[0.09375]);
}

#[test]
fn value_and_grad_resets_on_error_and_names_the_caller() {
    let mut tape = Tape::<f64>::new();
    // the closure's own error
    let e = tape
        .value_and_grad(|tape| {
            let x = tape.var(arr(&[1.0, 2.0], &[2]));
            x.matmul(x) // rank-1 operands: an error
        })
        .expect_err("matmul of vectors fails");
    assert!(e.to_string().contains("matmul"), "{e}");
    assert!(tape.is_empty());
    // a non-scalar result: backward's error, located here
    let line = line!() + 2;
    let e = tape
        .value_and_grad(|tape| Ok(tape.var(arr(&[1.0, 2.0], &[2])).exp()))
        .expect_err("not a scalar");
    match e {
        tapegrad_core::Error::NotScalar { location, .. } => {
            assert!(location.file().ends_with("stale_step.rs"), "{location}");
            assert_eq!(location.line(), line);
        }
        e => panic!("{e}"),
    }
    assert!(tape.is_empty());
}
