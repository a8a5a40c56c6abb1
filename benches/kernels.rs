//! Kernel micro-benchmarks through the public tensor API: matmul at the standard workloads'
//! shapes, the mlp workload's dense layers (forward and forward+backward), elementwise ops
//! with broadcasting, and softmax.
//!
//! Run with `cargo bench --bench kernels`; criterion prints the time per call and, where a
//! throughput is set, GFLOP/s-like element rates. Inputs are bound as parameters (shared, not
//! copied) or cloned outside the timed routine, so only the op itself is measured.

use criterion::{BatchSize, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;
use tapegrad::{Activation, Array, Param, Tape};

fn uniform(shape: &[usize], seed: u64) -> Array<f32> {
    Array::rand_uniform(shape, -1.0, 1.0, &mut tapegrad::rng(seed))
}

/// `[m, k] x [k, n]` recorded on a tape (the output is allocated per call, as in training).
fn matmul(c: &mut Criterion) {
    tapegrad::set_num_threads(2);
    let mut g = c.benchmark_group("matmul");
    for (m, k, n) in [(128, 784, 128), (1024, 1024, 1024), (128, 784, 256)] {
        let (a, b) = (
            Param::new(uniform(&[m, k], 1)),
            Param::new(uniform(&[k, n], 2)),
        );
        g.throughput(Throughput::Elements((2 * m * k * n) as u64));
        let mut tape = Tape::<f32>::new();
        g.bench_function(format!("{m}x{k}x{n}"), |bench| {
            bench.iter(|| {
                tape.reset();
                let c = tape
                    .param(black_box(&a))
                    .matmul(tape.param(black_box(&b)))
                    .expect("shapes agree");
                black_box(c.id())
            })
        });
    }
    g.finish();
}

/// The mlp workload's three dense layers at batch 128 (`x.linear(w, b, act)`): forward only,
/// and forward plus backward of `sum(layer(x))`. The first layer's input needs no gradient
/// (it is data); the hidden layers' inputs do.
fn dense_layers(c: &mut Criterion) {
    tapegrad::set_num_threads(2);
    let mut g = c.benchmark_group("mlp_layer");
    let layers = [
        (784, 128, Activation::Relu, true),
        (128, 64, Activation::Relu, false),
        (64, 10, Activation::Identity, false),
    ];
    for (i, o, act, first) in layers {
        let x = uniform(&[128, i], 3);
        let w = Param::new(uniform(&[i, o], 4));
        let b = Param::new(uniform(&[o], 5));
        g.throughput(Throughput::Elements((2 * 128 * i * o) as u64));
        let mut tape = Tape::<f32>::new();
        g.bench_function(format!("forward/{i}x{o}"), |bench| {
            bench.iter_batched(
                || x.clone(),
                |x| {
                    tape.reset();
                    let y = tape
                        .constant(black_box(x))
                        .linear(tape.param(&w), Some(tape.param(&b)), act)
                        .expect("shapes agree");
                    black_box(y.id())
                },
                BatchSize::SmallInput,
            )
        });
        g.bench_function(format!("forward_backward/{i}x{o}"), |bench| {
            bench.iter_batched(
                || x.clone(),
                |x| {
                    tape.reset();
                    let xt = if first {
                        tape.constant(black_box(x))
                    } else {
                        tape.var(black_box(x))
                    };
                    let y = xt
                        .linear(tape.param(&w), Some(tape.param(&b)), act)
                        .expect("shapes agree");
                    let grads = y.sum().backward().expect("a scalar");
                    black_box(grads.param(&w).map(|g| g.numel()))
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

/// Elementwise ops, reductions (sum, mse) and softmax at the shapes a classifier step uses: `[128, 10]` (logits) and
/// `[128, 784]` (a batch of images).
fn elementwise(c: &mut Criterion) {
    let mut g = c.benchmark_group("elementwise");
    for (rows, cols) in [(128, 10), (128, 784)] {
        let x = Param::new(uniform(&[rows, cols], 6));
        let bias = Param::new(uniform(&[cols], 7));
        let same = Param::new(uniform(&[rows, cols], 8));
        g.throughput(Throughput::Elements((rows * cols) as u64));
        let mut tape = Tape::<f32>::new();
        let shape = format!("{rows}x{cols}");
        g.bench_function(format!("add_broadcast_row/{shape}"), |bench| {
            bench.iter(|| {
                tape.reset();
                let y = tape
                    .param(black_box(&x))
                    .add(tape.param(black_box(&bias)))
                    .expect("broadcasts");
                black_box(y.id())
            })
        });
        g.bench_function(format!("add_same_shape/{shape}"), |bench| {
            bench.iter(|| {
                tape.reset();
                let y = tape
                    .param(black_box(&x))
                    .add(tape.param(black_box(&same)))
                    .expect("same shape");
                black_box(y.id())
            })
        });
        g.bench_function(format!("relu/{shape}"), |bench| {
            bench.iter(|| {
                tape.reset();
                black_box(tape.param(black_box(&x)).relu().id())
            })
        });
        g.bench_function(format!("sigmoid/{shape}"), |bench| {
            bench.iter(|| {
                tape.reset();
                black_box(tape.param(black_box(&x)).sigmoid().id())
            })
        });
        g.bench_function(format!("softmax/{shape}"), |bench| {
            bench.iter(|| {
                tape.reset();
                let y = tape.param(black_box(&x)).softmax(1).expect("axis 1");
                black_box(y.id())
            })
        });
        g.bench_function(format!("sum_all/{shape}"), |bench| {
            bench.iter(|| {
                tape.reset();
                black_box(tape.param(black_box(&x)).sum().item().unwrap())
            })
        });
        g.bench_function(format!("mse/{shape}"), |bench| {
            bench.iter(|| {
                tape.reset();
                let l = tape
                    .param(black_box(&x))
                    .mse(tape.param(black_box(&same)))
                    .expect("same shape");
                black_box(l.item().unwrap())
            })
        });
        g.bench_function(format!("relu_forward_backward/{shape}"), |bench| {
            bench.iter(|| {
                tape.reset();
                let grads = tape
                    .param(black_box(&x))
                    .relu()
                    .sum()
                    .backward()
                    .expect("a scalar");
                black_box(grads.param(&x).map(|g| g.numel()))
            })
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

fn main() {
    // What `criterion_group!`/`criterion_main!` expand to, without their undocumented `pub fn`.
    let mut c = config().configure_from_args();
    matmul(&mut c);
    dense_layers(&mut c);
    elementwise(&mut c);
    c.final_summary();
}
