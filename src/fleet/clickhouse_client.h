// ClickHouseClient: statements over ClickHouse's HTTP interface (the one
// every version has, 18.16 included): the SQL goes in the `query` parameter,
// INSERT rows in the body, credentials in X-ClickHouse-User/-Key headers.
//
// Errors name the server and what it said: Unavailable when it cannot be
// reached (or timed out), PermissionDenied-like FailedPrecondition for a
// refused user or password, NotFound for a missing database or table (with
// "run `yoloscope db init URI`"), InvalidArgument for SQL it rejected.
//
// One connection per statement (keeps no state between calls: a server that
// restarts between two calls is simply reached again).
// Thread-safety: Execute and Select may be called from any number of threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "fleet/clickhouse_uri.h"

namespace yoloscope {

struct ClickHouseClientConfig {
  // Connect + whole-statement limit for Execute; for Select, the limit
  // between two chunks of the result.
  std::chrono::milliseconds timeout{30'000};
};

// The rows of a SELECT as they arrive (a pull stream over the response
// body, never held whole). Not thread-safe.
class ClickHouseResultStream {
 public:
  virtual ~ClickHouseResultStream() = default;
  // Up to `n` bytes of the body into `buf`; 0 at its end. An error the
  // server reports mid-stream (ClickHouse appends "Code: ..." to the body)
  // is not detected here; the caller's parser sees a malformed last line.
  virtual StatusOr<size_t> Read(char* buf, size_t n) = 0;
};

class ClickHouseClient {
 public:
  static StatusOr<std::unique_ptr<ClickHouseClient>> Create(const ClickHouseUri& uri,
                                                            const ClickHouseClientConfig& config);

  // Runs one statement; `data` follows the query in the body (the rows of an
  // INSERT ... FORMAT ...). Returns the response body. `settings` is appended
  // to the URL as is ("input_format_skip_unknown_fields=1&...").
  StatusOr<std::string> Execute(std::string_view sql, std::string_view data = {},
                                std::string_view settings = {}) const;

  // Runs a SELECT and streams its result.
  StatusOr<std::unique_ptr<ClickHouseResultStream>> Select(std::string_view sql) const;

  const ClickHouseUri& uri() const { return uri_; }

 private:
  ClickHouseClient(const ClickHouseUri& uri, const ClickHouseClientConfig& config)
      : uri_(uri), config_(config) {}

  ClickHouseUri uri_;
  ClickHouseClientConfig config_;
};

// A ClickHouse error body ("Code: 60, e.displayText() = DB::Exception: Table
// x.y doesn't exist., e.what() = DB::Exception") as a Status (exposed for
// tests).
Status ClickHouseErrorToStatus(int http_status, std::string_view body, const ClickHouseUri& uri);

// `s` as a single-quoted ClickHouse string literal.
std::string ClickHouseQuote(std::string_view s);

}  // namespace yoloscope
