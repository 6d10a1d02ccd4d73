// Scenario: one bottleneck-lab case (scenarios/*.yaml): a server config, a
// load pattern over time, and the finding kinds `analyze` must (and must
// not) name from the resulting request log.
//
// File format:
//   name: overload
//   description: ...
//   server: {...}          # the keys of `serve --config` (docs/serve.md)
//   load:
//     phases:
//       - {duration_s: 8, rate: 40, arrivals: poisson, images: photos}
//       - {duration_s: 6, concurrency: 16, images: generated:1920x1080}
//   expect:
//     kinds: [queue_saturation]     # each must be found
//     absent: [underbatching]       # none may be found
//     healthy: false                # true: no warning or critical at all
// `images`: photos (the sample photos), corrupt (photos cut in half: they
// decode to an error), generated:WxH (synthetic JPEGs of that size), or
// "photos, every 40th: generated:6000x4000" (the base images -- photos or
// generated:WxH -- with every N-th request carrying a generated WxH JPEG).
// Strings may use ${MODELS}, ${PHOTOS} and ${SCENARIOS} (the scenario
// file's folder).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace yoloscope {

struct LoadPhase {
  double duration_s = 5;
  double rate = 0;                   // open loop requests/s (> 0), or
  int concurrency = 0;               // closed loop connections (> 0)
  std::string arrivals = "poisson";  // open loop: poisson | constant
  std::string images = "photos";
};

struct Scenario {
  std::string name, description, path;
  std::string server_yaml;  // the `server` mapping, re-emitted as YAML text
  std::vector<LoadPhase> phases;
  std::vector<std::string> expect_kinds, absent_kinds;
  bool healthy = false;
};

// Loads a scenario file, substituting `vars` (e.g. {"MODELS": "/x/models"}).
// InvalidArgument "FILE:LINE: field: why" on a malformed file.
StatusOr<Scenario> LoadScenarioFile(const std::string& path,
                                    const std::map<std::string, std::string>& vars);

}  // namespace yoloscope
