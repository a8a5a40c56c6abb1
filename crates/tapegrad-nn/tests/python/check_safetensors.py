"""Cross-checks tapegrad's safetensors files with the reference Python readers and writer.

Run by tests/python_interop.rs when python3 has the `safetensors` and `numpy` packages
(`pip install safetensors numpy`); PyTorch is used too when it is installed.

    check_safetensors.py check FILE EXPECTED   read FILE as PyTorch users would and compare it
                                               with EXPECTED (one tensor per line:
                                               name<TAB>dtype<TAB>dims<TAB>values)
    check_safetensors.py write FILE            write a 2-4-1 MLP's tensors (F32) with the
                                               reference writer, for tapegrad to load
"""

import sys

import numpy as np
from safetensors.numpy import load_file, save_file

DTYPES = {"F32": np.float32, "F64": np.float64}


def read_expected(path):
    expected = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            name, dtype, dims, values = line.rstrip("\n").split("\t")
            shape = tuple(int(d) for d in dims.split(",")) if dims else ()
            data = [float(v) for v in values.split(" ")] if values else []
            expected[name] = np.array(data, dtype=DTYPES[dtype]).reshape(shape)
    return expected


def compare(what, got, expected):
    if set(got) != set(expected):
        sys.exit(f"{what}: names {sorted(got)} != expected {sorted(expected)}")
    for name, want in expected.items():
        have = got[name]
        if have.dtype != want.dtype:
            sys.exit(f"{what}: {name} has dtype {have.dtype}, expected {want.dtype}")
        if have.shape != want.shape:
            sys.exit(f"{what}: {name} has shape {have.shape}, expected {want.shape}")
        if not np.array_equal(have, want):
            sys.exit(f"{what}: {name} values differ: {have} vs {want}")


def check(path, expected_path):
    expected = read_expected(expected_path)
    compare("safetensors.numpy.load_file", load_file(path), expected)
    readers = 1
    try:
        import torch  # noqa: F401  (optional)
        from safetensors.torch import load_file as torch_load
    except (ImportError, OSError):  # not installed, or a broken install (missing libraries)
        torch_load = None
    if torch_load is not None:
        tensors = {k: v.numpy() for k, v in torch_load(path).items()}
        compare("safetensors.torch.load_file", tensors, expected)
        readers += 1
    print(f"ok: {len(expected)} tensors match ({readers} reader(s))")


def write(path):
    tensors = {
        "0.weight": (np.arange(8, dtype=np.float32).reshape(2, 4) / 8 - 0.5),
        "0.bias": np.array([0.1, -0.2, 0.3, -0.4], dtype=np.float32),
        "2.weight": np.array([[1.0], [-1.0], [0.5], [-0.5]], dtype=np.float32),
        "2.bias": np.array([0.25], dtype=np.float32),
    }
    save_file(tensors, path, metadata={"format": "pt"})
    print(f"ok: wrote {len(tensors)} tensors")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "check":
        check(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "write":
        write(sys.argv[2])
    else:
        sys.exit(__doc__)
