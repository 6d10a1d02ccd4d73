#include "analyzer/readers/reader_fields.h"

#include "reqlog/log_schema.h"

namespace yoloscope {
namespace {

namespace ls = logschema;

constexpr ReaderField Str(std::string_view name, std::string_view LogRecord::*m) {
  return ReaderField{name, FieldType::kString, FieldUnit::kNone, nullptr, nullptr, m, nullptr};
}
constexpr ReaderField Int(std::string_view name, std::optional<int64_t> LogRecord::*m) {
  return ReaderField{name, FieldType::kInt, FieldUnit::kNone, nullptr, m, nullptr, nullptr};
}
constexpr ReaderField Dbl(std::string_view name, FieldUnit unit,
                          std::optional<double> LogRecord::*m) {
  return ReaderField{name, FieldType::kDouble, unit, m, nullptr, nullptr, nullptr};
}

constexpr ReaderField kFields[] = {
    {ls::kEvent, FieldType::kEvent},
    {ls::kSchema, FieldType::kSchema},
    {ls::kTs, FieldType::kTimestamp},
    Int(ls::kDroppedRecords, &LogRecord::dropped_records),
    Str(ls::kRequestId, &LogRecord::request_id),
    Str(ls::kModel, &LogRecord::model),
    Str(ls::kHost, &LogRecord::host),
    Str(ls::kReplica, &LogRecord::replica),
    Str(ls::kBackend, &LogRecord::backend),
    Str(ls::kDevice, &LogRecord::device),
    Int(ls::kGpuId, &LogRecord::gpu_id),
    Int(ls::kBatchId, &LogRecord::batch_id),
    Int(ls::kInstance, &LogRecord::instance),
    Str(ls::kStatus, &LogRecord::status),
    Str(ls::kError, &LogRecord::error),
    Int(ls::kInputW, &LogRecord::input_w),
    Int(ls::kInputH, &LogRecord::input_h),
    {ls::kInputBytes, FieldType::kInt, FieldUnit::kBytes, nullptr, &LogRecord::input_bytes},
    Int(ls::kBatchSize, &LogRecord::batch_size),
    Int(ls::kQueueLen, &LogRecord::queue_len),
    Int(ls::kDetections, &LogRecord::detections),
    Dbl(ls::kQueueMs, FieldUnit::kMs, &LogRecord::queue_ms),
    Dbl(ls::kDecodeMs, FieldUnit::kMs, &LogRecord::decode_ms),
    Dbl(ls::kPreprocessMs, FieldUnit::kMs, &LogRecord::preprocess_ms),
    Dbl(ls::kH2dMs, FieldUnit::kMs, &LogRecord::h2d_ms),
    Dbl(ls::kInferenceMs, FieldUnit::kMs, &LogRecord::inference_ms),
    Dbl(ls::kD2hMs, FieldUnit::kMs, &LogRecord::d2h_ms),
    Dbl(ls::kBusyMs, FieldUnit::kMs, &LogRecord::busy_ms),
    Dbl(ls::kPostprocessMs, FieldUnit::kMs, &LogRecord::postprocess_ms),
    Dbl(ls::kTotalMs, FieldUnit::kMs, &LogRecord::total_ms),
    Dbl(ls::kGpuUtil, FieldUnit::kPercent, &LogRecord::gpu_util),
    Dbl(ls::kMemUsedMb, FieldUnit::kMb, &LogRecord::mem_used_mb),
    Dbl(ls::kMemTotalMb, FieldUnit::kMb, &LogRecord::mem_total_mb),
    Dbl(ls::kMemReservedMb, FieldUnit::kMb, &LogRecord::mem_reserved_mb),
    Dbl(ls::kMemAllocatedMb, FieldUnit::kMb, &LogRecord::mem_allocated_mb),
    Dbl(ls::kMemInactiveSplitMb, FieldUnit::kMb, &LogRecord::mem_inactive_split_mb),
    Dbl(ls::kMemOtherProcessesMb, FieldUnit::kMb, &LogRecord::mem_other_processes_mb),
    Int(ls::kAllocRetries, &LogRecord::alloc_retries),
    {ls::kOom, FieldType::kBool, FieldUnit::kNone, nullptr, nullptr, nullptr, &LogRecord::oom},
    Dbl(ls::kSmClockMhz, FieldUnit::kMhz, &LogRecord::sm_clock_mhz),
    Dbl(ls::kTempC, FieldUnit::kCelsius, &LogRecord::temp_c),
    Dbl(ls::kPowerW, FieldUnit::kWatts, &LogRecord::power_w),
    Dbl(ls::kPcieTxMbs, FieldUnit::kMbPerSec, &LogRecord::pcie_tx_mbs),
    Dbl(ls::kPcieRxMbs, FieldUnit::kMbPerSec, &LogRecord::pcie_rx_mbs),
    Str(ls::kThrottleReasons, &LogRecord::throttle_reasons),
    Str(ls::kStream, &LogRecord::stream),
    Int(ls::kFrameIndex, &LogRecord::frame_index),
    Dbl(ls::kPtsMs, FieldUnit::kMs, &LogRecord::pts_ms),
    Int(ls::kFramesRead, &LogRecord::frames_read),
    Int(ls::kFramesDropped, &LogRecord::frames_dropped),
    Int(ls::kFramesSkipped, &LogRecord::frames_skipped),
    Dbl(ls::kTargetFps, FieldUnit::kNone, &LogRecord::target_fps),
    Dbl(ls::kSourceFps, FieldUnit::kNone, &LogRecord::source_fps),
    Str(ls::kSourceKind, &LogRecord::source_kind),
    {ls::kRealtime, FieldType::kBool, FieldUnit::kNone, nullptr, nullptr, nullptr,
     &LogRecord::realtime},
    Int(ls::kInstances, &LogRecord::instances),
    Int(ls::kMaxBatchSize, &LogRecord::max_batch_size),
    Int(ls::kMaxQueueDelayUs, &LogRecord::max_queue_delay_us),
    Int(ls::kMaxQueueSize, &LogRecord::max_queue_size),
    Int(ls::kPreprocessWorkers, &LogRecord::preprocess_workers),
    Int(ls::kPostprocessWorkers, &LogRecord::postprocess_workers),
    Str(ls::kBatchPolicy, &LogRecord::batch_policy),
};

}  // namespace

std::span<const ReaderField> AllReaderFields() { return kFields; }

const ReaderField* FindReaderField(std::string_view name) {
  for (const ReaderField& f : kFields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace yoloscope
