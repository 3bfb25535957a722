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


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--min-time", type=float, default=0.3, help="seconds per shape")
    args = p.parse_args()
    for line in sys.stdin:
        if not line.strip():
            continue
        s = json.loads(line)
        batch = max(s.get("batch", 0), 1)
        s["gflops"] = best_gflops(batch, s["m"], s["n"], s["k"], s["op"], args.min_time)
        print(json.dumps(s), flush=True)


if __name__ == "__main__":
    main()
