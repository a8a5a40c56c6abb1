//! One literal test per backward rule: small tensors, the hand derivative in a comment, the
//! expected gradient computed by hand or by that formula. The incoming gradient is never all
//! ones: a test either weights the output with a constant `w` (`loss = Σ y·w`, so the rule
//! receives `w`), chains `.exp()` (so it receives `e^y`), or scales a scalar output.

use tapegrad_core::{Activation, Array, Result, Tape, Tensor};

mod common;

use common::{arr, assert_close};

/// The gradient of `loss = Σ f(x) · w` for the leaf `x`.
fn grad_weighted(
    x: Array<f64>,
    w: Array<f64>,
    f: impl for<'t> Fn(Tensor<'t, f64>) -> Result<Tensor<'t, f64>>,
) -> Array<f64> {
    let tape = Tape::new();
    let xt = tape.var(x);
    let y = f(xt).unwrap();
    let loss = y.mul(tape.constant(w)).unwrap().sum();
    loss.backward().unwrap().get(xt).unwrap().clone()
}

/// The gradient of `loss = Σ exp(f(x))` for the leaf `x`: the rule receives `e^y`.
fn grad_exp(x: Array<f64>, f: impl for<'t> Fn(Tensor<'t, f64>) -> Tensor<'t, f64>) -> Array<f64> {
    let tape = Tape::new();
    let xt = tape.var(x);
    let loss = f(xt).exp().sum();
    loss.backward().unwrap().get(xt).unwrap().clone()
}

/// The gradients of `loss = Σ f(a, b) · w` for the leaves `a` and `b`.
fn grad2_weighted(
    a: Array<f64>,
    b: Array<f64>,
    w: Array<f64>,
    f: impl for<'t> Fn(Tensor<'t, f64>, Tensor<'t, f64>) -> Result<Tensor<'t, f64>>,
) -> (Array<f64>, Array<f64>) {
    let tape = Tape::new();
    let (at, bt) = (tape.var(a), tape.var(b));
    let y = f(at, bt).unwrap();
    let g = y.mul(tape.constant(w)).unwrap().sum().backward().unwrap();
    (g.get(at).unwrap().clone(), g.get(bt).unwrap().clone())
}

fn map(v: &[f64], f: impl Fn(f64) -> f64) -> Vec<f64> {
    v.iter().map(|&x| f(x)).collect()
}

/// `w_i · d(x_i)`: what a weighted elementwise rule should give, from its derivative `d`.
fn weighted_derivative(x: &[f64], w: &[f64], d: impl Fn(f64) -> f64) -> Vec<f64> {
    x.iter().zip(w).map(|(&x, &w)| w * d(x)).collect()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

// ---- broadcasting binary ops: a [2, 1] with b [3] gives [2, 3] ----

fn column() -> Array<f64> {
    arr(&[1.0, 2.0], &[2, 1])
}

fn row() -> Array<f64> {
    arr(&[10.0, 20.0, 30.0], &[3])
}

fn upstream_2x3() -> Array<f64> {
    arr(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])
}

/// Checks the gradients of `loss = Σ f(a, b) · w` for `a = column()`, `b = row()` and
/// `w = upstream_2x3()` against `da` and `db`.
#[track_caller]
fn broadcast_rule(
    f: impl for<'t> Fn(Tensor<'t, f64>, Tensor<'t, f64>) -> Result<Tensor<'t, f64>>,
    da: &[f64],
    db: &[f64],
) {
    let (got_a, got_b) = grad2_weighted(column(), row(), upstream_2x3(), f);
    assert_close(&got_a, da);
    assert_close(&got_b, db);
}

#[test]
fn add() {
    // d(a+b)/da = 1, d(a+b)/db = 1, summed over the axes each side was stretched along:
    // da_i = Σ_j w_ij = [1+2+3, 4+5+6], db_j = Σ_i w_ij = [1+4, 2+5, 3+6]
    broadcast_rule(|a, b| a.add(b), &[6.0, 15.0], &[5.0, 7.0, 9.0]);
}

#[test]
fn sub() {
    // d(a-b)/da = 1, d(a-b)/db = -1
    broadcast_rule(|a, b| a.sub(b), &[6.0, 15.0], &[-5.0, -7.0, -9.0]);
}

