#include "bench/load_generator.h"

#include <algorithm>
#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

namespace yoloscope {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

asio::steady_timer::time_point AtNs(int64_t ns) {
  return asio::steady_timer::time_point(
      std::chrono::duration_cast<asio::steady_timer::duration>(std::chrono::nanoseconds(ns)));
}

Status ValidateConfig(const LoadGeneratorConfig& c) {
  const MeasurementConfig& m = c.measurement;
  if (m.warmup_ms < 0) return InvalidArgumentError("warmup must be >= 0 ms");
  if (m.window_ms <= 0) return InvalidArgumentError("window must be > 0 ms");
  if (m.max_windows < m.stability.windows) {
    return InvalidArgumentError("max windows must be >= the stability windows (" +
                                std::to_string(m.stability.windows) + ")");
  }
  if (m.drain_timeout_ms < 0) return InvalidArgumentError("drain timeout must be >= 0 ms");
  if (c.max_connections < 1) return InvalidArgumentError("max connections must be >= 1");
  if (c.initial_connections < 0) return InvalidArgumentError("initial connections must be >= 0");
  switch (c.mode) {
    case LoadMode::kClosedLoop:
      if (c.concurrency.empty()) return InvalidArgumentError("no concurrency level given");
      for (int v : c.concurrency) {
        if (v < 1 || v > 100000) return InvalidArgumentError("concurrency must be 1..100000");
      }
      break;
    case LoadMode::kOpenLoop:
      if (c.rates.empty()) return InvalidArgumentError("no request rate given");
      for (double r : c.rates) {
        if (!(r > 0) || r > 1e7) return InvalidArgumentError("rates must be in (0, 1e7] req/s");
      }
      break;
    case LoadMode::kReplay:
      if (c.replay.empty()) return InvalidArgumentError("the replay has no arrivals");
      if (!(c.replay_speed > 0)) return InvalidArgumentError("replay speed must be > 0");
      break;
  }
  return Status::Ok();
}

}  // namespace

// The I/O engine: every member is touched only from the I/O thread (the one
// in Run), so nothing is synchronized.
class LoadGenerator::Engine {
 public:
  Engine(const LoadGeneratorConfig& config, std::unique_ptr<ImageSet> images,
         RequestBuilder builder, tcp::endpoint endpoint, StabilityChecker checker)
      : config_(config),
        images_(std::move(images)),
        builder_(std::move(builder)),
        endpoint_(endpoint),
        checker_(checker),
        schedule_timer_(io_),
        phase_timer_(io_),
        drain_timer_(io_) {
    for (size_t i = 0; i < images_->size(); ++i) Prepared(images_->at(i));
  }

  StatusOr<BenchReport> Run();

 private:
  enum class Phase { kIdle, kWarmup, kMeasuring, kDraining };

  struct Connection {
    Connection(asio::io_context& io, int i) : socket(io), retry(io), index(i) {}
    tcp::socket socket;
    asio::steady_timer retry;
    beast::flat_buffer buffer;
    std::optional<bhttp::response_parser<bhttp::string_body>> parser;
    int index;
    bool open = false;
    bool busy = false;
    // The connection has answered a request before the current one: a
    // failure before any byte of the response may just mean the server
    // closed it while idle, and the request is sent again on a new one.
    bool reused = false;
    int64_t scheduled_ns = 0;
    const PreparedRequest* request = nullptr;
  };

  struct Backlogged {
    int64_t scheduled_ns;
    const PreparedRequest* request;
  };

  const PreparedRequest* Prepared(const EncodedImage& image) {
    auto it = prepared_.find(&image);
    if (it != prepared_.end()) return it->second.get();
    auto r = std::make_unique<PreparedRequest>(builder_.Build(image));
    return prepared_.emplace(&image, std::move(r)).first->second.get();
  }

  Connection* NewConnection() {
    conns_.push_back(std::make_unique<Connection>(io_, static_cast<int>(conns_.size())));
    return conns_.back().get();
  }

