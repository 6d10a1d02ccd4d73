// Test helper: runs a shell command (the built binary, through /bin/sh) and
// returns its exit code and output. Header-only; tests only; not
// thread-safe with respect to the child's stderr, which goes where asked.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace yoloscope::testing {

struct ShellResult {
  int code = -1;    // the exit status; -1 if it did not exit normally
  std::string out;  // stdout (and stderr, for Sh)
};

// `stderr_redirect` is appended to the command ("2>&1", "2>/dev/null").
inline ShellResult RunShell(const std::string& cmd, const char* stderr_redirect) {
  ShellResult r;
  FILE* p = popen((cmd + " " + stderr_redirect).c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// stdout with stderr appended to it.
inline ShellResult Sh(const std::string& cmd) { return RunShell(cmd, "2>&1"); }
// stdout only (stderr discarded), e.g. for output parsed as JSON.
inline ShellResult ShOut(const std::string& cmd) { return RunShell(cmd, "2>/dev/null"); }

}  // namespace yoloscope::testing