#[test]
fn mul() {
    // d(ab)/da = b, d(ab)/db = a:
    // da_i = Σ_j w_ij b_j = [1·10 + 2·20 + 3·30, 4·10 + 5·20 + 6·30] = [140, 320]
    // db_j = Σ_i w_ij a_i = [1·1 + 4·2, 2·1 + 5·2, 3·1 + 6·2] = [9, 12, 15]
    broadcast_rule(|a, b| a.mul(b), &[140.0, 320.0], &[9.0, 12.0, 15.0]);
}

#[test]
fn div() {
    // d(a/b)/da = 1/b, d(a/b)/db = -a/b², b a rank-0 divisor of a [2]:
    // da = w/2 = [0.5, 1], db = -(1·3 + 2·(-4))/2² = 1.25
    let (da, db) = grad2_weighted(
        arr(&[3.0, -4.0], &[2]),
        Array::scalar(2.0),
        arr(&[1.0, 2.0], &[2]),
        |a, b| a.div(b),
    );
    assert_close(&da, &[0.5, 1.0]);
    assert_eq!(db.rank(), 0);
    assert_close(&db, &[1.25]);
}

// ---- ops with a scalar ----

#[test]
fn add_scalar() {
    // d(x+c)/dx = 1, so the gradient is what arrives: e^(x+3)
    let x = [1.0, -2.0];
    let g = grad_exp(arr(&x, &[2]), |t| t.add_scalar(3.0));
    assert_close(&g, &map(&x, |x| (x + 3.0).exp()));
}

#[test]
fn mul_scalar() {
    // d(cx)/dx = c: c·e^(cx)
    let x = [1.0, -2.0];
    let g = grad_exp(arr(&x, &[2]), |t| t.mul_scalar(-0.5));
    assert_close(&g, &map(&x, |x| -0.5 * (-0.5 * x).exp()));
}

#[test]
fn powf() {
    // d(x^p)/dx = p·x^(p-1): at p = 3, x = [2, -1]: 3·[4, 1]·w
    let g = grad_weighted(arr(&[2.0, -1.0], &[2]), arr(&[0.5, 2.0], &[2]), |t| {
        Ok(t.powf(3.0))
    });
    assert_close(&g, &[6.0, 6.0]);
    // p = 0.5 is sqrt: 0.5·x^(-0.5) at x = 4 is 0.25
    let g = grad_weighted(arr(&[4.0], &[1]), arr(&[2.0], &[1]), |t| Ok(t.powf(0.5)));
    assert_close(&g, &[0.5]);
}

#[test]
fn powf_zero_exponent_at_zero() {
    // x^0 = 1 everywhere, so d(x^0)/dx = 0 everywhere, x = 0 included (as PyTorch, which
    // special-cases p = 0), where p·x^(p-1) would be 0·inf = NaN
    let g = grad_weighted(
        arr(&[0.0, 2.0, -3.0], &[3]),
        arr(&[1.0, 1.0, 1.0], &[3]),
        |t| Ok(t.powf(0.0)),
    );
    assert_close(&g, &[0.0, 0.0, 0.0]);
    // p = 1 at 0: 1·0^0 = 1; p = 2 at 0: 2·0 = 0
    let g = grad_weighted(arr(&[0.0], &[1]), arr(&[3.0], &[1]), |t| Ok(t.powf(1.0)));
    assert_close(&g, &[3.0]);
    let g = grad_weighted(arr(&[0.0], &[1]), arr(&[3.0], &[1]), |t| Ok(t.powf(2.0)));
    assert_close(&g, &[0.0]);
}

// ---- elementwise functions ----

#[test]
fn neg() {
    // d(-x)/dx = -1: -e^(-x)
    let x = [0.5, -1.0];
    let g = grad_exp(arr(&x, &[2]), |t| t.neg());
    assert_close(&g, &map(&x, |x| -(-x).exp()));
}

#[test]
fn exp() {
    // d(e^x)/dx = e^x = y: at x = [0, 1] with w = [3, -2]: [3, -2e]
    let g = grad_weighted(arr(&[0.0, 1.0], &[2]), arr(&[3.0, -2.0], &[2]), |t| {
        Ok(t.exp())
    });
    assert_close(&g, &[3.0, -2.0 * std::f64::consts::E]);
}

#[test]
fn log() {
    // d(ln x)/dx = 1/x: at x = [0.5, 2] with w = [3, -2]: [6, -1]
    let g = grad_weighted(arr(&[0.5, 2.0], &[2]), arr(&[3.0, -2.0], &[2]), |t| {
        Ok(t.log())
    });
    assert_close(&g, &[6.0, -1.0]);
}

