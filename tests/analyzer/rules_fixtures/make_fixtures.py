#!/usr/bin/env python3
"""Regenerates the JSONL / TSV / CSV rule fixtures in this folder (deterministic).

The small hand-written tables (*_three_rows.*) are not generated. Run from
anywhere: python3 make_fixtures.py
"""
import json
import math
import os
import random
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def ts(seconds):
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lognormal(rng, median, sigma):
    return median * math.exp(rng.gauss(0, sigma))


def request(rng, i, t, **over):
    queue_len = rng.randint(0, 3)
    b = min(1 + queue_len, 4)
    r = {
        "event": "request", "schema": "yoloscope.v1", "ts": ts(t), "request_id": f"req-{i}",
        "model": "yolov8n", "backend": "torch", "device": "cuda:0", "gpu_id": 0,
        "input_w": 1280, "input_h": 720, "input_bytes": 200000, "batch_id": i,
        "batch_size": b, "queue_len": queue_len, "queue_ms": rng.uniform(0.3, 4.0),
        "decode_ms": lognormal(rng, 2.5, 0.15), "preprocess_ms": lognormal(rng, 1.5, 0.15),
        "h2d_ms": lognormal(rng, 0.4, 0.1), "inference_ms": lognormal(rng, 8 + 3 * b, 0.08),
        "d2h_ms": lognormal(rng, 0.2, 0.1), "postprocess_ms": lognormal(rng, 1.2, 0.15),
        "detections": rng.randint(2, 20), "status": "ok", "gpu_util": rng.uniform(45, 65),
        "mem_used_mb": 6000 + 200 * b, "mem_total_mb": 16384, "mem_reserved_mb": 5200,
        "mem_allocated_mb": 4600 + 50 * b, "alloc_retries": 0, "oom": False,
    }
    r.update(over)
    stages = ["queue_ms", "decode_ms", "preprocess_ms", "h2d_ms", "inference_ms", "d2h_ms", "postprocess_ms"]
    r["total_ms"] = 0.3 + sum(r[s] for s in stages if r.get(s) is not None)
    for k, v in list(r.items()):
        if isinstance(v, float):
            r[k] = round(v, 3)
    return r


def gpu(rng, t, **over):
    g = {"event": "gpu", "schema": "yoloscope.v1", "ts": ts(t), "gpu_id": 0,
         "gpu_util": round(rng.uniform(45, 65), 1), "mem_used_mb": 6100, "mem_total_mb": 16384,
         "mem_other_processes_mb": 0, "sm_clock_mhz": 1980, "temp_c": 62, "power_w": 180,
         "throttle_reasons": ""}
    g.update(over)
    return g


def write_jsonl(name, records):
    with open(os.path.join(HERE, name), "w") as f:
        for r in records:
            f.write(json.dumps(r, separators=(",", ":")) + "\n")


def timeline(rng, seconds, rps, mutate=None, gpu_mutate=None):
    out, next_gpu = [], 0
    for i in range(int(seconds * rps)):
        t = (i + rng.uniform(0, 0.9)) / rps
        while next_gpu <= t:
            g = gpu(rng, next_gpu)
            if gpu_mutate:
                gpu_mutate(g, next_gpu)
            out.append(g)
            next_gpu += 1
        r = request(rng, i, t)
        if mutate:
            mutate(r, t, i)
            stages = ["queue_ms", "decode_ms", "preprocess_ms", "h2d_ms", "inference_ms", "d2h_ms",
                      "postprocess_ms"]
            r["total_ms"] = round(0.3 + sum(r[s] for s in stages if r.get(s) is not None), 3)
        out.append(r)
    return out


