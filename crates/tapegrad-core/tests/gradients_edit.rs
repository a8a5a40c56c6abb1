//! `Gradients` as the one gradient type: accumulation over passes, averaging, scaling, clearing
//! with the buffers kept, mutable access, and the errors of accumulating mismatched shapes.

use tapegrad_core::{Array, Error, Gradients, Param, Result, Tape};

fn arr(v: &[f64], dims: &[usize]) -> Array<f64> {
    Array::from_vec(v.to_vec(), dims).expect("valid test array")
}

/// The gradients of `k · Σ w²` (that is `2k·w`) and of `Σ b` (ones), from one pass.
fn pass(tape: &mut Tape<f64>, w: &Param<f64>, b: &Param<f64>, k: f64) -> Result<Gradients<f64>> {
    let (_, g) = tape.value_and_grad(|tape| {
        let l = tape.param(w).square().sum().mul_scalar(k);
        l.add(tape.param(b).sum())
    })?;
    Ok(g)
}

/// The two parameters `pass` differentiates (`w = [1, -2]`, `b = [0.5]`) and a tape.
fn setup() -> (Param<f64>, Param<f64>, Tape<f64>) {
    let w = Param::new(arr(&[1.0, -2.0], &[2]));
    let b = Param::new(arr(&[0.5], &[1]));
    (w, b, Tape::new())
}

#[test]
fn accumulate_average_scale_and_clear() -> Result<()> {
    let (w, b, mut tape) = setup();
    let mut acc = Gradients::new();
    assert!(acc.is_empty());
    assert_eq!(acc.batches(), 0);
    for k in [1.0, 2.0, 3.0] {
        acc.accumulate(&pass(&mut tape, &w, &b, k)?)?;
    }
    assert_eq!(acc.batches(), 3);
    assert_eq!(acc.len(), 2);
    assert_eq!(acc.param(&w).unwrap().data(), &[12.0, -24.0]); // (2+4+6)·w
    acc.average();
    assert_eq!(acc.batches(), 1);
    assert_eq!(acc.param(&w).unwrap().data(), &[4.0, -8.0]);
    assert_eq!(acc.param(&b).unwrap().data(), &[1.0]);
    acc.scale(0.5);
    assert_eq!(acc.by_id(w.id()).unwrap().data(), &[2.0, -4.0]);
    let norm = (2.0f64 * 2.0 + 4.0 * 4.0 + 0.5 * 0.5).sqrt();
    assert!((acc.global_norm() - norm).abs() < 1e-15);

    // clear keeps the buffers: the next accumulation writes into the same memory
    let before = acc.param(&w).unwrap().data().as_ptr();
    acc.clear();
    assert!(acc.is_empty());
    assert_eq!(acc.batches(), 0);
    assert!(acc.param(&w).is_none());
    acc.accumulate(&pass(&mut tape, &w, &b, 1.0)?)?;
    assert_eq!(acc.param(&w).unwrap().data(), &[2.0, -4.0]);
    assert_eq!(acc.param(&w).unwrap().data().as_ptr(), before);
    Ok(())
}

#[test]
fn editing_a_backward_result_in_place() -> Result<()> {
    let (w, b, mut tape) = setup();
    let mut g = pass(&mut tape, &w, &b, 1.0)?;
    assert_eq!(g.batches(), 1);
    for (_, a) in g.params_mut() {
        a.data_mut()
            .iter_mut()
            .for_each(|v| *v = v.clamp(-1.0, 1.0));
    }
    assert_eq!(g.param(&w).unwrap().data(), &[1.0, -1.0]);
    g.param_mut(&b).unwrap().data_mut()[0] = 7.0;
    assert_eq!(g.by_id(b.id()).unwrap().data(), &[7.0]);
    let taken = g.take_by_id(w.id()).unwrap();
    assert_eq!(taken.data(), &[1.0, -1.0]);
    assert!(g.param(&w).is_none());
    assert_eq!(g.len(), 1);
    Ok(())
}

#[test]
fn accumulating_another_shape_is_an_error_and_adds_nothing() -> Result<()> {
    let (w, b, mut tape) = setup();
    let mut acc = pass(&mut tape, &w, &b, 1.0)?;
    let mut other = pass(&mut tape, &w, &b, 1.0)?;
    *other.param_mut(&w).unwrap() = arr(&[1.0, 2.0, 3.0], &[3]);
    let e = acc.accumulate(&other).expect_err("shapes differ");
    assert!(matches!(e, Error::Shape { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("Gradients::accumulate: [2] and [3]"),
        "{e}"
    );
    assert_eq!(acc.param(&w).unwrap().data(), &[2.0, -4.0], "nothing added");
    assert_eq!(acc.param(&b).unwrap().data(), &[1.0], "nothing added");
    assert_eq!(acc.batches(), 1);
    Ok(())
}

#[test]
fn params_mut_lends_in_place_so_leaf_lookups_see_the_edit() -> Result<()> {
    let (w, b, tape) = setup();
    let wt = tape.param(&w);
    let bt = tape.param(&b);
    let mut g = wt.square().sum().add(bt.sum())?.backward()?;
    let w_before = g.get(wt).unwrap().data().as_ptr();
    let mut seen = Vec::new();
    for (id, a) in g.params_mut() {
        seen.push(id);
        a.data_mut().iter_mut().for_each(|v| *v *= 10.0);
    }
    assert_eq!(seen, vec![w.id(), b.id()], "binding order, once each");
    // the leaf tensor's look-up and the parameter's look-up see the same edited array
    assert_eq!(g.get(wt).unwrap().data(), &[20.0, -40.0]);
    assert_eq!(g.get(bt).unwrap().data(), &[10.0]);
    assert_eq!(g.param(&w).unwrap().data(), &[20.0, -40.0]);
    assert_eq!(
        g.get(wt).unwrap().data().as_ptr(),
        w_before,
        "lent, not moved"
    );
    Ok(())
}
