#!/usr/bin/python3
"""Generates yoloscope's test detectors: YOLO architectures with seeded weights.

No pretrained weights can be downloaded here, so this script builds the
networks itself (YOLOv8: Conv+BN+SiLU, C2f, SPPF, PAN neck, decoupled head
with DFL; a YOLOv5-layout anchor-based model; an end-to-end top-K layout),
initialises them from fixed seeds, calibrates them so that real photos give a
modest number of confident boxes, and exports each one as TorchScript and
ONNX together with reference input/output tensors and a manifest.

Run with Debian's interpreter (python3-torch 1.13, python3-onnx, numpy):

    /usr/bin/python3 tools/gen_models.py --out build/models
    /usr/bin/python3 tools/gen_models.py --list
    /usr/bin/python3 tools/gen_models.py --out build/models --only yolov8tiny_320

See tools/README.md for the layouts, metadata keys and the manifest format.
"""

import argparse
import ctypes
import ctypes.util
import glob
import json
import math
import os
import sys
import time

# libgomp threads that spin while waiting are very slow on a loaded 2-core machine.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

GENERATOR = "yoloscope tools/gen_models.py v1"
DESCRIPTION = ("yoloscope generated test model: YOLO architecture, seeded weights; only the last "
               "class-score blocks fitted to made-up labels so detections are sparse (not a trained detector)")
PHOTO_DIR = "/usr/share/darknet/data"
# Photos used for the reference input batch (batch of 2), in this order.
REF_PHOTOS = ("dog.jpg", "horses.jpg")
SCORE_THRESHOLD = 0.25
E2E_MAX_DET = 300
ONNX_OPSET = 12

# 80 COCO class names in Ultralytics order.
COCO_NAMES = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich",
    "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote",
    "keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book",
    "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
]
assert len(COCO_NAMES) == 80

# What gets generated. `arch` picks the network, `layout` the output tensor
# layout; models with the same arch/seed/multipliers/imgsz have identical
# weights (the e2e model reuses yolov8tiny_320's weights exactly).
MODEL_SPECS = [
    dict(name="yolov8n_640", arch="v8", layout="v8", depth=0.33, width=0.25, max_ch=1024,
         imgsz=(640, 640), seed=8),
    dict(name="yolov8n_320", arch="v8", layout="v8", depth=0.33, width=0.25, max_ch=1024,
         imgsz=(320, 320), seed=8),
    dict(name="yolov8tiny_320", arch="v8", layout="v8", depth=0.33, width=0.125, max_ch=1024,
         imgsz=(320, 320), seed=108),
    dict(name="yolov8tiny_640", arch="v8", layout="v8", depth=0.33, width=0.125, max_ch=1024,
         imgsz=(640, 640), seed=108),
    dict(name="yolov5tiny_320", arch="v5", layout="v5", depth=0.33, width=0.125, max_ch=1024,
         imgsz=(320, 320), seed=5, fit_steps=160),
    dict(name="yolov8tiny-e2e_320", arch="v8", layout="e2e", depth=0.33, width=0.125,
         max_ch=1024, imgsz=(320, 320), seed=108,
         same_weights_as="yolov8tiny_320"),
]
SPEC_BY_NAME = {s["name"]: s for s in MODEL_SPECS}

# What is known about OpenCV 4.6's ONNX importer (cv::dnn::readNetFromONNX)
# for each layout's graph; see tools/README.md for how this was established.
OPENCV_LOADABLE = {
    "v8": (True, "head uses constant reshapes (-1 batch), slices, [2,N] anchors and full-shape "
                 "strides; this graph was checked out of tree with OpenCV 4.6 readNetFromONNX "
                 "(batch 1, 2, 3) against the eager reference"),
    "v5": (True, "same head conventions as v8; this graph was checked out of tree with OpenCV "
                 "4.6 readNetFromONNX (batch 1, 2, 3) against the eager reference"),
    "e2e": (False, "the top-K selection exports as ONNX TopK + GatherElements, which OpenCV 4.6's "
                   "ONNX importer does not implement; the .onnx is valid ONNX (onnx.checker, "
                   "other runtimes) but only the TorchScript file is meant for yoloscope"),
}

# Conformance tolerance against the eager reference: |got - ref| <= abs + rel * |ref|.
TOLERANCE = {"abs": 2e-3, "rel": 1e-4}

torch = nn = F = None  # imported lazily so that --list works without torch


def import_torch():
    global torch, nn, F
    import torch as _torch
    import torch.nn as _nn
    import torch.nn.functional as _F
    torch, nn, F = _torch, _nn, _F


def log(msg):
    print(f"[gen_models] {msg}", flush=True)


# --------------------------------------------------------------------------
# Images: JPEG decoding through libturbojpeg (ctypes) and Ultralytics-style
# letterboxing (keep aspect, centred, pad 114, RGB, /255).


class TurboJpeg:
    TJPF_RGB = 0

    def __init__(self):
        path = ctypes.util.find_library("turbojpeg") or "libturbojpeg.so.0"
        self.lib = ctypes.CDLL(path)
        self.lib.tjInitDecompress.restype = ctypes.c_void_p
        self.lib.tjDecompressHeader3.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_int),
            ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int),
            ctypes.POINTER(ctypes.c_int)]
        self.lib.tjDecompress2.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_int,
            ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.lib.tjDestroy.argtypes = [ctypes.c_void_p]
        self.lib.tjGetErrorStr.restype = ctypes.c_char_p

    def decode(self, path):
        """Returns an HxWx3 uint8 RGB numpy array."""
        import numpy as np
        with open(path, "rb") as f:
            data = f.read()
        h = self.lib.tjInitDecompress()
        if not h:
            raise RuntimeError("tjInitDecompress failed")
        try:
            w, ht, ss, cs = (ctypes.c_int() for _ in range(4))
            if self.lib.tjDecompressHeader3(h, data, len(data), ctypes.byref(w), ctypes.byref(ht),
                                            ctypes.byref(ss), ctypes.byref(cs)) != 0:
                raise RuntimeError(f"{path}: {self.lib.tjGetErrorStr().decode()}")
            out = np.empty((ht.value, w.value, 3), dtype=np.uint8)
            if self.lib.tjDecompress2(h, data, len(data), out.ctypes.data, w.value, 0, ht.value,
                                      self.TJPF_RGB, 0) != 0:
                raise RuntimeError(f"{path}: {self.lib.tjGetErrorStr().decode()}")
            return out
        finally:
            self.lib.tjDestroy(h)


def letterbox_geometry(h0, w0, new_hw):
    """Ultralytics LetterBox(auto=False, center=True) geometry:
    (resized w, resized h, left, right, top, bottom padding)."""
    new_h, new_w = new_hw
    r = min(new_h / h0, new_w / w0)
    nw, nh = int(round(w0 * r)), int(round(h0 * r))
    dw, dh = (new_w - nw) / 2, (new_h - nh) / 2
    top, bottom = int(round(dh - 0.1)), int(round(dh + 0.1))
    left, right = int(round(dw - 0.1)), int(round(dw + 0.1))
    return nw, nh, left, right, top, bottom


