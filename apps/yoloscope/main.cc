// yoloscope: one binary, a table of subcommands. Each *_main.cc only parses
// flags, fills config structs and calls library code.
#include <cstdio>
#include <cstring>
#include <string_view>

#include "common/blas_threads.h"

namespace yoloscope {
int DetectMain(int argc, char** argv);
int AnalyzeMain(int argc, char** argv);
int ServeMain(int argc, char** argv);
int BenchMain(int argc, char** argv);
int AlertsMain(int argc, char** argv);
int LabMain(int argc, char** argv);
int ModelMain(int argc, char** argv);
int DbMain(int argc, char** argv);
int PlanMain(int argc, char** argv);
}  // namespace yoloscope

namespace {

struct Subcommand {
  const char* name;
  int (*main)(int, char**);
  const char* summary;
};

constexpr Subcommand kSubcommands[] = {
#ifdef YOLOSCOPE_HAVE_DETECT
    {"detect", yoloscope::DetectMain, "run the detection pipeline on image files"},
#endif
#ifdef YOLOSCOPE_HAVE_MODEL
    {"model", yoloscope::ModelMain, "inspect a model file; convert an Ultralytics .pt"},
#endif
#ifdef YOLOSCOPE_HAVE_ANALYZE
    {"analyze", yoloscope::AnalyzeMain, "diagnose bottlenecks from request logs"},
#endif
#ifdef YOLOSCOPE_HAVE_PLAN
    {"plan", yoloscope::PlanMain, "recommend a batching/capacity setting from a log"},
#endif
#ifdef YOLOSCOPE_HAVE_SERVE
    {"serve", yoloscope::ServeMain, "HTTP inference server with dynamic batching"},
#endif
#ifdef YOLOSCOPE_HAVE_BENCH
    {"bench", yoloscope::BenchMain, "load generator and batch-size profiler"},
#endif
#ifdef YOLOSCOPE_HAVE_ALERTS
    {"alerts", yoloscope::AlertsMain, "validate alert rule files"},
#endif
#ifdef YOLOSCOPE_HAVE_DB
    {"db", yoloscope::DbMain, "the fleet database: request logs in ClickHouse"},
#endif
#ifdef YOLOSCOPE_HAVE_LAB
    {"lab", yoloscope::LabMain, "run bottleneck scenarios end to end"},
#endif
    {nullptr, nullptr, nullptr},
};

void PrintUsage(FILE* out) {
  std::fprintf(out, "yoloscope %s: serve YOLO detection and see inside it\n\n", YOLOSCOPE_VERSION);
  std::fprintf(out, "usage: yoloscope <command> [options]   (yoloscope <command> --help)\n\ncommands:\n");
  for (const Subcommand* s = kSubcommands; s->name; ++s) {
    std::fprintf(out, "  %-9s %s\n", s->name, s->summary);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(stderr);
    return 2;
  }
  std::string_view cmd = argv[1];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    PrintUsage(stdout);
    return 0;
  }
  if (cmd == "--version" || cmd == "version") {
    std::printf("yoloscope %s\n", YOLOSCOPE_VERSION);
    return 0;
  }
  for (const Subcommand* s = kSubcommands; s->name; ++s) {
    if (cmd == s->name) {
      // OpenBLAS (loaded with OpenCV) spins a worker per extra core for its
      // first ~0.1 s; no command needs them at start, and the parsing
      // threads of `analyze` want those cores (common/blas_threads.h).
      yoloscope::ReleaseIdleBlasThreads();
      return s->main(argc - 1, argv + 1);
    }
  }
  std::fprintf(stderr, "yoloscope: unknown command '%s'\n\n", argv[1]);
  PrintUsage(stderr);
  return 2;
}
