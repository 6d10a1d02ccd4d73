#!/usr/bin/env python3
"""Open-loop soak load for `yoloscope serve` (driven by bench/soak.sh).

Sends requests at a constant rate for --minutes: mostly good detections, plus
a fixed share of bad inputs, each with a unique X-Request-Id and the status
it must get. Every --rotate-s seconds it rotates the request log the
logrotate way (rename, then SIGHUP). It samples the server's RSS and open
file descriptors every --sample-s seconds. At the end it stops the server
(SIGTERM), reads every log file and checks, after the warm-up:

  * RSS growth < 5% (median of the last minute vs the first minute after
    warm-up);
  * open fds flat: the same with no client connected before and after the
    load, and never above that plus the client connections during it;
  * no unexpected status, in particular no 5xx;
  * request records == responses, by id: each inference request answered
    has exactly one `request` record with its id (across all rotated
    files), non-inference requests (health, unknown route) have none, no
    record has an id that was not sent, every line is whole JSON.

Prints a JSON summary on stdout; exit 0 when every check passes. Standard
library only.
"""

import argparse
import collections
import glob
import http.client
import json
import os
import queue
import signal
import statistics
import sys
import threading
import time


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def make_gif():
    # A 1x1 GIF: a format serve recognises but does not decode (415).
    return (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00"
            b"\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")


