#include "analyzer/readers/triton_trace_parser.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <unordered_map>

namespace yoloscope {
namespace {

namespace od = simdjson::ondemand;

constexpr size_t kMaxProblems = 5;
constexpr int64_t kWallClockMinNs = 946684800LL * 1000000000LL;  // 2000-01-01 as Unix ns

enum Event {
  kRequestStart,
  kQueueStart,
  kComputeStart,
  kComputeInputEnd,
  kComputeOutputStart,
  kComputeEnd,
  kRequestEnd,
  kOtherEvent,  // HTTP/GRPC timestamps: only used for the earliest time.
  kNumEvents,
};

Event EventFor(std::string_view name) {
  char buf[48];
  if (name.size() >= sizeof(buf)) return kOtherEvent;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c == ' ') c = '_';
    buf[i] = c;
  }
  const std::string_view n(buf, name.size());
  if (n == "REQUEST_START" || n == "REQUEST_HANDLER_START") return kRequestStart;
  if (n == "QUEUE_START") return kQueueStart;
  if (n == "COMPUTE_START") return kComputeStart;
  if (n == "COMPUTE_INPUT_END") return kComputeInputEnd;
  if (n == "COMPUTE_OUTPUT_START") return kComputeOutputStart;
  if (n == "COMPUTE_END") return kComputeEnd;
  if (n == "REQUEST_END" || n == "REQUEST_HANDLER_END") return kRequestEnd;
  return kOtherEvent;
}

// For a trace file cut short (Triton stopped while writing): the offset just
// past the last complete element of the top-level array, or 0 when there is
// none. A plain scan that tracks strings and nesting.
size_t EndOfLastCompleteElement(std::string_view s) {
  int depth = 0;
  bool in_string = false, escape = false;
  size_t last = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (escape) {
        escape = false;
      } else if (c == '\\') {
        escape = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if (c == ']' || c == '}') {
      if (--depth == 1) last = i + 1;
      if (depth <= 0) break;
    }
  }
  return last;
}

struct Trace {
  std::string id_text;
  std::string model;
  std::string request_id;
  int64_t line = 0;
  std::array<int64_t, kNumEvents> ns;  // -1 = not seen; kOtherEvent keeps the earliest.
  bool any_timestamp = false;
  Trace() { ns.fill(-1); }
};

}  // namespace

struct TritonTraceParser::Impl {
  od::parser parser;
};

