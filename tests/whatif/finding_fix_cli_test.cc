// Findings linked to a predicted fix, and the HTML report's what-if panel,
// through the built binary (docs/what-if.md, "Findings with a predicted
// fix"). The logs are written here: one model instance running requests one
// at a time under Poisson arrivals near its capacity (underbatching and
// queue_saturation findings), a few batches of two among them so that the
// batch-latency curve has a slope -- or, for the degenerate case, none.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "report/report_assets.h"
#include "testing/shell_run.h"

namespace yoloscope {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

using Result = testing::ShellResult;
using testing::ShOut;

std::string TimeOf(int64_t us) {  // us < 1 hour
  return fmt::format("2026-01-01T00:{:02d}:{:02d}.{:06d}Z", us / 60'000'000, (us / 1'000'000) % 60,
                     us % 1'000'000);
}

// `n` requests at `rate`/s (Poisson) into one FIFO instance: 1 ms of decode
// + preprocess, then batches of one -- of two (when two are ready) every
// `pair_every`-th batch, never when 0 -- taking 4 ms + 1 ms per image.
std::string UnderbatchedLog(double rate, int n, int pair_every) {
  std::mt19937_64 rng(7);
  std::exponential_distribution<double> gap(rate);
  std::vector<int64_t> arrival(n), ready(n);
  int64_t t = 1'000'000;
  for (int i = 0; i < n; ++i) {
    t += static_cast<int64_t>(gap(rng) * 1e6);
    arrival[i] = t;
    ready[i] = t + 1000;
  }
  struct Batch {
    int64_t start, device_us;
    int id, size;
  };
  std::vector<Batch> batches;
  std::vector<int> batch_of(n);
  int64_t free_at = 0;
  for (int i = 0; i < n;) {
    const int64_t start = std::max(free_at, ready[i]);
    const int id = static_cast<int>(batches.size()) + 1;
    int size = 1;
    if (pair_every > 0 && id % pair_every == 0 && i + 1 < n && ready[i + 1] <= start) size = 2;
    const int64_t device = (4000 + 1000 * size) + ((id * 7919) % 11 - 5) * 20;
    batches.push_back({start, device, id, size});
    for (int k = i; k < i + size; ++k) batch_of[k] = id - 1;
    free_at = start + device + 100;
    i += size;
  }
  std::vector<std::pair<int64_t, std::string>> lines;
  for (int k = 0; k < n; ++k) {
    const Batch& b = batches[batch_of[k]];
    int queued = 0;  // arrived before k, not yet running when k arrives
    for (int j = 0; j < k; ++j) queued += batches[batch_of[j]].start > arrival[k];
    const double queue_ms = static_cast<double>(b.start - ready[k]) / 1000;
    const double total_ms = static_cast<double>(b.start + b.device_us - arrival[k]) / 1000 + 0.7;
    lines.emplace_back(
        arrival[k],
        fmt::format(
            R"({{"event":"request","schema":"yoloscope.v1","ts":"{}","request_id":"r{}","model":"m","batch_id":{},"batch_size":{},"queue_len":{},"queue_ms":{:.3f},"decode_ms":0.5,"preprocess_ms":0.5,"h2d_ms":0,"inference_ms":{:.3f},"d2h_ms":0,"postprocess_ms":0.5,"total_ms":{:.3f},"status":"ok"}})",
            TimeOf(arrival[k]), k, b.id, b.size, queued, queue_ms,
            static_cast<double>(b.device_us) / 1000, total_ms));
  }
  for (const Batch& b : batches) {
    lines.emplace_back(
        b.start,
        fmt::format(
            R"({{"event":"batch","schema":"yoloscope.v1","ts":"{}","batch_id":{},"batch_size":{},"model":"m","instance":0,"h2d_ms":0,"inference_ms":{:.3f},"d2h_ms":0}})",
            TimeOf(b.start), b.id, b.size, static_cast<double>(b.device_us) / 1000));
  }
  std::stable_sort(lines.begin(), lines.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [ts, line] : lines) out += line + "\n";
  return out;
}

class FindingFixCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("ys_finding_fix_" + std::to_string(getpid())));
    fs::create_directories(*dir_);
    std::ofstream(*dir_ / "pairs.jsonl") << UnderbatchedLog(170, 700, 8);
    std::ofstream(*dir_ / "ones.jsonl") << UnderbatchedLog(170, 700, 0);
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
  }
  static std::string Bin() { return YOLOSCOPE_BINARY; }
  static std::string Log(const char* name) { return (*dir_ / name).string(); }

  static const Json* FindingOf(const Json& analysis, const std::string& kind) {
    for (const Json& f : analysis["findings"]) {
      if (f["kind"] == kind) return &f;
    }
    return nullptr;
  }

  static fs::path* dir_;
};

