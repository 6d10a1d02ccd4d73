#include "bench/grpc_load_generator.h"

#ifdef YOLOSCOPE_HAVE_GRPC
#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "bench/arrival_schedule.h"
#include "bench/measurement_window.h"
#include "bench/stability_checker.h"
#include "proto/inference.grpc.pb.h"
#endif

namespace yoloscope {

StatusOr<std::string> ParseGrpcTarget(const std::string& url) {
  std::string target = url;
  constexpr std::string_view kScheme = "grpc://";
  if (target.rfind(kScheme, 0) == 0) target = target.substr(kScheme.size());
  if (target.rfind("http://", 0) == 0) {
    return InvalidArgumentError("a gRPC target is grpc://HOST:PORT or HOST:PORT, not '" + url +
                                "' (the KServe gRPC port is 8001 by default)");
  }
  while (!target.empty() && target.back() == '/') target.pop_back();
  const size_t colon = target.rfind(':');
  if (target.empty() || colon == std::string::npos || colon + 1 == target.size()) {
    return InvalidArgumentError("a gRPC target needs HOST:PORT, got '" + url + "'");
  }
  return target;
}

#ifndef YOLOSCOPE_HAVE_GRPC

bool HaveGrpcLoadGenerator() { return false; }
StatusOr<std::string> GrpcServedModelName(const std::string&) {
  return UnimplementedError("this build has no gRPC (configure with YOLOSCOPE_WITH_GRPC=ON)");
}
class GrpcLoadGenerator::Engine {};
GrpcLoadGenerator::~GrpcLoadGenerator() = default;
StatusOr<std::unique_ptr<GrpcLoadGenerator>> GrpcLoadGenerator::Create(const LoadGeneratorConfig&,
                                                                       bool) {
  return UnimplementedError("this build has no gRPC (configure with YOLOSCOPE_WITH_GRPC=ON)");
}
StatusOr<BenchReport> GrpcLoadGenerator::Run() {
  return UnimplementedError("this build has no gRPC");
}

#else

namespace {

using Clock = std::chrono::steady_clock;
using Stub = inference::GRPCInferenceService::Stub;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// Triton's HTTP equivalent of a gRPC status, for the report's status counts.
int HttpStatusOf(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::INVALID_ARGUMENT:
      return 400;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    default:
      return 500;
  }
}

constexpr int kMaxChannels = 4;

}  // namespace

bool HaveGrpcLoadGenerator() { return true; }

