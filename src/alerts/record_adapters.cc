#include "alerts/record_adapters.h"

namespace yoloscope {
namespace {

std::optional<int64_t> Dropped(int64_t n) {
  return n > 0 ? std::optional<int64_t>(n) : std::nullopt;
}

// The device fields request and batch records share.
template <typename Record>
void CopyDeviceFields(const Record& r, LogRecord* o) {
  o->ts_us = r.ts_us;
  o->model = r.model;
  o->gpu_id = r.gpu_id;
  o->batch_id = r.batch_id;
  o->batch_size = r.batch_size;
  o->h2d_ms = r.h2d_ms;
  o->inference_ms = r.inference_ms;
  o->d2h_ms = r.d2h_ms;
  o->mem_used_mb = r.mem_used_mb;
  o->mem_total_mb = r.mem_total_mb;
  o->mem_reserved_mb = r.mem_reserved_mb;
  o->mem_allocated_mb = r.mem_allocated_mb;
  o->alloc_retries = r.alloc_retries;
  o->oom = r.oom;
  o->dropped_records = Dropped(r.dropped_records);
}

}  // namespace

LogRecord ToLogRecord(const RequestLogRecord& r) {
  LogRecord o;
  o.kind = RecordKind::kRequest;
  CopyDeviceFields(r, &o);
  o.request_id = r.request_id;
  o.backend = r.backend;
  o.device = r.device;
  o.status = r.status;
  o.error = r.error;
  o.input_w = r.input_w;
  o.input_h = r.input_h;
  o.input_bytes = r.input_bytes;
  o.queue_len = r.queue_len;
  o.detections = r.detections;
  o.queue_ms = r.queue_ms;
  o.decode_ms = r.decode_ms;
  o.preprocess_ms = r.preprocess_ms;
  o.postprocess_ms = r.postprocess_ms;
  o.total_ms = r.total_ms;
  o.gpu_util = r.gpu_util;
  return o;
}

LogRecord ToLogRecord(const BatchLogRecord& r) {
  LogRecord o;
  o.kind = RecordKind::kBatch;
  CopyDeviceFields(r, &o);
  o.instance = r.instance;
  o.mem_inactive_split_mb = r.mem_inactive_split_mb;
  return o;
}

LogRecord ToLogRecord(const GpuLogRecord& r) {
  LogRecord o;
  o.kind = RecordKind::kGpu;
  o.ts_us = r.ts_us;
  o.gpu_id = r.gpu_id;
  o.gpu_util = r.gpu_util;
  o.mem_used_mb = r.mem_used_mb;
  o.mem_total_mb = r.mem_total_mb;
  o.mem_other_processes_mb = r.mem_other_processes_mb;
  o.sm_clock_mhz = r.sm_clock_mhz;
  o.temp_c = r.temp_c;
  o.power_w = r.power_w;
  o.pcie_tx_mbs = r.pcie_tx_mbs;
  o.pcie_rx_mbs = r.pcie_rx_mbs;
  if (r.throttle_reasons) o.throttle_reasons = *r.throttle_reasons;
  o.dropped_records = Dropped(r.dropped_records);
  return o;
}

}  // namespace yoloscope
