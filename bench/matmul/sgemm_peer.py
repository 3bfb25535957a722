"""Time numpy's float32 matmul (OpenBLAS sgemm in Debian's python3-numpy).

Reads one JSON object per line on stdin, {"m":..,"n":..,"k":..,"op":"NT"}
with an optional "batch" (a stack of independent products, as numpy's
matmul runs them: one sgemm call per product), and prints the same object with "gflops" added: the best single call within
--min-time seconds, the rule that 'goushi bench matmul' uses. The thread
count comes from OPENBLAS_NUM_THREADS, set by the caller.
"""
import argparse
import json
import sys
import time

import numpy as np


def operands(batch, m, n, k, op, rng):
    """Return op(A) (batch, m, k) and op(B) (batch, k, n) as views that
    OpenBLAS reads with its transpose flags, without copies."""
    a = rng.random((batch,) + ((k, m) if op[0] == "T" else (m, k)), dtype=np.float32)
    b = rng.random((batch,) + ((n, k) if op[1] == "T" else (k, n)), dtype=np.float32)
    a = a.swapaxes(1, 2) if op[0] == "T" else a
    b = b.swapaxes(1, 2) if op[1] == "T" else b
    if batch == 1:
        return a[0], b[0]
    return a, b


def best_gflops(batch, m, n, k, op, min_time):
    rng = np.random.default_rng(1)
    a, b = operands(batch, m, n, k, op, rng)
    c = np.empty((batch, m, n) if batch > 1 else (m, n), dtype=np.float32)

    def call():
        t = time.perf_counter()
        np.matmul(a, b, out=c)
        return time.perf_counter() - t

    best = call()
    if best < min_time:
        best = float("inf")
        end = time.perf_counter() + min_time
        while time.perf_counter() < end:
            best = min(best, call())
    return 2.0 * batch * m * n * k / best / 1e9


def openblas_core():
    """Return the kernel set OpenBLAS chose at load time, such as
    "Cooperlake" (AVX-512) or "Haswell" (AVX2), and its version, from the
    BLAS library numpy loaded."""
    import ctypes

    with open("/proc/self/maps") as f:
        paths = sorted({l.split()[-1] for l in f if "openblas" in l.lower()})
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
            core, config = lib.openblas_get_corename, lib.openblas_get_config
        except (OSError, AttributeError):
            continue
        core.restype = config.restype = ctypes.c_char_p
        version = config().decode().split()[1]
        return "%s (OpenBLAS %s)" % (core().decode(), version)
    return "unknown (no OpenBLAS library loaded)"


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--min-time", type=float, default=0.3, help="seconds per shape")
    p.add_argument("--core", action="store_true",
                   help="print the OpenBLAS kernel set numpy uses and exit")
    args = p.parse_args()
    if args.core:
        print(openblas_core())
        return
    for line in sys.stdin:
        if not line.strip():
            continue
        s = json.loads(line)
        batch = max(s.get("batch", 0), 1)
        s["gflops"] = best_gflops(batch, s["m"], s["n"], s["k"], s["op"], args.min_time)
        print(json.dumps(s), flush=True)


if __name__ == "__main__":
    main()