def letterbox(img, new_hw):
    """HxWx3 uint8 RGB -> 3xHxW float32 in [0,1]: bilinear resize (half-pixel
    centres, like cv2.INTER_LINEAR) rounded back to uint8 levels, centred,
    pad value 114."""
    h0, w0 = img.shape[:2]
    nw, nh, left, right, top, bottom = letterbox_geometry(h0, w0, new_hw)
    t = torch.from_numpy(img).permute(2, 0, 1)[None].float()
    if (nh, nw) != (h0, w0):
        t = F.interpolate(t, size=(nh, nw), mode="bilinear", align_corners=False)
        t = t.round().clamp(0, 255)
    t = F.pad(t, (left, right, top, bottom), value=114.0)
    assert tuple(t.shape[-2:]) == tuple(new_hw), t.shape
    return (t[0] / 255.0).contiguous()


class PhotoSet:
    """The darknet sample photos, decoded once; letterboxed per input size."""

    def __init__(self, photo_dir):
        self.paths = sorted(glob.glob(os.path.join(photo_dir, "*.jpg")))
        self.images = {}
        self.error = None
        if not self.paths:
            self.error = f"no *.jpg in {photo_dir} (Debian package 'darknet' not installed?)"
            return
        try:
            tj = TurboJpeg()
            for p in self.paths:
                self.images[os.path.basename(p)] = tj.decode(p)
        except Exception as e:  # noqa: BLE001 - reported, then random images are used
            self.error = f"cannot decode photos with libturbojpeg: {e}"
            self.images = {}
        self._cache = {}

    @property
    def available(self):
        return bool(self.images)

    def batch(self, hw, names=None):
        key = (tuple(hw), tuple(names) if names else None)
        if key not in self._cache:
            names = names or sorted(self.images)
            self._cache[key] = torch.stack([letterbox(self.images[n], hw) for n in names])
        return self._cache[key]

    def content_boxes(self, hw, names=None):
        """Per photo: (x0, y0, x1, y1) of the picture inside the letterbox."""
        boxes = []
        for n in names or sorted(self.images):
            h0, w0 = self.images[n].shape[:2]
            nw, nh, left, _, top, _ = letterbox_geometry(h0, w0, hw)
            boxes.append((left, top, left + nw, top + nh))
        return boxes


# --------------------------------------------------------------------------
# Building blocks (written from the published architecture descriptions).


def make_divisible(x, divisor=8):
    return int(math.ceil(x / divisor) * divisor)


# nn.Module classes, defined by define_modules() once torch is imported.
YoloV8 = YoloV5 = DetectV8 = DetectV5 = DetectE2E = None


