// BrowserCheck: runs web/test/check_page.mjs (playwright-core driving
// Debian's headless Chromium) on a URL and returns what it saw as JSON (see
// that script's header). Header-only; tests only.
//
// SkipReason() says why the browser tests cannot run here (no node, no
// Chromium, `npm ci` not run in web/); the tests then GTEST_SKIP with it.
// Artifacts (result JSON, the script's log, screenshots) go to
// YOLOSCOPE_REPORT_ARTIFACTS_DIR in the build tree.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace yoloscope::testing {

class BrowserCheck {
 public:
  static std::string WebDir() { return std::string(YOLOSCOPE_SOURCE_DIR) + "/web"; }
  static std::string ArtifactsDir() {
    std::filesystem::create_directories(YOLOSCOPE_REPORT_ARTIFACTS_DIR);
    return YOLOSCOPE_REPORT_ARTIFACTS_DIR;
  }
  static std::string Chromium() {
    const char* env = std::getenv("CHROMIUM");
    return env && *env ? env : "/usr/bin/chromium";
  }

  static std::optional<std::string> SkipReason() {
    if (std::system("node --version >/dev/null 2>&1") != 0) {
      return "node is not installed (the browser tests drive Chromium with playwright-core)";
    }
    if (!std::filesystem::exists(WebDir() + "/node_modules/playwright-core/package.json")) {
      return "web/node_modules/playwright-core is missing: run `npm ci` in web/";
    }
    if (!std::filesystem::exists(Chromium())) {
      return Chromium() + " is missing: install Debian's chromium (scripts/setup.sh deps)";
    }
    return std::nullopt;
  }

  // Runs the checker; `name` names the artifacts. Returns the result JSON, or
  // a JSON object {"ok": false, "error": ...} with the script's log.
  static nlohmann::json Run(const std::string& url, const std::string& name,
                            const std::vector<std::string>& extra_args) {
    const std::string dir = ArtifactsDir();
    const std::string result = dir + "/" + name + ".result.json";
    const std::string log = dir + "/" + name + ".log";
    std::filesystem::remove(result);
    std::string cmd = "cd " + Quote(WebDir()) + " && CHROMIUM=" + Quote(Chromium()) +
                      " node test/check_page.mjs --url " + Quote(url) + " --result " +
                      Quote(result);
    for (const std::string& a : extra_args) cmd += " " + Quote(a);
    cmd += " >" + Quote(log) + " 2>&1";
    const int rc = std::system(cmd.c_str());
    std::ifstream in(result);
    std::stringstream ss;
    ss << in.rdbuf();
    nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
    if (!j.is_object()) {
      std::ifstream l(log);
      std::stringstream ls;
      ls << l.rdbuf();
      j = {{"ok", false},
           {"error", "check_page.mjs exited " + std::to_string(rc) + ": " + ls.str()}};
    }
    return j;
  }

 private:
  static std::string Quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
      if (c == '\'') {
        out += "'\\''";
      } else {
        out += c;
      }
    }
    return out + "'";
  }
};

}  // namespace yoloscope::testing
