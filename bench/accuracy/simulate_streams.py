"""Video-stream scenarios for the accuracy corpus (bench/accuracy/simulate.py).

A separate discrete-event model of cameras feeding a detection server --
written from the issue's description of streams, not from the analyzer:
each camera sends frames at its rate; one reader per camera reads and
decodes them in order (a read waits for the frame when the reader is ahead,
so its wall time includes the wait); decoded frames go into a bounded queue
that drops its oldest frame when full; at most `max_in_flight` frames of a
camera are in the pipeline; a batcher sends up to `max_batch` frames when
the device is free and the batch is full or its oldest frame has waited the
window; the device takes base + per-image time per batch. It writes
yoloscope.v1 records: a request per processed frame, a batch per batch, and
a `stream` record per camera every second and at the end.
"""
import heapq
import random
from collections import deque

T0 = 1765000000.0  # shared with simulate.py's ts()


class Camera:
    def __init__(self, name, fps, decode_ms, max_in_flight=2, queue_size=4):
        self.name = name
        self.fps = fps
        self.decode_ms = decode_ms
        self.max_in_flight = max_in_flight
        self.queue_size = queue_size


class StreamScenario:
    """A stream scenario: cameras into one device (expect / allow as in simulate.Scenario)."""

    def __init__(self, name, expect, cameras, allow=(), duration=120.0, max_batch=8,
                 max_wait_ms=4.0, base_ms=6.0, per_image_ms=2.0, pre_ms=0.6, post_ms=0.4):
        self.name = name
        self.expect = list(expect)
        self.allow = list(allow)
        self.cameras = cameras
        self.duration = duration
        self.max_batch = max_batch
        self.max_wait_ms = max_wait_ms
        self.base_ms = base_ms
        self.per_image_ms = per_image_ms
        self.pre_ms = pre_ms
        self.post_ms = post_ms


def stream_scenarios():
    s = []
    s.append(StreamScenario("streams_healthy", [],
                            [Camera("door", 15, 3.0), Camera("belt", 15, 3.0),
                             Camera("yard", 10, 4.0)]))
    # Four 25 fps cameras into a model that sustains ~60 frames/s.
    s.append(StreamScenario("streams_device_bound", ["stream_falling_behind"],
                            [Camera(f"cam{i}", 25, 3.0) for i in range(1, 5)],
                            max_batch=4, base_ms=25.0, per_image_ms=10.0))
    # A 50 fps camera whose frames take ~30 ms to decode: its reader lags
    # further and further behind; a second camera is fine.
    s.append(StreamScenario("streams_decode_bound", ["stream_falling_behind"],
                            [Camera("hires", 50, 30.0), Camera("door", 15, 3.0)]))
    # One frame in flight per camera and a 100 ms window for batches of 8
    # that never fill: ~9 of 25 fps with the device idle. The window is too
    # long for this load as well.
    s.append(StreamScenario("streams_batcher_starved", ["stream_falling_behind"],
                            [Camera("cam1", 25, 3.0, max_in_flight=1),
                             Camera("cam2", 25, 3.0, max_in_flight=1)],
                            allow=["batch_window_too_long"], max_wait_ms=100.0, base_ms=3.0,
                            per_image_ms=1.0))
    return {x.name: x for x in s}


def jitter_streams(sc, seed):
    """Per-seed variation: camera rates +-10%, decode and device times +-15%."""
    rng = random.Random(f"{sc.name}:jitter:{seed}")
    for c in sc.cameras:
        c.fps *= rng.uniform(0.9, 1.1)
        c.decode_ms *= rng.uniform(0.85, 1.15)
    sc.base_ms *= rng.uniform(0.85, 1.15)
    sc.per_image_ms *= rng.uniform(0.85, 1.15)
    return sc


