#!/usr/bin/env python3
"""numpy reference for `npm run bench` (packages/nn/bench/run.ts spawns it).

The same math as @backprop/nn for one benchmark workload: full-batch gradient descent, one column
per sample, relu hidden layers (tanh for W3), sigmoid output with the stable binary cross-entropy
from Z. One iteration = forward + cost + backward + update, written as in the course's notebooks
(new arrays every iteration, dA of layer 0 not computed). float64.

run.ts sets OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS = 1 in this process's
environment, so BLAS runs on one thread. Prints one JSON object on stdout:
  {"ok": true, "workload": "W1", "msPerIteration": ..., "iterationsPerRepeat": n,
   "repeats": [...], "blas": {...}, "numpy": "2.x"}
or {"ok": false, "error": "..."} when numpy is missing.

With --data DIR (run.ts --smoke) it starts from the data and initial weights run.ts wrote there
(raw float64 files named in DIR/meta.json) instead of its own random ones, and adds "costs": the
costs J_0..J_N of --iterations iterations, for run.ts to compare with nn's.
"""

import argparse
import json
import os
import platform
import sys
import time

WORKLOADS = {
    # name: (n0, [(units, activation), ...], m, learning rate)
    "W1": (12288, [(20, "relu"), (7, "relu"), (5, "relu"), (1, "sigmoid")], 209, 0.0075),
    "W2": (12288, [(7, "relu"), (1, "sigmoid")], 209, 0.0075),
    "W3": (2, [(4, "tanh"), (1, "sigmoid")], 400, 1.2),
    "W4": (784, [(256, "relu"), (128, "relu"), (10, "sigmoid")], 10000, 0.1),
}


