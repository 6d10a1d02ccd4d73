// Micro-benchmarks of the per-request parsing the HTTP layer does outside
// Beast: routing with a path parameter, query strings, multipart bodies.
#include <benchmark/benchmark.h>

#include <string>

#include "http/multipart_form.h"
#include "http/query_string.h"
#include "http/router.h"

namespace yoloscope::http {
namespace {

void BM_RouterDispatch(benchmark::State& state) {
  Router router;
  auto noop = [](Request, Responder responder) { responder.Send(Response::Json("{}")); };
  for (const char* pattern : {"/v2/health/live", "/v2/health/ready", "/v2", "/v2/models/{model}",
                              "/v2/models/{model}/ready", "/metrics", "/v1/stats"}) {
    (void)router.Add("GET", pattern, noop);
  }
  (void)router.Add("POST", "/v2/models/{model}/infer", noop);
  (void)router.Add("POST", "/v1/detect", noop);
  int sent = 0;
  for (auto _ : state) {
    Request request = Request::ForTest("POST", "/v2/models/yolov8n/infer?conf=0.3");
    router.Dispatch(std::move(request), Responder::FromCallback([&sent](Response&&) { ++sent; }));
  }
  benchmark::DoNotOptimize(sent);
}
BENCHMARK(BM_RouterDispatch);

void BM_ParseQueryString(benchmark::State& state) {
  for (auto _ : state) {
    QueryParams params = ParseQueryString("conf=0.25&iou=0.45&max_det=300&name=a%20b");
    benchmark::DoNotOptimize(params.data());
  }
}
BENCHMARK(BM_ParseQueryString);

void BM_MultipartParse(benchmark::State& state) {
  std::string image(static_cast<size_t>(state.range(0)), 'j');
  std::string body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"conf\"\r\n\r\n0.3\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n"
      "Content-Type: image/jpeg\r\n\r\n" +
      image + "\r\n--XyZ--\r\n";
  for (auto _ : state) {
    auto form = MultipartForm::Parse("multipart/form-data; boundary=XyZ", body);
    benchmark::DoNotOptimize(form.ok());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(body.size()));
}
BENCHMARK(BM_MultipartParse)->Arg(64 * 1024)->Arg(4 * 1024 * 1024);

}  // namespace
}  // namespace yoloscope::http

BENCHMARK_MAIN();