TritonTraceParser::TritonTraceParser(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TritonTraceParser::~TritonTraceParser() = default;

StatusOr<std::unique_ptr<TritonTraceParser>> TritonTraceParser::Create() {
  return std::unique_ptr<TritonTraceParser>(new TritonTraceParser(std::make_unique<Impl>()));
}

TritonTraceParser::Result TritonTraceParser::Parse(std::string_view content, size_t capacity,
                                                   std::string_view source, RecordSink* sink) {
  Result result;
  auto problem = [&](int64_t line, std::string why) {
    ++result.malformed;
    if (result.problems.size() < kMaxProblems) result.problems.emplace_back(line, std::move(why));
  };
  // Line of a position, counting newlines incrementally (positions only grow).
  const char* counted_to = content.data();
  int64_t line_at = 1;
  auto line_of = [&](const char* p) {
    if (p < counted_to || p > content.data() + content.size()) return line_at;
    line_at += std::count(counted_to, p, '\n');
    counted_to = p;
    return line_at;
  };

  std::vector<Trace> traces;
  std::unordered_map<std::string, size_t> by_id;

  if (impl_->parser.capacity() < content.size() &&
      impl_->parser.allocate(content.size()) != simdjson::SUCCESS) {
    problem(1, "trace file too large to parse");
    return result;
  }
  od::document doc;
  auto error =
      impl_->parser.iterate(simdjson::padded_string_view(content.data(), content.size(), capacity))
          .get(doc);
  std::string repaired;
  if (error) {
    // A truncated file fails as a whole (an unclosed string): keep the
    // complete entries before the cut.
    const size_t first = content.find_first_not_of(" \t\r\n");
    const size_t end = first != std::string_view::npos && content[first] == '['
                           ? EndOfLastCompleteElement(content)
                           : 0;
    if (end > 0) {
      repaired.reserve(end + 1 + kPadding);
      repaired.assign(content.substr(0, end));
      repaired.push_back(']');
      const size_t repaired_size = repaired.size();
      repaired.append(kPadding, ' ');
      problem(static_cast<int64_t>(std::count(content.begin(), content.begin() + end, '\n')) + 1,
              "truncated trace file: entries after this line are lost");
      content = std::string_view(repaired.data(), repaired_size);
      counted_to = content.data();
      error = impl_->parser
                  .iterate(
                      simdjson::padded_string_view(content.data(), content.size(), repaired.size()))
                  .get(doc);
    }
  }
  od::array array;
  if (!error) error = doc.get_array().get(array);
  if (error) {
    problem(1, std::string("not a Triton trace (expected a JSON array): ") +
                   simdjson::error_message(error));
    return result;
  }
  int64_t entry = 0;
  for (auto element_result : array) {
    ++entry;
    od::value element;
    if (element_result.get(element)) {
      problem(line_at,
              "invalid JSON after entry " + std::to_string(entry - 1) + " (truncated trace file?)");
      break;
    }
    const char* location = nullptr;
    const int64_t line = element.current_location().get(location) ? line_at : line_of(location);
    od::object object;
    if (element.get_object().get(object)) {
      problem(line, "entry " + std::to_string(entry) + " is not an object");
      continue;
    }
    std::string id_text;
    std::string_view model, request_id;
    bool has_model = false, has_request_id = false;
    std::vector<std::pair<Event, int64_t>> stamps;
    bool fatal = false;
    bool bad_entry = false;
    for (auto field_result : object) {
      od::field field;
      std::string_view key;
      if (std::move(field_result).get(field) || field.unescaped_key().get(key)) {
        fatal = true;
        break;
      }
      od::value value = field.value();
      if (key == "id") {
        std::string_view token = value.raw_json_token();
        while (!token.empty() && (token.back() == ' ' || token.back() == '\n' ||
                                  token.back() == '\r' || token.back() == '\t')) {
          token.remove_suffix(1);
        }
        if (!token.empty() && token.front() == '"') {
          std::string_view s;
          if (value.get_string().get(s)) {
            bad_entry = true;
            continue;
          }
          token = s;
        }
        id_text.assign(token);
      } else if (key == "model_name") {
        has_model = !value.get_string().get(model);
      } else if (key == "request_id") {
        has_request_id = !value.get_string().get(request_id);
      } else if (key == "timestamps") {
        od::array list;
        if (value.get_array().get(list)) {
          bad_entry = true;
          continue;
        }
        for (auto stamp_result : list) {
          od::object stamp;
          if (stamp_result.get_object().get(stamp)) {
            bad_entry = true;
            continue;
          }
          std::string_view name;
          int64_t ns = -1;
          for (auto sf : stamp) {
            od::field f;
            std::string_view k;
            if (std::move(sf).get(f) || f.unescaped_key().get(k)) {
              fatal = true;
              break;
            }
            if (k == "name") {
              if (f.value().get_string().get(name)) bad_entry = true;
            } else if (k == "ns") {
              uint64_t u;
              if (f.value().get_uint64().get(u) || u > static_cast<uint64_t>(INT64_MAX)) {
                bad_entry = true;
              } else {
                ns = static_cast<int64_t>(u);
              }
            }
          }
          if (fatal) break;
          if (name.empty() || ns < 0) {
            bad_entry = true;
            continue;
          }
          stamps.emplace_back(EventFor(name), ns);
        }
        if (fatal) break;
      }
    }
    if (fatal) {
      problem(line, "invalid JSON in entry " + std::to_string(entry) + " (truncated trace file?)");
      break;
    }
    if (id_text.empty()) {
      problem(line, "entry " + std::to_string(entry) + " has no \"id\"");
      continue;
    }
    if (bad_entry) problem(line, "entry " + std::to_string(entry) + " has a bad timestamp");
    auto [it, inserted] = by_id.try_emplace(id_text, traces.size());
    if (inserted) {
      traces.emplace_back();
      traces.back().id_text = id_text;
      traces.back().line = line;
    }
    Trace& t = traces[it->second];
    if (has_model) t.model.assign(model);
    if (has_request_id) t.request_id.assign(request_id);
    for (const auto& [event, ns] : stamps) {
      t.any_timestamp = true;
      int64_t& slot = t.ns[event];
      if (event == kOtherEvent) {
        if (slot < 0 || ns < slot) slot = ns;
      } else if (slot < 0) {
        slot = ns;
      }
    }
  }

  LogRecord record;
  for (const Trace& t : traces) {
    if (!t.any_timestamp) continue;  // a model-name-only or TENSORS-only trace.
    record.Clear();
    record.kind = RecordKind::kRequest;
    record.source = source;
    record.line = t.line;
    record.request_id = t.request_id.empty() ? std::string_view(t.id_text) : t.request_id;
    if (!t.model.empty()) record.model = t.model;
    record.backend = "triton";
    int64_t start = t.ns[kRequestStart];
    if (start < 0) {
      for (int64_t v : t.ns) {
        if (v >= 0 && (start < 0 || v < start)) start = v;
      }
    }
    record.ts_us = start / 1000;
    record.ts_monotonic = start < kWallClockMinNs;
    bool bad_span = false;
    auto span = [&](Event from, Event to, std::optional<double>* out) {
      const int64_t a = t.ns[from], b = t.ns[to];
      if (a < 0 || b < 0) return;
      if (b < a) {
        bad_span = true;
        return;
      }
      *out = static_cast<double>(b - a) / 1e6;
    };
    span(kQueueStart, kComputeStart, &record.queue_ms);
    span(kComputeStart, kComputeInputEnd, &record.h2d_ms);
    span(kComputeInputEnd, kComputeOutputStart, &record.inference_ms);
    span(kComputeOutputStart, kComputeEnd, &record.d2h_ms);
    span(kRequestStart, kRequestEnd, &record.total_ms);
    if (bad_span) ++result.field_errors;
    sink->OnRecord(record);
    ++result.records;
  }
  return result;
}

}  // namespace yoloscope
