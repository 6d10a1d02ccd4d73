// WriteRecord: what `serve` does with every request-log record (src/reqlog):
// takes the writer's dropped count since the last record onto it
// (`dropped_records`), serializes it into this thread's reused line buffer
// and queues the bytes on the AsyncLogWriter. Returns whether the writer
// accepted the line; a dropped line's carried count is handed back to the
// writer (AsyncLogWriter::TryWrite), so it is reported on a later record.
//
// Allocation: none once this thread's line buffer and the writer's queue
// have grown to their peak. Thread-safety: any number of threads (the line
// buffer is thread-local); `log` is not owned.
#pragma once

#include "logging/async_log_writer.h"
#include "reqlog/log_records.h"

namespace yoloscope {

bool WriteRecord(RequestLogRecord* record, AsyncLogWriter* log);
bool WriteRecord(BatchLogRecord* record, AsyncLogWriter* log);
bool WriteRecord(GpuLogRecord* record, AsyncLogWriter* log);
bool WriteRecord(StreamLogRecord* record, AsyncLogWriter* log);
bool WriteRecord(ConfigLogRecord* record, AsyncLogWriter* log);

}  // namespace yoloscope