StatusOr<std::string> GrpcServedModelName(const std::string& url) {
  YS_ASSIGN_OR_RETURN(std::string target, ParseGrpcTarget(url));
  auto stub = inference::GRPCInferenceService::NewStub(
      grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  inference::RepositoryIndexRequest req;
  inference::RepositoryIndexResponse resp;
  grpc::Status st = stub->RepositoryIndex(&ctx, req, &resp);
  if (!st.ok()) {
    return UnavailableError("cannot ask " + target + " which model it serves (RepositoryIndex: " +
                            st.error_message() + "); give --model-name");
  }
  for (const auto& m : resp.models()) {
    if (m.state() == "READY" || m.state().empty()) return m.name();
  }
  return NotFoundError(target + " serves no ready model; give --model-name");
}

class GrpcLoadGenerator::Engine {
 public:
  Engine(const LoadGeneratorConfig& config, bool stream, std::unique_ptr<ImageSet> images,
         std::string target, StabilityChecker checker)
      : config_(config),
        stream_(stream),
        images_(std::move(images)),
        target_(std::move(target)),
        checker_(checker) {}

  StatusOr<BenchReport> Run();

 private:
  enum class Phase { kIdle, kWarmup, kMeasuring, kDraining };
  struct Call {
    grpc::ClientContext ctx;
    inference::ModelInferResponse resp;
    int64_t start_ns = 0;
    int slot = -1;  // closed loop: the slot that re-issues; -1 open loop
  };
  class StreamSlot;

  void PrepareRequests();
  void Issue(int slot, int64_t start_ns);                // unary; locks mu_
  void OnUnaryDone(Call* call, const grpc::Status& st);  // gRPC thread
  void Record(int64_t latency_ns, int status);           // mu_ held
  void RunLevel(size_t i);
  Stub* NextStub() { return stubs_[next_stub_++ % stubs_.size()].get(); }

  const LoadGeneratorConfig config_;
  const bool stream_;
  std::unique_ptr<ImageSet> images_;
  const std::string target_;
  StabilityChecker checker_;
  std::vector<std::unique_ptr<Stub>> stubs_;
  std::vector<inference::ModelInferRequest> requests_;  // one per image, read-only once built
  size_t next_request_ = 0;                             // mu_
  size_t next_stub_ = 0;                                // mu_

  std::mutex mu_;
  std::condition_variable cv_;
  Phase phase_ = Phase::kIdle;      // mu_
  bool issuing_ = false;            // mu_
  int concurrency_ = 0;             // mu_
  int in_flight_ = 0;               // mu_
  int max_in_flight_ = 0;           // mu_
  int open_streams_ = 0;            // mu_
  std::set<Call*> calls_;           // mu_: outstanding unary calls (for cancelling)
  std::vector<StreamSlot*> slots_;  // mu_
  std::vector<std::unique_ptr<MeasurementWindow>> windows_;  // mu_
  std::vector<int64_t> sent_per_window_;                     // mu_
  bool any_ok_ = false;                                      // mu_
  std::string last_error_;                                   // mu_
  std::vector<LevelResult> results_;
};

// One ModelStreamInfer stream with one request outstanding at a time.
// Deletes itself when the stream ends.
class GrpcLoadGenerator::Engine::StreamSlot
    : public grpc::ClientBidiReactor<inference::ModelInferRequest,
                                     inference::ModelStreamInferResponse> {
 public:
  explicit StreamSlot(Engine* engine) : engine_(engine) {
    engine_->NextStub()->async()->ModelStreamInfer(&ctx_, this);
    StartRead(&resp_);
    StartCall();
  }
  // mu_ held by the caller. A read can complete before its write's
  // OnWriteDone, and gRPC allows one outstanding write per stream: a send
  // that finds a write still outstanding is queued for OnWriteDone.
  void SendLocked() {
    start_ns_ = NowNs();
    const auto& req = engine_->requests_[engine_->next_request_++ % engine_->requests_.size()];
    ++engine_->in_flight_;
    engine_->max_in_flight_ = std::max(engine_->max_in_flight_, engine_->in_flight_);
    if (!engine_->sent_per_window_.empty() && engine_->phase_ == Phase::kMeasuring) {
      ++engine_->sent_per_window_.back();
    }
    if (writing_) {
      queued_ = &req;
      return;
    }
    writing_ = true;
    StartWrite(&req);
  }
  void Cancel() { ctx_.TryCancel(); }

  void OnWriteDone(bool) override {
    std::lock_guard<std::mutex> lock(engine_->mu_);
    writing_ = false;
    if (queued_ != nullptr) {
      writing_ = true;
      StartWrite(std::exchange(queued_, nullptr));
    } else if (writes_done_due_) {
      writes_done_due_ = false;
      StartWritesDone();
    }
  }
  void OnReadDone(bool ok) override {
    std::unique_lock<std::mutex> lock(engine_->mu_);
    if (!ok) return;  // the stream ended: OnDone follows
    --engine_->in_flight_;
    const int status = resp_.error_message().empty() ? 200 : 500;
    engine_->Record(NowNs() - start_ns_, status);
    if (status != 200) engine_->last_error_ = resp_.error_message();
    if (engine_->issuing_) {
      resp_.Clear();
      StartRead(&resp_);
      SendLocked();
    } else if (writing_) {
      writes_done_due_ = true;  // after the outstanding write (OnWriteDone)
    } else {
      StartWritesDone();
    }
    engine_->cv_.notify_all();
  }
  void OnDone(const grpc::Status& st) override {
    {
      std::lock_guard<std::mutex> lock(engine_->mu_);
      if (!st.ok()) engine_->last_error_ = st.error_message();
      --engine_->open_streams_;
      engine_->slots_.erase(std::find(engine_->slots_.begin(), engine_->slots_.end(), this));
      engine_->cv_.notify_all();
    }
    delete this;
  }

 private:
  Engine* engine_;
  grpc::ClientContext ctx_;
  inference::ModelStreamInferResponse resp_;
  int64_t start_ns_ = 0;
  // Guarded by engine_->mu_.
  bool writing_ = false;
  bool writes_done_due_ = false;
  const inference::ModelInferRequest* queued_ = nullptr;
};

void GrpcLoadGenerator::Engine::PrepareRequests() {
  for (size_t i = 0; i < images_->size(); ++i) {
    const EncodedImage& image = images_->Next();
    inference::ModelInferRequest req;
    req.set_model_name(config_.target.model_name);
    auto* in = req.add_inputs();
    in->set_name(config_.target.input_name);
    in->set_datatype("BYTES");
    in->add_shape(1);
    std::string raw(4, '\0');
    const auto len = static_cast<uint32_t>(image.bytes.size());
    std::memcpy(raw.data(), &len, 4);  // little-endian length prefix
    raw += image.bytes;
    req.add_raw_input_contents(std::move(raw));
    requests_.push_back(std::move(req));
  }
}

void GrpcLoadGenerator::Engine::Record(int64_t latency_ns, int status) {
  if (status == 200) any_ok_ = true;
  if (phase_ != Phase::kMeasuring || windows_.empty()) return;
  windows_.back()->Record(latency_ns, status, std::nullopt);
}

void GrpcLoadGenerator::Engine::Issue(int slot, int64_t start_ns) {
  auto* call = new Call();
  call->start_ns = start_ns;
  call->slot = slot;
  const inference::ModelInferRequest* req;
  Stub* stub;
  {
    std::lock_guard<std::mutex> lock(mu_);
    req = &requests_[next_request_++ % requests_.size()];
    stub = NextStub();
    ++in_flight_;
    max_in_flight_ = std::max(max_in_flight_, in_flight_);
    calls_.insert(call);
    if (phase_ == Phase::kMeasuring && !sent_per_window_.empty()) ++sent_per_window_.back();
  }
  stub->async()->ModelInfer(&call->ctx, req, &call->resp,
                            [this, call](grpc::Status st) { OnUnaryDone(call, st); });
}

void GrpcLoadGenerator::Engine::OnUnaryDone(Call* call, const grpc::Status& st) {
  const int64_t latency = NowNs() - call->start_ns;
  bool again = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.erase(call);
    --in_flight_;
    Record(latency, HttpStatusOf(st.error_code()));
    if (!st.ok()) last_error_ = st.error_message();
    again = issuing_ && call->slot >= 0 && call->slot < concurrency_;
    cv_.notify_all();
  }
  const int slot = call->slot;
  delete call;
  if (again) Issue(slot, NowNs());
}

