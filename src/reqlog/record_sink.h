// RecordSink: where a reader delivers the LogRecords it parses.
//
// Ownership: the record passed to OnRecord is borrowed for the call only (its
// string_views point into the reader's buffer).
// Thread-safety: a sink is called from one thread at a time; readers that
// parse in parallel give each thread its own sink and merge afterwards.
#pragma once

#include "reqlog/log_record.h"

namespace yoloscope {

class RecordSink {
 public:
  virtual ~RecordSink() = default;
  virtual void OnRecord(const LogRecord& record) = 0;
};

}  // namespace yoloscope