def _ts(seconds):
    import datetime
    d = datetime.datetime.fromtimestamp(T0 + seconds, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def simulate_streams(sc, seed, scale=1.0):
    rng = random.Random(f"{sc.name}:{seed}")
    duration = sc.duration * scale
    out = []  # (time, seq, record)
    seq = [0]

    def emit(t, rec):
        seq[0] += 1
        out.append((t, seq[0], rec))

    # Readers: captures per camera, independent of what follows (a live
    # source's queue drops instead of blocking the reader).
    events = []  # (time, order, kind, payload)
    order = [0]

    def push(t, kind, payload):
        order[0] += 1
        heapq.heappush(events, (t, order[0], kind, payload))

    cams = []
    for ci, c in enumerate(sc.cameras):
        phase = rng.uniform(0, 1.0 / c.fps)
        reader_free = 0.0
        k = 0
        captures = []
        while True:
            sent = phase + k / c.fps
            if sent >= duration:
                break
            start = max(sent, reader_free)
            decode = max(0.3, rng.gauss(c.decode_ms, c.decode_ms * 0.08)) / 1000.0
            capture = start + decode
            if capture >= duration:
                break
            captures.append((k, capture, (capture - reader_free) * 1000.0 if k else decode * 1000))
            reader_free = capture
            k += 1
        st = {"cam": c, "queue": deque(), "in_flight": 0, "read": 0, "processed": 0,
              "dropped": 0, "index": ci}
        cams.append(st)
        for k, capture, decode_ms in captures:
            push(capture, "capture", (ci, k, decode_ms))

    batch_q = deque()  # frames ready for the batcher
    device_free = [0.0]
    device_busy = [False]
    next_batch = [1]
    next_req = [1]
    timer_at = [None]

    def feed(ci, now):
        st = cams[ci]
        while st["queue"] and st["in_flight"] < st["cam"].max_in_flight:
            fr = st["queue"].popleft()
            st["in_flight"] += 1
            fr["submitted"] = now
            push(now + sc.pre_ms / 1000.0, "ready", fr)

    def try_dispatch(now):
        if device_busy[0] or not batch_q:
            return
        oldest = batch_q[0]["ready"]
        if len(batch_q) >= sc.max_batch or now >= oldest + sc.max_wait_ms / 1000.0 - 1e-12:
            n = min(len(batch_q), sc.max_batch)
            batch = [batch_q.popleft() for _ in range(n)]
            inf = max(0.5, rng.gauss(sc.base_ms + sc.per_image_ms * n, 0.03 * sc.base_ms))
            device_busy[0] = True
            bid = next_batch[0]
            next_batch[0] += 1
            emit(now, {"event": "batch", "schema": "yoloscope.v1", "ts": _ts(now),
                       "batch_id": bid, "batch_size": n, "model": "yolov8s", "instance": 0,
                       "gpu_id": 0, "inference_ms": round(inf, 3)})
            push(now + inf / 1000.0, "done", (batch, bid, now, inf, len(batch_q)))
        elif timer_at[0] is None or timer_at[0] > oldest + sc.max_wait_ms / 1000.0:
            timer_at[0] = oldest + sc.max_wait_ms / 1000.0
            push(timer_at[0], "timer", None)

    def stream_record(now, st, state="running"):
        c = st["cam"]
        emit(now, {"event": "stream", "schema": "yoloscope.v1", "ts": _ts(now),
                   "stream": c.name, "uri": f"rtsp://10.0.0.{st['index'] + 10}/live",
                   "state": state, "codec": "h264", "source_kind": "network",
                   "drop_policy": "drop_oldest", "input_w": 1280, "input_h": 720,
                   "source_fps": round(c.fps, 3), "target_fps": 0,
                   "frames_read": st["read"], "frames_processed": st["processed"],
                   "frames_failed": 0, "frames_dropped": st["dropped"], "frames_skipped": 0,
                   "frames_queued": len(st["queue"]), "frames_in_flight": st["in_flight"],
                   "reconnects": 0})

    for sec in range(1, int(duration) + 1):
        push(float(sec) - 1e-6, "stats", None)

    while events:
        now, _, kind, p = heapq.heappop(events)
        if kind == "capture":
            ci, k, decode_ms = p
            st = cams[ci]
            st["read"] += 1
            if len(st["queue"]) >= st["cam"].queue_size:
                st["queue"].popleft()
                st["dropped"] += 1
            st["queue"].append({"ci": ci, "k": k, "capture": now, "decode_ms": decode_ms})
            feed(ci, now)
        elif kind == "ready":
            p["ready"] = now
            batch_q.append(p)
            try_dispatch(now)
        elif kind == "timer":
            timer_at[0] = None
            try_dispatch(now)
        elif kind == "done":
            batch, bid, start, inf, qlen = p
            device_busy[0] = False
            for fr in batch:
                st = cams[fr["ci"]]
                end = now + sc.post_ms / 1000.0
                queue_ms = (start - fr["capture"]) * 1000.0 - sc.pre_ms
                emit(end, {"event": "request", "schema": "yoloscope.v1", "ts": _ts(fr["capture"]),
                           "request_id": f"{st['cam'].name}-{fr['k']}", "protocol": "stream",
                           "stream": st["cam"].name, "frame_index": fr["k"],
                           "pts_ms": round(fr["k"] * 1000.0 / st["cam"].fps, 3),
                           "model": "yolov8s", "backend": "torch", "device": "cuda:0",
                           "gpu_id": 0, "input_w": 1280, "input_h": 720, "batch_id": bid,
                           "batch_size": len(batch), "queue_len": qlen,
                           "queue_ms": round(queue_ms, 3), "decode_ms": round(fr["decode_ms"], 3),
                           "preprocess_ms": sc.pre_ms, "inference_ms": round(inf, 3),
                           "postprocess_ms": sc.post_ms,
                           "total_ms": round((end - fr["capture"]) * 1000.0, 3),
                           "detections": 2, "status": "ok"})
                st["processed"] += 1
                st["in_flight"] -= 1
                feed(fr["ci"], now)
            try_dispatch(now)
        elif kind == "stats":
            for st in cams:
                stream_record(now, st)
    for st in cams:
        # The end: what is still queued is dropped, as serve does at a stop.
        st["dropped"] += len(st["queue"])
        st["queue"].clear()
        stream_record(duration, st, "stopped")
    out.sort(key=lambda x: (x[0], x[1]))
    return [r for _, _, r in out]
