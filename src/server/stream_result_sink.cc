#include "server/stream_result_sink.h"

#include <cstdio>

#include "common/time_format.h"
#include "reqlog/json_line_serializer.h"
#include "server/detections_json.h"

namespace yoloscope {

StatusOr<std::unique_ptr<StreamResultSink>> StreamResultSink::Create(
    const std::string& stream, const StreamResultsConfig& config, const ModelInfo* model,
    Clock* clock) {
  if (model == nullptr || clock == nullptr) {
    return InvalidArgumentError("stream result sink: needs the model info and a clock");
  }
  YS_RETURN_IF_ERROR(ValidateStreamResultsConfig(config, "results"));
  std::unique_ptr<StreamResultSink> sink(new StreamResultSink(stream, model));
  if (!config.jsonl.empty()) {
    AsyncLogWriterConfig lc;
    lc.path = config.jsonl;
    lc.queue_capacity = static_cast<size_t>(config.jsonl_queue_capacity);
    lc.max_file_bytes = config.jsonl_max_file_bytes;
    lc.max_files = config.jsonl_max_files;
    lc.warn = [stream](const std::string& message) {
      std::fprintf(stderr, "yoloscope serve: stream %s: results.jsonl: %s\n", stream.c_str(),
                   message.c_str());
    };
    auto writer = AsyncLogWriter::Create(lc, clock);
    if (!writer.ok()) return writer.status().WithContext("results.jsonl");
    sink->jsonl_ = std::move(writer).value();
  }
  const StreamResultsWebhookConfig& w = config.webhook;
  if (!w.url.empty()) {
    WebhookSenderConfig sc;
    sc.url = w.url;
    sc.bearer_token = w.bearer_token;
    sc.user_agent = "yoloscope-streams";
    sc.timeout_ms = w.timeout_ms;
    sc.max_attempts = w.max_attempts;
    sc.initial_backoff_ms = w.initial_backoff_ms;
    sc.max_backoff_ms = w.max_backoff_ms;
    sc.queue_capacity = w.queue_capacity;
    sc.max_items_per_post = w.max_frames_per_post;
    sc.close_timeout_ms = w.close_timeout_ms;
    std::string head = "{\"stream\":";
    AppendJsonString(stream, &head);
    head += ",\"frames\":[";
    auto combine = [head](const std::vector<std::string>& frames) {
      size_t size = head.size() + 2;
      for (const std::string& f : frames) size += f.size() + 1;
      std::string body;
      body.reserve(size);
      body += head;
      for (size_t i = 0; i < frames.size(); ++i) {
        if (i) body += ',';
        body += frames[i];
      }
      body += "]}";
      return body;
    };
    auto sender = WebhookSender::Create(sc, combine);
    if (!sender.ok()) return sender.status().WithContext("results.webhook");
    sink->webhook_ = std::move(sender).value();
  }
  return sink;
}

StreamResultSink::StreamResultSink(std::string stream, const ModelInfo* model)
    : stream_(std::move(stream)), model_(model) {}

StreamResultSink::~StreamResultSink() { Close(); }

std::string StreamResultSink::FormatLine(const std::string& stream, const StreamFrameResult& r,
                                         const ModelInfo& model) {
  std::string out;
  out.reserve(192 + r.detections.size() * 96);
  out += "{\"stream\":";
  AppendJsonString(stream, &out);
  out += ",\"frame_index\":" + std::to_string(r.frame_index);
  out += ",\"pts_ms\":";
  if (r.pts_ms) {
    AppendJsonNumber(*r.pts_ms, 3, &out);
  } else {
    out += "null";
  }
  out += ",\"ts\":\"";
  AppendRfc3339Micros(r.capture_wall_us, &out);
  out += "\",\"width\":" + std::to_string(r.width) + ",\"height\":" + std::to_string(r.height);
  out += ",\"status\":";
  AppendJsonString(r.status, &out);
  out += ",\"latency_ms\":";
  AppendJsonNumber(r.latency_ms, 3, &out);
  if (!r.ok) {
    out += ",\"error\":";
    AppendJsonString(r.error, &out);
    out += '}';
    return out;
  }
  out += ",\"detections\":";
  AppendDetectionsJson(r.detections, model, &out);
  out += '}';
  return out;
}

void StreamResultSink::Write(const StreamFrameResult& result) {
  if (!enabled()) return;
  std::string line = FormatLine(stream_, result, *model_);
  if (jsonl_) (void)jsonl_->TryWrite(line);  // a refusal is counted by the writer
  if (webhook_) webhook_->Send(std::move(line));
}

void StreamResultSink::Close() {
  if (jsonl_) (void)jsonl_->Close();
  if (webhook_) webhook_->Close();
}

StreamResultSinkStats StreamResultSink::stats() const {
  StreamResultSinkStats s;
  if (jsonl_) {
    const AsyncLogWriterStats ls = jsonl_->GetStats();
    s.jsonl = true;
    s.jsonl_written = ls.written_lines;
    s.jsonl_dropped = ls.dropped_by_reason[static_cast<size_t>(LogDropReason::kQueueFull)] +
                      ls.dropped_by_reason[static_cast<size_t>(LogDropReason::kClosed)];
    s.jsonl_failed = ls.dropped_lines - s.jsonl_dropped;
  }
  if (webhook_) {
    const WebhookSenderStats ws = webhook_->stats();
    s.webhook = true;
    s.webhook_delivered = ws.delivered;
    s.webhook_failed = ws.failed;
    s.webhook_dropped = ws.dropped;
    s.webhook_queued = ws.queued;
    s.webhook_posts = ws.posts;
    s.webhook_retries = ws.retries;
    s.webhook_last_error = ws.last_error;
  }
  return s;
}

}  // namespace yoloscope