void GrpcLoadGenerator::Engine::RunLevel(size_t i) {
  const MeasurementConfig& m = config_.measurement;
  const bool closed = config_.mode == LoadMode::kClosedLoop;
  std::optional<ArrivalSchedule> schedule;
  double level = 0;
  if (closed) {
    level = config_.concurrency[i];
  } else if (config_.mode == LoadMode::kOpenLoop) {
    level = config_.rates[i];
    schedule = ArrivalSchedule::FromRate(level, config_.arrivals, config_.seed + i);
  } else {
    level = config_.replay_speed;
    schedule = ArrivalSchedule::FromReplay(config_.replay, config_.replay_speed);
  }
  std::vector<WindowSummary> summaries;
  std::vector<int64_t> window_ns;
  StabilityVerdict verdict;
  {
    std::lock_guard<std::mutex> lock(mu_);
    windows_.clear();
    sent_per_window_.clear();
    max_in_flight_ = 0;
    issuing_ = true;
    concurrency_ = closed ? static_cast<int>(level) : 0;
    phase_ =
        m.warmup_ms > 0 && config_.mode != LoadMode::kReplay ? Phase::kWarmup : Phase::kMeasuring;
    if (phase_ == Phase::kMeasuring) {
      windows_.push_back(std::make_unique<MeasurementWindow>());
      sent_per_window_.push_back(0);
    }
  }
  const int64_t start = NowNs();
  int64_t window_start = phase_ == Phase::kMeasuring ? start : start + m.warmup_ms * 1'000'000;
  int64_t window_end =
      config_.mode == LoadMode::kReplay ? INT64_MAX : window_start + m.window_ms * 1'000'000;
  if (closed) {
    if (stream_) {
      std::lock_guard<std::mutex> lock(mu_);
      for (int k = 0; k < concurrency_; ++k) {
        auto* slot = new StreamSlot(this);
        slots_.push_back(slot);
        ++open_streams_;
        slot->SendLocked();
      }
    } else {
      for (int k = 0; k < concurrency_; ++k) Issue(k, NowNs());
    }
  }
  std::optional<Arrival> next = schedule ? schedule->Next() : std::nullopt;
  while (true) {
    const int64_t next_arrival = next ? start + next->offset_ns : INT64_MAX;
    const int64_t wake =
        std::min(next_arrival, phase_ == Phase::kWarmup ? window_start : window_end);
    if (wake == INT64_MAX) {
      // Replay: every request is sent; the window closes when all are answered.
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(m.drain_timeout_ms),
                   [&] { return in_flight_ == 0; });
      window_end = NowNs();
    } else {
      std::this_thread::sleep_until(Clock::time_point(std::chrono::nanoseconds(wake)));
    }
    const int64_t now = NowNs();
    if (next && now >= next_arrival) {
      Issue(-1, next_arrival);  // latency from the scheduled time
      next = schedule->Next();
      continue;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (phase_ == Phase::kWarmup) {
      if (now < window_start) continue;
      phase_ = Phase::kMeasuring;
      windows_.push_back(std::make_unique<MeasurementWindow>());
      sent_per_window_.push_back(0);
      continue;
    }
    if (now < window_end) continue;
    const int64_t duration = std::max<int64_t>(1, now - window_start);
    window_ns.push_back(duration);
    summaries.push_back(windows_.back()->Summarize(duration));
    if (config_.mode == LoadMode::kReplay) break;
    verdict = checker_.Check(summaries);
    if (verdict.stable || static_cast<int>(summaries.size()) >= m.max_windows) break;
    windows_.push_back(std::make_unique<MeasurementWindow>());
    sent_per_window_.push_back(0);
    window_start = now;
    window_end += m.window_ms * 1'000'000;
  }

  LevelResult r;
  r.mode = config_.mode;
  r.level = level;
  std::unique_lock<std::mutex> lock(mu_);
  phase_ = Phase::kDraining;
  issuing_ = false;
  r.windows = static_cast<int>(summaries.size());
  r.window_series = summaries;
  r.verdict = verdict;
  r.stable = verdict.stable;
  const size_t n = config_.mode == LoadMode::kReplay
                       ? windows_.size()
                       : std::min(windows_.size(), static_cast<size_t>(m.stability.windows));
  const MeasurementWindow::Pooled pooled =
      MeasurementWindow::PoolLast(windows_, window_ns, sent_per_window_, n);
  r.summary = pooled.summary;
  r.send_rate = pooled.send_rate;
  r.max_in_flight = max_in_flight_;
  r.connections = static_cast<int>(stubs_.size());
  // Drain: wait for the outstanding answers (streams close after theirs),
  // then cancel what is left.
  auto drained = [&] { return in_flight_ == 0 && open_streams_ == 0; };
  if (!cv_.wait_for(lock, std::chrono::milliseconds(m.drain_timeout_ms), drained)) {
    for (Call* c : calls_) c->ctx.TryCancel();
    for (StreamSlot* s : slots_) s->Cancel();
    cv_.wait_for(lock, std::chrono::seconds(10), drained);
  }
  phase_ = Phase::kIdle;
  if (config_.on_level) config_.on_level(r);
  results_.push_back(std::move(r));
}

