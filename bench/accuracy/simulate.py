#!/usr/bin/env python3
"""An independent simulator of a YOLO inference server, for measuring how
accurately `yoloscope analyze` names bottlenecks (bench/accuracy/score.py).

It shares no code, constants or thresholds with the analyzer (src/analyzer):
it models the server physically and writes what such a server would log in
the public yoloscope.v1 schema (docs/log-schema.md). Python 3 standard
library only; deterministic for a given scenario and seed.

The model, per run:
  - Poisson arrivals (rate per phase); each request carries a JPEG whose size
    is drawn from a mix of client-resized photos (0.2-1 MP) unless the scenario says otherwise.
  - A CPU pool of `cpu_workers` decodes (ms per megapixel) and letterboxes
    each image, FIFO.
  - Per GPU one model instance behind a dynamic batcher: a batch is dispatched
    when `max_batch` requests wait or the oldest has waited `max_wait_ms`,
    as soon as the GPU is free. A full queue (`queue_cap`) refuses at once
    (status queue_full).
  - The GPU copies the batch in (h2d, bytes / PCIe bandwidth), runs it
    (fixed + per-image time, scaled by the SM clock, a co-tenant's share and
    memory pressure), copies out; a CPU pool then decodes + NMS per request
    (time grows with the candidate boxes).
  - A caching allocator: weights + activations per image; `reserved` keeps
    the high-water mark; when device memory (ours + other processes) runs
    out it flushes its cache and retries (alloc_retries, a running total),
    and fails the batch (oom) when that is not enough.
  - A gpu telemetry record per GPU per second.

Conditions, each in a time window [start_s, start_s + duration_s):
  co_tenant_mem_mb, co_tenant_util, co_tenant_slowdown, own_extra_mb, pressure_slowdown,
  sm_clock_mhz,
  throttle_reasons, pcie_gbps, decode_ms_per_mp, post_ms_per_box, boxes,
  error_rate, rate, leak_mb_per_batch, frag_mb_per_new_shape, temp_c.

usage:
  simulate.py --list                       scenario names
  simulate.py SCENARIO SEED OUT.jsonl      one log
  simulate.py --corpus DIR [--seeds N] [--first-seed S] [--scale F] [--only A,B]
                                           every scenario x seed, plus
                                           DIR/truth.json (expected findings)
"""
import argparse
import datetime as _dt
import heapq
import json
import math
import os
import random
import sys

from simulate_streams import jitter_streams, simulate_streams, stream_scenarios

EPOCH = _dt.datetime(2026, 3, 2, 9, 0, 0, tzinfo=_dt.timezone.utc)

# GPUs: total MiB, nominal SM clock, relative speed.
GPUS = {
    "rtx3060": (12288, 1777, 0.45),
    "a10": (23028, 1695, 0.8),
    "h100": (81559, 1980, 2.2),
}