  // Levels.
  void StartLevel(size_t i);
  // Starts the clock of the current level (after its first connections).
  void Go();
  void BeginWindow();
  void CloseWindow();
  void EndMeasurement();
  void FinishLevel();

  // Open loop.
  void ArmSchedule();
  void OnSchedule(uint64_t epoch);
  void Dispatch(int64_t scheduled_ns, const PreparedRequest* request);
  void PreOpen(Connection* c);

  // Requests.
  void Issue(Connection* c, int64_t scheduled_ns, const PreparedRequest* request);
  void Connect(Connection* c);
  void Write(Connection* c);
  void Read(Connection* c);
  void OnResponse(Connection* c);
  void Fail(Connection* c);
  // Resends the request of a reused connection on a new one; false when the
  // connection was fresh (the failure is real).
  bool RetryOnFreshConnection(Connection* c);
  void Release(Connection* c);
  void Close(Connection* c);
  void Record(int64_t latency_ns, int status, std::string_view body);
  void CheckReplayDone();

  const LoadGeneratorConfig config_;
  std::unique_ptr<ImageSet> images_;
  RequestBuilder builder_;
  tcp::endpoint endpoint_;
  StabilityChecker checker_;

  asio::io_context io_;
  asio::steady_timer schedule_timer_, phase_timer_, drain_timer_;
  std::unordered_map<const EncodedImage*, std::unique_ptr<PreparedRequest>> prepared_;
  std::vector<std::unique_ptr<Connection>> conns_;
  std::vector<Connection*> idle_;
  std::deque<Backlogged> backlog_;

  // The level being run.
  std::vector<double> levels_;
  size_t level_index_ = 0;
  uint64_t epoch_ = 0;
  Phase phase_ = Phase::kIdle;
  bool issuing_ = false;
  int concurrency_ = 0;
  int64_t level_start_ns_ = 0;
  int64_t next_window_end_ns_ = 0;
  int64_t window_start_ns_ = 0;
  std::optional<ArrivalSchedule> schedule_;
  std::optional<Arrival> next_arrival_;
  bool schedule_done_ = false;
  int in_flight_ = 0;
  int preopening_ = 0;  // connections being opened before a level starts
  int max_in_flight_ = 0;
  std::vector<std::unique_ptr<MeasurementWindow>> windows_;
  std::vector<WindowSummary> summaries_;
  std::vector<int64_t> window_ns_;
  std::vector<int64_t> sent_per_window_;
  int64_t unsent_ = 0;
  StabilityVerdict verdict_;
  std::optional<LevelResult> pending_result_;

  std::vector<LevelResult> results_;
  uint64_t replay_drain_epoch_ = 0;  // epoch whose replay drain timer is armed
  bool any_connected_ = false;
  std::string last_error_;
};

StatusOr<BenchReport> LoadGenerator::Engine::Run() {
  // Fail fast when the server is not there at all.
  {
    tcp::socket probe(io_);
    boost::system::error_code ec;
    probe.connect(endpoint_, ec);
    if (ec) {
      return UnavailableError("cannot connect to " + endpoint_.address().to_string() + ":" +
                              std::to_string(endpoint_.port()) + ": " + ec.message());
    }
  }
  switch (config_.mode) {
    case LoadMode::kClosedLoop:
      for (int c : config_.concurrency) levels_.push_back(c);
      break;
    case LoadMode::kOpenLoop:
      levels_ = config_.rates;
      break;
    case LoadMode::kReplay:
      levels_ = {config_.replay_speed};
      break;
  }
  asio::post(io_, [this] { StartLevel(0); });
  io_.run();
  for (auto& c : conns_) {
    boost::system::error_code ignored;
    c->socket.close(ignored);
  }
  if (!any_connected_) {
    return UnavailableError("no connection to the server succeeded: " + last_error_);
  }
  BenchReport report;
  report.target = config_.target.url + " " + config_.target.method + " " + builder_.target();
  report.protocol = std::string(BenchProtocolName(config_.target.protocol));
  if (config_.images.directory.empty()) {
    report.images = std::to_string(images_->size()) + " generated " +
                    std::to_string(config_.images.width) + "x" +
                    std::to_string(config_.images.height) + " JPEGs";
  } else {
    report.images = std::to_string(images_->size()) + " images from " + config_.images.directory;
  }
  if (!builder_.sends_body()) report.images = "none (" + config_.target.method + ", no body)";
  if (config_.mode == LoadMode::kReplay) report.images += ", sized as in the log where known";
  report.levels = std::move(results_);
  return report;
}

