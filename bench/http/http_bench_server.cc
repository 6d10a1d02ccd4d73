// http_bench_server: HttpServer answering every GET with a fixed small JSON
// body, completing the Responder inline on the I/O thread, to measure the
// HTTP layer alone with wrk:
//
//   http_bench_server --port 8081 --threads 1 &
//   wrk -t1 -c64 -d5s --latency http://127.0.0.1:8081/v2/health/live
//
// Runs until SIGINT or SIGTERM, then shuts down gracefully and prints the
// server's counters.
#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "http/http_server.h"
#include "http/router.h"

namespace {

using yoloscope::http::HttpServer;
using yoloscope::http::HttpServerConfig;
using yoloscope::http::HttpServerStats;
using yoloscope::http::Request;
using yoloscope::http::Responder;
using yoloscope::http::Response;
using yoloscope::http::Router;

int Usage() {
  std::fprintf(stderr,
               "usage: http_bench_server [--host H] [--port P] [--threads N]\n"
               "  defaults: 127.0.0.1, 8081, 0 (= cores)\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  HttpServerConfig config;
  config.port = 8081;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) return Usage();
    if (arg == "--host") {
      config.host = argv[++i];
    } else if (arg == "--port") {
      config.port = std::atoi(argv[++i]);
    } else if (arg == "--threads") {
      config.io_threads = std::atoi(argv[++i]);
    } else {
      return Usage();
    }
  }

  // Block the signals before any thread starts so that only sigwait sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Router router;
  // The body every response carries, built once.
  const std::string kBody = R"({"live": true})";
  auto answer = [&kBody](Request, Responder responder) { responder.Send(Response::Json(kBody)); };
  if (!router.Add("GET", "/", answer).ok() || !router.Add("GET", "/v2/health/live", answer).ok()) {
    return 1;
  }
  auto server = HttpServer::Create(config, router.AsHandler());
  if (!server.ok()) {
    std::fprintf(stderr, "http_bench_server: %s\n", server.status().ToString().c_str());
    return 1;
  }
  if (auto status = (*server)->Start(); !status.ok()) {
    std::fprintf(stderr, "http_bench_server: %s\n", status.ToString().c_str());
    return 1;
  }
  std::printf("listening on %s:%d\n", config.host.c_str(), (*server)->port());
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  bool drained = (*server)->Shutdown(std::chrono::seconds(2));
  HttpServerStats stats = (*server)->stats();
  std::printf("%s: drained=%d connections=%llu requests=%llu 2xx=%llu 4xx=%llu 5xx=%llu\n",
              strsignal(signal_number), drained ? 1 : 0,
              static_cast<unsigned long long>(stats.connections_total),
              static_cast<unsigned long long>(stats.requests_total),
              static_cast<unsigned long long>(stats.responses_2xx),
              static_cast<unsigned long long>(stats.responses_4xx),
              static_cast<unsigned long long>(stats.responses_5xx));
  return 0;
}