def define_modules():
    """Defines the nn.Module classes (needs torch imported)."""
    g = globals()

    class Conv(nn.Module):
        """Conv2d (no bias) + BatchNorm2d + SiLU."""

        def __init__(self, c1, c2, k=1, s=1, p=None):
            super().__init__()
            self.conv = nn.Conv2d(c1, c2, k, s, k // 2 if p is None else p, bias=False)
            self.bn = nn.BatchNorm2d(c2, eps=1e-3, momentum=0.03)
            self.act = nn.SiLU()

        def forward(self, x):
            return self.act(self.bn(self.conv(x)))

    class Bottleneck(nn.Module):
        def __init__(self, c1, c2, shortcut=True, k=(3, 3), e=0.5):
            super().__init__()
            c_ = int(c2 * e)
            self.cv1 = Conv(c1, c_, k[0])
            self.cv2 = Conv(c_, c2, k[1])
            self.add = shortcut and c1 == c2

        def forward(self, x):
            y = self.cv2(self.cv1(x))
            return x + y if self.add else y

    class C2f(nn.Module):
        """YOLOv8 CSP block with two convolutions; the split is written as two
        slices (OpenCV 4.6 friendly) instead of chunk/split."""

        def __init__(self, c1, c2, n=1, shortcut=False, e=0.5):
            super().__init__()
            self.c = int(c2 * e)
            self.cv1 = Conv(c1, 2 * self.c, 1)
            self.cv2 = Conv((2 + n) * self.c, c2, 1)
            self.m = nn.ModuleList(
                Bottleneck(self.c, self.c, shortcut, k=(3, 3), e=1.0) for _ in range(n))

        def forward(self, x):
            y = self.cv1(x)
            ys = [y[:, : self.c], y[:, self.c:]]
            for m in self.m:
                ys.append(m(ys[-1]))
            return self.cv2(torch.cat(ys, 1))

    class C3(nn.Module):
        """YOLOv5 CSP bottleneck with three convolutions."""

        def __init__(self, c1, c2, n=1, shortcut=True, e=0.5):
            super().__init__()
            c_ = int(c2 * e)
            self.cv1 = Conv(c1, c_, 1)
            self.cv2 = Conv(c1, c_, 1)
            self.cv3 = Conv(2 * c_, c2, 1)
            self.m = nn.Sequential(
                *(Bottleneck(c_, c_, shortcut, k=(1, 3), e=1.0) for _ in range(n)))

        def forward(self, x):
            return self.cv3(torch.cat((self.m(self.cv1(x)), self.cv2(x)), 1))

    class SPPF(nn.Module):
        """Spatial pyramid pooling, fast: three chained 5x5 max-pools."""

        def __init__(self, c1, c2, k=5):
            super().__init__()
            c_ = c1 // 2
            self.cv1 = Conv(c1, c_, 1)
            self.cv2 = Conv(c_ * 4, c2, 1)
            self.m = nn.MaxPool2d(kernel_size=k, stride=1, padding=k // 2)

        def forward(self, x):
            y = [self.cv1(x)]
            for _ in range(3):
                y.append(self.m(y[-1]))
            return self.cv2(torch.cat(y, 1))

    class DFL(nn.Module):
        """Distribution focal loss integral: softmax over reg_max bins, then the
        expectation via a fixed 1x1 conv with weights 0..reg_max-1."""

        def __init__(self, c1=16):
            super().__init__()
            self.c1 = c1
            self.conv = nn.Conv2d(c1, 1, 1, bias=False).requires_grad_(False)
            self.conv.weight.data[:] = torch.arange(c1, dtype=torch.float).view(1, c1, 1, 1)

        def forward(self, x, n):
            # x: [B, 4*c1, n] -> [B, 4, n]; n is a Python int (constant shapes).
            x = x.reshape(-1, 4, self.c1, n).transpose(2, 1).softmax(1)
            return self.conv(x).reshape(-1, 4, n)

    def grid_points(imgsz, strides, offset):
        """Cell centres [2, N] (x then y, in grid units) and the level of each point."""
        xs, ys, lv = [], [], []
        for i, s in enumerate(strides):
            h, w = imgsz[0] // s, imgsz[1] // s
            gy, gx = torch.meshgrid(torch.arange(h, dtype=torch.float),
                                    torch.arange(w, dtype=torch.float), indexing="ij")
            xs.append(gx.reshape(-1) + offset)
            ys.append(gy.reshape(-1) + offset)
            lv.append(torch.full((h * w,), float(s)))
        return torch.stack([torch.cat(xs), torch.cat(ys)]), torch.cat(lv)

    class DetectV8(nn.Module):
        """Decoupled anchor-free head with DFL. All shapes are fixed by imgsz;
        only the batch axis is dynamic (reshapes use -1 for it)."""

        def __init__(self, nc, ch, imgsz, strides=(8, 16, 32), reg_max=16):
            super().__init__()
            self.nc, self.reg_max, self.strides_list = nc, reg_max, tuple(strides)
            self.hw = [(imgsz[0] // s) * (imgsz[1] // s) for s in strides]
            self.n = sum(self.hw)
            c2 = max(16, ch[0] // 4, reg_max * 4)
            c3 = max(ch[0], min(nc, 100))
            self.cv2 = nn.ModuleList(
                nn.Sequential(Conv(x, c2, 3), Conv(c2, c2, 3), nn.Conv2d(c2, 4 * reg_max, 1))
                for x in ch)
            self.cv3 = nn.ModuleList(
                nn.Sequential(Conv(x, c3, 3), Conv(c3, c3, 3), nn.Conv2d(c3, nc, 1)) for x in ch)
            self.dfl = DFL(reg_max)
            anchors, lv = grid_points(imgsz, strides, 0.5)
            self.register_buffer("anchors", anchors.contiguous())               # [2, N]
            self.register_buffer("strides", lv.expand(4, -1).contiguous())      # [4, N]

        def bias_init(self):
            for a, b, s in zip(self.cv2, self.cv3, self.strides_list):
                a[-1].bias.data[:] = 1.0
                b[-1].bias.data[: self.nc] = math.log(5 / self.nc / (640 / s) ** 2)

        def raw(self, feats):
            box = torch.cat([self.cv2[i](f).reshape(-1, 4 * self.reg_max, self.hw[i])
                             for i, f in enumerate(feats)], 2)
            cls = torch.cat([self.cv3[i](f).reshape(-1, self.nc, self.hw[i])
                             for i, f in enumerate(feats)], 2)
            dist = self.dfl(box, self.n)                                         # [B, 4, N]
            x1y1 = self.anchors - dist[:, 0:2]
            x2y2 = self.anchors + dist[:, 2:4]
            return x1y1, x2y2, cls.sigmoid()

        def forward(self, feats):
            x1y1, x2y2, scores = self.raw(feats)
            xywh = torch.cat(((x1y1 + x2y2) * 0.5, x2y2 - x1y1), 1) * self.strides
            return torch.cat((xywh, scores), 1)                                  # [B, 4+nc, N]

    class DetectE2E(DetectV8):
        """Same head, one-to-one style output: the K best anchors by their best
        class score, [B, K, 6] = x1, y1, x2, y2, score, class; no NMS."""

        def __init__(self, nc, ch, imgsz, max_det=E2E_MAX_DET, **kw):
            super().__init__(nc, ch, imgsz, **kw)
            self.max_det = min(max_det, self.n)

        def forward(self, feats):
            x1y1, x2y2, scores = self.raw(feats)
            xyxy = torch.cat((x1y1, x2y2), 1) * self.strides                   # [B, 4, N]
            best, cls = scores.max(1)                                            # [B, N]
            top, idx = best.topk(self.max_det, dim=1)                            # [B, K]
            boxes = xyxy.transpose(1, 2).gather(1, idx.unsqueeze(-1).expand(-1, -1, 4))
            cls = cls.gather(1, idx).to(boxes.dtype)
            return torch.cat((boxes, top.unsqueeze(-1), cls.unsqueeze(-1)), 2)   # [B, K, 6]

    class DetectV5(nn.Module):
        """Anchor-based head, 3 anchors per level; output [B, N, 5+nc] with
        cx, cy, w, h in network pixels, sigmoid objectness and class scores.
        N is ordered level, anchor, row, column."""

        ANCHORS = ((10, 13, 16, 30, 33, 23), (30, 61, 62, 45, 59, 119),
                   (116, 90, 156, 198, 373, 326))

        def __init__(self, nc, ch, imgsz, strides=(8, 16, 32)):
            super().__init__()
            self.nc, self.no, self.na = nc, nc + 5, 3
            self.strides_list = tuple(strides)
            self.hw = [(imgsz[0] // s) * (imgsz[1] // s) for s in strides]
            self.m = nn.ModuleList(nn.Conv2d(x, self.no * self.na, 1) for x in ch)
            grid, anchor_wh, stride = [], [], []
            for i, s in enumerate(strides):
                g, _ = grid_points(imgsz, (s,), -0.5)                          # [2, hw]
                grid.append(g.repeat(1, self.na))
                a = torch.tensor(self.ANCHORS[i], dtype=torch.float).view(self.na, 2)
                anchor_wh.append(a.t().repeat_interleave(self.hw[i], dim=1))   # [2, na*hw]
                stride.append(torch.full((2, self.na * self.hw[i]), float(s)))
            self.register_buffer("grid", torch.cat(grid, 1).contiguous())           # [2, N]
            self.register_buffer("anchor_wh", torch.cat(anchor_wh, 1).contiguous())  # [2, N]
            self.register_buffer("strides", torch.cat(stride, 1).contiguous())      # [2, N]

        def bias_init(self):
            for mi, s in zip(self.m, self.strides_list):
                b = mi.bias.data.view(self.na, -1)
                b[:, 4] = math.log(8 / (640 / s) ** 2)
                b[:, 5:] = math.log(0.6 / (self.nc - 0.99999))

        def forward(self, feats):
            ys = []
            for i, f in enumerate(feats):
                y = self.m[i](f).reshape(-1, self.na, self.no, self.hw[i]).permute(0, 2, 1, 3)
                ys.append(y.reshape(-1, self.no, self.na * self.hw[i]))
            y = torch.cat(ys, 2).sigmoid()                                       # [B, no, N]
            xy = (y[:, 0:2] * 2 + self.grid) * self.strides
            wh = y[:, 2:4] * 2
            wh = wh * wh * self.anchor_wh
            return torch.cat((xy, wh, y[:, 4:]), 1).transpose(1, 2).contiguous()  # [B, N, no]

    class YoloV8(nn.Module):
        """YOLOv8 detection model: backbone (Conv, C2f, SPPF), PAN neck, head."""

        def __init__(self, depth, width, max_ch, nc, imgsz, head="v8"):
            super().__init__()
            c = lambda x: make_divisible(min(x, max_ch) * width, 8)  # noqa: E731
            d = lambda n: max(round(n * depth), 1) if n > 1 else n  # noqa: E731
            self.b0 = Conv(3, c(64), 3, 2)
            self.b1 = Conv(c(64), c(128), 3, 2)
            self.b2 = C2f(c(128), c(128), d(3), True)
            self.b3 = Conv(c(128), c(256), 3, 2)
            self.b4 = C2f(c(256), c(256), d(6), True)
            self.b5 = Conv(c(256), c(512), 3, 2)
            self.b6 = C2f(c(512), c(512), d(6), True)
            self.b7 = Conv(c(512), c(1024), 3, 2)
            self.b8 = C2f(c(1024), c(1024), d(3), True)
            self.b9 = SPPF(c(1024), c(1024), 5)
            self.up = nn.Upsample(scale_factor=2.0, mode="nearest")
            self.h12 = C2f(c(1024) + c(512), c(512), d(3))
            self.h15 = C2f(c(512) + c(256), c(256), d(3))
            self.h16 = Conv(c(256), c(256), 3, 2)
            self.h18 = C2f(c(256) + c(512), c(512), d(3))
            self.h19 = Conv(c(512), c(512), 3, 2)
            self.h21 = C2f(c(512) + c(1024), c(1024), d(3))
            ch = (c(256), c(512), c(1024))
            self.head = DetectE2E(nc, ch, imgsz) if head == "e2e" else DetectV8(nc, ch, imgsz)

        def features(self, x):
            x = self.b2(self.b1(self.b0(x)))
            p3 = self.b4(self.b3(x))
            p4 = self.b6(self.b5(p3))
            p5 = self.b9(self.b8(self.b7(p4)))
            h12 = self.h12(torch.cat((self.up(p5), p4), 1))
            o3 = self.h15(torch.cat((self.up(h12), p3), 1))
            o4 = self.h18(torch.cat((self.h16(o3), h12), 1))
            o5 = self.h21(torch.cat((self.h19(o4), p5), 1))
            return [o3, o4, o5]

        def forward(self, x):
            return self.head(self.features(x))

        def score_branches(self):
            """(last Conv block, score conv, fitted rows, negative rows) per level."""
            h = self.head
            rows = list(range(h.nc))
            return [(h.cv3[i][1], h.cv3[i][2], rows, rows) for i in range(3)]

    class YoloV5(nn.Module):
        """YOLOv5 (v6.0+ layout) detection model: Conv/C3/SPPF backbone, PAN neck,
        anchor-based head."""

        def __init__(self, depth, width, max_ch, nc, imgsz):
            super().__init__()
            c = lambda x: make_divisible(min(x, max_ch) * width, 8)  # noqa: E731
            d = lambda n: max(round(n * depth), 1) if n > 1 else n  # noqa: E731
            self.b0 = Conv(3, c(64), 6, 2, 2)
            self.b1 = Conv(c(64), c(128), 3, 2)
            self.b2 = C3(c(128), c(128), d(3))
            self.b3 = Conv(c(128), c(256), 3, 2)
            self.b4 = C3(c(256), c(256), d(6))
            self.b5 = Conv(c(256), c(512), 3, 2)
            self.b6 = C3(c(512), c(512), d(9))
            self.b7 = Conv(c(512), c(1024), 3, 2)
            self.b8 = C3(c(1024), c(1024), d(3))
            self.b9 = SPPF(c(1024), c(1024), 5)
            self.up = nn.Upsample(scale_factor=2.0, mode="nearest")
            self.h10 = Conv(c(1024), c(512), 1, 1)
            self.h13 = C3(2 * c(512), c(512), d(3), False)
            self.h14 = Conv(c(512), c(256), 1, 1)
            self.h17 = C3(2 * c(256), c(256), d(3), False)
            self.h18 = Conv(c(256), c(256), 3, 2)
            self.h20 = C3(2 * c(256), c(512), d(3), False)
            self.h21 = Conv(c(512), c(512), 3, 2)
            self.h23 = C3(2 * c(512), c(1024), d(3), False)
            self.head = DetectV5(nc, (c(256), c(512), c(1024)), imgsz)

        def features(self, x):
            x = self.b2(self.b1(self.b0(x)))
            p3 = self.b4(self.b3(x))
            p4 = self.b6(self.b5(p3))
            h10 = self.h10(self.b9(self.b8(self.b7(p4))))
            h14 = self.h14(self.h13(torch.cat((self.up(h10), p4), 1)))
            o3 = self.h17(torch.cat((self.up(h14), p3), 1))
            o4 = self.h20(torch.cat((self.h18(o3), h14), 1))
            o5 = self.h23(torch.cat((self.h21(o4), h10), 1))
            return [o3, o4, o5]

        def forward(self, x):
            return self.head(self.features(x))

        def score_branches(self):
            """(last Conv block, score conv, fitted rows, negative rows) per level:
            the last 1x1 Conv of each output C3 and the head conv's objectness and
            class rows (negatives: objectness rows)."""
            h = self.head
            fit = [r for r in range(h.na * h.no) if r % h.no >= 4]
            obj = [a * h.no + 4 for a in range(h.na)]
            return [(blk.cv3, h.m[i], fit, obj) for i, blk in
                    enumerate((self.h17, self.h20, self.h23))]

    g.update(Conv=Conv, YoloV8=YoloV8, YoloV5=YoloV5, DetectV8=DetectV8, DetectV5=DetectV5,
             DetectE2E=DetectE2E)


# --------------------------------------------------------------------------
# Construction, calibration, statistics.


def build(spec, imgsz=None):
    """Seeded, untrained model in eval mode (Ultralytics-style head bias init)."""
    imgsz = imgsz or spec["imgsz"]
    torch.manual_seed(spec["seed"])
    if spec["arch"] == "v8":
        m = YoloV8(spec["depth"], spec["width"], spec["max_ch"], 80, imgsz,
                   head="e2e" if spec["layout"] == "e2e" else "v8")
    else:
        m = YoloV5(spec["depth"], spec["width"], spec["max_ch"], 80, imgsz)
    m.head.bias_init()
    return m.eval()


def count_params(model):
    params = sum(p.numel() for p in model.parameters())
    bn = sum(p.numel() for mod in model.modules() if isinstance(mod, nn.BatchNorm2d)
             for p in mod.parameters())
    n_bn_ch = sum(mod.num_features for mod in model.modules() if isinstance(mod, nn.BatchNorm2d))
    # Fused (BN folded into conv): BN's weight+bias go, each conv gains a bias.
    return params, params - bn + n_bn_ch


def count_gflops(model, imgsz):
    """2 * multiply-accumulates of all convolutions for one image (the usual
    YOLO 'GFLOPs', which counts a fused model's convs)."""
    macs = [0]

    def hook(mod, inp, out):
        k = mod.kernel_size[0] * mod.kernel_size[1] * (mod.in_channels // mod.groups)
        macs[0] += out[0].numel() * k

    hs = [mod.register_forward_hook(hook) for mod in model.modules()
          if isinstance(mod, nn.Conv2d)]
    with torch.no_grad():
        model(torch.zeros(1, 3, *imgsz))
    for h in hs:
        h.remove()
    return 2 * macs[0] / 1e9


def calibrate_bn(model, images):
    """BatchNorm running statistics = exact mean/var of the calibration batch
    (train-mode pass with cumulative averaging), then back to eval."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
    model.train()
    with torch.no_grad():
        model(images)
    for bn in bns:
        bn.momentum = 0.03
    model.eval()


def negative_images(imgsz):
    """Inputs on which nothing should fire: black, grey 114, white, two flat
    colours and two seeded uniform-noise images."""
    flat = torch.tensor([[0.0, 0.0, 0.0], [114 / 255] * 3, [1.0, 1.0, 1.0],
                         [0.8, 0.3, 0.2], [0.2, 0.5, 0.7]])
    flat = flat.view(5, 3, 1, 1).expand(5, 3, *imgsz)
    g = torch.Generator().manual_seed(2024)
    return torch.cat((flat, torch.rand(2, 3, *imgsz, generator=g)))


def pick_exemplars(x, boxes, stride, per_image, gen):
    """Seeded-random anchors (image, row, col) inside each photo's picture area,
    drawn among its most distinctive ones (top 10% by distance of the branch
    input features from the photo's mean), so that they can be told apart
    from the rest of the photo."""
    _, _, h, w = x.shape
    gy, gx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    cx, cy = ((gx + 0.5) * stride).reshape(-1), ((gy + 0.5) * stride).reshape(-1)
    out = []
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        inside = ((cx >= x0 + stride) & (cx <= x1 - stride) &
                  (cy >= y0 + stride) & (cy <= y1 - stride)).nonzero().view(-1)
        if inside.numel() == 0:
            inside = torch.arange(h * w)
        f = x[i].flatten(1)[:, inside]                                     # [C, n]
        dist = (f - f.mean(1, keepdim=True)).norm(dim=0)
        top = inside[dist.topk(max(per_image, inside.numel() // 10)).indices]
        for p in torch.randperm(top.numel(), generator=gen)[:per_image].tolist():
            a = top[p].item()
            out.append((i, a // w, a % w))
    return out


def fit_score_branches(model, photos_x, boxes, seed, per_image=2, steps=80, eval_every=10,
                       lr=0.05, log_fn=None):
    """Fits, per detection level, the last Conv block before the score outputs
    and the score conv itself (v8: cv3[i][1] and cv3[i][2]; v5: the output
    C3's cv3 and the head conv's objectness/class rows) on pseudo-labels, so
    that each photo gets a few confident anchors and nothing else fires.

    Untrained random features scale with an image's texture energy, so any
    fixed readout fires everywhere on a busy photo or on noise and nowhere on
    a flat photo; a linear refit cannot fix that, a nonlinear one can.
    Pseudo-labels: per level, `per_image` seeded-random distinctive anchors
    inside each photo's picture area (see pick_exemplars), each with its own
    seeded class (v5: and anchor slot), must score >= 0.25 with a margin
    (and stay below ~0.95); their 3x3 neighbourhood is
    ignored; every other anchor of the photos, of their mirror images (except
    around the mirrored exemplars) and of `negative_images` must stay below
    0.25 with a margin. Squared hinge losses, Adam, 80-160 steps on
    sampled anchors with hard negatives re-mined from full maps. Backbone,
    neck, BatchNorm statistics/affines, biases and box branches stay as they
    are. Returns per-level facts."""
    thr = math.log(SCORE_THRESHOLD / (1 - SCORE_THRESHOLD))
    head = model.head
    v5 = isinstance(head, DetectV5)
    # v5 scores are objectness * class: both must pass sqrt(threshold).
    thr_pos = math.log(math.sqrt(SCORE_THRESHOLD) / (1 - math.sqrt(SCORE_THRESHOLD))) if v5 else thr
    # Pseudo-positives: logit in [thr + 1.5, thr + 4] (score ~0.6..0.95, not a
    # saturated 1.0); negatives: logit <= thr - 1.5 (score <= ~0.07).
    m_pos, m_hi, m_neg = thr_pos + 1.5, thr_pos + 4.0, thr - 1.5
    gen = torch.Generator().manual_seed(seed)
    n = photos_x.shape[0]
    x_all = torch.cat((photos_x, photos_x.flip(-1), negative_images(photos_x.shape[-2:])))
    levels = []
    for lvl, (blk, sconv, fit_rows, neg_rows) in enumerate(model.score_branches()):
        stride = head.strides_list[lvl]
        with torch.no_grad():
            if v5:  # input of the output C3's last conv; earlier levels changed it
                cap = {}
                hook = blk.register_forward_pre_hook(lambda mod, inp: cap.setdefault("x", inp[0]))
                model(x_all)
                hook.remove()
                x = cap["x"]
            else:   # the head branches are independent: features computed once
                if lvl == 0:
                    feats_v8 = model.features(x_all)
                x = head.cv3[lvl][0](feats_v8[lvl])
        b, c, h, w = x.shape
        k = blk.conv.kernel_size[0]
        # Targets.
        ex = pick_exemplars(x[:n], boxes, stride, per_image, gen)
        cls_perm = torch.randperm(head.nc, generator=gen).tolist()
        ignore = torch.zeros(b, h, w, dtype=torch.bool)
        pos_items = []  # (image, y, x, score-conv row)
        classes, slots = [], []
        for j, (i, yy, xx) in enumerate(ex):
            cls = cls_perm[j % head.nc]
            classes.append(cls)
            for ii, xc in ((i, xx), (n + i, w - 1 - xx)):  # photo and its mirror image
                ignore[ii, max(0, yy - 1):yy + 2, max(0, xc - 1):xc + 2] = True
            if v5:
                slot = int(torch.randint(0, head.na, (1,), generator=gen))
                slots.append(slot)
                pos_items += [(i, yy, xx, slot * head.no + 4),
                              (i, yy, xx, slot * head.no + 5 + cls)]
            else:
                pos_items.append((i, yy, xx, cls))
        rows_t = torch.tensor(fit_rows)
        row_of = {r: j for j, r in enumerate(fit_rows)}
        neg_cols = torch.tensor([row_of[r] for r in neg_rows])
        pb = torch.tensor([p[0] for p in pos_items])
        pyx = torch.tensor([p[1] * w + p[2] for p in pos_items])
        pcol = torch.tensor([row_of[p[3]] for p in pos_items])
        # At an exemplar itself, the negative rows other than its own stay negative.
        ex_neg = []
        for i, yy, xx in ex:
            own = {row_of[p[3]] for p in pos_items if (p[0], p[1], p[2]) == (i, yy, xx)}
            ex_neg += [(i, yy * w + xx, col) for col in neg_cols.tolist() if col not in own]
        ignore_flat = ignore.view(b, -1)
        for i, yy, xx in ex:
            ignore_flat[i, yy * w + xx] = True     # handled through pos_items / ex_neg
        xpad = F.pad(x, (k // 2,) * 4).flatten(2)   # [B, C, (h+2p)(w+2p)]
        wp = w + 2 * (k // 2)
        offs = torch.tensor([dy * wp + dx for dy in range(k) for dx in range(k)])
        bn = blk.bn
        bn_scale = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()
        bn_shift = (bn.bias - bn.running_mean * bn_scale).detach()
        w2 = blk.conv.weight.detach().reshape(blk.conv.out_channels, -1).clone()
        w2.requires_grad_(True)
        w3 = sconv.weight.detach().view(sconv.out_channels, -1)[rows_t].clone().requires_grad_(True)
        b3 = sconv.bias.detach()[rows_t]

        def logits_at(bi, yx):
            yy, xx = yx // w, yx % w
            base = yy * wp + xx
            patch = xpad[bi[:, None], :, base[:, None] + offs[None, :]]   # [P, K*K, C]
            patch = patch.permute(0, 2, 1).reshape(len(bi), -1)           # [P, C*K*K]
            hid = F.silu((patch @ w2.t()) * bn_scale + bn_shift)
            return hid @ w3.t() + b3                                       # [P, rows]

        def full_logits():
            with torch.no_grad():
                hid = F.silu(F.conv2d(x, w2.view_as(blk.conv.weight), padding=k // 2) *
                             bn_scale.view(1, -1, 1, 1) + bn_shift.view(1, -1, 1, 1))
                z = F.conv2d(hid, w3.view(len(fit_rows), -1, 1, 1), b3)
            return z.flatten(2)                                            # [B, rows, hw]

        exb = torch.tensor([e[0] for e in ex_neg], dtype=torch.long)
        exyx = torch.tensor([e[1] for e in ex_neg], dtype=torch.long)
        excol = torch.tensor([e[2] for e in ex_neg], dtype=torch.long)
        # Step sizes relative to each weight's scale: the conv block's weights are
        # ~1/sqrt(fan_in) small, the score rows must grow to move logits by ~10.
        opt = torch.optim.Adam([{"params": [w2], "lr": lr * w2.detach().std().item()},
                                {"params": [w3], "lr": lr}])
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1.0 - i / steps)
        all_b = torch.arange(b).repeat_interleave(h * w)
        all_yx = torch.arange(h * w).repeat(b)
        for step in range(steps):
            if step % eval_every == 0:
                zmax = full_logits()[:, neg_cols].amax(1)                    # [B, hw]
                zmax[ignore_flat] = -1e9
                active = (zmax > m_neg - 1.0).view(-1).nonzero().view(-1)
                if active.numel() > 8192:
                    active = active[zmax.view(-1)[active].topk(8192).indices]
            rnd = torch.randint(0, b * h * w, (1024,), generator=gen)
            rnd = rnd[~ignore_flat.view(-1)[rnd]]
            sel = torch.cat((active, rnd))
            zn = logits_at(all_b[sel], all_yx[sel])[:, neg_cols]
            zp = logits_at(pb, pyx)[torch.arange(len(pb)), pcol]
            ze = logits_at(exb, exyx)[torch.arange(len(exb)), excol] if len(exb) else zn[:0, 0]
            loss = (F.relu(m_pos - zp).pow(2).mean() + F.relu(zp - m_hi).pow(2).mean() +
                    (F.relu(zn - m_neg).pow(2).sum() + F.relu(ze - m_neg).pow(2).sum()) /
                    len(pb))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        with torch.no_grad():
            blk.conv.weight.data.copy_(w2.view_as(blk.conv.weight))
            sconv.weight.data.view(sconv.out_channels, -1)[rows_t] = w3
            z = full_logits()
            zp = z[pb, pcol, pyx]
            if v5:  # an exemplar's score is objectness * class score
                zp = torch.sigmoid(zp).view(-1, 2).prod(1)
                hit = int((zp >= SCORE_THRESHOLD).sum())
            else:
                hit = int((zp >= thr).sum())
            zneg = z[:, neg_cols].amax(1)
            zneg[ignore_flat] = -1e9
            lv = dict(stride=stride, classes=classes, final_loss=round(loss.item(), 5),
                      exemplars_above_threshold=f"{hit}/{len(ex)}",
                      false_positive_anchors=int((zneg >= thr).sum()))
            if v5:
                lv["anchor_slots"] = slots
        if log_fn:
            log_fn(f"  level {lvl} (stride {stride}): {lv['exemplars_above_threshold']} "
                   f"pseudo-positives above 0.25, {lv['false_positive_anchors']} other anchors "
                   f"above 0.25, loss {lv['final_loss']}")
        levels.append(lv)
    return levels


def count_detections(out, layout):
    """Per image: number of candidates with score >= threshold (before NMS)."""
    if layout == "v8":
        return (out[:, 4:].amax(1) >= SCORE_THRESHOLD).sum(1).tolist()
    if layout == "v5":
        return ((out[..., 4] * out[..., 5:].amax(-1)) >= SCORE_THRESHOLD).sum(1).tolist()
    return (out[..., 4] >= SCORE_THRESHOLD).sum(1).tolist()


# --------------------------------------------------------------------------
# Export.


def metadata(spec, for_onnx):
    h, w = spec["imgsz"]
    md = {
        "description": DESCRIPTION,
        "author": "yoloscope",
        "version": GENERATOR,
        "license": "same as yoloscope",
        "stride": 32,
        "task": "detect",
        "batch": 1,
        "dynamic": True,
        "imgsz": [h, w],
        "names": {i: n for i, n in enumerate(COCO_NAMES)},
        "layout": spec["layout"],
        "model": spec["name"],
        "args": {"batch": 1, "dynamic": True, "opset": ONNX_OPSET, "simplify": False},
    }
    if spec["layout"] == "e2e":
        md["max_det"] = E2E_MAX_DET
        md["end2end"] = True
    if for_onnx:
        # Ultralytics writes str(value) for every key: Python reprs.
        return {k: str(v) for k, v in md.items()}
    md["names"] = {str(i): n for i, n in enumerate(COCO_NAMES)}
    return md


def export_torchscript(model, example, path, md):
    with torch.no_grad():
        model(example)  # run once before tracing (see PLATFORM-NOTES)
        ts = torch.jit.trace(model, example, strict=False, check_trace=False)
    torch.jit.save(ts, path, _extra_files={"config.txt": json.dumps(md)})


def strip_identity_initializers(graph):
    """Removes Identity nodes whose input is an initializer (OpenCV 4.6 cannot
    import them) by rewiring their consumers to the initializer."""
    inits = {i.name for i in graph.initializer}
    outputs = {o.name for o in graph.output}
    rename, keep = {}, []
    for node in graph.node:
        if node.op_type == "Identity" and node.input[0] in inits and node.output[0] not in outputs:
            rename[node.output[0]] = node.input[0]
        else:
            keep.append(node)
    if not rename:
        return 0
    for node in keep:
        for i, name in enumerate(node.input):
            if name in rename:
                node.input[i] = rename[name]
    del graph.node[:]
    graph.node.extend(keep)
    return len(rename)


def export_onnx(model, example, path, md, out_shape):
    import onnx
    with torch.no_grad():
        model(example)
        torch.onnx.export(model, example, path, opset_version=ONNX_OPSET,
                          input_names=["images"], output_names=["output0"],
                          dynamic_axes={"images": {0: "batch"}, "output0": {0: "batch"}},
                          do_constant_folding=True)
    m = onnx.load(path)
    removed = strip_identity_initializers(m.graph)
    # The exporter leaves the non-batch output dims symbolic; they are constant.
    for d, v in zip(m.graph.output[0].type.tensor_type.shape.dim[1:], out_shape[1:]):
        d.Clear()
        d.dim_value = v
    for k, v in md.items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    m.doc_string = DESCRIPTION
    onnx.checker.check_model(m)
    onnx.save(m, path)
    ops = sorted({n.op_type for n in m.graph.node})
    return {"identity_removed": removed, "ops": ops}


# --------------------------------------------------------------------------


def prepare(spec, photos, cache):
    """Builds and calibrates the (eager) model for a spec; cached by weights key."""
    key = (spec["arch"], spec["seed"], spec["depth"], spec["width"], spec["max_ch"],
           tuple(spec["imgsz"]))
    if spec.get("same_weights_as"):
        base = SPEC_BY_NAME[spec["same_weights_as"]]
        src, info = prepare(base, photos, cache)
        m = build(spec)
        m.load_state_dict(src.state_dict())
        return m.eval(), dict(info, same_weights_as=base["name"])
    if key in cache:
        return cache[key]
    m = build(spec)
    if photos.available:
        calib = photos.batch(spec["imgsz"])
        calib = torch.cat((calib, calib.flip(-1)))  # + horizontal flips
        source = f"{len(photos.images)} darknet photos + their mirror images"
    else:
        g = torch.Generator().manual_seed(1234)
        calib = torch.rand(8, 3, *spec["imgsz"], generator=g)
        source = "8 seeded uniform-noise images (photos unavailable)"
    calibrate_bn(m, calib)
    if photos.available:
        ex_images = photos.batch(spec["imgsz"])
        ex_boxes = photos.content_boxes(spec["imgsz"])
    else:
        ex_images = calib[: len(calib) // 2]
        ex_boxes = [(0, 0, spec["imgsz"][1], spec["imgsz"][0])] * len(ex_images)
    log(f"{spec['name']}: fitting the score branches on pseudo-labels")
    steps = spec.get("fit_steps", 80)
    levels = fit_score_branches(m, ex_images, ex_boxes, seed=spec["seed"] + 1000, steps=steps,
                                log_fn=log)
    info = {
        "seed": spec["seed"],
        "init": "PyTorch default initialisation from torch.manual_seed(seed)",
        "bias_init": ("v5: objectness log(8/(640/s)^2), classes log(0.6/(nc-0.99999))"
                      if spec["arch"] == "v5" else
                      "box 1.0, classes log(5/nc/(640/s)^2)"),
        "batchnorm": f"running mean/var set to the statistics of {source} at "
                     f"{spec['imgsz'][0]}x{spec['imgsz'][1]} (train-mode pass), then eval",
        "score_branches": (
            "Untrained random features scale with an image's texture energy, so a random "
            "score readout fires everywhere on busy photos or noise and nowhere on flat ones. "
            "So, per level, the last Conv block before the scores and the score conv "
            + ("(v5: each output C3's cv3 and the head conv's objectness/class rows)"
               if spec["arch"] == "v5" else "(cv3[i][1] and cv3[i][2])") +
            f" were fitted (squared hinge, Adam, {steps} steps, hard negatives) on pseudo-labels: "
            "2 seeded-random distinctive anchors inside each photo's picture area (top 10% by "
            "feature distance from the photo mean), each with a seeded "
            "class, must score >= 0.25 (logit margin 1.5, capped near 0.95); their 3x3 "
            "neighbourhood is "
            "ignored; all other anchors of the photos, of their mirror images and of black, "
            "grey, white, two flat colours and two noise images must stay below. Backbone, "
            "neck, BatchNorm, biases (Ultralytics init) and box branches are untouched. "
            "Detections therefore sit at arbitrary spots, with arbitrary classes and boxes."),
        "score_branch_levels": levels,
        "exemplar_photos": sorted(photos.images) if photos.available else "noise images",
    }
    cache[key] = (m, info)
    return cache[key]


def generate(spec, out_dir, photos, cache):
    t0 = time.time()
    name, layout = spec["name"], spec["layout"]
    model, calib_info = prepare(spec, photos, cache)
    imgsz = list(spec["imgsz"])

    # Reference input: two letterboxed photos (or seeded noise).
    if photos.available and all(p in photos.images for p in REF_PHOTOS):
        ref_in = photos.batch(imgsz, REF_PHOTOS)
        ref_src = "letterboxed photos " + ", ".join(REF_PHOTOS) + " (RGB, /255, pad 114)"
    else:
        g = torch.Generator().manual_seed(4321)
        ref_in = torch.rand(2, 3, *imgsz, generator=g)
        ref_src = "seeded uniform [0,1) noise (torch.Generator seed 4321)"
    ref_in = ref_in.contiguous()
    with torch.no_grad():
        ref_out = model(ref_in).contiguous()

    files = {k: f"{name}{ext}" for k, ext in (("torchscript", ".torchscript"), ("onnx", ".onnx"),
                                               ("ref_input", ".ref_input.bin"),
                                               ("ref_output", ".ref_output.bin"))}
    path = lambda k: os.path.join(out_dir, files[k])  # noqa: E731
    ref_in.numpy().astype("<f4").tofile(path("ref_input"))
    ref_out.numpy().astype("<f4").tofile(path("ref_output"))

    # TorchScript; check it loads back (with its config.txt) and matches the
    # stored eager reference at batch 1, 2 and 3 with 1 and 2 threads (other
    # batch sizes and thread counts pick other kernels: not bit-identical).
    export_torchscript(model, ref_in, path("torchscript"), metadata(spec, False))
    extra = {"config.txt": ""}
    ts = torch.jit.load(path("torchscript"), _extra_files=extra)
    assert json.loads(extra["config.txt"])["layout"] == layout
    ts_diff, ts_ratio = 0.0, 0.0
    threads = torch.get_num_threads()
    tol = TOLERANCE
    with torch.no_grad():
        for nt in (1, threads):
            torch.set_num_threads(nt)
            for idx in ([0, 1], [0], [0, 1, 0]):
                a = ts(ref_in[idx])
                r = ref_out[idx]
                assert a.shape == r.shape, (a.shape, r.shape)
                d = (a - r).abs()
                ts_diff = max(ts_diff, d.max().item())
                ts_ratio = max(ts_ratio, (d / (tol["abs"] + tol["rel"] * r.abs())).max().item())
    torch.set_num_threads(threads)
    if ts_ratio > 1:
        raise RuntimeError(f"{name}: TorchScript differs from eager beyond the tolerance")

    onnx_info = export_onnx(model, ref_in[:1], path("onnx"), metadata(spec, True),
                            list(ref_out.shape))
    loadable, why = OPENCV_LOADABLE[layout]

    params, params_fused = count_params(model)
    gflops = count_gflops(model, imgsz)
    gflops640 = count_gflops(build(spec, (640, 640)), (640, 640)) if imgsz != [640, 640] else gflops

    with torch.no_grad():
        det = {}
        if photos.available:
            for pname in sorted(photos.images):
                det[pname] = count_detections(model(photos.batch(imgsz, [pname])), layout)[0]
        g = torch.Generator().manual_seed(99)
        noise = count_detections(model(torch.rand(2, 3, *imgsz, generator=g)), layout)
        flat = torch.tensor([[0.5, 0.5, 0.5], [0.1, 0.6, 0.3], [0.9, 0.8, 0.6]])
        flat = count_detections(model(flat.view(3, 3, 1, 1).expand(3, 3, *imgsz)), layout)
        mirrored = []
        if photos.available:
            mirrored = count_detections(model(photos.batch(imgsz).flip(-1)), layout)

    entry = {
        "name": name,
        "layout": layout,
        "architecture": {"v8": "YOLOv8", "v5": "YOLOv5 (v6.0+ layout)"}[spec["arch"]] +
                        f" depth {spec['depth']} width {spec['width']} max_channels "
                        f"{spec['max_ch']}" + (", one-to-one top-K output (no NMS)"
                                               if layout == "e2e" else ""),
        "imgsz": imgsz,
        "num_classes": 80,
        "params": params,
        "params_fused": params_fused,
        "gflops": round(gflops, 3),
        "gflops_at_640": round(gflops640, 3),
        "torchscript": files["torchscript"],
        "onnx": files["onnx"],
        "onnx_opencv_loadable": loadable,
        "onnx_opencv_note": why,
        "onnx_ops": onnx_info["ops"],
        "ref_input": files["ref_input"],
        "ref_input_shape": list(ref_in.shape),
        "ref_input_source": ref_src,
        "ref_output": files["ref_output"],
        "ref_output_shape": list(ref_out.shape),
        "tolerance": dict(TOLERANCE),
        "torchscript_vs_eager_max_abs_diff": ts_diff,
        "torchscript_vs_eager_worst_fraction_of_tolerance": round(ts_ratio, 4),
        "detections_per_photo": det,
        "detections_on_mirrored_photos": mirrored,
        "detections_on_noise": noise,
        "detections_on_flat_colours": flat,
        "detections_note": f"candidates with score >= {SCORE_THRESHOLD} before NMS "
                           "(v5: objectness * best class score)",
        "weights": calib_info,
    }
    if layout == "e2e":
        entry["max_det"] = E2E_MAX_DET
        entry["tolerance"]["note"] = ("rows are sorted by score; rows whose scores tie within "
                                      "the tolerance may come in either order")
    log(f"{name}: layout {layout}, {params / 1e6:.3f} M params, {gflops:.2f} GFLOPs at "
        f"{imgsz[0]}x{imgsz[1]} ({gflops640:.2f} at 640), output {list(ref_out.shape)}, "
        f"torchscript-vs-eager max |diff| {ts_diff:.3g} ({ts_ratio:.1%} of tolerance), "
        f"detections/photo {list(det.values())} "
        f"(mirrored {mirrored}, noise {noise}, flat {flat}), "
        f"{time.time() - t0:.1f} s")
    return entry


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="output directory (the build tree's models dir)")
    ap.add_argument("--only", action="append", metavar="NAME",
                    help="generate only this model (repeatable); the manifest then keeps "
                         "the other models' existing entries")
    ap.add_argument("--list", action="store_true", help="print the model names and exit")
    ap.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    ap.add_argument("--photos", default=PHOTO_DIR, metavar="DIR",
                    help=f"folder of sample photos (*.jpg) for calibration and reference inputs "
                         f"(default {PHOTO_DIR}; seeded noise is used when there are none)")
    args = ap.parse_args(argv)

    if args.list:
        for s in MODEL_SPECS:
            print(s["name"])
        return 0
    if not args.out:
        ap.error("--out is required")
    names = args.only or [s["name"] for s in MODEL_SPECS]
    unknown = [n for n in names if n not in SPEC_BY_NAME]
    if unknown:
        ap.error(f"unknown model(s): {', '.join(unknown)}; --list shows the names")

    t0 = time.time()
    import_torch()
    define_modules()
    torch.set_num_threads(max(1, args.threads))
    torch.backends.cudnn.deterministic = True
    out_dir = os.path.abspath(args.out)
    os.makedirs(out_dir, exist_ok=True)

    photos = PhotoSet(args.photos)
    if photos.available:
        log(f"calibrating on {len(photos.images)} photos from {args.photos}")
    else:
        log(f"WARNING: {photos.error}; calibrating on seeded noise images instead, and the "
            f"reference inputs are noise")

    manifest_path = os.path.join(out_dir, "manifest.json")
    entries = {}
    if args.only and os.path.exists(manifest_path):
        with open(manifest_path) as f:
            for e in json.load(f).get("models", []):
                entries[e["name"]] = e

    cache = {}
    for name in names:
        entries[name] = generate(SPEC_BY_NAME[name], out_dir, photos, cache)

    order = [s["name"] for s in MODEL_SPECS]
    manifest = {
        "generator": GENERATOR,
        "description": DESCRIPTION,
        "torch_version": torch.__version__,
        "onnx_opset": ONNX_OPSET,
        "photos": sorted(photos.images) if photos.available else [],
        "photos_note": None if photos.available else photos.error,
        "score_threshold": SCORE_THRESHOLD,
        "names_file": "coco.names",
        "tolerance_rule": "|value - ref| <= abs + rel * |ref| for every element of the output",
        "models": [entries[n] for n in order if n in entries],
    }
    with open(os.path.join(out_dir, "coco.names"), "w") as f:
        f.write("\n".join(COCO_NAMES) + "\n")
    tmp = manifest_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    os.replace(tmp, manifest_path)
    log(f"wrote {len(names)} model(s), coco.names and manifest.json to {out_dir} "
        f"in {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
