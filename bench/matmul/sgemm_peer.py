"""Time numpy's float32 matmul (OpenBLAS sgemm in Debian's python3-numpy).

Reads one JSON object per line on stdin, {"m":..,"n":..,"k":..,"op":"NT"},
and prints the same object with "gflops" added: the best single call within
--min-time seconds, the rule that 'goushi bench matmul' uses. The thread
count comes from OPENBLAS_NUM_THREADS, set by the caller.
"""
import argparse
import json
import sys
import time

import numpy as np


def operands(m, n, k, op, rng):
    """Return op(A) (m, k) and op(B) (k, n) as views that OpenBLAS reads
    with its transpose flags, without copies."""
    a = rng.random((k, m) if op[0] == "T" else (m, k), dtype=np.float32)
    b = rng.random((n, k) if op[1] == "T" else (k, n), dtype=np.float32)
    return (a.T if op[0] == "T" else a), (b.T if op[1] == "T" else b)


def best_gflops(m, n, k, op, min_time):
    rng = np.random.default_rng(1)
    a, b = operands(m, n, k, op, rng)
    c = np.empty((m, n), dtype=np.float32)

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
    return 2.0 * m * n * k / best / 1e9


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--min-time", type=float, default=0.3, help="seconds per shape")
    args = p.parse_args()
    for line in sys.stdin:
        if not line.strip():
            continue
        s = json.loads(line)
        s["gflops"] = best_gflops(s["m"], s["n"], s["k"], s["op"], args.min_time)
        print(json.dumps(s), flush=True)


if __name__ == "__main__":
    main()
