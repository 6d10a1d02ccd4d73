// Test helper: `yoloscope serve` as a child process on a free port
// (--port 0), its stderr captured. The destructor sends SIGTERM and reaps
// it, so a failed assertion never leaves a server behind. Header-only.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>
#include <string>
#include <vector>

namespace yoloscope::testing {

class ServeChild {
 public:
  // Starts YOLOSCOPE_BINARY serve <args> --port 0 and waits for its
  // "listening on" line; port() is -1 when it never came (see output()).
  explicit ServeChild(const std::vector<std::string>& args) {
    int fds[2];
    if (pipe(fds) != 0) return;
    std::vector<std::string> all = {YOLOSCOPE_BINARY, "serve"};
    all.insert(all.end(), args.begin(), args.end());
    all.insert(all.end(), {"--port", "0", "--host", "127.0.0.1"});
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], 2);
      close(fds[0]);
      close(fds[1]);
      std::vector<char*> argv;
      for (auto& a : all) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    fd_ = fds[0];
    std::regex re("listening on http://127\\.0\\.0\\.1:([0-9]+)");
    char buf[512];
    for (;;) {
      ssize_t n = read(fd_, buf, sizeof(buf));
      if (n <= 0) break;
      output_.append(buf, static_cast<size_t>(n));
      std::smatch m;
      if (std::regex_search(output_, m, re)) {
        port_ = std::stoi(m[1]);
        break;
      }
    }
  }
  ~ServeChild() { Stop(); }
  ServeChild(const ServeChild&) = delete;
  ServeChild& operator=(const ServeChild&) = delete;

  int port() const { return port_; }
  const std::string& output() const { return output_; }

  // SIGTERM, wait, and collect the rest of stderr; returns the exit code
  // (-1 when it did not exit normally).
  int Stop() {
    if (pid_ <= 0) return exit_code_;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    char buf[4096];
    ssize_t n;
    while ((n = read(fd_, buf, sizeof(buf))) > 0) output_.append(buf, static_cast<size_t>(n));
    close(fd_);
    pid_ = -1;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return exit_code_;
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  int port_ = -1;
  int exit_code_ = -1;
  std::string output_;
};

}  // namespace yoloscope::testing