fs::path* FindingFixCliTest::dir_ = nullptr;

// The JSON report rounds to 4 significant digits.
void ExpectSame(double reported, double exact, const std::string& what) {
  EXPECT_NEAR(reported, exact, 1e-3 * std::max(1.0, std::fabs(exact))) << what;
}

TEST_F(FindingFixCliTest, FindingsCarryAFixWhoseNumbersAreThoseOfWhatIf) {
  const std::string log = Log("pairs.jsonl");
  const Result r = ShOut(Bin() + " analyze " + log + " --format json");
  ASSERT_EQ(r.code, 0) << r.out;
  const Json analysis = Json::parse(r.out);
  for (const char* kind : {"underbatching", "queue_saturation"}) {
    SCOPED_TRACE(kind);
    const Json* f = FindingOf(analysis, kind);
    ASSERT_NE(f, nullptr) << "the log should show " << kind << ":\n" << r.out;
    ASSERT_TRUE(f->contains("predicted_fix")) << f->dump(2);
    const Json& fix = (*f)["predicted_fix"];
    ASSERT_FALSE(fix.contains("cannot_predict")) << fix.dump(2);
    const std::string spec = fix["what_if"];
    ASSERT_FALSE(spec.empty());
    // The chosen fix is one of the candidates, and none of them predicts
    // fewer rejections or (as many rejections and) a lower p99.
    bool listed = false;
    for (const Json& c : fix["candidates"]) {
      listed |= c["what_if"] == spec;
      if (c["p99_ms"].is_null()) continue;
      const double rej = c["rejection_rate"], p99 = c["p99_ms"];
      const double best_rej = fix["predicted"]["rejection_rate"];
      EXPECT_FALSE(rej < best_rej - 0.001) << c.dump();
      if (std::fabs(rej - best_rej) <= 0.001) {
        EXPECT_GE(p99, fix["predicted"]["p99_ms"].get<double>() * (1 - 1e-3)) << c.dump();
      }
    }
    EXPECT_TRUE(listed) << fix.dump(2);
    // `analyze --what-if SPEC` gives the same numbers for the same setting.
    const Result w = ShOut(Bin() + " analyze " + log + " --what-if '" + spec + "' --format json");
    ASSERT_EQ(w.code, 0) << w.out;
    const Json wi = Json::parse(w.out);
    ASSERT_EQ(wi["what_if"].size(), 1u);
    const Json& predicted = wi["what_if"][0]["predicted"];
    for (const char* k : {"p50_ms", "p90_ms", "p99_ms", "throughput_per_s", "rejection_rate",
                          "device_busy_fraction", "mean_batch_size"}) {
      ExpectSame(fix["predicted"][k], predicted[k], std::string("predicted ") + k);
      ExpectSame(fix["logged"][k], wi["logged"]["predicted"][k], std::string("logged ") + k);
    }
    ExpectSame(fix["observed"]["p99_ms"], wi["log"]["observed"]["p99_ms"], "observed p99");
    EXPECT_EQ(fix["extrapolated"], wi["what_if"][0]["extrapolated"]);
    // The summary names the setting and says it is a prediction.
    const std::string summary = fix["summary"];
    EXPECT_EQ(summary.rfind(spec + ": p99 ", 0), 0u) << summary;
    EXPECT_NE(summary.find("(predicted"), std::string::npos) << summary;
  }
  // The same line in the text and Markdown reports.
  const Json& ub = *FindingOf(analysis, "underbatching");
  const std::string summary = ub["predicted_fix"]["summary"];
  const Result text = ShOut(Bin() + " analyze " + log + " --color never");
  ASSERT_EQ(text.code, 0);
  EXPECT_NE(text.out.find("predicted: " + summary.substr(0, summary.find(" ("))), std::string::npos)
      << text.out;
  const Result md = ShOut(Bin() + " analyze " + log + " --format markdown");
  ASSERT_EQ(md.code, 0);
  EXPECT_NE(md.out.find("- **Predicted fix:** " + summary.substr(0, summary.find(" ("))),
            std::string::npos)
      << md.out;
  // --no-predict leaves the findings as the analyzer made them.
  const Result off = ShOut(Bin() + " analyze " + log + " --format json --no-predict");
  ASSERT_EQ(off.code, 0);
  EXPECT_FALSE(FindingOf(Json::parse(off.out), "underbatching")->contains("predicted_fix"));
}

