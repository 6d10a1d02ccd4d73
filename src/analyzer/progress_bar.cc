#include "analyzer/progress_bar.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <string>

namespace yoloscope {
namespace {

std::string Size(double b) {
  if (b >= 1e9) return fmt::format("{:.2f} GB", b / 1e9);
  if (b >= 1e6) return fmt::format("{:.1f} MB", b / 1e6);
  return fmt::format("{:.0f} kB", b / 1e3);
}

}  // namespace

ProgressBar::ProgressBar(std::FILE* stream, const std::atomic<int64_t>* bytes,
                         ProgressBarConfig config)
    : stream_(stream), bytes_(bytes), config_(config) {}

ProgressBar::~ProgressBar() { Stop(); }

std::string ProgressBar::Render(int64_t done, int64_t total, double seconds, int width) {
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  if (total <= 0) {
    return fmt::format("reading {}  {}/s", Size(static_cast<double>(done)), Size(rate));
  }
  const double f = std::clamp(static_cast<double>(done) / static_cast<double>(total), 0.0, 1.0);
  const int filled = static_cast<int>(f * width);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(width - filled), '.');
  std::string line =
      fmt::format("[{}] {:3.0f}%  {} / {}  {}/s", bar, f * 100, Size(static_cast<double>(done)),
                  Size(static_cast<double>(total)), Size(rate));
  if (rate > 0 && f < 1)
    line += fmt::format("  ETA {:.0f}s", static_cast<double>(total - done) / rate);
  return line;
}

void ProgressBar::Start() {
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void ProgressBar::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
    std::fprintf(stream_, "\r\033[K");
    std::fflush(stream_);
  }
}

void ProgressBar::Loop() {
  const auto start = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(config_.interval_ms), [this] { return stop_; });
    if (stop_) break;
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::string line =
        Render(bytes_->load(std::memory_order_relaxed), config_.total_bytes, s, config_.width);
    std::fprintf(stream_, "\r%s\033[K", line.c_str());
    std::fflush(stream_);
  }
}

}  // namespace yoloscope
