// Test helpers: the Ultralytics parity fixtures (tests/fixtures/ultralytics):
// models written by Ultralytics' own exporter and Ultralytics' own
// predictions on the darknet photos (see that folder's README for how they
// were made). Header-only; tests only.
#pragma once

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace yoloscope::testing {

// Same detections as Ultralytics: same count, and each detection matched to
// one of Ultralytics' with the same class, every box edge within kBoxTolPx
// and the score within kScoreTol.
inline constexpr double kBoxTolPx = 1.0;
inline constexpr double kScoreTol = 0.002;

struct RefDetection {
  int class_id = 0;
  double score = 0;
  double box[4] = {0, 0, 0, 0};  // x1, y1, x2, y2 in original pixels
};

struct UltralyticsModel {
  std::string file;  // name inside the fixture folder
  std::string path;  // absolute
  std::string format, task, layout;
  int imgsz_h = 0, imgsz_w = 0;
  int fixed_batch = 0;  // > 0 for a static-batch ONNX export
  size_t num_classes = 0;
  std::map<std::string, std::vector<RefDetection>> predictions;  // photo file name -> detections
};

inline std::string UltralyticsFixtureDir() {
  return std::string(YOLOSCOPE_SOURCE_DIR) + "/tests/fixtures/ultralytics";
}

inline std::vector<RefDetection> ParseDetections(const nlohmann::json& list) {
  std::vector<RefDetection> out;
  for (const auto& d : list) {
    RefDetection r;
    r.class_id = d.at("class_id").get<int>();
    r.score = d.at("score").get<double>();
    for (int i = 0; i < 4; ++i) r.box[i] = d.at("box")[i].get<double>();
    out.push_back(r);
  }
  return out;
}

// Every model in predictions.json (detect and other tasks), sorted by file.
inline std::vector<UltralyticsModel> LoadUltralyticsModels() {
  std::ifstream in(UltralyticsFixtureDir() + "/predictions.json");
  std::vector<UltralyticsModel> out;
  if (!in) return out;
  auto j = nlohmann::json::parse(in);
  for (const auto& [file, m] : j.at("models").items()) {
    UltralyticsModel u;
    u.file = file;
    u.path = UltralyticsFixtureDir() + "/" + file;
    u.format = m.value("format", "");
    u.task = m.value("task", "");
    u.layout = m.value("layout", "");
    u.imgsz_h = m.at("imgsz")[0].get<int>();
    u.imgsz_w = m.at("imgsz")[1].get<int>();
    if (m.contains("names")) u.num_classes = m["names"].size();
    if (m.contains("inputs") && m["inputs"].is_object()) {
      for (const auto& [name, dims] : m["inputs"].items()) {
        if (!dims.empty() && dims[0].is_number_integer()) u.fixed_batch = dims[0].get<int>();
        break;
      }
    }
    if (m.contains("predictions")) {
      for (const auto& [photo, list] : m["predictions"].items()) {
        u.predictions[photo] = ParseDetections(list);
      }
    }
    out.push_back(std::move(u));
  }
  return out;
}

// "" when `actual` matches `expected` (see kBoxTolPx/kScoreTol); else what
// differs. Matching is greedy on the closest box of the same class, so two
// detections with nearly equal scores may come in either order.
inline std::string CompareDetections(const std::vector<RefDetection>& expected,
                                     const std::vector<RefDetection>& actual,
                                     double box_tol = kBoxTolPx, double score_tol = kScoreTol) {
  std::ostringstream why;
  if (expected.size() != actual.size()) {
    why << "count " << actual.size() << " vs Ultralytics' " << expected.size() << "; ";
  }
  std::vector<bool> used(expected.size(), false);
  int unmatched = 0;
  for (const RefDetection& a : actual) {
    int best = -1;
    double best_d = 1e300;
    for (size_t i = 0; i < expected.size(); ++i) {
      if (used[i] || expected[i].class_id != a.class_id) continue;
      double d = 0;
      for (int k = 0; k < 4; ++k) d = std::max(d, std::fabs(expected[i].box[k] - a.box[k]));
      if (d < best_d) {
        best_d = d;
        best = static_cast<int>(i);
      }
    }
    if (best < 0 || best_d > box_tol || std::fabs(expected[best].score - a.score) > score_tol) {
      if (++unmatched <= 3) {
        why << "unmatched class " << a.class_id << " score " << a.score << " box [" << a.box[0]
            << "," << a.box[1] << "," << a.box[2] << "," << a.box[3] << "]";
        if (best >= 0) {
          why << " (closest: score " << expected[best].score << ", box off by " << best_d << " px)";
        }
        why << "; ";
      }
      continue;
    }
    used[best] = true;
  }
  if (unmatched > 3) why << unmatched << " unmatched in all";
  return why.str();
}

}  // namespace yoloscope::testing