#[test]
fn sqrt() {
    // d(√x)/dx = 1/(2√x): at x = [4, 9] with w = [4, 6]: [4/4, 6/6]
    let g = grad_weighted(arr(&[4.0, 9.0], &[2]), arr(&[4.0, 6.0], &[2]), |t| {
        Ok(t.sqrt())
    });
    assert_close(&g, &[1.0, 1.0]);
}

#[test]
fn square() {
    // d(x²)/dx = 2x: at x = [3, -1.5] with w = [0.5, 2]: [3, -6]
    let g = grad_weighted(arr(&[3.0, -1.5], &[2]), arr(&[0.5, 2.0], &[2]), |t| {
        Ok(t.square())
    });
    assert_close(&g, &[3.0, -6.0]);
}

#[test]
fn abs() {
    // d|x|/dx = sign(x), and 0 at exactly 0 (as PyTorch): [-w0, 0, w2]
    let g = grad_weighted(
        arr(&[-2.0, 0.0, 3.0], &[3]),
        arr(&[5.0, 7.0, 11.0], &[3]),
        |t| Ok(t.abs()),
    );
    assert_close(&g, &[-5.0, 0.0, 11.0]);
}

#[test]
fn relu() {
    // d relu(x)/dx = 1 if x > 0 else 0 (0 at exactly 0, as PyTorch); chained with .exp() so
    // the incoming gradient is e^relu(x), not all ones: [0, 0, e²]
    let g = grad_exp(arr(&[-1.0, 0.0, 2.0], &[3]), |t| t.relu());
    assert_close(&g, &[0.0, 0.0, 2f64.exp()]);
}

#[test]
fn leaky_relu() {
    // d leaky(x)/dx = 1 if x > 0 else slope (slope at exactly 0, as PyTorch):
    // with e^y arriving: [0.1·e^(-0.1), 0.1·e^0, e²]
    let g = grad_exp(arr(&[-1.0, 0.0, 2.0], &[3]), |t| t.leaky_relu(0.1));
    assert_close(&g, &[0.1 * (-0.1f64).exp(), 0.1, 2f64.exp()]);
}

#[test]
fn sigmoid_rule() {
    // d σ(x)/dx = σ(x)(1 - σ(x)) = y(1 - y); σ(0) = 1/2, so 1/4 there
    let x = [0.0, 1.5, -2.0];
    let w = [4.0, -1.0, 2.0];
    let g = grad_weighted(arr(&x, &[3]), arr(&w, &[3]), |t| Ok(t.sigmoid()));
    let want = weighted_derivative(&x, &w, |x| sigmoid(x) * (1.0 - sigmoid(x)));
    assert_eq!(want[0], 1.0);
    assert_close(&g, &want);
}

#[test]
fn tanh() {
    // d/dx tanh = 1 - y²
    let x = [0.0, 0.7, -1.3];
    let w = [2.0, -1.0, 0.5];
    let g = grad_weighted(arr(&x, &[3]), arr(&w, &[3]), |t| Ok(t.tanh()));
    let want = weighted_derivative(&x, &w, |x| 1.0 - x.tanh() * x.tanh());
    assert_close(&g, &want);
}

// ---- matmul ----

#[test]
fn matmul_2d() {
    // d(AB)/dA = W·Bᵀ, d(AB)/dB = Aᵀ·W, with W the incoming gradient:
    // A = [[1, 2, 3], [4, 5, 6]], B = [[1, 0], [0, 1], [1, 1]], W = [[1, 2], [3, 4]]
    // W·Bᵀ = [[1, 2, 3], [3, 4, 7]], Aᵀ·W = [[13, 18], [17, 24], [21, 30]]
    let (da, db) = grad2_weighted(
        arr(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]),
        arr(&[1.0, 0.0, 0.0, 1.0, 1.0, 1.0], &[3, 2]),
        arr(&[1.0, 2.0, 3.0, 4.0], &[2, 2]),
        |a, b| a.matmul(b),
    );
    assert_close(&da, &[1.0, 2.0, 3.0, 3.0, 4.0, 7.0]);
    assert_close(&db, &[13.0, 18.0, 17.0, 24.0, 21.0, 30.0]);
}

