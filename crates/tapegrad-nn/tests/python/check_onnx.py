"""Runs tapegrad's exported .onnx files in ONNX Runtime and compares the outputs with tapegrad's.

Run by tests/onnx_runtime.rs when python3 has the `onnxruntime` and `numpy` packages
(`pip install onnxruntime numpy`); the `onnx` package, when installed, checks each model too
(`onnx.checker.check_model` with full shape inference).

    check_onnx.py DIR    DIR/cases.txt lists the cases, one per line:
                         name<TAB>input dims<TAB>output dims<TAB>batch-independent (1 or 0)
                         with, for each, DIR/name.onnx, and the input and tapegrad's output
                         as raw little-endian float32 (DIR/name.input, DIR/name.expected)

A case passes when every output element is within 1e-5 + 1e-5·|expected| of tapegrad's (as
numpy.allclose(rtol=1e-5, atol=1e-5)). A batch-independent case is also run on its first row
alone, through the symbolic batch axis.
"""

import sys

import numpy as np
import onnxruntime as ort

RTOL = 1e-5
ATOL = 1e-5


def dims(text):
    return tuple(int(d) for d in text.split(",")) if text else ()


def raw(path, shape):
    return np.fromfile(path, dtype="<f4").reshape(shape)


def check_model(path):
    try:
        import onnx
    except ImportError:
        return "onnx not installed: checker skipped"
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    return "onnx.checker ok"


def compare(name, got, want):
    if got.shape != want.shape:
        sys.exit(f"{name}: ONNX Runtime gave shape {got.shape}, tapegrad {want.shape}")
    if not np.allclose(got, want, rtol=RTOL, atol=ATOL):
        err = np.abs(got - want)
        i = np.unravel_index(np.argmax(err - RTOL * np.abs(want)), err.shape)
        sys.exit(
            f"{name}: outputs differ: at {i} ONNX Runtime {got[i]!r}, tapegrad {want[i]!r} "
            f"(max abs error {err.max():.3g})"
        )
    return float(np.abs(got - want).max()) if got.size else 0.0


def main(folder):
    with open(f"{folder}/cases.txt", encoding="utf-8") as f:
        cases = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    for name, in_dims, out_dims, independent in cases:
        path = f"{folder}/{name}.onnx"
        checked = check_model(path)
        x = raw(f"{folder}/{name}.input", dims(in_dims))
        want = raw(f"{folder}/{name}.expected", dims(out_dims))
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        (inp,) = sess.get_inputs()
        (out,) = sess.get_outputs()
        if (inp.name, out.name) != ("input", "output"):
            sys.exit(f"{name}: input/output named {inp.name}/{out.name}")
        if inp.shape[0] != "batch" or out.shape[0] != "batch":
            sys.exit(f"{name}: batch axis not symbolic: {inp.shape} -> {out.shape}")
        if inp.type != "tensor(float)" or out.type != "tensor(float)":
            sys.exit(f"{name}: types {inp.type} -> {out.type}, expected float")
        err = compare(name, sess.run(None, {"input": x})[0], want)
        one = ""
        if independent == "1":
            compare(f"{name} (first row)", sess.run(None, {"input": x[:1]})[0], want[:1])
            one = ", first row alone too"
        print(f"{name}: {x.shape} -> {want.shape}, max abs error {err:.2e}{one}; {checked}")
    print(f"{len(cases)} models agree with ONNX Runtime {ort.__version__} (rtol {RTOL}, atol {ATOL})")


if __name__ == "__main__":
    main(sys.argv[1])
