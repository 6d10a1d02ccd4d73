#!/usr/bin/env python3
"""Baseline for bench/gpu: the same TorchScript model in a plain PyTorch loop.

Per iteration, what a straightforward Python server does for a batch:
pageable CPU float32 input -> .to(device) -> (half) -> model -> first output
-> .float().cpu(), then torch.cuda.synchronize(). Latency is the wall clock
around that (time.perf_counter), throughput = images / total timed wall
time: the same method as ys_gpu_bench (gpu_bench.cc), which times one
TorchBackend::Run() per batch.

With --compare CPP_CSV (ys_gpu_bench --csv) it prints one ratio table:
throughput of the C++ backend (plain, CUDA graphs) over this loop, per
precision and batch size.

    python3 bench/gpu/torch_loop.py --model build-gpucarry/models/yolov8n_640.torchscript \
        --csv py.csv --compare cpp.csv
"""
import argparse
import csv
import statistics
import sys
import time

import torch


def first_tensor(y):
    while isinstance(y, (tuple, list)):
        y = y[0]
    return y


def percentile(values, p):
    v = sorted(values)
    if not v:
        return 0.0
    pos = p / 100.0 * (len(v) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def bench(args):
    device = torch.device(args.device)
    rows = []
    for precision in args.precisions.split(","):
        model = torch.jit.load(args.model, map_location=device).eval()
        if precision == "fp16":
            model = model.half()
        dtype = torch.float16 if precision == "fp16" else torch.float32
        gen = torch.Generator().manual_seed(12345)
        for b in [int(x) for x in args.batches.split(",")]:
            x_host = torch.rand(b, 3, args.imgsz, args.imgsz, generator=gen)

            def step():
                with torch.inference_mode():
                    x = x_host.to(device)
                    if dtype != torch.float32:
                        x = x.to(dtype)
                    y = first_tensor(model(x))
                    out = y.float().cpu()
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                return out

            for _ in range(args.warmup_iters):
                step()
            lat = []
            start = time.perf_counter()
            elapsed = 0.0
            while len(lat) < args.min_iters or elapsed * 1000 < args.min_time_ms:
                t0 = time.perf_counter()
                step()
                t1 = time.perf_counter()
                lat.append((t1 - t0) * 1000)
                elapsed = t1 - start
            row = dict(impl="python", precision=precision, graphs=0, jit_optimize=1, batch=b,
                       iters=len(lat), lat_p50_ms=percentile(lat, 50),
                       lat_p90_ms=percentile(lat, 90), lat_mean_ms=statistics.fmean(lat),
                       img_per_s=b * len(lat) / elapsed)
            print(f"   python {precision} batch {b:2d}: {row['iters']:4d} iters  "
                  f"p50 {row['lat_p50_ms']:8.3f} ms  p90 {row['lat_p90_ms']:8.3f} ms  "
                  f"{row['img_per_s']:9.1f} img/s", file=sys.stderr, flush=True)
            rows.append(row)
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return rows


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def ratio_table(py_rows, cpp_rows):
    """Throughput ratio C++ / Python per (precision, batch)."""
    def key(r):
        return (r["precision"], int(r["batch"]))

    py = {key(r): float(r["img_per_s"]) for r in py_rows}
    py_lat = {key(r): float(r["lat_p50_ms"]) for r in py_rows}
    cpp = {}
    for r in cpp_rows:
        if int(r.get("jit_optimize", 0)) != 0:
            variant = "jit"
        else:
            variant = "graphs" if int(r["graphs"]) else "plain"
        cpp[(variant,) + key(r)] = (float(r["img_per_s"]), float(r["lat_p50_ms"]))
    lines = []
    hdr = (f"{'prec':5} {'batch':>5} | {'python img/s':>12} {'p50 ms':>8} | "
           f"{'C++ img/s':>10} {'p50 ms':>8} {'x':>5} | "
           f"{'C++graph img/s':>14} {'p50 ms':>8} {'x':>5}")
    lines.append(hdr)
    lines.append("-" * len(hdr))
    for k in sorted(py, key=lambda k: (k[0] != "fp32", k[1])):
        def cell(variant):
            v = cpp.get((variant,) + k)
            if v is None:
                return f"{'-':>10} {'-':>8} {'-':>5}"
            return f"{v[0]:10.1f} {v[1]:8.3f} {v[0] / py[k]:5.2f}"
        g = cpp.get(("graphs",) + k)
        gcell = (f"{g[0]:14.1f} {g[1]:8.3f} {g[0] / py[k]:5.2f}" if g
                 else f"{'-':>14} {'-':>8} {'-':>5}")
        lines.append(f"{k[0]:5} {k[1]:5d} | {py[k]:12.1f} {py_lat[k]:8.3f} | {cell('plain')} | "
                     f"{gcell}")
    jit = [k for k in cpp if k[0] == "jit"]
    if jit:
        lines.append("")
        lines.append("C++ with torch_jit_optimize (profiling executor, as Python's default):")
        for k in sorted(jit, key=lambda k: (k[1] != "fp32", k[2])):
            pk = k[1:]
            ratio = f"{cpp[k][0] / py[pk]:5.2f}" if pk in py else "    -"
            lines.append(f"{k[1]:5} {k[2]:5d} | {cpp[k][0]:10.1f} img/s {cpp[k][1]:8.3f} ms "
                         f"x {ratio}")
    lines.append("x = C++ throughput / Python throughput (same GPU, model, batch, input size)")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--device", default="cuda:0")
    p.add_argument("--imgsz", type=int, default=640)
    p.add_argument("--batches", default="1,2,4,8,16,32")
    p.add_argument("--precisions", default="fp32,fp16")
    p.add_argument("--min-time-ms", type=float, default=1500)
    p.add_argument("--min-iters", type=int, default=20)
    p.add_argument("--warmup-iters", type=int, default=10)
    p.add_argument("--csv", help="write this run's rows here")
    p.add_argument("--compare", help="ys_gpu_bench --csv output to compare against")
    args = p.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("torch_loop.py: no CUDA device visible to torch", file=sys.stderr)
        return 1
    # --device cpu is the e2e dry run's stand-in (bench/gpu/e2e.sh).
    name = torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else "cpu"
    print(f"torch {torch.__version__}, {name}, "
          f"cudnn.benchmark={torch.backends.cudnn.benchmark}, "
          f"cudnn.allow_tf32={torch.backends.cudnn.allow_tf32}", file=sys.stderr)
    rows = bench(args)
    fields = ["impl", "precision", "graphs", "jit_optimize", "batch", "iters", "lat_p50_ms",
              "lat_p90_ms", "lat_mean_ms", "img_per_s"]
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields)
            w.writeheader()
            for r in rows:
                w.writerow({k: (f"{r[k]:.4f}" if isinstance(r[k], float) else r[k])
                            for k in fields})
    if args.compare:
        print(ratio_table([{k: str(v) for k, v in r.items()} for r in rows],
                          read_csv(args.compare)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