void LoadGenerator::Engine::StartLevel(size_t i) {
  level_index_ = i;
  ++epoch_;
  windows_.clear();
  summaries_.clear();
  window_ns_.clear();
  sent_per_window_.clear();
  unsent_ = 0;
  max_in_flight_ = 0;
  verdict_ = StabilityVerdict();
  backlog_.clear();
  schedule_done_ = false;
  issuing_ = true;
  phase_ = Phase::kIdle;
  if (config_.mode != LoadMode::kClosedLoop) {
    // Open the first connections before the clock starts, so the first
    // scheduled requests do not pay for connection setup.
    const int want = std::min(config_.initial_connections, config_.max_connections);
    while (static_cast<int>(conns_.size()) < want) PreOpen(NewConnection());
  }
  if (preopening_ == 0) Go();
}

void LoadGenerator::Engine::Go() {
  const size_t i = level_index_;
  level_start_ns_ = NowNs();
  const MeasurementConfig& m = config_.measurement;
  if (config_.mode == LoadMode::kReplay) {
    BeginWindow();  // one window over the whole replay, no warm-up
  } else if (m.warmup_ms > 0) {
    phase_ = Phase::kWarmup;
    next_window_end_ns_ = level_start_ns_ + m.warmup_ms * 1'000'000;
    phase_timer_.expires_at(AtNs(next_window_end_ns_));
    phase_timer_.async_wait([this, epoch = epoch_](boost::system::error_code ec) {
      if (!ec && epoch == epoch_) BeginWindow();
    });
  } else {
    next_window_end_ns_ = level_start_ns_;
    BeginWindow();
  }

  if (config_.mode == LoadMode::kClosedLoop) {
    concurrency_ = static_cast<int>(levels_[i]);
    while (static_cast<int>(conns_.size()) < concurrency_) NewConnection();
    idle_.clear();
    for (int k = 0; k < concurrency_; ++k) {
      Connection* c = conns_[k].get();
      if (!c->busy) Issue(c, NowNs(), Prepared(images_->Next()));
    }
    for (size_t k = concurrency_; k < conns_.size(); ++k) {
      if (!conns_[k]->busy) idle_.push_back(conns_[k].get());
    }
    return;
  }
  if (config_.mode == LoadMode::kOpenLoop) {
    schedule_ = ArrivalSchedule::FromRate(levels_[i], config_.arrivals, config_.seed + i);
  } else {
    schedule_ = ArrivalSchedule::FromReplay(config_.replay, config_.replay_speed);
  }
  next_arrival_ = schedule_->Next();
  ArmSchedule();
}

void LoadGenerator::Engine::BeginWindow() {
  phase_ = Phase::kMeasuring;
  windows_.push_back(std::make_unique<MeasurementWindow>());
  sent_per_window_.push_back(0);
  window_start_ns_ = NowNs();
  if (config_.mode == LoadMode::kReplay) return;  // closed by the end of the replay
  // Window ends are on a fixed grid from the end of warm-up (no drift).
  next_window_end_ns_ += config_.measurement.window_ms * 1'000'000;
  phase_timer_.expires_at(AtNs(next_window_end_ns_));
  phase_timer_.async_wait([this, epoch = epoch_](boost::system::error_code ec) {
    if (!ec && epoch == epoch_) CloseWindow();
  });
}