StatusOr<BenchReport> GrpcLoadGenerator::Engine::Run() {
  // Fail fast when the server is not there at all.
  auto probe = inference::GRPCInferenceService::NewStub(
      grpc::CreateChannel(target_, grpc::InsecureChannelCredentials()));
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    inference::ServerLiveResponse live;
    grpc::Status st = probe->ServerLive(&ctx, {}, &live);
    if (!st.ok()) {
      return UnavailableError("cannot reach the KServe gRPC server at " + target_ + ": " +
                              st.error_message());
    }
  }
  const int most = config_.mode == LoadMode::kClosedLoop
                       ? *std::max_element(config_.concurrency.begin(), config_.concurrency.end())
                       : kMaxChannels;
  for (int k = 0; k < std::min(most, kMaxChannels); ++k) {
    // A channel argument that differs per channel keeps gRPC from sharing
    // one TCP connection between them.
    grpc::ChannelArguments args;
    args.SetInt("yoloscope.bench.channel", k);
    stubs_.push_back(inference::GRPCInferenceService::NewStub(
        grpc::CreateCustomChannel(target_, grpc::InsecureChannelCredentials(), args)));
  }
  PrepareRequests();
  const size_t levels = config_.mode == LoadMode::kClosedLoop ? config_.concurrency.size()
                        : config_.mode == LoadMode::kOpenLoop ? config_.rates.size()
                                                              : 1;
  for (size_t i = 0; i < levels; ++i) RunLevel(i);
  BenchReport report;
  report.target = "grpc://" + target_ + " ModelInfer" + (stream_ ? " (stream)" : "") + " " +
                  config_.target.model_name;
  report.protocol = stream_ ? "kserve-grpc-stream" : "kserve-grpc";
  if (config_.images.directory.empty()) {
    report.images = std::to_string(images_->size()) + " generated " +
                    std::to_string(config_.images.width) + "x" +
                    std::to_string(config_.images.height) + " JPEGs";
  } else {
    report.images = std::to_string(images_->size()) + " images from " + config_.images.directory;
  }
  report.levels = std::move(results_);
  return report;
}