def request_kinds(jpeg, model):
    """(name, weight, method, target, headers, body, expected status, logged)."""
    jpg = {"Content-Type": "image/jpeg"}
    boundary = "soakBoundary"
    multipart = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; "
                 f"filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode() + jpeg + \
        f"\r\n--{boundary}--\r\n".encode()
    no_image = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n"
                f"--{boundary}--\r\n").encode()
    mp = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    infer = f"/v2/models/{model}/infer"
    kserve_bad = {"Content-Type": "application/json"}
    return [
        # Good requests: 85%.
        ("detect", 70, "POST", "/v1/detect?conf=0.25", jpg, jpeg, 200, True),
        ("detect_multipart", 10, "POST", "/v1/detect", mp, multipart, 200, True),
        ("health", 5, "GET", "/v2/health/live", {}, b"", 200, False),
        # Bad inputs: 15%.
        ("garbage_bytes", 2, "POST", "/v1/detect", jpg, b"this is not an image" * 5, 400, True),
        ("truncated_jpeg", 2, "POST", "/v1/detect", jpg, jpeg[: len(jpeg) // 2], 422, True),
        ("empty_body", 1, "POST", "/v1/detect", jpg, b"", 400, True),
        ("gif", 1, "POST", "/v1/detect", {"Content-Type": "image/gif"}, make_gif(), 415, True),
        ("bad_conf", 1, "POST", "/v1/detect?conf=abc", jpg, jpeg, 400, True),
        ("negative_timeout", 1, "POST", "/v1/detect?timeout_ms=-1", jpg, jpeg, 400, True),
        ("bad_priority", 1, "POST", "/v1/detect", {**jpg, "X-Priority": "urgent"}, jpeg, 400,
         True),
        ("form_urlencoded", 1, "POST", "/v1/detect",
         {"Content-Type": "application/x-www-form-urlencoded"}, b"a=1", 415, True),
        ("multipart_no_image", 1, "POST", "/v1/detect", mp, no_image, 400, True),
        ("kserve_bad_json", 2, "POST", infer, kserve_bad, b'{"inputs": [', 400, True),
        ("unknown_route", 1, "GET", "/no/such/route/%ff", {}, b"", 404, False),
    ]


class Load:
    def __init__(self, args, pid):
        self.args = args
        self.pid = pid
        with open(args.image, "rb") as f:
            jpeg = f.read()
        self.kinds = request_kinds(jpeg, args.model_name)
        self.schedule = []
        for index, kind in enumerate(self.kinds):
            self.schedule += [index] * kind[1]
        self.work = queue.Queue(maxsize=10000)
        self.lock = threading.Lock()
        self.results = []  # (id, kind index, status, response request_id or None)
        self.errors = collections.Counter()
        self.late = 0  # requests that could not be sent on time (no free worker)

    def worker(self):
        conn = None
        while True:
            item = self.work.get()
            if item is None:
                break
            seq, index = item
            name, _, method, target, headers, body, _, _ = self.kinds[index]
            rid = f"soak-{seq}"
            status, echoed = None, None
            for attempt in range(2):
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection(self.args.host, self.args.port,
                                                          timeout=30)
                    conn.request(method, target, body=body,
                                 headers={**headers, "X-Request-Id": rid})
                    resp = conn.getresponse()
                    data = resp.read()
                    status = resp.status
                    if resp.getheader("Content-Type", "").startswith("application/json"):
                        try:
                            body_json = json.loads(data.decode("utf-8"))
                            if isinstance(body_json, dict):
                                echoed = body_json.get("request_id")
                        except (ValueError, UnicodeDecodeError):
                            echoed = "INVALID-JSON"
                    if resp.will_close:
                        conn.close()
                        conn = None
                    break
                except Exception as e:  # noqa: BLE001 - any failure is counted, never fatal
                    if conn is not None:
                        conn.close()
                        conn = None
                    # A kept-alive connection the server closed before our
                    # request: resend once on a new one (the id is unused).
                    if attempt == 1:
                        with self.lock:
                            self.errors[type(e).__name__] += 1
            with self.lock:
                self.results.append((rid, index, status, echoed))
        if conn is not None:
            conn.close()

    def heap_kb(self):
        """The allocator's bytes in use and held free, from /metrics (KiB)."""
        heap = {}
        try:
            conn = http.client.HTTPConnection(self.args.host, self.args.port, timeout=10)
            conn.request("GET", "/metrics")
            text = conn.getresponse().read().decode()
            conn.close()
        except (OSError, http.client.HTTPException):
            return heap
        for line in text.splitlines():
            for state in ("in_use", "free"):
                if line.startswith('yoloscope_process_heap_bytes{state="%s"}' % state):
                    heap["heap_%s_kb" % state] = int(float(line.split()[-1]) / 1024)
        return heap

    def sample(self, t0):
        s = {"t": round(time.monotonic() - t0, 1), "rss_kb": rss_kb(self.pid),
             "fds": fd_count(self.pid)}
        s.update(self.heap_kb())
        return s

    def run(self):
        args = self.args
        threads = [threading.Thread(target=self.worker, daemon=True)
                   for _ in range(args.connections)]
        # Serve's I/O threads create their reactor's fds (epoll, eventfd,
        # timerfd) lazily, on their first connection: touch every thread
        # first (health checks, not logged, on fresh connections) so that the
        # idle baseline is the steady one.
        for _ in range(32):
            conn = http.client.HTTPConnection(args.host, args.port, timeout=30)
            conn.request("GET", "/v2/health/live")
            conn.getresponse().read()
            conn.close()
        time.sleep(1.0)
        idle_fds_before = fd_count(self.pid)
        for t in threads:
            t.start()
        samples, rotations = [], 0
        t0 = time.monotonic()
        end = t0 + args.minutes * 60
        next_send, next_sample, next_rotate = t0, t0, t0 + args.rotate_s
        detect_share = sum(k[1] for k in self.kinds if k[0].startswith("detect") and k[6] == 200)
        self.total_rate = args.rate * sum(k[1] for k in self.kinds) / detect_share
        interval = 1.0 / self.total_rate
        seq = 0
        while True:
            now = time.monotonic()
            if now >= end:
                break
            if now >= next_sample:
                samples.append(self.sample(t0))
                next_sample += args.sample_s
            if now >= next_rotate:
                rotations += 1
                os.rename(args.log, f"{args.log}.{rotations}")
                os.kill(self.pid, signal.SIGHUP)
                next_rotate += args.rotate_s
            while next_send <= now:
                # Spread the kinds: a fixed stride through the weighted list.
                index = self.schedule[(seq * 37) % len(self.schedule)]
                if self.work.qsize() > args.connections * 4:
                    self.late += 1
                self.work.put((seq, index))
                seq += 1
                next_send += interval
            delay = min(next_send, next_sample, next_rotate, end) - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        for _ in threads:
            self.work.put(None)
        for t in threads:
            t.join(timeout=60)
        time.sleep(1.0)
        idle_fds_after = fd_count(self.pid)
        return {"sent": seq, "rotations": rotations, "samples": samples,
                "idle_fds_before": idle_fds_before, "idle_fds_after": idle_fds_after,
                "elapsed_s": round(time.monotonic() - t0, 1)}


def read_records(log):
    files = sorted(glob.glob(log + "*"))
    ids = collections.Counter()
    torn, lines, per_file = 0, 0, {}
    for path in files:
        n = 0
        with open(path, "rb") as f:
            for raw in f:
                lines += 1
                if not raw.endswith(b"\n"):
                    torn += 1
                try:
                    rec = json.loads(raw)
                except ValueError:
                    torn += 1
                    continue
                if rec.get("event") == "request":
                    ids[rec.get("request_id")] += 1
                    n += 1
        per_file[os.path.basename(path)] = n
    return ids, torn, lines, per_file


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--log", required=True, help="the request log path serve writes")
    p.add_argument("--image", required=True, help="a small JPEG")
    p.add_argument("--model-name", default="soak-sim", help="the served model's name")
    p.add_argument("--rate", type=float, required=True,
                   help="good detections per second (the capacity-bound part); the health checks "
                   "and bad inputs come on top of it in their proportions")
    p.add_argument("--minutes", type=float, default=30)
    p.add_argument("--warmup-s", type=float, default=60)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--rotate-s", type=float, default=60)
    p.add_argument("--sample-s", type=float, default=5)
    args = p.parse_args()

    load = Load(args, args.pid)
    run = load.run()

    # Stop the server the way a service manager does; it drains and closes the log.
    os.kill(args.pid, signal.SIGTERM)
    for _ in range(600):
        try:
            os.kill(args.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    records, torn, lines, per_file = read_records(args.log)

    answered = [r for r in load.results if r[2] is not None]
    by_kind = collections.defaultdict(collections.Counter)
    unexpected, five_xx, echo_mismatch = [], 0, 0
    missing, duplicated, logged_but_not_inference = 0, 0, 0
    for rid, index, status, echoed in answered:
        name, _, _, _, _, _, expected, logged = load.kinds[index]
        by_kind[name][status] += 1
        if status >= 500:
            five_xx += 1
        if status != expected:
            unexpected.append((rid, name, status, expected))
        if status == 200 and logged and echoed != rid:
            echo_mismatch += 1
        count = records.get(rid, 0)
        if logged:
            if count == 0:
                missing += 1
            elif count > 1:
                duplicated += 1
        elif count:
            logged_but_not_inference += 1
    sent_ids = {r[0] for r in load.results}
    unknown = sum(c for rid, c in records.items() if rid not in sent_ids)
    logged_answered = sum(1 for r in answered if load.kinds[r[1]][7])

    samples = run["samples"]
    after = [s for s in samples if s["t"] >= args.warmup_s]
    first = [s["rss_kb"] for s in after if s["t"] < args.warmup_s + 60] or [after[0]["rss_kb"]]
    last = [s["rss_kb"] for s in after if s["t"] >= after[-1]["t"] - 60]
    rss_start, rss_end = statistics.median(first), statistics.median(last)
    growth = (rss_end - rss_start) / rss_start * 100 if rss_start else 0
    fds_during = [s["fds"] for s in after]
    # The allocator's bytes in use over the same windows: a leak grows them,
    # memory the allocator merely keeps does not.
    heap_first = [s["heap_in_use_kb"] for s in after
                  if s["t"] < args.warmup_s + 60 and "heap_in_use_kb" in s]
    heap_last = [s["heap_in_use_kb"] for s in after
                 if s["t"] >= after[-1]["t"] - 60 and "heap_in_use_kb" in s]
    heap_start = statistics.median(heap_first) if heap_first else None
    heap_end = statistics.median(heap_last) if heap_last else None
    rate_achieved = len(answered) / run["elapsed_s"] if run["elapsed_s"] else 0

    checks = {
        "rss_growth_below_5pct": growth < 5,
        "fds_flat": run["idle_fds_after"] == run["idle_fds_before"]
        and max(fds_during) <= run["idle_fds_before"] + args.connections + 2,
        "no_unexpected_status": not unexpected,
        "no_5xx": five_xx == 0,
        "every_request_answered": len(answered) == len(load.results) == run["sent"],
        "records_equal_responses_by_id": missing == 0 and duplicated == 0 and unknown == 0
        and logged_but_not_inference == 0 and echo_mismatch == 0,
        "no_torn_line": torn == 0,
        "load_rate_reached": rate_achieved >= 0.95 * load.total_rate,
        "every_rotated_file_has_records": len(per_file) == run["rotations"] + 1
        and all(per_file.values()),
    }
    summary = {
        "minutes": args.minutes, "warmup_s": args.warmup_s, "detect_rate_rps": args.rate,
        "target_rate_rps": round(load.total_rate, 1),
        "achieved_rate_rps": round(rate_achieved, 1), "sent": run["sent"],
        "answered": len(answered), "client_errors": dict(load.errors), "late_sends": load.late,
        "by_kind": {k: dict(v) for k, v in sorted(by_kind.items())},
        "unexpected_status": unexpected[:10], "count_5xx": five_xx,
        "inference_responses": logged_answered,
        "request_records": sum(records.values()), "records_missing": missing,
        "records_duplicated": duplicated, "records_unknown_id": unknown,
        "records_for_non_inference": logged_but_not_inference,
        "response_id_mismatch": echo_mismatch, "log_lines": lines, "torn_lines": torn,
        "rotations": run["rotations"], "records_per_file": per_file,
        "rss_kb_after_warmup": rss_start, "rss_kb_end": rss_end,
        "rss_growth_pct": round(growth, 2),
        "heap_in_use_kb_after_warmup": heap_start, "heap_in_use_kb_end": heap_end,
        "heap_in_use_growth_pct": round((heap_end - heap_start) / heap_start * 100, 2)
        if heap_start and heap_end else None,
        "rss_kb_min_max": [min(s["rss_kb"] for s in after), max(s["rss_kb"] for s in after)],
        "idle_fds_before": run["idle_fds_before"], "idle_fds_after": run["idle_fds_after"],
        "fds_during_min_max": [min(fds_during), max(fds_during)],
        "checks": checks, "pass": all(checks.values()),
        "samples": samples,
    }
    json.dump(summary, sys.stdout, indent=1)
    print()
    return 0 if summary["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