void LoadGenerator::Engine::CloseWindow() {
  const int64_t now = NowNs();
  const int64_t duration = std::max<int64_t>(1, now - window_start_ns_);
  window_ns_.push_back(duration);
  summaries_.push_back(windows_.back()->Summarize(duration));
  if (config_.mode == LoadMode::kReplay) {
    EndMeasurement();
    return;
  }
  verdict_ = checker_.Check(summaries_);
  if (verdict_.stable || static_cast<int>(summaries_.size()) >= config_.measurement.max_windows) {
    EndMeasurement();
  } else {
    BeginWindow();
  }
}

void LoadGenerator::Engine::EndMeasurement() {
  phase_ = Phase::kDraining;
  issuing_ = false;
  schedule_timer_.cancel();
  phase_timer_.cancel();
  unsent_ = static_cast<int64_t>(backlog_.size());
  backlog_.clear();

  LevelResult r;
  r.mode = config_.mode;
  r.level = levels_[level_index_];
  r.windows = static_cast<int>(summaries_.size());
  r.window_series = summaries_;
  r.verdict = verdict_;
  r.stable = verdict_.stable;
  const size_t n =
      config_.mode == LoadMode::kReplay
          ? windows_.size()
          : std::min(windows_.size(), static_cast<size_t>(config_.measurement.stability.windows));
  const MeasurementWindow::Pooled pooled =
      MeasurementWindow::PoolLast(windows_, window_ns_, sent_per_window_, n);
  r.summary = pooled.summary;
  r.send_rate = pooled.send_rate;
  r.unsent = unsent_;
  r.max_in_flight = max_in_flight_;
  pending_result_ = std::move(r);

  if (in_flight_ == 0) {
    FinishLevel();
    return;
  }
  drain_timer_.expires_after(std::chrono::milliseconds(config_.measurement.drain_timeout_ms));
  drain_timer_.async_wait([this, epoch = epoch_](boost::system::error_code ec) {
    if (ec || epoch != epoch_ || phase_ != Phase::kDraining) return;
    for (auto& c : conns_) {
      if (!c->busy) continue;
      boost::system::error_code ignored;
      c->retry.cancel();
      c->socket.close(ignored);  // pending operations complete with an error -> Release
      c->open = false;
      c->reused = false;  // a real failure: no retry
    }
  });
}

void LoadGenerator::Engine::FinishLevel() {
  drain_timer_.cancel();
  phase_ = Phase::kIdle;
  LevelResult r = std::move(*pending_result_);
  pending_result_.reset();
  int open = 0;
  for (const auto& c : conns_) open += c->open ? 1 : 0;
  r.connections = open;
  if (config_.on_level) config_.on_level(r);
  results_.push_back(std::move(r));
  if (level_index_ + 1 < levels_.size()) {
    asio::post(io_, [this, next = level_index_ + 1] { StartLevel(next); });
  } else {
    io_.stop();
  }
}

void LoadGenerator::Engine::ArmSchedule() {
  if (!next_arrival_) {
    schedule_done_ = true;
    CheckReplayDone();
    return;
  }
  schedule_timer_.expires_at(AtNs(level_start_ns_ + next_arrival_->offset_ns));
  schedule_timer_.async_wait([this, epoch = epoch_](boost::system::error_code ec) {
    if (!ec) OnSchedule(epoch);
  });
}

void LoadGenerator::Engine::OnSchedule(uint64_t epoch) {
  if (epoch != epoch_ || !issuing_) return;
  const int64_t now = NowNs();
  while (next_arrival_ && level_start_ns_ + next_arrival_->offset_ns <= now && issuing_) {
    const EncodedImage& image =
        next_arrival_->image_w > 0
            ? images_->ForSize(next_arrival_->image_w, next_arrival_->image_h)
            : images_->Next();
    Dispatch(level_start_ns_ + next_arrival_->offset_ns, Prepared(image));
    next_arrival_ = schedule_->Next();
  }
  if (issuing_) ArmSchedule();
}

