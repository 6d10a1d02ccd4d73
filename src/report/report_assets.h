// ReportAssets: the JavaScript and CSS that make a report page draw, inlined
// into the binary at build time (cmake/EmbedAssets.cmake): uPlot from npm
// (web/package.json + package-lock.json, installed by `npm ci` in web/, see
// scripts/setup.sh) and our own renderer web/src/report.js + report.css.
//
// When npm was not available at build time the build still succeeds, but
// HaveCharts() is false and pages can only show their text parts;
// MissingMessage() says so and how to fix it.
//
// Thread-safety: pure accessors of constant data.
#pragma once

#include <string>
#include <string_view>

namespace yoloscope {

class ReportAssets {
 public:
  // True when uPlot (and our renderer) were embedded.
  static bool HaveCharts();
  static std::string_view UplotJs();
  static std::string_view UplotCss();
  // uPlot's MIT licence text (shipped with every page that embeds it).
  static std::string_view UplotLicense();
  // The uPlot version from web/package-lock.json, or "" when not embedded.
  static std::string_view UplotVersion();
  static std::string_view ReportJs();
  static std::string_view ReportCss();
  // Why there are no charts and how to get them.
  static std::string MissingMessage();
};

}  // namespace yoloscope
