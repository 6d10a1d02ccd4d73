#!/usr/bin/env python3
"""A co-tenant for bench/gpu/e2e.sh: another process on the same GPU.

For --seconds it holds device memory and keeps the GPU busy, the way a
training job or a second service sharing the card would:
  * memory: it grabs free device memory in --chunk-mb blocks until only
    --leave-mb is left, and keeps trying every 100 ms, so memory that the
    server gives back (empty_cache after an OOM) is taken too;
  * compute: back-to-back --matmul x --matmul half-precision products.
Then it frees everything and exits 0. It prints one JSON line per second
(held MB, free MB, products run) to stdout.

--device cpu is the dry run's stand-in: it holds host memory (--cpu-mb)
and runs float32 products on the CPU, so the script's flow is exercised
where there is no GPU. It is not a GPU co-tenant.

    python3 bench/gpu/cotenant.py --device cuda:0 --seconds 30
"""
import argparse
import json
import sys
import time

import torch


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda:0")
    p.add_argument("--seconds", type=float, default=30)
    p.add_argument("--chunk-mb", type=int, default=256)
    p.add_argument("--leave-mb", type=int, default=256, help="free device memory to leave")
    p.add_argument("--matmul", type=int, default=4096)
    p.add_argument("--cpu-mb", type=int, default=512, help="--device cpu: host memory to hold")
    a = p.parse_args()

    dev = torch.device(a.device)
    cuda = dev.type == "cuda"
    held = []
    held_mb = 0
    if cuda:
        torch.cuda.set_device(dev)
        x = torch.randn(a.matmul, a.matmul, device=dev, dtype=torch.float16)
    else:
        held.append(torch.ones(a.cpu_mb * 1024 * 1024 // 4, dtype=torch.float32))
        held_mb = a.cpu_mb
        x = torch.randn(512, 512)
    start = time.monotonic()
    next_grab = start
    next_report = start
    products = 0
    oom_events = 0
    while time.monotonic() - start < a.seconds:
        now = time.monotonic()
        if cuda and now >= next_grab:
            next_grab = now + 0.1
            free, _ = torch.cuda.mem_get_info(dev)
            while free > (a.leave_mb + a.chunk_mb) * 1024 * 1024:
                try:
                    held.append(torch.empty(a.chunk_mb * 1024 * 1024, dtype=torch.uint8, device=dev))
                    held_mb += a.chunk_mb
                except torch.cuda.OutOfMemoryError:
                    oom_events += 1
                    break
                free, _ = torch.cuda.mem_get_info(dev)
        y = x @ x
        products += 1
        if cuda and products % 8 == 0:
            torch.cuda.synchronize(dev)
        if now >= next_report:
            next_report = now + 1.0
            free_mb = torch.cuda.mem_get_info(dev)[0] // (1 << 20) if cuda else None
            print(json.dumps({"t_s": round(now - start, 2), "device": a.device, "held_mb": held_mb,
                              "free_mb": free_mb, "products": products, "oom_events": oom_events}),
                  flush=True)
    del y
    held.clear()
    if cuda:
        torch.cuda.synchronize(dev)
        torch.cuda.empty_cache()
    print(json.dumps({"done": True, "seconds": round(time.monotonic() - start, 2),
                      "products": products, "peak_held_mb": held_mb}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