void LoadGenerator::Engine::Dispatch(int64_t scheduled_ns, const PreparedRequest* request) {
  if (!idle_.empty()) {
    Connection* c = idle_.back();
    idle_.pop_back();
    Issue(c, scheduled_ns, request);
  } else if (static_cast<int>(conns_.size()) < config_.max_connections) {
    Issue(NewConnection(), scheduled_ns, request);
  } else {
    backlog_.push_back({scheduled_ns, request});
  }
}

void LoadGenerator::Engine::PreOpen(Connection* c) {
  ++preopening_;
  c->socket.async_connect(endpoint_, [this, c](boost::system::error_code ec) {
    --preopening_;
    if (!ec) {
      c->open = true;
      any_connected_ = true;
      boost::system::error_code ignored;
      c->socket.set_option(tcp::no_delay(true), ignored);
    } else {
      last_error_ = ec.message();
      Close(c);
    }
    if (!c->busy) idle_.push_back(c);
    if (preopening_ == 0 && phase_ == Phase::kIdle && issuing_) Go();
  });
}

void LoadGenerator::Engine::Issue(Connection* c, int64_t scheduled_ns,
                                  const PreparedRequest* request) {
  c->busy = true;
  c->scheduled_ns = scheduled_ns;
  c->request = request;
  ++in_flight_;
  if (phase_ == Phase::kMeasuring) {
    max_in_flight_ = std::max(max_in_flight_, in_flight_);
    ++sent_per_window_.back();
  }
  if (c->open) {
    Write(c);
  } else {
    Connect(c);
  }
}

void LoadGenerator::Engine::Connect(Connection* c) {
  c->socket.async_connect(endpoint_, [this, c](boost::system::error_code ec) {
    if (ec) {
      last_error_ = ec.message();
      Fail(c);
      return;
    }
    c->open = true;
    any_connected_ = true;
    boost::system::error_code ignored;
    c->socket.set_option(tcp::no_delay(true), ignored);
    Write(c);
  });
}

void LoadGenerator::Engine::Write(Connection* c) {
  std::array<asio::const_buffer, 2> buffers = {
      asio::buffer(c->request->prefix),
      asio::buffer(c->request->payload.data(), c->request->payload.size())};
  asio::async_write(c->socket, buffers, [this, c](boost::system::error_code ec, size_t) {
    if (ec) {
      if (RetryOnFreshConnection(c)) return;
      last_error_ = ec.message();
      Fail(c);
      return;
    }
    Read(c);
  });
}

void LoadGenerator::Engine::Read(Connection* c) {
  c->parser.emplace();
  c->parser->body_limit(1ull << 30);
  if (config_.target.method == "HEAD") c->parser->skip(true);
  bhttp::async_read(c->socket, c->buffer, *c->parser,
                    [this, c](boost::system::error_code ec, size_t) {
                      if (ec) {
                        if (!c->parser->got_some() && RetryOnFreshConnection(c)) return;
                        last_error_ = ec.message();
                        Fail(c);
                        return;
                      }
                      OnResponse(c);
                    });
}

void LoadGenerator::Engine::OnResponse(Connection* c) {
  const int64_t now = NowNs();
  auto& message = c->parser->get();
  Record(now - c->scheduled_ns, static_cast<int>(message.result_int()), message.body());
  if (!message.keep_alive()) Close(c);
  c->parser.reset();
  c->reused = c->open;
  Release(c);
}

bool LoadGenerator::Engine::RetryOnFreshConnection(Connection* c) {
  if (!c->reused) return false;
  Close(c);
  c->parser.reset();
  Connect(c);  // same request, same scheduled time
  return true;
}

void LoadGenerator::Engine::Fail(Connection* c) {
  Record(NowNs() - c->scheduled_ns, 0, {});
  Close(c);
  c->parser.reset();
  if (config_.mode == LoadMode::kClosedLoop && issuing_) {
    // Back off before retrying, so a refusing server is not spun on.
    c->retry.expires_after(std::chrono::milliseconds(20));
    c->retry.async_wait([this, c](boost::system::error_code) { Release(c); });
    return;
  }
  Release(c);
}