TEST_F(FindingFixCliTest, ALogWithOneBatchSizeSaysWhatThePredictionNeeds) {
  const std::string log = Log("ones.jsonl");
  const Result r = ShOut(Bin() + " analyze " + log + " --format json");
  ASSERT_EQ(r.code, 0) << r.out;
  const Json analysis = Json::parse(r.out);
  const Json* f = FindingOf(analysis, "underbatching");
  ASSERT_NE(f, nullptr) << r.out;
  ASSERT_TRUE(f->contains("predicted_fix")) << r.out;
  const Json& fix = (*f)["predicted_fix"];
  ASSERT_TRUE(fix.contains("cannot_predict")) << fix.dump(2);
  EXPECT_EQ(fix["cannot_predict"].get<std::string>().rfind("cannot predict: needs", 0), 0u)
      << fix.dump(2);
  EXPECT_FALSE(fix.contains("summary"));
  // The text report says nothing about it.
  const Result text = ShOut(Bin() + " analyze " + log + " --color never");
  ASSERT_EQ(text.code, 0);
  const size_t at = text.out.find("underbatching");
  ASSERT_NE(at, std::string::npos);
  const size_t next = text.out.find("\n\n", at);
  EXPECT_EQ(text.out.substr(at, next - at).find("predicted:"), std::string::npos) << text.out;
}

// Above --predict-max-requests the fix is not predicted (the log would be
// read again and held in memory) and the finding says why; at the limit it is.
TEST_F(FindingFixCliTest, ALogAboveThePredictionLimitSaysHowToPredictAnyway) {
  const std::string log = Log("pairs.jsonl");
  const Result all = ShOut(Bin() + " analyze " + log + " --format json");
  ASSERT_EQ(all.code, 0) << all.out;
  const int64_t requests = Json::parse(all.out)["summary"]["requests"].get<int64_t>();
  ASSERT_GT(requests, 1);

  const Result over = ShOut(Bin() + " analyze " + log + " --format json --predict-max-requests " +
                            std::to_string(requests - 1));
  ASSERT_EQ(over.code, 0) << over.out;
  const Json over_json = Json::parse(over.out);
  const Json* f = FindingOf(over_json, "underbatching");
  ASSERT_NE(f, nullptr) << over.out;
  ASSERT_TRUE(f->contains("predicted_fix")) << over.out;
  const Json& fix = (*f)["predicted_fix"];
  ASSERT_TRUE(fix.contains("cannot_predict")) << fix.dump(2);
  const std::string why = fix["cannot_predict"].get<std::string>();
  EXPECT_NE(why.find(std::to_string(requests) + " requests"), std::string::npos) << why;
  EXPECT_NE(why.find("--what-if"), std::string::npos) << why;
  EXPECT_FALSE(fix.contains("summary"));

  const Result at = ShOut(Bin() + " analyze " + log + " --format json --predict-max-requests " +
                          std::to_string(requests));
  ASSERT_EQ(at.code, 0) << at.out;
  const Json at_json = Json::parse(at.out);
  const Json* g = FindingOf(at_json, "underbatching");
  ASSERT_NE(g, nullptr);
  EXPECT_TRUE((*g)["predicted_fix"].contains("summary")) << g->dump(2);

  // A negative limit is a usage error.
  EXPECT_EQ(ShOut(Bin() + " analyze " + log + " --predict-max-requests -1").code, 2);
}

