// Test helper: `yoloscope serve` (or any command) as a child process, its
// stderr drained by a thread; the destructor SIGKILLs a child still running,
// so a failed assertion never leaves a server behind. Header-only.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace yoloscope::testing {

// `args` is the whole argv (args[0] is looked up on PATH when it has no slash).
class ServeChild {
 public:
  explicit ServeChild(const std::vector<std::string>& args) {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], 2);
      close(fds[0]);
      close(fds[1]);
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execvp(argv[0], argv.data());
      _exit(127);
    }
    close(fds[1]);
    fd_ = fds[0];
    reader_ = std::thread([this] {
      char buf[4096];
      ssize_t n;
      while ((n = read(fd_, buf, sizeof(buf))) > 0) {
        std::lock_guard<std::mutex> lock(mu_);
        err_.append(buf, static_cast<size_t>(n));
      }
    });
  }
  ~ServeChild() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      Wait();
    }
    if (reader_.joinable()) reader_.join();
    if (fd_ >= 0) close(fd_);
  }

  pid_t pid() const { return pid_; }
  std::string Stderr() {
    std::lock_guard<std::mutex> lock(mu_);
    return err_;
  }
  // The port from the "listening on" line; -1 if the child exits first or
  // after a generous deadline.
  int WaitForPort() {
    std::regex re("listening on http://127\\.0\\.0\\.1:([0-9]+)");
    for (int i = 0; i < 6000; ++i) {
      std::smatch m;
      const std::string e = Stderr();
      if (std::regex_search(e, m, re)) return std::stoi(m[1]);
      if (waitpid(pid_, &status_, WNOHANG) == pid_) {
        exited_ = true;
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }
  bool Alive() { return !exited_ && waitpid(pid_, &status_, WNOHANG) == 0; }
  // Waits for the exit; the exit code, or 128 + signal.
  int Wait() {
    if (!exited_) {
      waitpid(pid_, &status_, 0);
      exited_ = true;
    }
    if (reader_.joinable()) reader_.join();
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
  }
  int StopWith(int sig) {
    kill(pid_, sig);
    return Wait();
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  int status_ = 0;
  bool exited_ = false;
  std::thread reader_;
  std::mutex mu_;
  std::string err_;
};

}  // namespace yoloscope::testing
