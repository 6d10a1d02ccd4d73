#!/usr/bin/env python3
"""Precision and recall of `yoloscope analyze` per finding kind on a corpus
made by bench/accuracy/simulate.py (DIR/truth.json lists each log with the
kinds it must yield, `expect`, and the kinds its condition really implies as
well, `allow`).

For each log the analyzer's JSON findings are compared with the truth:
  - a kind in `expect` that is reported (any severity) is a true positive,
    one that is not is a false negative;
  - a kind reported at warning or critical that is neither expected nor
    allowed is a false positive (an info finding is a remark, not a
    diagnosis: listed, not counted);
  - a healthy control (empty `expect`) must have no warning or critical
    finding at all.
precision = TP / (TP + FP), recall = TP / (TP + FN), per kind.

usage: score.py CORPUS_DIR [--yoloscope BIN] [--goal 0.95] [--markdown] [--jobs N]
Exit 1 when a kind misses the goal or a healthy control has a warning.
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys


def analyze(binary, path):
    out = subprocess.run([binary, "analyze", "--format", "json", "--progress", "never",
                          "--threads", "1", "--alert-rules", "none", path],
                         capture_output=True, text=True, check=False)
    if out.returncode not in (0, 3):
        raise RuntimeError(f"{path}: exit {out.returncode}: {out.stderr.strip()}")
    return json.loads(out.stdout)["findings"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--yoloscope", default=os.environ.get("YOLOSCOPE_BIN", "build/apps/yoloscope/yoloscope"))
    ap.add_argument("--goal", type=float, default=0.95)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--verbose", action="store_true", help="print every log's findings")
    a = ap.parse_args()
    truth = json.load(open(os.path.join(a.corpus, "truth.json")))
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
        results = list(pool.map(lambda t: analyze(a.yoloscope, os.path.join(a.corpus, t["log"])),
                                truth))
    kinds = sorted({k for t in truth for k in t["expect"]})
    tp = {k: 0 for k in kinds}
    fn = {k: 0 for k in kinds}
    fp = {}
    problems = []
    healthy_runs = healthy_bad = 0
    for t, findings in zip(truth, results):
        reported = {f["kind"]: f["severity"] for f in findings}
        serious = {k for k, s in reported.items() if s in ("warning", "critical")}
        if a.verbose:
            print(t["log"], " ".join(f"{k}({s})" for k, s in sorted(reported.items())) or "-")
        for k in t["expect"]:
            if k in reported:
                tp[k] += 1
            else:
                fn[k] += 1
                problems.append(f"{t['log']}: missed {k}; reported "
                                f"{sorted(reported.items()) or 'nothing'}")
        for k in serious - set(t["expect"]) - set(t["allow"]):
            fp[k] = fp.get(k, 0) + 1
            problems.append(f"{t['log']}: unexpected {k} ({reported[k]})")
        if not t["expect"]:
            healthy_runs += 1
            if serious:
                healthy_bad += 1
    all_kinds = sorted(set(kinds) | set(fp))
    ok = True
    rows = []
    for k in all_kinds:
        t_, f_, n_ = tp.get(k, 0), fp.get(k, 0), fn.get(k, 0)
        prec = t_ / (t_ + f_) if t_ + f_ else float("nan")
        rec = t_ / (t_ + n_) if t_ + n_ else float("nan")
        if not (prec >= a.goal) or not (rec >= a.goal):
            ok = False
        rows.append((k, t_, f_, n_, prec, rec))
    if healthy_bad:
        ok = False
    logs = len(truth)
    scen = len({t["scenario"] for t in truth})
    if a.markdown:
        print(f"| kind | TP | FP | FN | precision | recall |")
        print("|---|---|---|---|---|---|")
        for k, t_, f_, n_, p, r in rows:
            print(f"| `{k}` | {t_} | {f_} | {n_} | {p:.2f} | {r:.2f} |")
        print(f"\n{logs} logs ({scen} scenarios); healthy controls with a warning or critical "
              f"finding: {healthy_bad} of {healthy_runs}.")
    else:
        print(f"{'kind':24} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>9} {'recall':>7}")
        for k, t_, f_, n_, p, r in rows:
            print(f"{k:24} {t_:4d} {f_:4d} {n_:4d} {p:9.2f} {r:7.2f}")
        print(f"{logs} logs, {scen} scenarios; healthy controls with a warning/critical "
              f"finding: {healthy_bad} of {healthy_runs}")
    for p in problems:
        print("  " + p, file=sys.stderr)
    print(("PASS" if ok else "FAIL") + f": goal {a.goal} per kind, clean healthy controls",
          file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
