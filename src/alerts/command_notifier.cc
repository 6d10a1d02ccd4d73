#include "alerts/command_notifier.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "alerts/alert_log_line.h"
#include "common/time_format.h"

extern char** environ;

namespace yoloscope {
namespace {

constexpr std::string_view kEnvPrefix = "YOLOSCOPE_ALERT_";

bool IsExecutableFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// argv[0] as a path, or looked up in $PATH.
std::string ResolveCommand(const std::string& name) {
  if (name.find('/') != std::string::npos) return IsExecutableFile(name) ? name : "";
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (dir.empty()) dir.assign(1, '.');
    std::string candidate = dir + "/" + name;
    if (IsExecutableFile(candidate)) return candidate;
    start = end + 1;
  }
  return "";
}

std::string Time(const std::optional<int64_t>& us) {
  return us ? FormatRfc3339Micros(*us) : std::string();
}

std::string EnvName(const std::string& label) {
  std::string out;
  for (char c : label) {
    out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::toupper(c)) : '_';
  }
  return out;
}

// Marks every descriptor >= 3 close-on-exec. Async-signal-safe.
void CloseFromOnExec(int max_fd) {
#ifdef CLOSE_RANGE_CLOEXEC
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
#endif
  for (int fd = 3; fd < max_fd; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

}  // namespace

StatusOr<std::unique_ptr<CommandNotifier>> CommandNotifier::Create(
    const CommandNotifierConfig& config) {
  if (config.argv.empty() || config.argv[0].empty()) {
    return InvalidArgumentError("alert command: argv is empty");
  }
  std::string path = ResolveCommand(config.argv[0]);
  if (path.empty()) {
    return InvalidArgumentError("alert command: '" + config.argv[0] +
                                "' is not an executable file (nor found in PATH)");
  }
  if (config.timeout_ms < 1 || config.kill_grace_ms < 0 || config.close_timeout_ms < 0) {
    return InvalidArgumentError("alert command: timeout_ms must be >= 1, grace and close >= 0");
  }
  if (config.queue_capacity < 1)
    return InvalidArgumentError("alert command: queue_capacity must be >= 1");
  return std::unique_ptr<CommandNotifier>(new CommandNotifier(config, std::move(path)));
}

CommandNotifier::CommandNotifier(const CommandNotifierConfig& config, std::string path)
    : config_(config), path_(std::move(path)) {
  thread_ = std::thread([this] { Run(); });
}

CommandNotifier::~CommandNotifier() { Close(); }

std::vector<std::string> CommandNotifier::AlertEnvironment(const AlertTransition& t) {
  const std::string p(kEnvPrefix);
  auto annotation = [&t](const char* name) {
    auto it = t.annotations.find(name);
    return it == t.annotations.end() ? std::string() : it->second;
  };
  std::vector<std::string> env = {
      p + "NAME=" + t.rule,
      p + "STATE=" + std::string(AlertStateName(t.state)),
      p + "SEVERITY=" + t.severity,
      p + "VALUE=" + FormatAlertValue(t.value),
      p + "THRESHOLD=" + FormatAlertValue(t.threshold),
      p + "COMPARATOR=" + t.comparator,
      p + "METRIC=" + t.metric,
      p + "AGGREGATION=" + t.aggregation,
      p + "WINDOW_S=" + std::to_string(t.window_s),
      p + "PEAK=" + FormatAlertValue(t.peak),
      p + "STARTED_AT=" + FormatRfc3339Micros(t.started_at_us),
      p + "FIRED_AT=" + Time(t.fired_at_us),
      p + "RESOLVED_AT=" + Time(t.resolved_at_us),
      p + "SUMMARY=" + annotation("summary"),
      p + "DESCRIPTION=" + annotation("description"),
      p + "LABELS=" +
          nlohmann::json(t.labels).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
      p + "ANNOTATIONS=" +
          nlohmann::json(t.annotations)
              .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
  };
  for (const auto& [k, v] : t.labels) env.push_back(p + "LABEL_" + EnvName(k) + "=" + v);
  std::string line;
  AppendAlertJsonLine(t, &line);
  if (!line.empty() && line.back() == '\n') line.pop_back();
  env.push_back(p + "JSON=" + line);
  // A value must not carry a NUL; newlines are fine in the environment.
  for (std::string& e : env) e.erase(std::remove(e.begin(), e.end(), '\0'), e.end());
  return env;
}

void CommandNotifier::Notify(const std::vector<AlertTransition>& transitions) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const AlertTransition& t : transitions) {
      const bool wanted = t.state == AlertState::kFiring ||
                          (t.state == AlertState::kResolved && config_.on_resolved);
      if (!wanted) continue;
      if (closing_ || queue_.size() >= static_cast<size_t>(config_.queue_capacity)) {
        ++stats_.dropped;
        continue;
      }
      queue_.push_back(t);
    }
  }
  cv_.notify_all();
}

