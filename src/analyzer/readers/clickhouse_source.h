// OpenClickHouseSource: a fleet database as an `analyze` input. The URI
// (fleet/clickhouse_uri.h) names the server, database and optional time
// bounds / condition; the source streams the records of its tables, in time
// order, as the JSON lines they were written as, so the JSONL reader and the
// whole analysis run unchanged over them.
//
// Errors: InvalidArgument for a malformed URI, Unavailable when ClickHouse
// cannot be reached, NotFound when the schema is missing. Thread-safety: as
// InputSource.
#pragma once

#include <memory>
#include <string>

#include "analyzer/readers/input_source.h"

namespace yoloscope {

StatusOr<std::unique_ptr<InputSource>> OpenClickHouseSource(const std::string& uri);

}  // namespace yoloscope