#[test]
fn matmul_batched_by_shared_matrix() {
    // [2, 1, 2] x [2, 1] -> [2, 1, 1]: per batch dA_b = W_b·Bᵀ, and the shared B sums over
    // the batch: dB = Σ_b A_bᵀ·W_b. A = [[[1, 2]], [[3, 4]]], B = [[5], [6]], W = [[[2]], [[-1]]]
    // dA = [[[10, 12]], [[-5, -6]]], dB = 2·[1, 2] - 1·[3, 4] = [-1, 0]
    let (da, db) = grad2_weighted(
        arr(&[1.0, 2.0, 3.0, 4.0], &[2, 1, 2]),
        arr(&[5.0, 6.0], &[2, 1]),
        arr(&[2.0, -1.0], &[2, 1, 1]),
        |a, b| a.matmul(b),
    );
    assert_close(&da, &[10.0, 12.0, -5.0, -6.0]);
    assert_close(&db, &[-1.0, 0.0]);
}

#[test]
fn matmul_shared_matrix_by_batched() {
    // [1, 2] x [2, 2, 1] -> [2, 1, 1]: dA = Σ_b W_b·B_bᵀ, dB_b = Aᵀ·W_b.
    // A = [[1, 2]], B = [[[3], [4]], [[5], [6]]], W = [[[2]], [[-1]]]
    // dA = 2·[3, 4] - [5, 6] = [1, 2], dB = [[[2], [4]], [[-1], [-2]]]
    let (da, db) = grad2_weighted(
        arr(&[1.0, 2.0], &[1, 2]),
        arr(&[3.0, 4.0, 5.0, 6.0], &[2, 2, 1]),
        arr(&[2.0, -1.0], &[2, 1, 1]),
        |a, b| a.matmul(b),
    );
    assert_close(&da, &[1.0, 2.0]);
    assert_close(&db, &[2.0, 4.0, -1.0, -2.0]);
}

#[test]
fn matmul_batched() {
    // [2, 1, 1] x [2, 1, 2]: each batch on its own. dA_b = W_b·B_bᵀ, dB_b = A_bᵀ·W_b.
    // A = [[[2]], [[3]]], B = [[[1, -1]], [[4, 5]]], W = [[[1, 2]], [[3, 4]]]
    // dA = [[[1 - 2]], [[12 + 20]]] = [-1, 32], dB = [[[2, 4]], [[9, 12]]]
    let (da, db) = grad2_weighted(
        arr(&[2.0, 3.0], &[2, 1, 1]),
        arr(&[1.0, -1.0, 4.0, 5.0], &[2, 1, 2]),
        arr(&[1.0, 2.0, 3.0, 4.0], &[2, 1, 2]),
        |a, b| a.matmul(b),
    );
    assert_close(&da, &[-1.0, 32.0]);
    assert_close(&db, &[2.0, 4.0, 9.0, 12.0]);
}

// ---- reductions ----

#[test]
fn sum() {
    // d(Σx)/dx_i = 1: every element receives the incoming gradient e^(Σx)
    let g = grad_exp(arr(&[0.5, -0.25, 1.0], &[3]), |t| t.sum());
    assert_close(&g, &[1.25f64.exp(); 3]);
    // over axis 1 of [2, 3]: row i receives w_i
    let g = grad_weighted(upstream_2x3(), arr(&[1.0, 10.0], &[2]), |t| {
        t.sum_axis(1, false)
    });
    assert_close(&g, &[1.0, 1.0, 1.0, 10.0, 10.0, 10.0]);
}

#[test]
fn mean() {
    // d(mean x)/dx_i = 1/N: over axis 0 of [2, 3] (keepdim, [1, 3]) each column gets w_j/2
    let g = grad_weighted(upstream_2x3(), arr(&[1.0, 2.0, 3.0], &[1, 3]), |t| {
        t.mean_axis(0, true)
    });
    assert_close(&g, &[0.5, 1.0, 1.5, 0.5, 1.0, 1.5]);
    // over all 4 elements: e^mean / 4 each
    let g = grad_exp(arr(&[1.0, 2.0, 3.0, 6.0], &[2, 2]), |t| t.mean());
    assert_close(&g, &[3f64.exp() / 4.0; 4]);
}

