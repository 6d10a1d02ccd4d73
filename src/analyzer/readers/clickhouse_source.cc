#include "analyzer/readers/clickhouse_source.h"

#include "fleet/clickhouse_client.h"
#include "fleet/clickhouse_schema.h"
#include "fleet/clickhouse_uri.h"

namespace yoloscope {
namespace {

class ClickHouseSource final : public InputSource {
 public:
  ClickHouseSource(const std::string& name, std::unique_ptr<ClickHouseClient> client,
                   std::unique_ptr<ClickHouseResultStream> rows)
      : InputSource(name, Compression::kNone, /*plain_file=*/false, /*file_size=*/-1),
        client_(std::move(client)),
        rows_(std::move(rows)) {}

  int64_t raw_bytes_read() const override { return bytes_; }

 protected:
  StatusOr<size_t> ReadSome(char* buf, size_t n) override {
    YS_ASSIGN_OR_RETURN(size_t got, rows_->Read(buf, n));
    bytes_ += static_cast<int64_t>(got);
    return got;
  }

 private:
  std::unique_ptr<ClickHouseClient> client_;
  std::unique_ptr<ClickHouseResultStream> rows_;
  int64_t bytes_ = 0;
};

}  // namespace

StatusOr<std::unique_ptr<InputSource>> OpenClickHouseSource(const std::string& uri_text) {
  YS_ASSIGN_OR_RETURN(ClickHouseUri uri, ClickHouseUri::Parse(uri_text));
  YS_ASSIGN_OR_RETURN(std::string sql, ClickHouseSchema::SelectRecords(uri));
  YS_ASSIGN_OR_RETURN(auto client, ClickHouseClient::Create(uri, ClickHouseClientConfig{}));
  YS_ASSIGN_OR_RETURN(auto rows, client->Select(sql));
  // Named without credentials: the name appears in reports.
  return std::unique_ptr<InputSource>(
      new ClickHouseSource("clickhouse://" + uri.Describe(), std::move(client), std::move(rows)));
}

}  // namespace yoloscope
