// LogSchema: the names of the request-log schema `yoloscope.v1`
// (docs/log-schema.md), shared by the writer (serve) and the readers
// (analyze). These names are the contract: fields may be added, never renamed.
//
// Header-only constants; thread-safe.
#pragma once

#include <string_view>

namespace yoloscope::logschema {

// The value of the "schema" field on every record.
inline constexpr std::string_view kSchemaVersion = "yoloscope.v1";
// Every version of this schema family starts with this prefix.
inline constexpr std::string_view kSchemaPrefix = "yoloscope.v";

// Record types: the value of the "event" field.
inline constexpr std::string_view kEventRequest = "request";
inline constexpr std::string_view kEventBatch = "batch";
inline constexpr std::string_view kEventGpu = "gpu";
inline constexpr std::string_view kEventAlert = "alert";
// A video stream's counters (docs/streams.md): periodic, at state changes
// and at its end.
inline constexpr std::string_view kEventStream = "stream";
// The serving configuration of one model (docs/log-schema.md): written by
// serve when it starts and after each reopen of the log (SIGHUP), so a log
// says which batching setting produced it.
inline constexpr std::string_view kEventConfig = "config";

// Envelope (every record).
inline constexpr std::string_view kEvent = "event";
inline constexpr std::string_view kSchema = "schema";
inline constexpr std::string_view kTs = "ts";                           // RFC 3339 UTC, us.
inline constexpr std::string_view kDroppedRecords = "dropped_records";  // only when > 0.

// Identity.
inline constexpr std::string_view kRequestId = "request_id";
inline constexpr std::string_view kModel = "model";
// Fleet origin, added by the fleet tables (docs/fleet.md), not by serve.
inline constexpr std::string_view kHost = "host";
inline constexpr std::string_view kReplica = "replica";
inline constexpr std::string_view kBackend = "backend";
inline constexpr std::string_view kDevice = "device";
inline constexpr std::string_view kGpuId = "gpu_id";
inline constexpr std::string_view kBatchId = "batch_id";
inline constexpr std::string_view kInstance = "instance";
inline constexpr std::string_view kStatus = "status";
inline constexpr std::string_view kError = "error";
// How the request arrived ("http", "kserve_http", "kserve_grpc") and the
// client's own request id (KServe `id`), when it gave one.
inline constexpr std::string_view kProtocol = "protocol";
inline constexpr std::string_view kClientId = "client_id";
// Video frames (request records made by a stream): the stream's name, the
// frame's position among the frames read from it, and its presentation
// time in the stream (ms).
inline constexpr std::string_view kStream = "stream";
inline constexpr std::string_view kFrameIndex = "frame_index";
inline constexpr std::string_view kPtsMs = "pts_ms";

// Stream records (`event: "stream"`): the source, its state and counters
// since the stream started.
inline constexpr std::string_view kUri = "uri";  // credentials redacted
inline constexpr std::string_view kState = "state";
inline constexpr std::string_view kCodec = "codec";
// "file", "network" or "device" (docs/streams.md); `realtime`: a file
// delivered at its own frame rate. A network or device source, or a realtime
// file, runs on the wall clock: its reader must keep pace with it.
inline constexpr std::string_view kSourceKind = "source_kind";
inline constexpr std::string_view kRealtime = "realtime";
inline constexpr std::string_view kDropPolicy = "drop_policy";  // "block" or "drop_oldest"
inline constexpr std::string_view kSourceFps = "source_fps";
inline constexpr std::string_view kTargetFps = "target_fps";
inline constexpr std::string_view kFps =
    "fps";  // frames processed per second since the last record
inline constexpr std::string_view kFramesRead = "frames_read";
inline constexpr std::string_view kFramesProcessed = "frames_processed";
inline constexpr std::string_view kFramesFailed = "frames_failed";
inline constexpr std::string_view kFramesDropped = "frames_dropped";
inline constexpr std::string_view kFramesSkipped = "frames_skipped";
inline constexpr std::string_view kFramesQueued = "frames_queued";
inline constexpr std::string_view kFramesInFlight = "frames_in_flight";
inline constexpr std::string_view kReconnects = "reconnects";

// Request shape and queueing.
inline constexpr std::string_view kInputW = "input_w";
inline constexpr std::string_view kInputH = "input_h";
inline constexpr std::string_view kInputBytes = "input_bytes";
inline constexpr std::string_view kBatchSize = "batch_size";
inline constexpr std::string_view kQueueLen = "queue_len";
inline constexpr std::string_view kDetections = "detections";

// Stage times, milliseconds.
inline constexpr std::string_view kQueueMs = "queue_ms";
inline constexpr std::string_view kDecodeMs = "decode_ms";
inline constexpr std::string_view kPreprocessMs = "preprocess_ms";
inline constexpr std::string_view kH2dMs = "h2d_ms";
inline constexpr std::string_view kInferenceMs = "inference_ms";
inline constexpr std::string_view kD2hMs = "d2h_ms";
// Batch records: the instance's wall time for the batch, from taking it to
// handing its requests on (device time, waiting for a shared device, batch
// assembly and bookkeeping).
inline constexpr std::string_view kBusyMs = "busy_ms";
inline constexpr std::string_view kPostprocessMs = "postprocess_ms";
inline constexpr std::string_view kTotalMs = "total_ms";

// Device state. Memory in MB where 1 MB = 2^20 bytes (MiB).
inline constexpr std::string_view kGpuUtil = "gpu_util";  // percent, 0..100.
inline constexpr std::string_view kMemUsedMb = "mem_used_mb";
inline constexpr std::string_view kMemTotalMb = "mem_total_mb";
inline constexpr std::string_view kMemReservedMb = "mem_reserved_mb";
inline constexpr std::string_view kMemAllocatedMb = "mem_allocated_mb";
inline constexpr std::string_view kMemInactiveSplitMb = "mem_inactive_split_mb";
inline constexpr std::string_view kMemOtherProcessesMb = "mem_other_processes_mb";
inline constexpr std::string_view kAllocRetries = "alloc_retries";
inline constexpr std::string_view kOom = "oom";

// GPU telemetry.
inline constexpr std::string_view kSmClockMhz = "sm_clock_mhz";
inline constexpr std::string_view kTempC = "temp_c";
inline constexpr std::string_view kPowerW = "power_w";
inline constexpr std::string_view kPcieTxMbs = "pcie_tx_mbs";  // MB/s.
inline constexpr std::string_view kPcieRxMbs = "pcie_rx_mbs";  // MB/s.
inline constexpr std::string_view kThrottleReasons = "throttle_reasons";

// The value of "status" for a request that succeeded.
inline constexpr std::string_view kStatusOk = "ok";

// `config` records (the model's batching and pool sizes, as serve runs them).
inline constexpr std::string_view kInstances = "instances";
inline constexpr std::string_view kMaxBatchSize = "max_batch_size";
inline constexpr std::string_view kMaxQueueDelayUs = "max_queue_delay_us";
inline constexpr std::string_view kMaxQueueSize = "max_queue_size";
inline constexpr std::string_view kPreprocessWorkers = "preprocess_workers";
inline constexpr std::string_view kPostprocessWorkers = "postprocess_workers";
inline constexpr std::string_view kBatchPolicy = "batch_policy";

}  // namespace yoloscope::logschema