#[test]
fn max() {
    // d(max x)/dx_i = 1 at the arg-max, 0 elsewhere; tied maxima split it evenly (1/k each,
    // as PyTorch's amax): rows [1, 5, 3] and [4, 4, 2] over axis 1, w = [10, 6]
    let g = grad_weighted(
        arr(&[1.0, 5.0, 3.0, 4.0, 4.0, 2.0], &[2, 3]),
        arr(&[10.0, 6.0], &[2]),
        |t| t.max_axis(1, false),
    );
    assert_close(&g, &[0.0, 10.0, 0.0, 3.0, 3.0, 0.0]);
    // over all elements with a three-way tie: e^max / 3 each
    let g = grad_exp(arr(&[2.0, -1.0, 2.0, 2.0], &[4]), |t| t.max().unwrap());
    assert_close(
        &g,
        &[2f64.exp() / 3.0, 0.0, 2f64.exp() / 3.0, 2f64.exp() / 3.0],
    );
}

// ---- layout ----

#[test]
fn reshape() {
    // reshape moves no data: the gradient is the incoming one, in the input's shape
    let w = [1.0, -2.0, 3.0, -4.0, 5.0, -6.0];
    let g = grad_weighted(upstream_2x3(), arr(&w, &[3, 2]), |t| t.reshape([3, 2]));
    assert_eq!(g.dims(), &[2, 3]);
    assert_close(&g, &w);
}

#[test]
fn permute() {
    // out[i, j, k] = x[j, k, i] for perm [2, 0, 1]; the gradient is permuted back:
    // dx[j, k, i] = w[i, j, k]
    let x = Array::<f64>::arange(6).reshape([1, 2, 3]).unwrap();
    let w = Array::<f64>::from_fn([3, 1, 2], |i| (i * i) as f64 + 1.0);
    let g = grad_weighted(x, w.clone(), |t| t.permute(&[2, 0, 1]));
    assert_eq!(g.dims(), &[1, 2, 3]);
    let mut want = vec![0.0; 6];
    for k in 0..2 {
        for i in 0..3 {
            want[k * 3 + i] = w.get(&[i, 0, k]).unwrap();
        }
    }
    assert_close(&g, &want);
    // t() of [2, 3]: dx = wᵀ
    let g = grad_weighted(
        upstream_2x3(),
        arr(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]),
        |t| t.t(),
    );
    assert_close(&g, &[1.0, 3.0, 5.0, 2.0, 4.0, 6.0]);
}

#[test]
fn broadcast_to() {
    // broadcast_to sums the gradient over the stretched axes: [3, 1] -> [2, 3, 4],
    // dx_i = Σ_{a, j} w[a, i, j]
    let w = Array::<f64>::arange(24).reshape([2, 3, 4]).unwrap();
    let g = grad_weighted(arr(&[1.0, 2.0, 3.0], &[3, 1]), w.clone(), |t| {
        t.broadcast_to([2, 3, 4])
    });
    assert_eq!(g.dims(), &[3, 1]);
    let want: Vec<f64> = (0..3)
        .map(|i| {
            (0..2)
                .flat_map(|a| (0..4).map(move |j| (a, j)))
                .map(|(a, j)| w.get(&[a, i, j]).unwrap())
                .sum()
        })
        .collect();
    assert_close(&g, &want);
}

#[test]
fn concat() {
    // each input gets its slice of the gradient; a appears twice, so its slices add:
    // concat([a, b, a], 1) of a [1, 2], b [1, 1] with w = [1, 2, 3, 4, 5]:
    // da = [1 + 4, 2 + 5], db = [3]
    let (da, db) = grad2_weighted(
        arr(&[0.1, 0.2], &[1, 2]),
        arr(&[0.3], &[1, 1]),
        arr(&[1.0, 2.0, 3.0, 4.0, 5.0], &[1, 5]),
        |a, b| Tensor::concat(&[a, b, a], 1),
    );
    assert_close(&da, &[5.0, 7.0]);
    assert_close(&db, &[3.0]);
}

#[test]
fn index_select() {
    // rows picked twice add their gradients; rows never picked get 0:
    // indices [2, 0, 2] of x [3, 2], w = [[1, 2], [3, 4], [5, 6]]:
    // dx = [[3, 4], [0, 0], [1 + 5, 2 + 6]]
    let g = grad_weighted(
        Array::zeros([3, 2]),
        arr(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[3, 2]),
        |t| t.index_select(&[2, 0, 2]),
    );
    assert_close(&g, &[3.0, 4.0, 0.0, 0.0, 6.0, 8.0]);
}

