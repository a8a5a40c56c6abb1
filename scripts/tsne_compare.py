#!/usr/bin/env python3
"""scikit-learn's t-SNE on the same codes as tapegrad's, judged by the same metric.

Not run in CI. Needs `pip install scikit-learn numpy`.

    python3 scripts/tsne_compare.py CODES.npy LABELS.npy [--n 5000] [--iterations 1000]
        [--init random|pca] [--seed 0] [--embedding TAPEGRAD_MAP.npy]

CODES.npy is `[m, d]` (the autoencoder's 4-number codes, written by tapegrad_data::npy),
LABELS.npy the `m` digit labels; the first `--n` rows are used. sklearn's `TSNE` runs with
perplexity 30, `--iterations` iterations in all (250 of them exaggerated by 12), learning rate
"auto" (max(n / 12 / 4, 50)) and its default Barnes-Hut gradient (angle 0.5).

The metric (`neighbour_accuracy` in tapegrad_nn::tsne, computed the same way here):
leave-one-out 5-NN accuracy of the labels inside the 2-D map. For every point, its 5 nearest
*other* points (Euclidean; equal distances rank by index) vote; a tied vote goes to the tied
label of the nearest neighbour; the accuracy is the fraction of points whose vote is their own
label. With `--embedding`, the same metric is also printed for tapegrad's map (a check that
both sides compute the same number: it must equal what tapegrad printed).
"""

import argparse
import time

import numpy as np
from sklearn.manifold import TSNE


def neighbour_accuracy(emb, labels, k=5):
    """Leave-one-out k-NN accuracy, as tapegrad_nn::tsne::neighbour_accuracy."""
    emb = np.asarray(emb, dtype=np.float64)
    n = emb.shape[0]
    classes = int(labels.max()) + 1
    correct = 0
    for i in range(n):
        d = ((emb - emb[i]) ** 2).sum(axis=1)
        d[i] = np.inf
        # stable sort: equal distances keep index order
        order = np.argsort(d, kind="stable")[:k]
        counts = np.bincount(labels[order], minlength=classes)
        top = counts.max()
        vote = next(labels[j] for j in order if counts[labels[j]] == top)
        correct += int(vote == labels[i])
    return correct / n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("codes")
    ap.add_argument("labels")
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--init", choices=["random", "pca"], default="random")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--embedding", help="tapegrad's map (.npy) to score the same way")
    args = ap.parse_args()

    x = np.load(args.codes)[: args.n].astype(np.float64)
    y = np.load(args.labels)[: args.n].astype(np.int64)
    print(f"codes {x.shape}, 5-NN (leave-one-out) in the codes: {neighbour_accuracy(x, y):.4f}")
    tsne = TSNE(
        n_components=2,
        perplexity=30.0,
        max_iter=args.iterations,
        init=args.init,
        learning_rate="auto",
        random_state=args.seed,
    )
    start = time.perf_counter()
    emb = tsne.fit_transform(x)
    secs = time.perf_counter() - start
    print(
        f"sklearn TSNE (init={args.init}, seed {args.seed}): {secs:.1f}s, "
        f"KL {tsne.kl_divergence_:.4f}, 2-D 5-NN (leave-one-out): {neighbour_accuracy(emb, y):.4f}"
    )
    if args.embedding:
        mine = np.load(args.embedding)
        print(f"tapegrad map {mine.shape}: 2-D 5-NN (leave-one-out): {neighbour_accuracy(mine, y):.4f}")


if __name__ == "__main__":
    main()
