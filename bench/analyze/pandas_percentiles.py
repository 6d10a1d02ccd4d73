#!/usr/bin/python3
"""The pandas baseline of bench/analyze/run_bench.sh: per-stage latency
percentiles of a yoloscope.v1 JSON Lines log -- the same numbers as the
`stages` section of `yoloscope analyze --format json` (count, mean, p50, p90,
p99, p99.9, max of each *_ms stage over `request` records).

It is written the way one would do it well in pandas: read in chunks, keep only
the request rows and the numeric stage columns, then compute the quantiles.

usage: pandas_percentiles.py LOG.jsonl > stages.json
"""
import json
import sys

import pandas as pd

STAGES = ["queue_ms", "decode_ms", "preprocess_ms", "h2d_ms", "inference_ms", "d2h_ms",
          "postprocess_ms", "total_ms"]


def main(path):
    parts = []
    for chunk in pd.read_json(path, lines=True, chunksize=250_000, convert_dates=False):
        if "event" in chunk.columns:
            chunk = chunk[chunk["event"] == "request"]
        parts.append(chunk[[c for c in STAGES if c in chunk.columns]])
    frame = pd.concat(parts, ignore_index=True)
    out = []
    for stage in STAGES:
        if stage not in frame.columns:
            continue
        col = pd.to_numeric(frame[stage], errors="coerce").dropna()
        col = col[col >= 0]
        if col.empty:
            continue
        q = col.quantile([0.5, 0.9, 0.99, 0.999], interpolation="higher")
        out.append({"stage": stage[:-3], "count": int(col.count()), "mean_ms": float(col.mean()),
                    "p50_ms": float(q[0.5]), "p90_ms": float(q[0.9]), "p99_ms": float(q[0.99]),
                    "p999_ms": float(q[0.999]), "max_ms": float(col.max())})
    json.dump({"stages": out}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
