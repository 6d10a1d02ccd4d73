#!/usr/bin/env bash
# The demo on the bundled default: the generated YOLOv8n (640) model run by
# both backends over Debian's sample photos, with annotated copies written.
# Usage: scripts/demo.sh BUILD_DIR   (scripts/setup.sh demo calls it)
set -euo pipefail
build="${1:?usage: demo.sh BUILD_DIR}"
bin="$build/apps/yoloscope/yoloscope"
models="$build/models"
photos="$build/data/photos"
out="$build/demo"
mkdir -p "$out"
step() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

step "models in $models, photos in $photos"
ls "$models"/*.torchscript "$models"/*.onnx >&2

for backend in torch opencv; do
  ext=torchscript; [ "$backend" = opencv ] && ext=onnx
  step "yoloscope detect --backend $backend (yolov8n 640, seeded untrained weights)"
  "$bin" detect --model "$models/yolov8n_640.$ext" --backend "$backend" \
    --draw "$out/$backend" "$photos"/*.jpg | tee "$out/detections-$backend.jsonl" |
    cut -c1-220
done
step "annotated images: $out/torch, $out/opencv"
