#include "stream/stream_source.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "stream/video_reader.h"

namespace yoloscope {

std::string_view StreamStateName(StreamState state) {
  switch (state) {
    case StreamState::kConnecting:
      return "connecting";
    case StreamState::kRunning:
      return "running";
    case StreamState::kReconnecting:
      return "reconnecting";
    case StreamState::kEnded:
      return "ended";
    case StreamState::kFailed:
      return "failed";
    case StreamState::kStopped:
      return "stopped";
  }
  return "connecting";
}

StatusOr<std::unique_ptr<StreamSource>> StreamSource::Create(const StreamConfig& config,
                                                             Clock* clock, EventSink on_event) {
  if (clock == nullptr) return InvalidArgumentError("StreamSource needs a clock");
  YS_RETURN_IF_ERROR(ValidateStreamConfig(config, "stream " + config.name));
  // Fails here, at start, rather than in the reading thread: without video
  // support a live source would otherwise retry for ever.
  YS_RETURN_IF_ERROR(VideoReader::CheckSupported());
  return std::unique_ptr<StreamSource>(new StreamSource(config, clock, std::move(on_event)));
}

StreamSource::StreamSource(const StreamConfig& config, Clock* clock, EventSink on_event)
    : config_(config),
      kind_(ClassifyStreamUri(config.uri)),
      policy_(EffectiveDropPolicy(config)),
      clock_(clock),
      on_event_(std::move(on_event)),
      queue_(static_cast<size_t>(config.queue_size), policy_) {}

StreamSource::~StreamSource() { Stop(); }

void StreamSource::Start() {
  if (thread_.joinable() || stop_.load()) return;
  thread_ = std::thread([this] { ReadLoop(); });
}

std::optional<VideoFrame> StreamSource::Next(std::chrono::milliseconds wait) {
  return queue_.Pop(wait);  // counted by the queue (frames_delivered)
}

bool StreamSource::finished() const { return reader_done_.load() && queue_.size() == 0; }

void StreamSource::Stop() {
  const bool first = !stop_.exchange(true);
  { std::lock_guard<std::mutex> lock(wait_mu_); }
  wait_cv_.notify_all();
  queue_.Close();  // unblocks a reader waiting for room (block policy)
  if (thread_.joinable()) thread_.join();
  (void)queue_.Clear();  // counted by the queue (frames_dropped)
  std::lock_guard<std::mutex> lock(mu_);
  if (first && stats_.state != StreamState::kEnded && stats_.state != StreamState::kFailed) {
    stats_.state = StreamState::kStopped;
  }
}

StreamSourceStats StreamSource::Stats() const {
  // The counts come from two snapshots (the reader's, under mu_, and the
  // queue's, under its own lock) and frames_read is derived from them, so
  // the balance holds exactly in every snapshot even while frames move:
  // counting a frame as read when it was decoded and as queued when it was
  // pushed left it in neither for a moment (a stream record once said 48
  // read, 47 accounted for).
  StreamSourceStats s;
  int64_t refused = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    s = stats_;
    refused = refused_;
  }
  const FrameQueue::Counts q = queue_.counts();
  s.frames_delivered = q.popped;
  s.frames_dropped = q.dropped + q.cleared + refused;
  s.queued = q.size;
  s.frames_read = s.frames_skipped + q.pushed + refused;
  return s;
}

void StreamSource::SetState(StreamState state, const std::string& message, bool is_error) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.state = state;
    if (is_error) stats_.error = message;
    if (state == StreamState::kRunning) stats_.error.clear();
  }
  if (on_event_) on_event_(StreamEvent{state, message});
}

bool StreamSource::WaitBackoff(int64_t ms) {
  std::unique_lock<std::mutex> lock(wait_mu_);
  wait_cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stop_.load(); });
  return !stop_.load();
}

void StreamSource::ReadLoop() {
  VideoReaderOptions options;
  options.open_timeout_ms = config_.open_timeout_ms;
  options.read_timeout_ms = config_.read_timeout_ms;
  const std::string shown = RedactStreamUri(config_.uri);
  const bool live = kind_ != StreamSourceKind::kFile;
  int64_t backoff_ms = config_.reconnect_min_ms;
  int failed_attempts = 0;  // consecutive attempts without a frame
  int connection = 0;
  while (!stop_.load()) {
    auto reader = VideoReader::Open(config_.uri, options);
    if (stop_.load()) break;
    std::string why;
    bool frames_flowed = false;
    if (reader.ok()) {
      VideoReader* r = reader->get();
      if (!live && (config_.target_fps > 0 || config_.realtime) && r->fps() <= 0) {
        SetState(StreamState::kFailed,
                 "video " + shown + " reports no frame rate (0 fps): it cannot be " +
                     (config_.realtime ? "played in real time" : "sampled to a target fps") +
                     "; use fps 0 (every frame)",
                 true);
        break;
      }
      ++connection;
      {
        std::lock_guard<std::mutex> lock(mu_);
        stats_.width = r->width();
        stats_.height = r->height();
        stats_.source_fps = r->fps();
        stats_.codec = r->codec();
      }
      std::ostringstream msg;
      msg << "opened " << shown << ": " << r->width() << "x" << r->height() << " "
          << (r->codec().empty() ? "?" : r->codec()) << " at " << r->fps() << " fps ("
          << r->backend() << ")";
      SetState(StreamState::kRunning, msg.str(), false);
      const int64_t read_before = Stats().frames_read;
      const bool again = ReadConnection(r, connection);
      frames_flowed = Stats().frames_read > read_before;
      if (!again) break;
      why = "lost " + shown + " (no frame within " + std::to_string(config_.read_timeout_ms) +
            " ms, or the stream ended)";
    } else {
      why = reader.status().message();
      if (!live) {
        SetState(StreamState::kFailed, why, true);
        break;
      }
    }
    // A live source: reconnect with exponential backoff, reset once frames
    // flowed on the connection that was lost.
    if (frames_flowed) {
      backoff_ms = config_.reconnect_min_ms;
      failed_attempts = 0;
    }
    if (config_.max_reconnects >= 0 && failed_attempts >= config_.max_reconnects) {
      SetState(StreamState::kFailed,
               why + "; gave up after " + std::to_string(config_.max_reconnects) + " reconnects",
               true);
      break;
    }
    SetState(StreamState::kReconnecting,
             why + "; reconnecting in " + std::to_string(backoff_ms) + " ms", true);
    if (!WaitBackoff(backoff_ms)) break;
    backoff_ms = std::min(backoff_ms * 2, config_.reconnect_max_ms);
    ++failed_attempts;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.reconnects;
    }
  }
  if (stop_.load()) {
    std::lock_guard<std::mutex> lock(mu_);
    if (stats_.state != StreamState::kEnded && stats_.state != StreamState::kFailed) {
      stats_.state = StreamState::kStopped;
    }
  }
  reader_done_ = true;
  queue_.Close();
}

