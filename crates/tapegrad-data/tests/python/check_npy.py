"""Cross-checks tapegrad's .npy and .npz files with NumPy itself.

Run by tests/python_npy.rs when python3 has numpy.

    check_npy.py write DIR   NumPy writes the arrays below to DIR (np.save, np.savez,
                             np.savez_compressed) for tapegrad to read
    check_npy.py check DIR   NumPy reads the files tapegrad wrote to DIR (ours-*.npy,
                             ours-*.npz) and compares them with the same arrays

The arrays are exact in binary, so every comparison is exact.
"""

import sys

import numpy as np


def arrays():
    x32 = np.arange(12, dtype=np.float32).reshape(3, 4) / 8 - 0.5
    x64 = np.array([[1 / 3, -2.5e-300], [1e300, 0.0]], dtype=np.float64)
    y = np.array([0, 9, 3, 3, 1], dtype=np.int64)
    return x32, x64, y


def write(d):
    x32, x64, y = arrays()
    np.save(f"{d}/x32.npy", x32)
    np.save(f"{d}/x64.npy", x64)
    np.save(f"{d}/x64be.npy", x64.astype(">f8"))
    np.save(f"{d}/y64.npy", y)
    np.save(f"{d}/y8.npy", y.astype(np.uint8))
    np.save(f"{d}/y32.npy", y.astype(np.int32))
    np.save(f"{d}/fortran.npy", np.asfortranarray(x32))
    images = np.arange(5 * 2 * 3, dtype=np.uint8).reshape(5, 2, 3)
    np.savez(f"{d}/stored.npz", x=x32[:, :3].copy(), y=y[:3].astype(np.uint8))
    np.savez_compressed(f"{d}/compressed.npz", x_train=images, y_train=y)
    print("ok: numpy wrote 7 .npy files and 2 .npz archives")


def same(what, got, want):
    if got.dtype != want.dtype or got.shape != want.shape or not np.array_equal(got, want):
        sys.exit(f"{what}: got {got.dtype} {got.shape} {got}, expected {want.dtype} {want.shape} {want}")


def check(d):
    x32, x64, y = arrays()
    same("ours-x32.npy", np.load(f"{d}/ours-x32.npy"), x32)
    same("ours-x64.npy", np.load(f"{d}/ours-x64.npy"), x64)
    same("ours-y.npy", np.load(f"{d}/ours-y.npy"), y)
    for name in ["ours-stored.npz", "ours-compressed.npz"]:
        with np.load(f"{d}/{name}") as z:
            if sorted(z.files) != ["x", "y"]:
                sys.exit(f"{name}: arrays {z.files}")
            same(f"{name}[x]", z["x"], x32[:, :3].copy())
            same(f"{name}[y]", z["y"], y[:3])
    print("ok: numpy read tapegrad's 3 .npy files and 2 .npz archives")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        write(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "check":
        check(sys.argv[2])
    else:
        sys.exit(__doc__)