void CommandNotifier::Run() {
  while (true) {
    AlertTransition t;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;
      if (closing_ && std::chrono::steady_clock::now() >= close_deadline_) {
        stats_.dropped += static_cast<int64_t>(queue_.size());
        queue_.clear();
        return;
      }
      t = std::move(queue_.front());
      queue_.pop_front();
    }
    RunOne(t);
  }
}

void CommandNotifier::RunOne(const AlertTransition& t) {
  // Everything the child needs is built before fork: after it, only
  // async-signal-safe calls.
  std::vector<std::string> env_strings;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (std::strncmp(*e, kEnvPrefix.data(), kEnvPrefix.size()) != 0) env_strings.emplace_back(*e);
  }
  for (std::string& e : AlertEnvironment(t)) env_strings.push_back(std::move(e));
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_strings = config_.argv;
  std::vector<char*> argv;
  for (std::string& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);
  const long open_max = ::sysconf(_SC_OPEN_MAX);
  const int max_fd = static_cast<int>(std::min<long>(open_max > 0 ? open_max : 1024, 65536));

  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.failed;
    stats_.last_error = std::string("pipe: ") + std::strerror(errno);
    return;
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int e = errno;
    ::close(err_pipe[0]);
    ::close(err_pipe[1]);
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.failed;
    stats_.last_error = std::string("fork: ") + std::strerror(e);
    return;
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
      ::dup2(devnull, 0);
      if (devnull != 0) ::close(devnull);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    CloseFromOnExec(max_fd);
    ::execve(path_.c_str(), argv.data(), envp.data());
    const int e = errno;
    ssize_t ignored = ::write(err_pipe[1], &e, sizeof(e));
    (void)ignored;
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also from here, so that kill(-pid) works at once
  ::close(err_pipe[1]);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.runs;
  }
  int exec_errno = 0;
  const bool exec_failed =
      ::read(err_pipe[0], &exec_errno, sizeof(exec_errno)) == sizeof(exec_errno);
  ::close(err_pipe[0]);

  using Clock = std::chrono::steady_clock;
  auto deadline = Clock::now() + std::chrono::milliseconds(config_.timeout_ms);
  bool term_sent = false, kill_sent = false, timed_out = false;
  int status = 0;
  while (true) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) break;
    Clock::time_point limit = deadline;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closing_ && close_deadline_ < limit) limit = close_deadline_;
    }
    const auto now = Clock::now();
    if (now >= limit && !term_sent) {
      timed_out = true;
      term_sent = true;
      ::kill(-pid, SIGTERM);
      deadline = now + std::chrono::milliseconds(config_.kill_grace_ms);
    } else if (term_sent && !kill_sent && now >= deadline) {
      kill_sent = true;
      ::kill(-pid, SIGKILL);
    }
    ::usleep(5000);
  }
  // Whatever the command left behind in its group goes too.
  if (timed_out) ::kill(-pid, SIGKILL);

  std::lock_guard<std::mutex> lock(mu_);
  if (exec_failed) {
    ++stats_.failed;
    stats_.last_exit_code = 127;
    stats_.last_error = "exec " + path_ + ": " + std::strerror(exec_errno);
  } else if (timed_out) {
    ++stats_.failed;
    ++stats_.timed_out;
    stats_.last_exit_code = -1;
    stats_.last_error =
        config_.argv[0] + ": killed after " + std::to_string(config_.timeout_ms) + " ms";
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    ++stats_.succeeded;
    stats_.last_exit_code = 0;
  } else {
    ++stats_.failed;
    if (WIFEXITED(status)) {
      stats_.last_exit_code = WEXITSTATUS(status);
      stats_.last_error =
          config_.argv[0] + ": exit status " + std::to_string(stats_.last_exit_code);
    } else {
      stats_.last_exit_code = -1;
      stats_.last_error = config_.argv[0] + ": killed by signal " +
                          std::to_string(WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    }
  }
}

void CommandNotifier::Close() {
  std::lock_guard<std::mutex> close_lock(close_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closing_) {
      closing_ = true;
      close_deadline_ =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.close_timeout_ms);
    }
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

CommandNotifierStats CommandNotifier::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace yoloscope
