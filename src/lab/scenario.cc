#include "lab/scenario.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace yoloscope {
namespace {

std::string Substitute(std::string text, const std::map<std::string, std::string>& vars) {
  for (const auto& [k, v] : vars) {
    const std::string key = "${" + k + "}";
    for (size_t p = text.find(key); p != std::string::npos; p = text.find(key, p + v.size())) {
      text.replace(p, key.size(), v);
    }
  }
  return text;
}

Status Bad(const std::string& path, const YAML::Node& n, const std::string& what) {
  return InvalidArgumentError(path + ":" + std::to_string(n.Mark().line + 1) + ": " + what);
}

}  // namespace

StatusOr<Scenario> LoadScenarioFile(const std::string& path,
                                    const std::map<std::string, std::string>& vars_in) {
  std::ifstream in(path);
  if (!in) return NotFoundError("cannot open scenario " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto vars = vars_in;
  vars["SCENARIOS"] = std::filesystem::path(path).parent_path().string();
  Scenario s;
  s.path = path;
  try {
    YAML::Node root = YAML::Load(Substitute(ss.str(), vars));
    if (!root.IsMap()) return InvalidArgumentError(path + ":1: expected a mapping");
    if (!root["name"]) return Bad(path, root, "name: missing");
    s.name = root["name"].as<std::string>();
    s.description = root["description"] ? root["description"].as<std::string>() : "";
    if (!root["server"] || !root["server"].IsMap()) return Bad(path, root, "server: missing");
    YAML::Emitter e;
    e << root["server"];
    s.server_yaml = e.c_str();
    const YAML::Node load = root["load"];
    if (!load || !load["phases"] || !load["phases"].IsSequence() || load["phases"].size() == 0) {
      return Bad(path, root, "load.phases: a non-empty list is required");
    }
    for (const auto& p : load["phases"]) {
      LoadPhase ph;
      for (const auto& kv : p) {
        const std::string key = kv.first.as<std::string>();
        if (key == "duration_s") ph.duration_s = kv.second.as<double>();
        else if (key == "rate") ph.rate = kv.second.as<double>();
        else if (key == "concurrency") ph.concurrency = kv.second.as<int>();
        else if (key == "arrivals") ph.arrivals = kv.second.as<std::string>();
        else if (key == "images") ph.images = kv.second.as<std::string>();
        else return Bad(path, kv.first, "load.phases: unknown key '" + key + "'");
      }
      if ((ph.rate > 0) == (ph.concurrency > 0)) {
        return Bad(path, p, "load.phases: give exactly one of rate or concurrency");
      }
      if (ph.duration_s <= 0 || ph.duration_s > 60) {
        return Bad(path, p, "load.phases: duration_s must be in (0, 60]");
      }
      s.phases.push_back(ph);
    }
    if (const YAML::Node ex = root["expect"]) {
      if (ex["kinds"]) s.expect_kinds = ex["kinds"].as<std::vector<std::string>>();
      if (ex["absent"]) s.absent_kinds = ex["absent"].as<std::vector<std::string>>();
      if (ex["healthy"]) s.healthy = ex["healthy"].as<bool>();
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return s;
}

}  // namespace yoloscope
