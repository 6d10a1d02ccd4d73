// `yoloscope db`: the fleet database (docs/fleet.md).
//
//   yoloscope db init clickhouse://HOST:PORT/DB[?cluster=NAME]
//   yoloscope db load clickhouse://HOST:PORT/DB LOG... [--host H] [--replica R]
//
// Exit status: 0 done, 1 ClickHouse failed (unreachable, refused, rejected),
// 2 a usage error or a bad URI.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "analyzer/db_command.h"

namespace yoloscope {

int DbMain(int argc, char** argv) {
  CLI::App app{"The fleet database: request logs in ClickHouse (docs/fleet.md).", "yoloscope db"};
  app.require_subcommand(1);
  DbInitConfig init;
  CLI::App* init_cmd =
      app.add_subcommand("init", "create the database and its tables (idempotent)");
  init_cmd->add_option("uri", init.uri, "clickhouse://[user[:password]@]host[:port]/database")
      ->required();
  DbLoadConfig load;
  CLI::App* load_cmd = app.add_subcommand("load", "put yoloscope.v1 JSONL logs into the tables");
  load_cmd->add_option("uri", load.uri, "clickhouse://host[:port]/database")->required();
  load_cmd->add_option("logs", load.files, "request logs (plain, .gz, .zst; - = stdin)")
      ->required();
  load_cmd->add_option("--host", load.host, "the `host` column (default: this machine's name)");
  load_cmd->add_option("--replica", load.replica, "the `replica` column (default: default)");
  load_cmd->add_option("--block-rows", load.block_rows, "rows per INSERT (default 50000)")
      ->check(CLI::Range(int64_t{1}, int64_t{10'000'000}));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto fail = [](const Status& s) {
    std::fprintf(stderr, "yoloscope db: %s\n", s.message().c_str());
    return s.code() == StatusCode::kInvalidArgument ? 2 : 1;
  };
  if (init_cmd->parsed()) {
    DbInitResult result;
    Status s = RunDbInit(init, &result);
    if (!s.ok()) return fail(s);
    for (const std::string& c : result.columns_added) std::printf("added column %s\n", c.c_str());
    std::printf("created the fleet tables in %s\n", init.uri.c_str());
    return 0;
  }
  StatusOr<DbLoadResult> r = RunDbLoad(load);
  if (!r.ok()) return fail(r.status());
  for (const std::string& p : r->problems)
    std::fprintf(stderr, "yoloscope db load: %s\n", p.c_str());
  std::printf(
      "%lld lines: %lld rows inserted, %lld already present (loaded before), %lld malformed, "
      "%lld without a time\n",
      static_cast<long long>(r->lines), static_cast<long long>(r->rows_inserted),
      static_cast<long long>(r->rows_already_present), static_cast<long long>(r->malformed_lines),
      static_cast<long long>(r->records_without_time));
  return r->malformed_lines > 0 || r->records_without_time > 0 ? 1 : 0;
}

}  // namespace yoloscope
