#!/usr/bin/env python3
"""Summaries of bench/stream/run_bench.sh's serve logs (yoloscope.v1 JSONL).

Reads only what serve wrote: `request` records of video frames
(protocol "stream"), `batch` records and `stream` records. Prints Markdown
table rows; `header` / `decode-header` print the tables' headers.
"""
import argparse
import json
import statistics
import sys
from datetime import datetime


def ts_s(text):
    return datetime.strptime(text.rstrip("Z"), "%Y-%m-%dT%H:%M:%S.%f").timestamp()


def load(path):
    frames, batches, streams = [], [], {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                r = json.loads(line)
            except ValueError:
                continue
            ev = r.get("event")
            if ev == "request" and r.get("protocol") == "stream":
                frames.append(r)
            elif ev == "batch":
                batches.append(r)
            elif ev == "stream":
                streams[r["stream"]] = r  # the latest: cumulative counts
    return frames, batches, streams


def pct(values, q):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def matrix(args):
    frames, batches, streams = load(args.log)
    ok = [r for r in frames if r.get("status") == "ok"]
    if not ok:
        print(f"| {args.size} | {args.streams} | no frame processed | | | | | |")
        return
    t0 = min(ts_s(r["ts"]) for r in ok)
    lo, hi = t0 + args.skip_s, t0 + args.span_s
    win = [r for r in ok if lo <= ts_s(r["ts"]) < hi]
    span = hi - lo
    lat = [r["total_ms"] for r in win]
    busy_ms = sum(b.get("inference_ms", 0) for b in batches if lo <= ts_s(b["ts"]) < hi)
    sizes = [b["batch_size"] for b in batches if lo <= ts_s(b["ts"]) < hi]
    # Frames read in the window, per stream, from the frame indexes of its
    # records (every frame wanted: a gap is a frame dropped); the first and
    # last frames of the window bound it.
    read = dropped = 0
    for name in {r["stream"] for r in win}:
        idx = sorted(r["frame_index"] for r in win if r["stream"] == name)
        n = idx[-1] - idx[0] + 1
        read += n
        dropped += n - len(idx)
    fps = len(win) / span
    print(
        f"| {args.size} | {args.streams} | {fps:.1f} ({fps / args.streams:.1f}/stream) "
        f"| {read / span / args.streams:.1f} "
        f"| {pct(lat, 0.5):.0f} | {pct(lat, 0.99):.0f} "
        f"| {100.0 * dropped / max(read, 1):.0f}% "
        f"| {statistics.mean(sizes) if sizes else 0:.1f} | {100.0 * busy_ms / 1000 / span:.0f}% |"
    )
    totals = {k: sum(s.get(k, 0) for s in streams.values())
              for k in ("frames_read", "frames_processed", "frames_failed", "frames_dropped",
                        "frames_skipped")}
    if totals["frames_processed"] + totals["frames_failed"] + totals["frames_dropped"] + \
            totals["frames_skipped"] != totals["frames_read"]:
        print(f"warning: the stream records do not balance: {totals}", file=sys.stderr)


def header(_):
    print("| imgsz | cameras | frames/s processed | read fps per camera (of 25) | e2e p50 ms "
          "| e2e p99 ms | dropped | mean batch | device busy |")
    print("|---|---|---|---|---|---|---|---|---|")


def decode_header(_):
    print("| source | frames | reader ms/frame p50 | p99 | mean | serve CPU ms/frame "
          "| ffmpeg 1-thread decode CPU ms/frame |")
    print("|---|---|---|---|---|---|---|")


def decode(args):
    frames, _, streams = load(args.log)
    d = [r["decode_ms"] for r in frames if "decode_ms" in r]
    if not d:
        print(f"| {args.label} | 0 | | | | | |")
        return
    mean = statistics.mean(d)
    serve_cpu = 1000.0 * args.serve_cpu_s / len(d) if args.serve_cpu_s else float("nan")
    ff = 1000.0 * args.ffmpeg_cpu_s / len(d) if args.ffmpeg_cpu_s else float("nan")
    print(f"| {args.label} | {len(d)} | {pct(d, 0.5):.2f} | {pct(d, 0.99):.2f} | {mean:.2f} "
          f"| {serve_cpu:.2f} | {ff:.2f} |")


def soak(args):
    frames, batches, streams = load(args.log)
    ok = [r for r in frames if r.get("status") == "ok"]
    t0 = min(ts_s(r["ts"]) for r in frames)
    print("| stream | frames sent | read | records | dropped | skipped | records + dropped + skipped "
          "== read | read == sent |")
    print("|---|---|---|---|---|---|---|---|")
    sent = dict(s.split("=", 1) for s in args.sent)
    all_ok = True
    for name in sorted(streams):
        s = streams[name]
        records = sum(1 for r in frames if r.get("stream") == name)
        read, dropped, skipped = s["frames_read"], s["frames_dropped"], s["frames_skipped"]
        n_sent = int(sent.get(name) or -1)
        balanced = records + dropped + skipped == read
        whole = n_sent == read
        all_ok &= balanced and whole
        print(f"| {name} | {n_sent} | {read} | {records} | {dropped} | {skipped} "
              f"| {'yes' if balanced else 'NO'} | {'yes' if whole else 'NO'} |")
    print()
    print("| minute | frames/s | e2e p50 ms | e2e p99 ms | max ms |")
    print("|---|---|---|---|---|")
    by_min = {}
    for r in ok:
        by_min.setdefault(int((ts_s(r["ts"]) - t0) // 60), []).append(r["total_ms"])
    t_end = max(ts_s(r["ts"]) for r in ok)
    for m in sorted(by_min):
        v = by_min[m]
        span = min(60.0, t_end - (t0 + 60 * m)) or 1.0
        print(f"| {m} | {len(v) / span:.1f} | {pct(v, 0.5):.0f} | {pct(v, 0.99):.0f} "
              f"| {max(v):.0f} |")
    rss = []
    with open(args.rss, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                rss.append((int(parts[0]), int(parts[1]) / 1024))
    if rss:
        after = [m for t, m in rss if t >= 60] or [m for _, m in rss]
        print()
        print(f"RSS MB: first {rss[0][1]:.0f}, after the first minute min {min(after):.0f} "
              f"max {max(after):.0f}, last {rss[-1][1]:.0f} ({len(rss)} samples every 10 s)")
    print(f"every frame accounted for: {'yes' if all_ok else 'NO'}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("what", choices=["header", "matrix", "decode-header", "decode", "soak"])
    p.add_argument("log", nargs="?")
    p.add_argument("--size", type=int)
    p.add_argument("--streams", type=int)
    p.add_argument("--skip-s", type=float, default=5)
    p.add_argument("--span-s", type=float, default=30)
    p.add_argument("--label")
    p.add_argument("--rss")
    p.add_argument("--sent", nargs="*", default=[])
    p.add_argument("--serve-cpu-s", type=float)
    p.add_argument("--ffmpeg-cpu-s", type=float)
    a = p.parse_args()
    {"header": header, "matrix": matrix, "decode-header": decode_header, "decode": decode,
     "soak": soak}[a.what](a)


if __name__ == "__main__":
    main()