def main():
    rng = random.Random(1)
    write_jsonl("healthy.jsonl", timeline(rng, 60, 5))

    rng = random.Random(2)

    def saturate(r, t, i):
        if t < 15:
            return
        load = (t - 15) / 45
        r["queue_len"] = 8 + int(56 * load) + rng.randint(0, 4)
        r["batch_size"] = 4
        r["queue_ms"] = round(40 + 400 * load + rng.uniform(0, 20), 3)
        if rng.random() < 0.04:
            r["status"] = "503"
            r["error"] = "queue full"
    write_jsonl("queue_saturation.jsonl", timeline(rng, 60, 5, saturate))

    rng = random.Random(3)

    def window(r, t, i):
        r["batch_size"] = 1
        r["queue_len"] = rng.randint(0, 1)
        r["inference_ms"] = round(lognormal(rng, 11, 0.08), 3)
        r["queue_ms"] = round(50 + rng.uniform(-1.5, 1.5), 3)
    write_jsonl("batch_window.jsonl", timeline(rng, 150, 1, window))

    rng = random.Random(4)

    def throttle_req(r, t, i):
        if 100 <= t < 160:
            r["inference_ms"] = round(r["inference_ms"] * 1.8, 3)
    requests = [r for r in timeline(rng, 240, 1, throttle_req) if r["event"] == "request"]
    for r in requests:  # the GPU state comes from the nvidia-smi file only.
        for k in ("gpu_util", "mem_used_mb", "mem_total_mb", "mem_reserved_mb", "mem_allocated_mb"):
            del r[k]
    write_jsonl("throttle_requests.jsonl", requests)
    with open(os.path.join(HERE, "throttle_nvidia_smi.csv"), "w") as f:
        f.write("timestamp, index, utilization.gpu [%], memory.used [MiB], memory.total [MiB], "
                "clocks.sm [MHz], temperature.gpu, clocks_throttle_reasons.active\n")
        for s in range(240):
            hot = 100 <= s < 160
            stamp = (T0 + timedelta(seconds=s)).strftime("%Y/%m/%d %H:%M:%S.000")
            f.write(f"{stamp}, 0, {55 + s % 7} %, 6100 MiB, 16384 MiB, {1100 if hot else 1980} MHz, "
                    f"{91 if hot else 63}, {'0x0000000000000020' if hot else '0x0000000000000000'}\n")

    rng = random.Random(5)
    with open(os.path.join(HERE, "cpu_preprocess.tsv"), "w") as f:
        f.write("time\trequest id\tbatch size\tdecode (ms)\tpreprocess (ms)\tinference (ms)\ttotal (ms)\n")
        for i in range(40):
            dec, pre, inf = lognormal(rng, 30, 0.2), lognormal(rng, 12, 0.2), lognormal(rng, 11, 0.1)
            stamp = (T0 + timedelta(seconds=i * 0.5)).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
            f.write(f"{stamp}\tp{i}\t1\t{dec:.2f}\t{pre:.2f}\t{inf:.2f}\t{dec + pre + inf + 2:.2f}\n")

    rng = random.Random(6)
    lines = [json.dumps(r, separators=(",", ":")) for r in timeline(rng, 20, 2)]
    bad = [
        '{"event":"request","schema":"yoloscope.v1","ts":"2026-01-01T00:00:01Z","request_id":"x1",',
        'not json at all',
        '{"event":"request","ts":12,"total_ms":"fast"}',
        '\x00\x01\x02garbage\x7f',
        '[1,2,3]',
        '{"event":"request","schema":"yoloscope.v1","ts":"yesterday","request_id":"x2","total_ms":-5}',
        '{}',
        '{"event":"request","schema":"yoloscope.v1","ts":"2026-01-01T00:00:02Z","queue_ms":1e308,'
        '"total_ms":1e400}',
    ]
    for k, b in enumerate(bad):
        lines.insert(3 + 4 * k, b)
    with open(os.path.join(HERE, "malformed.jsonl"), "w") as f:
        f.write("\n".join(lines) + "\n")

    # gpu_contention in the shape `serve` logs it (scenarios/sim_contention.yaml):
    # request and gpu records name gpu 0, batch records carry the batch's memory
    # but gpu_id null; a 6000 MiB job on an 81559 MiB card at 10-20 s doubles
    # inference. Device state summed over gpu 0 and the id-less records once
    # doubled the card and hid the co-tenant.
    rng = random.Random(7)
    out = []
    rps, seconds, total_mb = 5, 30, 81559
    for k in range(seconds * 4):
        t = k / 4
        busy = 10 <= t < 20
        out.append({"event": "gpu", "schema": "yoloscope.v1", "ts": ts(t), "gpu_id": 0,
                    "gpu_util": 98 if busy else round(rng.uniform(20, 28), 1),
                    "mem_used_mb": 6597 if busy else 597, "mem_total_mb": total_mb,
                    "mem_other_processes_mb": 6000 if busy else 0, "sm_clock_mhz": 1980,
                    "temp_c": 40, "power_w": 650 if busy else 220, "throttle_reasons": ""})
    for i in range(seconds * rps):
        t = (i + 0.5) / rps
        busy = 10 <= t < 20
        inf = round(lognormal(rng, 17.6 if busy else 8.0, 0.02), 3)
        used = 6597 if busy else 597
        out.append({"event": "batch", "schema": "yoloscope.v1", "ts": ts(t), "batch_id": i + 1,
                    "batch_size": 1, "model": "yolo-sim", "instance": 0, "gpu_id": None,
                    "h2d_ms": 0.207, "inference_ms": inf, "d2h_ms": 0.123, "mem_used_mb": used,
                    "mem_total_mb": total_mb, "mem_reserved_mb": 84, "mem_allocated_mb": 2.7,
                    "mem_inactive_split_mb": 17.3, "alloc_retries": 0, "oom": False})
        r = {"event": "request", "schema": "yoloscope.v1", "ts": ts(t), "request_id": f"c-{i}",
             "model": "yolo-sim", "backend": "sim", "device": "sim:0", "gpu_id": 0,
             "input_w": 640, "input_h": 480, "input_bytes": 80000, "batch_id": i + 1,
             "batch_size": 1, "queue_len": 0, "queue_ms": round(rng.uniform(0.05, 0.12), 3),
             "decode_ms": round(lognormal(rng, 1.4, 0.1), 3),
             "preprocess_ms": round(lognormal(rng, 0.25, 0.1), 3), "h2d_ms": 0.207,
             "inference_ms": inf, "d2h_ms": 0.123,
             "postprocess_ms": round(lognormal(rng, 0.3, 0.1), 3), "detections": 3, "status": "ok",
             "gpu_util": 98 if busy else 24, "mem_used_mb": used, "mem_total_mb": total_mb,
             "mem_reserved_mb": 84, "mem_allocated_mb": 2.7, "alloc_retries": 0, "oom": False}
        stages = ["queue_ms", "decode_ms", "preprocess_ms", "h2d_ms", "inference_ms", "d2h_ms",
                  "postprocess_ms"]
        r["total_ms"] = round(0.3 + sum(r[s] for s in stages), 3)
        out.append(r)
    out.sort(key=lambda r: r["ts"])
    write_jsonl("contention_serve.jsonl", out)


if __name__ == "__main__":
    main()
