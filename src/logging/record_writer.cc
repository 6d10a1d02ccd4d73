#include "logging/record_writer.h"

#include <string>

#include "reqlog/json_line_serializer.h"

namespace yoloscope {
namespace {

template <typename Record>
bool WriteOne(Record* record, AsyncLogWriter* log) {
  // One line buffer per thread, reused: its capacity grows to the longest
  // line once and stays.
  thread_local std::string line;
  const int64_t carried = log->TakeDroppedSinceLast();
  record->dropped_records = carried;
  line.clear();
  AppendJsonLine(*record, &line);
  return log->TryWrite(line, carried);
}

}  // namespace

bool WriteRecord(RequestLogRecord* record, AsyncLogWriter* log) { return WriteOne(record, log); }
bool WriteRecord(BatchLogRecord* record, AsyncLogWriter* log) { return WriteOne(record, log); }
bool WriteRecord(GpuLogRecord* record, AsyncLogWriter* log) { return WriteOne(record, log); }
bool WriteRecord(StreamLogRecord* record, AsyncLogWriter* log) { return WriteOne(record, log); }
bool WriteRecord(ConfigLogRecord* record, AsyncLogWriter* log) { return WriteOne(record, log); }

}  // namespace yoloscope
