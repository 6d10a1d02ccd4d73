// The request log's writer-side records (reqlog/log_records.h) seen as the
// normalized LogRecord the AlertEngine reads, so that `serve` can feed its
// live alerter the very records it writes (whether or not the log is on):
//
//   RequestLogRecord rec = ...;
//   alerter->Observe(ToLogRecord(rec));
//
// Lifetime: the LogRecord's strings point into `record`; use the result
// while `record` lives and is unchanged (Observe copies what it keeps).
// Thread-safety: pure functions.
#pragma once

#include "reqlog/log_record.h"
#include "reqlog/log_records.h"

namespace yoloscope {

LogRecord ToLogRecord(const RequestLogRecord& record);
LogRecord ToLogRecord(const BatchLogRecord& record);
LogRecord ToLogRecord(const GpuLogRecord& record);

}  // namespace yoloscope