def blas_info(np):
    """Which BLAS numpy uses, its version, thread count and the core type OpenBLAS picked."""
    info = {}
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        info["name"] = blas.get("name")
        info["version"] = blas.get("version")
    except Exception:  # older numpy: no dict mode
        pass
    try:
        from threadpoolctl import threadpool_info  # optional

        for pool in threadpool_info():
            if pool.get("user_api") == "blas":
                info.setdefault("name", pool.get("internal_api"))
                info["version"] = pool.get("version") or info.get("version")
                info["threads"] = pool.get("num_threads")
                info["coretype"] = pool.get("architecture")
                info["source"] = "threadpoolctl"
                return info
    except Exception:
        pass
    # No threadpoolctl: ask the bundled OpenBLAS directly.
    try:
        import ctypes
        import glob

        base = os.path.dirname(os.path.dirname(np.__file__))
        candidates = glob.glob(os.path.join(base, "numpy.libs", "*openblas*"))
        candidates += glob.glob(os.path.join(base, "scipy_openblas*", "lib", "*openblas*.so*"))
        candidates += glob.glob(os.path.join(os.path.dirname(np.__file__), ".dylibs", "*openblas*"))
        for path in candidates:
            lib = ctypes.CDLL(path)
            for prefix in ("scipy_openblas_", "openblas_", ""):
                for suffix in ("64_", ""):
                    core = getattr(lib, f"{prefix}get_corename{suffix}", None)
                    threads = getattr(lib, f"{prefix}get_num_threads{suffix}", None)
                    if core is not None:
                        core.restype = ctypes.c_char_p
                        info["coretype"] = core().decode()
                        if threads is not None:
                            info["threads"] = threads()
                        info["source"] = os.path.basename(path)
                        return info
    except Exception as e:  # report, don't fail the benchmark
        info["coretypeError"] = str(e)
    return info


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workload", required=True, choices=sorted(WORKLOADS))
    ap.add_argument("--target-ms", type=float, default=500.0, help="time per repeat")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--info", action="store_true", help="only print numpy/BLAS info")
    ap.add_argument("--data", help="directory with the data and initial weights (run.ts --smoke)")
    ap.add_argument("--iterations", type=int, default=3, help="with --data: iterations whose costs to report")
    ap.add_argument("--cpu-clock", action="store_true", help="time with this process's CPU time (run.ts --clock cpu)")
    args = ap.parse_args()
    clock = time.process_time if args.cpu_clock else time.perf_counter
    try:
        import numpy as np
    except ImportError as e:
        print(json.dumps({"ok": False, "error": f"numpy is not importable: {e}"}))
        return
    meta = {"numpy": np.__version__, "python": platform.python_version(), "blas": blas_info(np)}
    if args.info:
        print(json.dumps({"ok": True, **meta}))
        return

    n0, layers, m, lr = WORKLOADS[args.workload]
    sizes = [n0] + [u for u, _ in layers]
    acts = [a for _, a in layers]
    L = len(layers)
    W = [None]
    b = [None]
    if args.data is not None:
        with open(os.path.join(args.data, "meta.json")) as f:
            shapes = json.load(f)["shapes"]

        def load(name):
            return np.fromfile(os.path.join(args.data, name + ".f64"), dtype=np.float64).reshape(shapes[name])

        X = load("X")
        Y = load("Y")
        m = X.shape[1]
        for l in range(1, L + 1):
            W.append(load(f"W{l}"))
            b.append(load(f"b{l}"))
    else:
        rng = np.random.default_rng(0)
        X = rng.random((n0, m))
        nL = layers[-1][0]
        if nL == 1:
            Y = (rng.random((1, m)) < 0.5).astype(np.float64)
        else:
            Y = np.zeros((nL, m))
            Y[rng.integers(0, nL, m), np.arange(m)] = 1.0
        for l in range(1, len(sizes)):
            scale = np.sqrt((1.0 if acts[l - 1] == "tanh" or l == len(sizes) - 1 else 2.0) / sizes[l - 1])
            W.append(rng.standard_normal((sizes[l], sizes[l - 1])) * scale)
            b.append(np.zeros((sizes[l], 1)))

    def iteration():
        # forward
        A = [X]
        Z = [None]
        for l in range(1, L + 1):
            z = W[l] @ A[l - 1] + b[l]
            Z.append(z)
            act = acts[l - 1]
            if act == "relu":
                A.append(np.maximum(z, 0))
            elif act == "tanh":
                A.append(np.tanh(z))
            else:
                A.append(1 / (1 + np.exp(-z)))
        # cost: stable binary cross-entropy from Z[L]
        zL = Z[L]
        cost = np.sum(np.maximum(zL, 0) - Y * zL + np.log1p(np.exp(-np.abs(zL)))) / m
        # backward
        dZ = A[L] - Y
        for l in range(L, 0, -1):
            dW = (dZ @ A[l - 1].T) / m
            db = np.sum(dZ, axis=1, keepdims=True) / m
            if l > 1:
                dA = W[l].T @ dZ
                if acts[l - 2] == "relu":
                    dZ_prev = dA * (Z[l - 1] > 0)
                else:  # tanh
                    dZ_prev = dA * (1 - A[l - 1] ** 2)
            W[l] -= lr * dW
            b[l] -= lr * db
            if l > 1:
                dZ = dZ_prev
        return cost

    # --data: the cost before each of the first N updates and after the last (an iteration returns
    # the cost of its forward pass, before its update)
    costs = [float(iteration()) for _ in range(args.iterations + 1)] if args.data is not None else None

    # warm up, then size the repeats to about target-ms each
    t = clock()
    warm = 0
    while warm < 2 or (clock() - t < 0.2 and warm < 1000):
        iteration()
        warm += 1
    per = max(clock() - t, 1e-9) / warm
    n = max(1, round(args.target_ms / 1000 / per))
    repeats = []
    for _ in range(args.repeats):
        t = clock()
        for _ in range(n):
            iteration()
        repeats.append((clock() - t) / n * 1000)
    ms = sorted(repeats)[len(repeats) // 2]
    print(
        json.dumps(
            {
                "ok": True,
                "workload": args.workload,
                "msPerIteration": ms,
                "iterationsPerRepeat": n,
                "repeats": repeats,
                **({"costs": costs} if costs is not None else {}),
                **meta,
            }
        )
    )


if __name__ == "__main__":
    sys.exit(main())