// The text between <script type="application/json" id="ys-data"> and </script>.
Json EmbeddedData(const std::string& html) {
  const std::string open = "<script type=\"application/json\" id=\"ys-data\">";
  const size_t a = html.find(open);
  if (a == std::string::npos) return Json();
  const size_t b = html.find("</script>", a);
  return Json::parse(html.substr(a + open.size(), b - a - open.size()), nullptr, false);
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST_F(FindingFixCliTest, HtmlWithWhatIfHasAPanelComparingTheSettings) {
  if (!ReportAssets::HaveCharts()) GTEST_SKIP() << ReportAssets::MissingMessage();
  const std::string log = Log("pairs.jsonl");
  const fs::path html_path = *dir_ / "report.html";
  const Result r =
      ShOut(Bin() + " analyze " + log + " --what-if max_batch=4 --what-if instances=2 --html " +
            html_path.string() + " --format json");
  ASSERT_EQ(r.code, 0) << r.out;
  const Json wi = Json::parse(r.out);  // stdout: the what-if report, as without --html
  ASSERT_EQ(wi["schema"], "yoloscope.whatif.v1");
  const std::string html = ReadAll(html_path);
  ASSERT_FALSE(html.empty());
  EXPECT_NE(html.find("<section id=\"what-if\">"), std::string::npos);
  EXPECT_NE(html.find("href=\"#what-if\""), std::string::npos);
  EXPECT_NE(html.find("[1] max_batch=4"), std::string::npos);
  EXPECT_NE(html.find("[2] instances=2"), std::string::npos);
  EXPECT_NE(html.find("logged (pred.)"), std::string::npos);
  // The diagnosis is there too, with its predicted fixes.
  EXPECT_NE(html.find("Predicted fix."), std::string::npos);
  // The latency chart holds each setting's predicted percentiles.
  const Json data = EmbeddedData(html);
  ASSERT_TRUE(data.is_object()) << "no chart data in the page";
  const Json* latency = nullptr;
  const Json* throughput = nullptr;
  for (const Json& c : data["charts"]["charts"]) {
    if (c["id"] == "what_if_latency") latency = &c;
    if (c["id"] == "what_if_throughput") throughput = &c;
  }
  ASSERT_NE(latency, nullptr);
  ASSERT_NE(throughput, nullptr);
  ASSERT_EQ((*latency)["x_labels"].size(), 4u);  // observed, logged, two what-ifs
  EXPECT_EQ((*latency)["x_labels"][2], "[1] max_batch=4");
  std::vector<const Json*> columns = {&wi["log"]["observed"], &wi["logged"]["predicted"],
                                      &wi["what_if"][0]["predicted"],
                                      &wi["what_if"][1]["predicted"]};
  for (const Json& s : (*latency)["series"]) {
    const std::string key = s["label"].get<std::string>() + "_ms";  // p50, p90, p99
    for (size_t i = 0; i < columns.size(); ++i) {
      ExpectSame(s["values"][i], (*columns[i])[key], key + " of column " + std::to_string(i));
    }
  }
  for (const Json& s : (*throughput)["series"]) {
    if (s["label"] != "throughput") continue;
    for (size_t i = 0; i < columns.size(); ++i) {
      ExpectSame(s["values"][i], (*columns[i])["throughput_per_s"], "throughput");
    }
  }
  // The whole distributions: a line per column, at the report's quantiles,
  // ascending, and through the column's own p50 and p99.
  const Json& q = wi["log"]["distribution_quantiles"];
  ASSERT_EQ(q.size(), 101u);
  EXPECT_DOUBLE_EQ(q[49].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(q[98].get<double>(), 0.99);
  const Json* dist = nullptr;
  for (const Json& c : data["charts"]["charts"]) {
    if (c["id"] == "what_if_distribution") dist = &c;
  }
  ASSERT_NE(dist, nullptr);
  ASSERT_EQ((*dist)["x"].size(), 101u);
  EXPECT_DOUBLE_EQ((*dist)["x"][49].get<double>(), 50.0);
  ASSERT_EQ((*dist)["series"].size(), columns.size());
  for (size_t i = 0; i < columns.size(); ++i) {
    const Json& d = (*columns[i])["distribution_ms"];
    ASSERT_EQ(d.size(), 101u) << "column " << i;
    for (size_t k = 1; k < d.size(); ++k) {
      EXPECT_LE(d[k - 1].get<double>(), d[k].get<double>()) << "column " << i << " point " << k;
    }
    EXPECT_NEAR(d[49].get<double>(), (*columns[i])["p50_ms"].get<double>(), 1e-3) << i;
    EXPECT_NEAR(d[98].get<double>(), (*columns[i])["p99_ms"].get<double>(), 1e-3) << i;
    ExpectSame((*dist)["series"][i]["values"][98], d[98],
               "distribution of column " + std::to_string(i));
  }
  EXPECT_NE(html.find("chart-what_if_distribution"), std::string::npos);
  // Without --what-if: the findings' fixes, no panel.
  const fs::path plain = *dir_ / "plain.html";
  const Result p = ShOut(Bin() + " analyze " + log + " --html " + plain.string());
  ASSERT_EQ(p.code, 0) << p.out;
  const std::string plain_html = ReadAll(plain);
  EXPECT_EQ(plain_html.find("<section id=\"what-if\">"), std::string::npos);
  EXPECT_NE(plain_html.find("Predicted fix."), std::string::npos);
}

}  // namespace
}  // namespace yoloscope
