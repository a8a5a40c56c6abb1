"""PyTorch itself against tapegrad's state dicts, with the model code of docs/interop.md.

Run by tests/torch_interop.rs when python3 can import torch, safetensors and numpy.

    check_torch.py DOCS DIR    DOCS: docs/interop.md, whose first Python block after
                               "### The matching PyTorch models" is run to define mlp,
                               autoencoder and lenet. DIR holds spec.txt, one model per line:
                               name<TAB>Python expression building it<TAB>f32 or f64, and for
                               each model name.safetensors (tapegrad's save_torch), name-x.npy
                               (a batch) and name-y.npy (tapegrad's output in evaluation mode).

For each model: load_state_dict (strict) into the torch model, compare its output with
tapegrad's (max abs difference <= 1e-5); then a freshly seeded torch model, its batch norm
statistics moved by three training-mode passes, is written to name-torch.safetensors
(save_file(model.state_dict())) with its evaluation-mode output in name-torch-y.npy, for
tapegrad to load and compare.
"""

import sys

import numpy as np
import torch
from safetensors.torch import load_file, save_file

TOL = 1e-5


def doc_models(docs):
    text = open(docs, encoding="utf-8").read()
    section = text.index("### The matching PyTorch models")
    start = text.index("```python\n", section) + len("```python\n")
    end = text.index("\n```", start)
    namespace = {}
    exec(compile(text[start:end], docs, "exec"), namespace)
    return namespace


def main(docs, folder):
    namespace = doc_models(docs)
    with open(f"{folder}/spec.txt", encoding="utf-8") as f:
        specs = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    for name, expr, dtype in specs:
        def build():
            model = eval(expr, namespace)
            return model.double() if dtype == "f64" else model

        model = build()
        model.load_state_dict(load_file(f"{folder}/{name}.safetensors"))
        model.eval()
        x = torch.from_numpy(np.load(f"{folder}/{name}-x.npy"))
        want = np.load(f"{folder}/{name}-y.npy")
        with torch.no_grad():
            got = model(x).numpy()
        if got.shape != want.shape or got.dtype != want.dtype:
            sys.exit(f"{name}: torch gives {got.dtype} {got.shape}, tapegrad {want.dtype} {want.shape}")
        diff = float(np.max(np.abs(got.astype(np.float64) - want))) if got.size else 0.0
        if not diff <= TOL:
            sys.exit(f"{name}: max abs difference {diff:.3g} > {TOL}")
        print(f"ok: {name}: torch's output of tapegrad's weights, max abs difference {diff:.2g}")

        torch.manual_seed(7)
        fresh = build()
        fresh.train()
        with torch.no_grad():
            for _ in range(3):
                fresh(torch.rand_like(x))
        fresh.eval()
        save_file(fresh.state_dict(), f"{folder}/{name}-torch.safetensors")
        with torch.no_grad():
            np.save(f"{folder}/{name}-torch-y.npy", fresh(x).numpy())


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