bool StreamSource::ReadConnection(VideoReader* reader, int connection) {
  const bool live = kind_ != StreamSourceKind::kFile;
  const double period_ms = config_.target_fps > 0 ? 1000.0 / config_.target_fps : 0;
  const int64_t start_ns = clock_->NowNs();
  std::optional<double> due_ms;  // the next sampling time (fps > 0)
  std::optional<double> first_pts;
  std::optional<double> last_pts;  // the last usable pts of this connection
  int64_t frames_here = 0;
  while (!stop_.load()) {
    VideoFrame frame;
    std::optional<double> pts;
    const int64_t t0 = clock_->NowNs();
    Status st = reader->Read(&frame.rgb, &pts);
    const int64_t t1 = clock_->NowNs();
    if (stop_.load()) return false;
    if (!st.ok()) {
      if (live) {
        if (st.code() != StatusCode::kOutOfRange) {
          std::lock_guard<std::mutex> lock(mu_);
          stats_.error = st.message();
        }
        return true;  // reconnect
      }
      if (frames_here == 0) {
        SetState(StreamState::kFailed,
                 "video " + RedactStreamUri(config_.uri) +
                     " has no decodable frame (corrupt, or a codec FFmpeg cannot decode): " +
                     st.message(),
                 true);
      } else if (st.code() == StatusCode::kOutOfRange) {
        SetState(StreamState::kEnded,
                 "end of " + RedactStreamUri(config_.uri) + " after " +
                     std::to_string(frames_here) + " frames",
                 false);
      } else {
        SetState(StreamState::kFailed,
                 "video " + RedactStreamUri(config_.uri) + ": " + st.message() + " after " +
                     std::to_string(frames_here) + " frames",
                 true);
      }
      return false;
    }
    ++frames_here;
    frame.index = next_index_++;
    frame.decode_ms = static_cast<double>(t1 - t0) / 1e6;
    frame.connection = connection;
    // A pts is usable when it advances: raw streams (.h264, .mjpeg) report
    // none, or 0 for every frame. Without one, a file's frames are timed by
    // their position and frame rate, a live source's by their capture.
    // A jump back of over a second is a new timeline (a wrapped MPEG-TS
    // clock, a camera that restarted its clock), not a stalled one.
    if (pts && last_pts && *pts < *last_pts - 1000.0) last_pts.reset();
    if (pts && last_pts && *pts <= *last_pts) pts.reset();
    if (pts) last_pts = pts;
    frame.pts_ms = pts;
    const double t_ms = pts ? *pts
                        : !live && reader->fps() > 0
                            ? static_cast<double>(frames_here - 1) * 1000.0 / reader->fps()
                            : static_cast<double>(t1 - start_ns) / 1e6;
    if (period_ms > 0) {
      // Time went far back (new timeline, or a switch between pts and
      // capture time): sample afresh from here.
      if (due_ms && t_ms < *due_ms - period_ms - 1000.0) due_ms.reset();
      if (due_ms && t_ms + 0.5 < *due_ms) {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.frames_skipped;
        continue;
      }
      if (!due_ms || t_ms - *due_ms > period_ms) due_ms = t_ms;
      *due_ms += period_ms;
    }
    if (config_.realtime) {
      // Deliver as a camera would: at the frame's presentation time.
      if (!first_pts) first_pts = t_ms;
      const auto target_ns = start_ns + static_cast<int64_t>((t_ms - *first_pts) * 1e6);
      const int64_t wait_ns = std::min<int64_t>(target_ns - clock_->NowNs(), 1'000'000'000);
      if (wait_ns > 0) clock_->SleepForNs(wait_ns);
    }
    frame.capture_ns = clock_->NowNs();
    frame.capture_wall_us = clock_->WallNowUs();
    if (!queue_.Push(std::move(frame))) {
      // Closed by Stop while waiting for room: the frame is lost to shutdown.
      std::lock_guard<std::mutex> lock(mu_);
      ++refused_;
      return false;
    }
  }
  return false;
}

}  // namespace yoloscope
