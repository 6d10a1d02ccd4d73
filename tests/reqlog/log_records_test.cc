// ResetKeepingCapacity: a reused record is reset to defaults but keeps its
// strings' buffers.
#include "reqlog/log_records.h"

#include <gtest/gtest.h>

#include <string>

#include "reqlog/json_line_serializer.h"

namespace yoloscope {
namespace {

TEST(LogRecordsTest, ResetKeepsStringBuffersAndRestoresEveryDefault) {
  RequestLogRecord r;
  r.ts_us = 123;
  r.request_id = std::string(100, 'i');
  r.model = std::string(40, 'm');
  r.backend = "torch";
  r.device = "cuda:0";
  r.gpu_id = 0;
  r.input_w = 640;
  r.queue_ms = 1.5;
  r.total_ms = 2.5;
  r.detections = 3;
  r.status = std::string(30, 's');
  r.error = std::string(200, 'e');
  r.oom = true;
  r.dropped_records = 4;
  const char* id_data = r.request_id.data();
  const char* error_data = r.error.data();
  const char* status_data = r.status.data();

  ResetKeepingCapacity(&r);
  std::string reset_line, default_line;
  AppendJsonLine(r, &reset_line);
  AppendJsonLine(RequestLogRecord{}, &default_line);
  EXPECT_EQ(reset_line, default_line);  // every field back to its default
  EXPECT_EQ(r.status, "ok");
  EXPECT_TRUE(r.request_id.empty());
  EXPECT_TRUE(r.error.empty());
  EXPECT_FALSE(r.gpu_id.has_value());
  EXPECT_EQ(r.dropped_records, 0);
  // The buffers are still there: refilling allocates nothing.
  r.request_id.assign(100, 'j');
  r.error.assign(200, 'f');
  r.status.assign(30, 't');
  EXPECT_EQ(r.request_id.data(), id_data);
  EXPECT_EQ(r.error.data(), error_data);
  EXPECT_EQ(r.status.data(), status_data);
}

TEST(LogRecordsTest, ResetOfABatchRecord) {
  BatchLogRecord b;
  b.ts_us = 5;
  b.batch_id = 9;
  b.model = std::string(50, 'm');
  b.gpu_id = 1;
  b.oom = false;
  const char* model_data = b.model.data();
  ResetKeepingCapacity(&b);
  std::string reset_line, default_line;
  AppendJsonLine(b, &reset_line);
  AppendJsonLine(BatchLogRecord{}, &default_line);
  EXPECT_EQ(reset_line, default_line);
  b.model.assign(50, 'n');
  EXPECT_EQ(b.model.data(), model_data);
}

}  // namespace
}  // namespace yoloscope