// ---- softmax family ----

fn softmax(x: &[f64]) -> Vec<f64> {
    let s: f64 = x.iter().map(|v| v.exp()).sum();
    map(x, |v| v.exp() / s)
}

#[test]
fn softmax_rule() {
    // d softmax: dx = y ⊙ (w - Σ_j w_j y_j)
    let x = [0.5, -1.0, 2.0];
    let w = [1.0, -2.0, 0.5];
    let g = grad_weighted(arr(&x, &[3]), arr(&w, &[3]), |t| t.softmax(0));
    let y = softmax(&x);
    let dot: f64 = y.iter().zip(&w).map(|(a, b)| a * b).sum();
    let want: Vec<f64> = y.iter().zip(&w).map(|(y, w)| y * (w - dot)).collect();
    assert_close(&g, &want);
}

#[test]
fn log_softmax_rule() {
    // d log_softmax: dx = w - softmax(x) · Σ_j w_j; along axis 0 of [3, 1]
    let x = [0.5, -1.0, 2.0];
    let w = [1.0, -2.0, 0.5];
    let g = grad_weighted(arr(&x, &[3, 1]), arr(&w, &[3, 1]), |t| t.log_softmax(0));
    let sum_w: f64 = w.iter().sum();
    let want: Vec<f64> = softmax(&x)
        .iter()
        .zip(&w)
        .map(|(s, w)| w - s * sum_w)
        .collect();
    assert_close(&g, &want);
}

// ---- losses (rank-0 outputs, scaled by c so the incoming gradient is not 1) ----

#[test]
fn mse() {
    // d mean((p-t)²)/dp = 2(p - t)/N, d/dt = -2(p - t)/N; with c = 3, N = 4
    let p = [1.0, 2.0, -1.0, 0.5];
    let t = [0.0, 2.5, 1.0, 0.5];
    let tape = Tape::new();
    let (pt, tt) = (tape.var(arr(&p, &[2, 2])), tape.var(arr(&t, &[2, 2])));
    let g = pt.mse(tt).unwrap().mul_scalar(3.0).backward().unwrap();
    let dp: Vec<f64> = p
        .iter()
        .zip(&t)
        .map(|(p, t)| 3.0 * 2.0 * (p - t) / 4.0)
        .collect();
    assert_close(g.get(pt).unwrap(), &dp);
    assert_close(g.get(tt).unwrap(), &map(&dp, |v| -v));
}

#[test]
fn bce_with_logits() {
    // loss_i = max(x, 0) - x·t + ln(1 + e^-|x|), mean over N = 3:
    // d/dx = (σ(x) - t)/N, d/dt = -x/N; with c = -2
    let x = [0.5, -1.5, 3.0];
    let t = [1.0, 0.0, 0.25];
    let tape = Tape::new();
    let (xt, tt) = (tape.var(arr(&x, &[3])), tape.var(arr(&t, &[3])));
    let g = xt
        .bce_with_logits(tt)
        .unwrap()
        .mul_scalar(-2.0)
        .backward()
        .unwrap();
    let dx: Vec<f64> = x
        .iter()
        .zip(&t)
        .map(|(&x, &t)| -2.0 * (sigmoid(x) - t) / 3.0)
        .collect();
    assert_close(g.get(xt).unwrap(), &dx);
    assert_close(g.get(tt).unwrap(), &map(&x, |x| -2.0 * -x / 3.0));
}

#[test]
fn cross_entropy_with_logits() {
    // loss = mean_rows(logsumexp(row) - row[target]):
    // d/d logits = (softmax(row) - onehot(target))/N; with c = 0.5, N = 2
    let rows = [[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0]];
    let targets = [2, 0];
    let tape = Tape::new();
    let x = tape.var(arr(&rows.concat(), &[2, 3]));
    let g = x
        .cross_entropy_with_logits(&targets)
        .unwrap()
        .mul_scalar(0.5)
        .backward()
        .unwrap();
    let mut want = Vec::new();
    for (row, &t) in rows.iter().zip(&targets) {
        for (j, s) in softmax(row).into_iter().enumerate() {
            let onehot = if j == t { 1.0 } else { 0.0 };
            want.push(0.5 * (s - onehot) / 2.0);
        }
    }
    assert_close(g.get(x).unwrap(), &want);
}

// ---- linear: z = x·w + b, y = act(z) ----

