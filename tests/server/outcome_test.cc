// The one outcome table: every outcome has one HTTP status, one gRPC code
// and one log status, and library statuses map by code alone.
#include "server/outcome.h"

#include <gtest/gtest.h>

#include <set>

namespace yoloscope {
namespace {

TEST(OutcomeTest, EveryOutcomeHasOneRowAndDistinctLogStatus) {
  std::set<std::string_view> log_statuses;
  for (int i = 0; i <= static_cast<int>(Outcome::kInternal); ++i) {
    const auto o = static_cast<Outcome>(i);
    const OutcomeInfo& info = DescribeOutcome(o);
    EXPECT_EQ(info.outcome, o);
    EXPECT_GE(info.http_status, 200);
    EXPECT_LT(info.http_status, 600);
    EXPECT_FALSE(info.log_status.empty());
    EXPECT_TRUE(log_statuses.insert(info.log_status).second) << info.log_status;
    // Success and only success is 2xx / gRPC OK.
    EXPECT_EQ(info.http_status == 200, o == Outcome::kOk);
    EXPECT_EQ(info.grpc_code == 0, o == Outcome::kOk);
  }
}

TEST(OutcomeTest, CodesAsTritonClientsExpectThem) {
  struct Row {
    Outcome o;
    int http, grpc;
    const char* log;
  };
  for (const Row& r :
       {Row{Outcome::kBadRequest, 400, 3, "bad_request"},
        Row{Outcome::kUnsupportedMediaType, 415, 3, "unsupported_media_type"},
        Row{Outcome::kBadImage, 422, 3, "bad_image"}, Row{Outcome::kNotFound, 404, 5, "not_found"},
        Row{Outcome::kQueueFull, 503, 14, "queue_full"},
        Row{Outcome::kUnavailable, 503, 14, "unavailable"},
        Row{Outcome::kTimeout, 504, 4, "timeout"}, Row{Outcome::kOutOfMemory, 507, 8, "oom"},
        Row{Outcome::kInferenceError, 500, 13, "inference_error"}}) {
    const OutcomeInfo& info = DescribeOutcome(r.o);
    EXPECT_EQ(info.http_status, r.http) << r.log;
    EXPECT_EQ(info.grpc_code, r.grpc) << r.log;
    EXPECT_EQ(info.log_status, r.log);
  }
}

TEST(OutcomeTest, StatusesMapByCodeNotByMessage) {
  EXPECT_EQ(OutcomeForStatus(Status::Ok()), Outcome::kOk);
  EXPECT_EQ(OutcomeForStatus(InvalidArgumentError("unsupported anything")), Outcome::kBadRequest);
  EXPECT_EQ(OutcomeForStatus(DataLossError("truncated JPEG")), Outcome::kBadImage);
  EXPECT_EQ(OutcomeForStatus(OutOfRangeError("too many pixels")), Outcome::kTooManyPixels);
  EXPECT_EQ(OutcomeForStatus(ResourceExhaustedError("x")), Outcome::kQueueFull);
  EXPECT_EQ(OutcomeForStatus(DeadlineExceededError("x")), Outcome::kTimeout);
  EXPECT_EQ(OutcomeForStatus(UnavailableError("x")), Outcome::kUnavailable);
  EXPECT_EQ(OutcomeForStatus(UnimplementedError("x")), Outcome::kUnimplemented);
  EXPECT_EQ(OutcomeForStatus(InternalError("x")), Outcome::kInternal);
  // The decoder's Unimplemented is a recognised format it does not decode.
  EXPECT_EQ(OutcomeForDecodeStatus(UnimplementedError("unsupported image format (GIF)")),
            Outcome::kUnsupportedMediaType);
  EXPECT_EQ(OutcomeForDecodeStatus(DataLossError("x")), Outcome::kBadImage);
}

}  // namespace
}  // namespace yoloscope
