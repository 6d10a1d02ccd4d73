#!/usr/bin/env python3
"""The summary of a bench/gpu/e2e.sh run: one Markdown table per question,
then the goals with PASS/FAIL, read from the files the run wrote.

    python3 bench/gpu/e2e_summary.py OUT_DIR --device cuda:0 --modes "fp32 fp16 fp16graphs" \
        --best-mode fp16graphs

Reads: engine_MODE.json (bench --engine --save-curve), closed_MODE.json and
open_MODE.json (bench --json), overhead_{log,nolog}.json, cotenant_load.json,
notes.txt, analyze_cotenant.json, torch_loop.csv, detect_*.jsonl.
A missing file makes its rows say "missing", never a made-up number.
"""
import argparse
import csv
import json
import os
import sys


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def flat(level):
    """One level of `bench --json`, its summary's fields lifted up."""
    out = dict(level)
    out.update(level.get("summary") or {})
    return out


def best_level(bench):
    levels = [flat(lv) for lv in (bench or {}).get("levels") or []]
    levels = [lv for lv in levels if lv.get("throughput_rps") is not None]
    return max(levels, key=lambda lv: lv["throughput_rps"]) if levels else None


def latency(level, key):
    lat = (level or {}).get("latency_ms") or {}
    v = lat.get(key)
    return v if isinstance(v, (int, float)) else None


def status_counts(bench):
    total = {}
    for lv in (bench or {}).get("levels") or []:
        for k, v in (flat(lv).get("status_counts") or {}).items():
            total[str(k)] = total.get(str(k), 0) + int(v)
    return total


def fmt(v, spec=".1f"):
    return "missing" if v is None else format(v, spec)


def iou(a, b):
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / ua if ua > 0 else 0.0


def read_detections(path):
    out = {}
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    d = json.loads(line)
                    out[os.path.basename(d.get("file", ""))] = d.get("detections") or []
    except (OSError, ValueError):
        return None
    return out


