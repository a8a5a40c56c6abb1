"""Cross-checks tapegrad's PyTorch state dicts (save_torch / load_torch) with NumPy and the
reference safetensors reader and writer: no PyTorch needed.

Run by tests/python_state_dict.rs when python3 has the `safetensors` and `numpy` packages.

    check_state_dict.py check FILE EXPECTED   read FILE with safetensors.numpy and compare it
                                              with EXPECTED (one tensor per line:
                                              name<TAB>dtype<TAB>dims<TAB>values), exactly
    check_state_dict.py write FILE X Y        write the state dict of torch's
                                              nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2),
                                              nn.ReLU(), nn.Linear(2, 1)) with known values,
                                              in torch's layout; write to X a batch of inputs
                                              and to Y the model's output in evaluation mode
                                              (computed with NumPy as torch computes it), as
                                              text, one row per line
"""

import sys

import numpy as np
from safetensors.numpy import load_file, save_file

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64}


def read_expected(path):
    expected = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            name, dtype, dims, values = line.rstrip("\n").split("\t")
            shape = tuple(int(d) for d in dims.split(",")) if dims else ()
            data = [float(v) for v in values.split(" ")] if values else []
            expected[name] = np.array(data, dtype=DTYPES[dtype]).reshape(shape)
    return expected


def check(path, expected_path):
    expected = read_expected(expected_path)
    got = load_file(path)
    if set(got) != set(expected):
        sys.exit(f"names {sorted(got)} != expected {sorted(expected)}")
    for name, want in expected.items():
        have = got[name]
        if have.dtype != want.dtype:
            sys.exit(f"{name} has dtype {have.dtype}, expected {want.dtype}")
        if have.shape != want.shape:
            sys.exit(f"{name} has shape {have.shape}, expected {want.shape}")
        if not np.array_equal(have, want):
            sys.exit(f"{name} values differ: {have} vs {want}")
    print(f"ok: {len(expected)} tensors in torch's layout match")


def write(path, x_path, y_path):
    sd = {
        # nn.Linear(3, 2).weight is [out, in]
        "0.weight": np.array([[0.5, -1.0, 0.25], [1.5, 0.75, -0.5]], dtype=np.float32),
        "0.bias": np.array([0.1, -0.2], dtype=np.float32),
        "1.weight": np.array([1.25, 0.5], dtype=np.float32),
        "1.bias": np.array([-0.25, 0.125], dtype=np.float32),
        "1.running_mean": np.array([0.3, -0.6], dtype=np.float32),
        "1.running_var": np.array([2.0, 0.5], dtype=np.float32),
        "1.num_batches_tracked": np.array(7, dtype=np.int64),
        "3.weight": np.array([[2.0, -1.5]], dtype=np.float32),
        "3.bias": np.array([0.05], dtype=np.float32),
    }
    save_file(sd, path, metadata={"format": "pt"})
    x = (np.arange(12, dtype=np.float32).reshape(4, 3) / 4 - 1).astype(np.float32)
    h = x @ sd["0.weight"].T + sd["0.bias"]
    h = (h - sd["1.running_mean"]) / np.sqrt(sd["1.running_var"] + np.float32(1e-5))
    h = np.maximum(h * sd["1.weight"] + sd["1.bias"], 0)
    y = (h @ sd["3.weight"].T + sd["3.bias"]).astype(np.float32)
    for p, a in [(x_path, x), (y_path, y)]:
        with open(p, "w", encoding="utf-8") as f:
            for row in a:
                f.write(" ".join(repr(float(v)) for v in row) + "\n")
    print(f"ok: wrote {len(sd)} tensors in torch's layout")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