def ts(seconds):
    return (EPOCH + _dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def r3(x):
    return round(x, 3)


def r1(x):
    return round(x, 1)


class Window:
    """A condition active in [start, end)."""

    def __init__(self, start, duration, **values):
        self.start = start
        self.end = start + duration
        self.values = values

    def active(self, t):
        return self.start <= t < self.end


class Scenario:
    def __init__(self, name, expect, allow=(), duration=120.0, rate=40.0, gpus=1,
                 gpu="a10", max_batch=8, max_wait_ms=4.0, queue_cap=64, cpu_workers=4,
                 post_workers=2, warm=True, conditions=(), images="photos", rate_fn=None,
                 model="yolov8s", weights_mb=90.0, act_mb_per_image=180.0, telemetry=True,
                 model_cost=1.0):
        self.name = name
        self.expect = list(expect)      # finding kinds that must be reported
        self.allow = list(allow)        # kinds the condition really implies as well
        self.duration = duration
        self.rate = rate
        self.gpus = gpus
        self.gpu = gpu
        self.max_batch = max_batch
        self.max_wait_ms = max_wait_ms
        self.queue_cap = queue_cap
        self.cpu_workers = cpu_workers
        self.post_workers = post_workers
        self.warm = warm
        self.conditions = list(conditions)
        self.images = images
        self.rate_fn = rate_fn
        self.model = model
        self.weights_mb = weights_mb
        self.act_mb_per_image = act_mb_per_image
        self.telemetry = telemetry
        self.model_cost = model_cost  # inference time relative to yolov8s

    def cond(self, key, t, default):
        for w in self.conditions:
            if key in w.values and w.active(t):
                return w.values[key]
        return default


def scenarios():
    s = []
    # Healthy controls: different loads, GPUs and batch settings; nothing wrong.
    s.append(Scenario("healthy_moderate", [], rate=40))
    s.append(Scenario("healthy_low", [], rate=6, max_wait_ms=2.0))
    s.append(Scenario("healthy_busy_h100_x2", [], rate=160, gpus=2, gpu="h100", max_batch=16,
                      model="yolov8l", model_cost=3.5, weights_mb=170.0,
                      act_mb_per_image=420.0))
    s.append(Scenario("healthy_3060", [], rate=15, gpu="rtx3060", max_batch=4))
    # One condition each.
    s.append(Scenario("oom_co_tenant", ["oom"], allow=["gpu_memory_pressure", "error_burst"],
                      rate=60, max_batch=16,
                      conditions=[Window(40, 40, co_tenant_mem_mb=21900, co_tenant_util=30)]))
    # Our own process fills the card (a second model loaded for a while): no
    # co-tenant; the allocator synchronises and fragments near the limit.
    s.append(Scenario("memory_pressure", ["gpu_memory_pressure"], rate=30,
                      conditions=[Window(40, 45, own_extra_mb=20900, pressure_slowdown=2.0)]))
    s.append(Scenario("fragmentation", ["memory_fragmentation"], rate=30, max_batch=16,
                      rate_fn="bursty", conditions=[Window(0, 400, frag_mb_per_new_shape=0.15)],
                      duration=300))
    s.append(Scenario("leak", ["memory_leak"], rate=30, duration=300,
                      conditions=[Window(0, 400, leak_mb_per_batch=1.5)]))
    s.append(Scenario("overload", ["queue_saturation"], allow=["error_burst"], rate=40,
                      queue_cap=48, conditions=[Window(50, 30, rate=700)]))
    # Batch-1 capacity is ~95 req/s: the load is 70-115% of it (at the top
    # the queue overflows: refusals in bursts are real).
    s.append(Scenario("no_batching", ["underbatching"], allow=["queue_saturation", "error_burst"],
                      rate=88,
                      max_batch=1, gpu="rtx3060"))
    s.append(Scenario("long_batch_window", ["batch_window_too_long"], rate=3, max_wait_ms=60))
    s.append(Scenario("cpu_starved_decode", ["cpu_preprocess_bound"], rate=12, cpu_workers=2,
                      images="large"))
    s.append(Scenario("pcie_degraded", ["transfer_bound"], rate=20,
                      conditions=[Window(0, 400, pcie_gbps=0.35)]))
    s.append(Scenario("slow_nms", ["postprocess_bound"], rate=20, post_workers=3,
                      conditions=[Window(0, 400, boxes=6000, post_ms_per_box=0.008)]))
    s.append(Scenario("co_tenant_compute", ["gpu_contention"], rate=30,
                      conditions=[Window(45, 35, co_tenant_mem_mb=6100, co_tenant_util=97,
                                         co_tenant_slowdown=2.3)]))
    s.append(Scenario("thermal_throttle", ["gpu_throttling"], rate=30,
                      conditions=[Window(45, 35, sm_clock_mhz=840, throttle_reasons="0x40",
                                         temp_c=91)]))
    # The first slow runs leave a backlog behind them: queue_saturation as
    # their symptom is true too.
    s.append(Scenario("cold_start", ["cold_start"], allow=["latency_outliers", "queue_saturation"],
                      rate=30,
                      warm=False))
    s.append(Scenario("bad_uploads", ["error_burst"], rate=40,
                      conditions=[Window(60, 12, error_rate=0.35)]))
    s.append(Scenario("huge_uploads", ["latency_outliers"], rate=25, images="outliers"))
    # Harder variants: bursty healthy traffic, milder conditions, shorter ones.
    s.append(Scenario("healthy_bursty", [], rate=30, max_batch=16, rate_fn="bursty"))
    s.append(Scenario("thermal_throttle_mild", ["gpu_throttling"], rate=30,
                      conditions=[Window(50, 40, sm_clock_mhz=1150, throttle_reasons="0x20",
                                         temp_c=88)]))
    s.append(Scenario("co_tenant_mild", ["gpu_contention"], rate=30, gpu="h100", model="yolov8l",
                      model_cost=3.5, weights_mb=170.0, act_mb_per_image=420.0,
                      conditions=[Window(50, 40, co_tenant_mem_mb=9000, co_tenant_util=95,
                                         co_tenant_slowdown=1.7)]))
    s.append(Scenario("overload_short", ["queue_saturation"], allow=["error_burst"], rate=40,
                      queue_cap=32, conditions=[Window(70, 10, rate=900)]))
    return {x.name: x for x in s}


def jitter(sc, seed):
    """Per-seed variation: the arrival rate +-25% and the conditions' start +-15 s."""
    rng = random.Random(f"jitter:{sc.name}:{seed}")
    sc.rate *= rng.uniform(0.75, 1.25)
    for w in sc.conditions:
        if w.start > 0:
            shift = rng.uniform(-15.0, 15.0)
            w.start += shift
            w.end += shift
    return sc


class Gpu:
    def __init__(self, sc, index, rng):
        self.sc = sc
        self.index = index
        total, clock, speed = GPUS[sc.gpu]
        self.total = total
        self.nominal_clock = clock
        self.speed = speed
        self.context_mb = 420.0
        self.allocated_base = sc.weights_mb
        self.reserved = sc.weights_mb + 64.0
        self.inactive = 0.0
        self.leaked = 0.0
        self.retries = 0
        self.free_at = 0.0
        self.busy = []  # (start, end) of batches, for utilisation
        self.shapes_seen = set()
        self.runs_per_batch = {}
        self.rng = rng
        self.first_run_done = sc.warm

    def other_mb(self, t):
        return self.sc.cond("co_tenant_mem_mb", t, 0.0)

    def used_mb(self, t):
        return self.context_mb + self.reserved + self.own_extra(t) + self.other_mb(t)

    def own_extra(self, t):
        return self.sc.cond("own_extra_mb", t, 0.0)

    def clock(self, t):
        return self.sc.cond("sm_clock_mhz", t, self.nominal_clock)

    def run(self, t, batch):
        """Runs a batch starting at t: returns (h2d, inference, d2h, oom, end)."""
        sc = self.sc
        rng = self.rng
        need = self.allocated_base + self.leaked + sc.act_mb_per_image * batch
        # Fragmentation: each new batch shape splits cached blocks that later
        # shapes cannot reuse.
        frag = sc.cond("frag_mb_per_new_shape", t, 0.0)
        if frag:
            # Input sizes keep changing (new clients), so new shapes keep coming.
            shape = (batch, rng.randrange(1 + int(t / 10)))
            if shape not in self.shapes_seen:
                self.shapes_seen.add(shape)
                grow = frag * sc.act_mb_per_image * (0.3 + 0.4 * rng.random())
                self.reserved += grow
                self.inactive += grow
        if need > self.reserved:
            self.reserved = need
        oom = False
        flush_ms = 0.0
        free = self.total - self.context_mb - self.other_mb(t) - self.own_extra(t)
        if self.reserved > free:
            # The caching allocator frees its cache and retries.
            self.retries += 1
            flush_ms = 25.0 + 40.0 * rng.random()
            self.reserved = need
            self.inactive = 0.0
            if need > free:
                oom = True
                self.reserved = min(self.allocated_base + self.leaked + 64.0, free)
        self.leaked += sc.cond("leak_mb_per_batch", t, 0.0)
        image_mb = 4.9  # 3 x 640 x 640 float32
        gbps = sc.cond("pcie_gbps", t, 11.0)
        h2d = batch * image_mb / 1024.0 / gbps * 1000.0 * rng.uniform(0.95, 1.1)
        d2h = batch * 0.34 / 1024.0 / gbps * 1000.0 * rng.uniform(0.95, 1.1) + 0.05
        base = (3.2 + 1.25 * batch) * sc.model_cost / self.speed
        factor = self.nominal_clock / self.clock(t)
        factor *= sc.cond("co_tenant_slowdown", t, 1.0)
        factor *= sc.cond("pressure_slowdown", t, 1.0)
        runs = self.runs_per_batch.get(batch, 0)
        self.runs_per_batch[batch] = runs + 1
        if not sc.warm:
            # cuDNN autotuning / lazy loading for each new shape; the very
            # first forward also creates the CUDA context.
            if runs < 3:
                factor *= (9.0, 5.0, 2.2)[runs]
            if not self.first_run_done:
                self.first_run_done = True
                flush_ms += 900.0
        inference = base * factor * rng.lognormvariate(0.0, 0.06) + flush_ms
        if oom:
            inference = 2.0 + flush_ms + rng.random()
            h2d, d2h = h2d, 0.0
        start = max(t, self.free_at)
        end = start + (h2d + inference + d2h) / 1000.0
        self.free_at = end
        self.busy.append((start, end))
        return h2d, inference, d2h, oom, end

    def util(self, t0, t1):
        busy = 0.0
        for a, b in reversed(self.busy):
            if b < t0:
                break
            busy += max(0.0, min(b, t1) - max(a, t0))
        return min(100.0, 100.0 * busy / (t1 - t0))


def image_for(sc, rng, i):
    if sc.images == "large":
        mp = rng.uniform(12.0, 24.0)
    elif sc.images == "outliers" and i % 97 == 41:
        mp = rng.uniform(60.0, 96.0)
    else:
        # Client-side resized uploads (640..1280 px on the long side).
        mp = rng.choice([0.23, 0.31, 0.49, 0.69, 0.92]) * rng.uniform(0.9, 1.1)
    w = int(math.sqrt(mp * 1e6 * 4 / 3))
    h = int(w * 3 / 4)
    return w, h, int(w * h * rng.uniform(0.25, 0.45))


def simulate(sc, seed, scale=1.0):
    rng = random.Random(f"{sc.name}:{seed}")
    duration = sc.duration * scale
    # Conditions scale with the run.
    if scale != 1.0:
        for w in sc.conditions:
            w.start *= scale
            w.end *= scale
    gpus = [Gpu(sc, g, random.Random(f"{sc.name}:{seed}:gpu{g}")) for g in range(sc.gpus)]

    # Arrivals.
    arrivals = []
    t = 0.0
    while True:
        rate = sc.cond("rate", t, sc.rate)
        if sc.rate_fn == "bursty":
            # Seconds alternate between a trickle and a burst: batch sizes 1..16.
            rate = sc.rate * (0.25 if int(t) % 4 else 3.0)
        t += rng.expovariate(rate)
        if t >= duration:
            break
        arrivals.append(t)

    # CPU decode + letterbox (FIFO pool).
    cpu = [0.0] * sc.cpu_workers
    requests = []
    for i, a in enumerate(arrivals):
        w, h, nbytes = image_for(sc, rng, i)
        mp = w * h / 1e6
        start = max(a, cpu[0])
        decode = (2.2 + 2.9 * mp) * rng.lognormvariate(0.0, 0.08)
        pre = 0.9 + 0.05 * mp + rng.random() * 0.3
        bad = rng.random() < sc.cond("error_rate", a, 0.0)
        if bad:
            decode = decode * 0.3
            pre = 0.0
        end = start + (decode + pre) / 1000.0
        heapq.heapreplace(cpu, end)
        requests.append({"i": i, "arrival": a, "w": w, "h": h, "bytes": nbytes, "decode": decode,
                         "pre": pre, "ready": end, "bad": bad, "gpu": i % sc.gpus})

    records = []  # (emit_time, order, dict)
    order = 0

    def emit(t_emit, rec):
        nonlocal order
        order += 1
        records.append((t_emit, order, rec))

    batch_id = 0
    for g in gpus:
        post = [0.0] * sc.post_workers  # each instance's postprocess workers
        mine = sorted((r for r in requests if r["gpu"] == g.index), key=lambda r: r["ready"])
        waiting = []   # requests ready, not yet dispatched
        k = 0
        n = len(mine)
        while k < n or waiting:
            # Admit everything ready before the GPU could take the next batch.
            if not waiting:
                r = mine[k]
                k += 1
                if r["bad"]:
                    finish_bad(sc, r, emit, rng)
                    continue
                r["queue_len"] = 0
                waiting.append(r)
            oldest = waiting[0]["ready"]
            deadline = max(g.free_at, oldest + sc.max_wait_ms / 1000.0)
            # Requests arriving until the dispatch time join the batch (or
            # are refused when the queue is full).
            while k < n and mine[k]["ready"] <= deadline and len(waiting) < sc.max_batch:
                r = mine[k]
                k += 1
                if r["bad"]:
                    finish_bad(sc, r, emit, rng)
                    continue
                r["queue_len"] = len(waiting)
                waiting.append(r)
            if len(waiting) >= sc.max_batch:
                dispatch = max(g.free_at, waiting[sc.max_batch - 1]["ready"])
            else:
                dispatch = deadline
            batch = waiting[:sc.max_batch]
            waiting = waiting[sc.max_batch:]
            # Requests that arrived while this batch waited for the GPU queue up
            # (refused when the queue is full).
            while k < n and mine[k]["ready"] <= dispatch:
                r = mine[k]
                k += 1
                if r["bad"]:
                    finish_bad(sc, r, emit, rng)
                    continue
                if len(waiting) >= sc.queue_cap:
                    refuse(sc, r, emit, rng)
                    continue
                r["queue_len"] = len(waiting) + len(batch)
                waiting.append(r)
            batch_id += 1
            h2d, inf, d2h, oom, end = g.run(dispatch, len(batch))
            # After the batch: activations are freed, its outputs (~1 MB per image) remain.
            allocated = g.allocated_base + g.leaked + (0 if oom else 1.1 * len(batch)) + \
                g.own_extra(dispatch)
            used = g.used_mb(dispatch)
            brec = {"event": "batch", "schema": "yoloscope.v1", "ts": ts(dispatch),
                    "batch_id": batch_id, "batch_size": len(batch), "model": sc.model,
                    "instance": g.index, "gpu_id": g.index, "h2d_ms": r3(h2d),
                    "inference_ms": r3(inf), "d2h_ms": r3(d2h), "mem_used_mb": r1(used),
                    "mem_total_mb": g.total,
                    "mem_reserved_mb": r1(g.reserved + g.own_extra(dispatch)),
                    "mem_allocated_mb": r1(allocated), "mem_inactive_split_mb": r1(g.inactive),
                    "alloc_retries": g.retries, "oom": oom}
            emit(end, brec)
            boxes = sc.cond("boxes", dispatch, 0)
            per_box = sc.cond("post_ms_per_box", dispatch, 0.0)
            for r in batch:
                dets = 0 if oom else max(0, int(rng.gauss(6, 3)))
                if oom:
                    post_ms = 0.0
                    done = end
                else:
                    cand = boxes * rng.uniform(0.8, 1.1) if boxes else 200 + 40 * dets
                    post_ms = (0.6 + cand * (per_box or 0.0012)) * rng.lognormvariate(0.0, 0.05)
                    pstart = max(end, post[0])
                    done = pstart + post_ms / 1000.0
                    heapq.heapreplace(post, done)
                total = (done - r["arrival"]) * 1000.0
                rec = {"event": "request", "schema": "yoloscope.v1", "ts": ts(r["arrival"]),
                       "request_id": f"r{r['i']:07d}", "model": sc.model, "backend": "torch",
                       "device": f"cuda:{g.index}", "gpu_id": g.index, "input_w": r["w"],
                       "input_h": r["h"], "input_bytes": r["bytes"], "batch_id": batch_id,
                       "batch_size": len(batch), "queue_len": r["queue_len"],
                       "queue_ms": r3((dispatch - r["ready"]) * 1000.0),
                       "decode_ms": r3(r["decode"]), "preprocess_ms": r3(r["pre"]),
                       "h2d_ms": r3(h2d), "inference_ms": r3(inf), "d2h_ms": r3(d2h),
                       "postprocess_ms": r3(post_ms), "total_ms": r3(total),
                       "detections": dets, "status": "oom" if oom else "ok",
                       "gpu_util": r1(g.util(max(0.0, dispatch - 1.0), dispatch + 1e-9)),
                       "mem_used_mb": r1(used), "mem_total_mb": g.total,
                       "mem_reserved_mb": r1(g.reserved + g.own_extra(dispatch)),
                       "mem_allocated_mb": r1(allocated),
                       "alloc_retries": g.retries, "oom": oom}
                if oom:
                    rec["error"] = "CUDA out of memory. Tried to allocate %d MiB" % int(
                        sc.act_mb_per_image * len(batch))
                    del rec["postprocess_ms"]
                emit(done, rec)

    # GPU telemetry, once a second.
    if sc.telemetry:
        for g in gpus:
            for sec in range(int(duration)):
                t = sec + 0.5
                other = g.other_mb(t)
                util = g.util(t - 1.0, t)
                util = min(100.0, util + sc.cond("co_tenant_util", t, 0.0) * (1 - util / 100.0))
                clock = g.clock(t)
                emit(t, {"event": "gpu", "schema": "yoloscope.v1", "ts": ts(t), "gpu_id": g.index,
                         "gpu_util": r1(util), "mem_used_mb": r1(g.used_mb(t)),
                         "mem_total_mb": g.total, "mem_other_processes_mb": r1(other),
                         "sm_clock_mhz": int(clock * rng.uniform(0.995, 1.0)),
                         "temp_c": sc.cond("temp_c", t, 64 + int(util / 10)),
                         "power_w": int(60 + util * 1.2),
                         "throttle_reasons": sc.cond("throttle_reasons", t, "")})
    records.sort(key=lambda x: (x[0], x[1]))
    return [r for _, _, r in records]


def finish_bad(sc, r, emit, rng):
    total = (r["ready"] - r["arrival"]) * 1000.0 + 0.2
    emit(r["ready"], {"event": "request", "schema": "yoloscope.v1", "ts": ts(r["arrival"]),
                      "request_id": f"r{r['i']:07d}", "model": sc.model, "backend": "torch",
                      "device": f"cuda:{r['gpu']}", "gpu_id": r["gpu"],
                      "input_bytes": r["bytes"], "decode_ms": r3(r["decode"]),
                      "total_ms": r3(total), "detections": 0, "status": "decode_error",
                      "error": "corrupt JPEG data: premature end of data segment"})


def refuse(sc, r, emit, rng):
    emit(r["ready"] + 0.0002, {"event": "request", "schema": "yoloscope.v1",
                               "ts": ts(r["arrival"]), "request_id": f"r{r['i']:07d}",
                               "model": sc.model, "backend": "torch",
                               "device": f"cuda:{r['gpu']}", "gpu_id": r["gpu"],
                               "input_bytes": r["bytes"],
                               "decode_ms": r3(r["decode"]), "preprocess_ms": r3(r["pre"]),
                               "total_ms": r3((r["ready"] - r["arrival"]) * 1000.0 + 0.2),
                               "status": "queue_full", "error": "batcher queue is full (503)"})


def write(records, path):
    with open(path, "w") as f:
        for rec in records:
            f.write(json.dumps(rec, separators=(",", ":")))
            f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("args", nargs="*")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--corpus")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--scale", type=float, default=1.0, help="run length factor")
    ap.add_argument("--only", help="comma-separated scenario names")
    a = ap.parse_args()
    all_sc = scenarios()
    all_sc.update(stream_scenarios())
    if a.list:
        for name, sc in all_sc.items():
            print(name, "expect:", ",".join(sc.expect) or "(healthy)",
                  "allow:", ",".join(sc.allow) or "-")
        return 0
    if a.corpus:
        os.makedirs(a.corpus, exist_ok=True)
        truth = []
        names = a.only.split(",") if a.only else list(all_sc)
        for name in names:
            for seed in range(a.first_seed, a.first_seed + a.seeds):
                path = os.path.join(a.corpus, f"{name}.s{seed}.jsonl")
                if name in stream_scenarios():
                    sc = jitter_streams(stream_scenarios()[name], seed)
                    write(simulate_streams(sc, seed, a.scale), path)
                else:
                    sc = jitter(scenarios()[name], seed)  # fresh: changed in place
                    write(simulate(sc, seed, a.scale), path)
                truth.append({"log": os.path.basename(path), "scenario": name, "seed": seed,
                              "expect": sc.expect, "allow": sc.allow})
        with open(os.path.join(a.corpus, "truth.json"), "w") as f:
            json.dump(truth, f, indent=1)
        return 0
    if len(a.args) != 3:
        ap.error("SCENARIO SEED OUT.jsonl, or --corpus DIR, or --list")
    name, seed, out = a.args
    if name not in all_sc:
        ap.error(f"unknown scenario {name} (--list)")
    if name in stream_scenarios():
        write(simulate_streams(jitter_streams(all_sc[name], int(seed)), int(seed), a.scale), out)
    else:
        write(simulate(jitter(all_sc[name], int(seed)), int(seed), a.scale), out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
