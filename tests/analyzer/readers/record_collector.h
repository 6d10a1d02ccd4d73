// Test helpers for the reader tests: a RecordSink that keeps owning copies
// of every record, and small file utilities.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <vector>

#include "reqlog/record_sink.h"

namespace yoloscope::testing_readers {

// A LogRecord whose strings are owned (LogRecord views die after OnRecord).
struct CollectedRecord {
  LogRecord record;  // string_views re-pointed at the members below
  std::string request_id, model, backend, device, status, error, throttle_reasons, source;

  explicit CollectedRecord(const LogRecord& r)
      : record(r),
        request_id(r.request_id),
        model(r.model),
        backend(r.backend),
        device(r.device),
        status(r.status),
        error(r.error),
        throttle_reasons(r.throttle_reasons),
        source(r.source) {
    throttle_known = r.throttle_reasons.data() != nullptr;
    Repoint();
  }
  CollectedRecord(const CollectedRecord& o) : record(o.record) { CopyStrings(o); }
  CollectedRecord& operator=(const CollectedRecord& o) {
    record = o.record;
    CopyStrings(o);
    return *this;
  }

  const LogRecord* operator->() const { return &record; }
  bool throttle_known = false;

 private:
  void CopyStrings(const CollectedRecord& o) {
    request_id = o.request_id;
    model = o.model;
    backend = o.backend;
    device = o.device;
    status = o.status;
    error = o.error;
    throttle_reasons = o.throttle_reasons;
    source = o.source;
    throttle_known = o.throttle_known;
    Repoint();
  }
  void Repoint() {
    record.request_id = request_id;
    record.model = model;
    record.backend = backend;
    record.device = device;
    record.status = status;
    record.error = error;
    record.throttle_reasons = throttle_reasons;
    record.source = source;
  }
};

class CollectingSink final : public RecordSink {
 public:
  void OnRecord(const LogRecord& record) override {
    std::lock_guard<std::mutex> lock(mu_);  // only to let tests poll from another thread
    records_.emplace_back(record);
  }
  std::vector<CollectedRecord> records() const {
    std::lock_guard<std::mutex> lock(mu_);
    return records_;
  }
  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return records_.size();
  }

 private:
  mutable std::mutex mu_;
  std::vector<CollectedRecord> records_;
};

inline std::string FixturePath(const std::string& name) {
  return std::string(YOLOSCOPE_SOURCE_DIR) + "/tests/analyzer/fixtures/readers/" + name;
}

inline std::string ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteStringToFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

// A fresh directory under the test temp dir, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "ys_readers_XXXXXX").string();
    path_ = mkdtemp(templ.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace yoloscope::testing_readers