GrpcLoadGenerator::~GrpcLoadGenerator() = default;

StatusOr<std::unique_ptr<GrpcLoadGenerator>> GrpcLoadGenerator::Create(
    const LoadGeneratorConfig& config, bool stream) {
  if (stream && config.mode != LoadMode::kClosedLoop) {
    return InvalidArgumentError("--grpc-stream runs a closed loop (--concurrency)");
  }
  if (config.target.model_name.empty()) {
    return InvalidArgumentError("the gRPC load generator needs the model name");
  }
  if (config.measurement.window_ms <= 0 || config.measurement.warmup_ms < 0 ||
      config.measurement.max_windows < config.measurement.stability.windows) {
    return InvalidArgumentError("bad measurement settings");
  }
  if (config.mode == LoadMode::kClosedLoop && config.concurrency.empty()) {
    return InvalidArgumentError("no concurrency level given");
  }
  if (config.mode == LoadMode::kOpenLoop && config.rates.empty()) {
    return InvalidArgumentError("no request rate given");
  }
  YS_ASSIGN_OR_RETURN(std::string target, ParseGrpcTarget(config.target.url));
  YS_ASSIGN_OR_RETURN(StabilityChecker checker,
                      StabilityChecker::Create(config.measurement.stability));
  YS_ASSIGN_OR_RETURN(std::unique_ptr<ImageSet> images, ImageSet::Create(config.images));
  std::unique_ptr<GrpcLoadGenerator> g(new GrpcLoadGenerator());
  g->engine_ = std::make_unique<Engine>(config, stream, std::move(images), target, checker);
  return g;
}

StatusOr<BenchReport> GrpcLoadGenerator::Run() {
  if (engine_ == nullptr) return FailedPreconditionError("GrpcLoadGenerator::Run called twice");
  auto report = engine_->Run();
  engine_.reset();
  return report;
}

#endif  // YOLOSCOPE_HAVE_GRPC

}  // namespace yoloscope