void LoadGenerator::Engine::Close(Connection* c) {
  boost::system::error_code ignored;
  c->socket.close(ignored);
  c->open = false;
  c->reused = false;
  c->buffer.clear();
}

void LoadGenerator::Engine::Record(int64_t latency_ns, int status, std::string_view body) {
  if (phase_ != Phase::kMeasuring) return;
  std::optional<ServerTiming> timing;
  if (status >= 200 && status <= 299) timing = ParseServerTiming(body);
  windows_.back()->Record(latency_ns, status, timing);
}

void LoadGenerator::Engine::Release(Connection* c) {
  --in_flight_;
  c->busy = false;
  c->request = nullptr;
  if (!issuing_) {
    idle_.push_back(c);
    if (phase_ == Phase::kDraining && in_flight_ == 0) FinishLevel();
    return;
  }
  if (config_.mode == LoadMode::kClosedLoop) {
    if (c->index < concurrency_) {
      Issue(c, NowNs(), Prepared(images_->Next()));
    } else {
      idle_.push_back(c);
    }
    return;
  }
  if (!backlog_.empty()) {
    Backlogged b = backlog_.front();
    backlog_.pop_front();
    Issue(c, b.scheduled_ns, b.request);
    return;
  }
  idle_.push_back(c);
  CheckReplayDone();
}

void LoadGenerator::Engine::CheckReplayDone() {
  if (config_.mode != LoadMode::kReplay || !schedule_done_ || phase_ != Phase::kMeasuring) return;
  if (in_flight_ > 0 || !backlog_.empty()) {
    // Bound the wait for the last responses.
    if (in_flight_ > 0 && replay_drain_epoch_ != epoch_) {
      replay_drain_epoch_ = epoch_;
      drain_timer_.expires_after(std::chrono::milliseconds(config_.measurement.drain_timeout_ms));
      drain_timer_.async_wait([this, epoch = epoch_](boost::system::error_code ec) {
        if (ec || epoch != epoch_ || phase_ != Phase::kMeasuring) return;
        for (auto& c : conns_) {
          if (!c->busy) continue;
          boost::system::error_code ignored;
          c->socket.close(ignored);
          c->open = false;
          c->reused = false;  // a real failure: no retry
        }
      });
    }
    return;
  }
  CloseWindow();
}

// ---------------------------------------------------------------------------

LoadGenerator::~LoadGenerator() = default;

StatusOr<std::unique_ptr<LoadGenerator>> LoadGenerator::Create(const LoadGeneratorConfig& config) {
  YS_RETURN_IF_ERROR(ValidateConfig(config));
  YS_ASSIGN_OR_RETURN(StabilityChecker checker,
                      StabilityChecker::Create(config.measurement.stability));
  YS_ASSIGN_OR_RETURN(RequestBuilder builder, RequestBuilder::Create(config.target));
  YS_ASSIGN_OR_RETURN(std::unique_ptr<ImageSet> images, ImageSet::Create(config.images));
  tcp::endpoint endpoint;
  {
    asio::io_context io;
    tcp::resolver resolver(io);
    boost::system::error_code ec;
    auto results = resolver.resolve(builder.url().host, std::to_string(builder.url().port), ec);
    if (ec || results.empty()) {
      return UnavailableError("cannot resolve '" + builder.url().host + "': " + ec.message());
    }
    endpoint = results.begin()->endpoint();
  }
  std::unique_ptr<LoadGenerator> g(new LoadGenerator());
  g->engine_ =
      std::make_unique<Engine>(config, std::move(images), std::move(builder), endpoint, checker);
  return g;
}

StatusOr<BenchReport> LoadGenerator::Run() {
  if (engine_ == nullptr) return FailedPreconditionError("LoadGenerator::Run called twice");
  auto report = engine_->Run();
  engine_.reset();
  return report;
}

}  // namespace yoloscope