/// The expected gradients of `Σ act(x·w + b) · u`, by the chain rule written out:
/// dz = u ⊙ act'(z), dx = dz·wᵀ, dw = xᵀ·dz, db = Σ_rows dz.
fn linear_expected(
    x: &[f64],
    w: &[f64],
    b: &[f64],
    u: &[f64],
    (n, i, o): (usize, usize, usize),
    act: Activation,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut dz = vec![0.0; n * o];
    for r in 0..n {
        for c in 0..o {
            let z = b[c] + (0..i).map(|k| x[r * i + k] * w[k * o + c]).sum::<f64>();
            let d = match act {
                Activation::Identity => 1.0,                            // d z/dz = 1
                Activation::Relu => f64::from(u8::from(z > 0.0)),       // 1 if z > 0
                Activation::Sigmoid => sigmoid(z) * (1.0 - sigmoid(z)), // y(1 - y)
                Activation::Tanh => 1.0 - z.tanh() * z.tanh(),          // 1 - y²
                Activation::LeakyRelu(s) => {
                    if z > 0.0 {
                        1.0
                    } else {
                        s
                    }
                } // 1 or the slope
                a => unreachable!("{a}: not in this test's list (composite.rs covers it)"),
            };
            dz[r * o + c] = u[r * o + c] * d;
        }
    }
    let mut dx = vec![0.0; n * i];
    let mut dw = vec![0.0; i * o];
    let mut db = vec![0.0; o];
    for r in 0..n {
        for c in 0..o {
            db[c] += dz[r * o + c];
            for k in 0..i {
                dx[r * i + k] += dz[r * o + c] * w[k * o + c];
                dw[k * o + c] += x[r * i + k] * dz[r * o + c];
            }
        }
    }
    (dx, dw, db)
}

#[test]
fn linear_each_activation_with_and_without_bias() {
    let (n, i, o) = (2, 3, 2);
    let x = [0.5, -1.0, 2.0, 1.5, 0.25, -0.75];
    let w = [0.2, -0.4, 1.0, 0.3, -0.5, 0.6];
    let b = [0.1, -0.3];
    let u = [1.0, -2.0, 0.5, 3.0];
    for act in [
        Activation::Identity,
        Activation::Relu,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::LeakyRelu(0.1), // not fused: linear, then its own node
    ] {
        for bias in [true, false] {
            let tape = Tape::new();
            let xt = tape.var(arr(&x, &[n, i]));
            let wt = tape.var(arr(&w, &[i, o]));
            let bt = bias.then(|| tape.var(arr(&b, &[o])));
            let y = xt.linear(wt, bt, act).unwrap();
            let g = y
                .mul(tape.constant(arr(&u, &[n, o])))
                .unwrap()
                .sum()
                .backward()
                .unwrap();
            let b_used = if bias { b } else { [0.0; 2] };
            let (dx, dw, db) = linear_expected(&x, &w, &b_used, &u, (n, i, o), act);
            assert_close(g.get(xt).unwrap(), &dx);
            assert_close(g.get(wt).unwrap(), &dw);
            if let Some(bt) = bt {
                assert_close(g.get(bt).unwrap(), &db);
            }
        }
    }
}

#[test]
fn linear_relu_by_hand() {
    // x = [[1, 2]], w = [[1, -1], [1, -1]], b = [0.5, 0.5]: z = [3.5, -2.5], y = [3.5, 0];
    // with .exp() chained the incoming gradient is [e^3.5, e^0]; relu passes only the first:
    // dz = [e^3.5, 0], dx = dz·wᵀ = [e^3.5, e^3.5], dw = xᵀ·dz = [[e^3.5, 0], [2e^3.5, 0]],
    // db = [e^3.5, 0]
    let tape = Tape::new();
    let x = tape.var(arr(&[1.0, 2.0], &[1, 2]));
    let w = tape.var(arr(&[1.0, -1.0, 1.0, -1.0], &[2, 2]));
    let b = tape.var(arr(&[0.5, 0.5], &[2]));
    let y = x.linear(w, Some(b), Activation::Relu).unwrap();
    let g = y.exp().sum().backward().unwrap();
    let e = 3.5f64.exp();
    assert_close(g.get(x).unwrap(), &[e, e]);
    assert_close(g.get(w).unwrap(), &[e, 0.0, 2.0 * e, 0.0]);
    assert_close(g.get(b).unwrap(), &[e, 0.0]);
}
