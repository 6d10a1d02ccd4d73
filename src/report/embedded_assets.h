// Internal: the functions generated at build time by cmake/EmbedAssets.cmake
// (report_assets_data.cc in the build tree). Each returns the bytes of one
// file as it was when the binary was built, or an empty view when that file
// was missing (uPlot when npm was unavailable). Use ReportAssets instead.
#pragma once

#include <string_view>

namespace yoloscope::embedded_report_assets {

std::string_view UplotJs();       // web/node_modules/uplot/dist/uPlot.iife.min.js
std::string_view UplotCss();      // web/node_modules/uplot/dist/uPlot.min.css
std::string_view UplotLicense();  // web/node_modules/uplot/LICENSE
std::string_view ReportJs();      // web/src/report.js
std::string_view ReportCss();     // web/src/report.css

}  // namespace yoloscope::embedded_report_assets
