//! The tape's fixed cost: a chain of 1,000 tiny ops on `[4]` tensors, where the arithmetic is
//! negligible and what is left is recording a node (and, backward, replaying it).
//!
//! Run with `cargo bench --bench tape`. The throughput is set to 1,000 elements per
//! iteration, so criterion's "elem/s" is recorded ops per second; its inverse is the time per
//! op.

use criterion::{Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;
use tapegrad::{Array, Param, Tape, Tensor};

const OPS: usize = 1000;

/// 1,000 ops: a repeating `add, mul, tanh, mul_scalar` on `[4]` tensors.
fn chain<'t>(tape: &'t Tape<f32>, x: &Param<f32>, c: &Param<f32>) -> Tensor<'t, f32> {
    let c = tape.param(c);
    let mut y = tape.param(x);
    for i in 0..OPS {
        y = match i % 4 {
            0 => y.add(c).expect("same shape"),
            1 => y.mul(c).expect("same shape"),
            2 => y.tanh(),
            _ => y.mul_scalar(1.5),
        };
    }
    y
}

fn tape_overhead(crit: &mut Criterion) {
    let x = Param::new(Array::from_vec(vec![0.1f32, -0.2, 0.3, 0.4], [4]).expect("4 values"));
    let c = Param::new(Array::from_vec(vec![0.5f32, 0.25, -0.5, 1.0], [4]).expect("4 values"));
    let mut g = crit.benchmark_group("tape_chain_1000_ops_4_elems");
    g.throughput(Throughput::Elements(OPS as u64));
    let mut tape = Tape::<f32>::new();
    g.bench_function("forward", |b| {
        b.iter(|| {
            tape.reset();
            // the first element of the [4] result (item() needs a one-element tensor)
            let first = chain(&tape, black_box(&x), black_box(&c)).value().data()[0];
            black_box(first)
        })
    });
    g.bench_function("forward_backward", |b| {
        b.iter(|| {
            tape.reset();
            let grads = chain(&tape, black_box(&x), black_box(&c))
                .sum()
                .backward()
                .expect("a scalar");
            black_box(grads.param(&x).map(|g| g.data()[0]))
        })
    });
    g.bench_function("forward_fresh_tape", |b| {
        b.iter(|| {
            let tape = Tape::<f32>::new();
            // the first element of the [4] result (item() needs a one-element tensor)
            let first = chain(&tape, black_box(&x), black_box(&c)).value().data()[0];
            black_box(first)
        })
    });
    g.finish();
}

fn main() {
    // What `criterion_group!`/`criterion_main!` expand to, without their undocumented `pub fn`.
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    tape_overhead(&mut c);
    c.final_summary();
}