def compare_detections(ref, other):
    """Greedy match per image by class and IoU: matched share of the
    reference boxes (score >= 0.3, away from the threshold), worst box corner
    deviation (px) and worst score difference among matches."""
    n = matched = 0
    max_px = max_score = 0.0
    for name, boxes in ref.items():
        cand = list(other.get(name, []))
        for r in boxes:
            if r["score"] < 0.3:
                continue
            n += 1
            best, best_iou = None, 0.0
            for c in cand:
                if c["class_id"] != r["class_id"]:
                    continue
                v = iou(r["box"], c["box"])
                if v > best_iou:
                    best, best_iou = c, v
            if best is not None and best_iou >= 0.9:
                matched += 1
                cand.remove(best)
                max_px = max(max_px, max(abs(p - q) for p, q in zip(r["box"], best["box"])))
                max_score = max(max_score, abs(r["score"] - best["score"]))
    return n, matched, max_px, max_score


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--device", default="cuda:0")
    p.add_argument("--modes", default="fp32 fp16 fp16graphs")
    p.add_argument("--best-mode", default="fp16graphs")
    a = p.parse_args()
    out = a.out
    modes = a.modes.split()
    goals = []  # (goal, value, pass)

    print(f"# e2e on {a.device}\n")
    host = os.path.join(out, "host.txt")
    if os.path.exists(host):
        print("```")
        print(open(host).read().strip())
        print("```\n")

    print("## Throughput per mode (images/s)\n")
    print("| mode | engine best (batch) | served closed best (concurrency) | p50 ms | p99 ms |"
          " served / engine | open loop: offered -> served, p99 ms, status |")
    print("|---|---|---|---|---|---|---|")
    served_best = {}
    engine_best = {}
    for m in modes:
        eng = load_json(os.path.join(out, f"engine_{m}.json"))
        curve = (eng or {}).get("curve") or []
        eb = max(curve, key=lambda r: r.get("throughput_ips", 0)) if curve else None
        closed = load_json(os.path.join(out, f"closed_{m}.json"))
        cb = best_level(closed)
        opn = load_json(os.path.join(out, f"open_{m}.json"))
        ob = best_level(opn)
        e = eb["throughput_ips"] if eb else None
        s = cb["throughput_rps"] if cb else None
        engine_best[m], served_best[m] = e, s
        ratio = s / e if e and s else None
        open_cell = "missing"
        if ob:
            open_cell = (f"{fmt(ob.get('send_rate_rps'))} -> {fmt(ob.get('throughput_rps'))}, "
                         f"{fmt(latency(ob, 'p99'))}, {json.dumps(status_counts(opn))}")
        print(f"| {m} | {fmt(e)} ({eb['batch_size'] if eb else '-'}) | {fmt(s)} "
              f"({int(cb['level']) if cb else '-'}) | {fmt(latency(cb, 'p50'))} | "
              f"{fmt(latency(cb, 'p99'))} | {fmt(ratio, '.2f')} | {open_cell} |")
    bm = a.best_mode
    if engine_best.get(bm) and served_best.get(bm):
        r = served_best[bm] / max(v for v in engine_best.values() if v)
        goals.append(("served >= 0.9x the engine's best on this device", f"{r:.2f}x", r >= 0.9))

    print("\n## Plain PyTorch loop (torch_loop.py) vs served\n")
    rows = []
    try:
        with open(os.path.join(out, "torch_loop.csv")) as f:
            rows = list(csv.DictReader(f))
    except OSError:
        pass
    print("| precision | loop best img/s (batch) | served best img/s | served / loop |")
    print("|---|---|---|---|")
    loop_best_all = None
    for prec in ("fp32", "fp16"):
        rs = [r for r in rows if r["precision"] == prec]
        if not rs:
            continue
        rb = max(rs, key=lambda r: float(r["img_per_s"]))
        lb = float(rb["img_per_s"])
        loop_best_all = max(loop_best_all or 0, lb)
        sv = max((v for k, v in served_best.items() if k.startswith(prec) and v), default=None)
        print(f"| {prec} | {lb:.1f} ({rb['batch']}) | {fmt(sv)} | "
              f"{fmt(sv / lb if sv else None, '.2f')} |")
    sv_all = max((v for v in served_best.values() if v), default=None)
    if loop_best_all and sv_all:
        r = sv_all / loop_best_all
        goals.append(("served >= 3x the plain PyTorch loop (best of each)", f"{r:.2f}x", r >= 3.0))

    print("\n## Request log + NVML telemetry cost\n")
    nolog = best_level(load_json(os.path.join(out, "overhead_nolog.json")))
    logd = best_level(load_json(os.path.join(out, "overhead_log.json")))
    if nolog and logd:
        cost = 1 - logd["throughput_rps"] / nolog["throughput_rps"]
        print(f"log on: {logd['throughput_rps']:.1f} img/s, off: {nolog['throughput_rps']:.1f} img/s "
              f"(concurrency {int(logd['level'])}): cost {cost * 100:.1f}%")
        goals.append(("log + telemetry cost <= 2%", f"{cost * 100:.1f}%", cost <= 0.02))
    else:
        print("missing")

    print("\n## Co-tenant episode\n")
    notes = open(os.path.join(out, "notes.txt")).read() if os.path.exists(
        os.path.join(out, "notes.txt")) else ""
    for line in notes.splitlines():
        if "co-tenant" in line or "cotenant" in line:
            print(f"- {line}")
    cl = load_json(os.path.join(out, "cotenant_load.json"))
    sc = status_counts(cl)
    errors = sum(int(flat(lv).get("errors") or 0) for lv in (cl or {}).get("levels") or [])
    unsent = sum(int(flat(lv).get("unsent") or 0) for lv in (cl or {}).get("levels") or [])
    print(f"- load: status {json.dumps(sc)}, transport errors {errors}, unsent {unsent}")
    alive = "alive after the episode" in notes
    answered = bool(sc) and all(k in ("200", "507", "503") for k in sc) and errors == 0
    goals.append(("co-tenant: serve alive, every request answered (200/503/507)",
                  f"alive={alive}, status={json.dumps(sc)}, errors={errors}", alive and answered))
    an = load_json(os.path.join(out, "analyze_cotenant.json"))
    kinds = []
    if an:
        for f in an.get("findings") or []:
            kinds.append(f.get("kind"))
            ev = f.get("evidence")
            ev_s = json.dumps(ev)[:300] if ev is not None else ""
            print(f"- finding **{f.get('kind')}** ({f.get('severity')}): {f.get('title')} {ev_s}")
    named = [k for k in kinds if k in ("gpu_contention", "gpu_memory_pressure", "oom")]
    goals.append(("analyze names the co-tenant (gpu_contention / gpu_memory_pressure / oom)",
                  ", ".join(named) or "none", bool(named)))

    print("\n## CPU vs GPU detections (carried photos)\n")
    ref = read_detections(os.path.join(out, "detect_cpu.jsonl"))
    agree = None
    for name in sorted(os.listdir(out)):
        if name.startswith("detect_") and name.endswith(".jsonl") and name != "detect_cpu.jsonl":
            other = read_detections(os.path.join(out, name))
            if ref is None or other is None:
                print(f"- {name}: missing")
                continue
            n, m, px, ds = compare_detections(ref, other)
            print(f"- {name} vs detect_cpu.jsonl: {m}/{n} boxes matched (class, IoU >= 0.9); "
                  f"max corner deviation {px:.2f} px, max score difference {ds:.4f}")
            ok = n > 0 and m == n and px <= 2.0 and ds <= 0.02
            agree = ok if agree is None else (agree and ok)
    if agree is not None:
        goals.append(("CPU and GPU detections agree (all matched, <= 2 px, score <= 0.02)",
                      "see above", agree))

    print("\n## Goals\n")
    print("| goal | measured | result |")
    print("|---|---|---|")
    for g, v, ok in goals:
        print(f"| {g} | {v} | {'PASS' if ok else 'FAIL'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
