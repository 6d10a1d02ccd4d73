#include "report/report_assets.h"

#include "report/embedded_assets.h"

#ifndef YOLOSCOPE_UPLOT_VERSION
#define YOLOSCOPE_UPLOT_VERSION ""
#endif

namespace yoloscope {

bool ReportAssets::HaveCharts() {
  return !embedded_report_assets::UplotJs().empty() && !embedded_report_assets::ReportJs().empty();
}

std::string_view ReportAssets::UplotJs() { return embedded_report_assets::UplotJs(); }
std::string_view ReportAssets::UplotCss() { return embedded_report_assets::UplotCss(); }
std::string_view ReportAssets::UplotLicense() { return embedded_report_assets::UplotLicense(); }

std::string_view ReportAssets::UplotVersion() {
  return HaveCharts() ? std::string_view(YOLOSCOPE_UPLOT_VERSION) : std::string_view();
}

std::string_view ReportAssets::ReportJs() { return embedded_report_assets::ReportJs(); }
std::string_view ReportAssets::ReportCss() { return embedded_report_assets::ReportCss(); }

std::string ReportAssets::MissingMessage() {
  return "this yoloscope was built without the report assets (the uPlot chart library from "
         "npm was not installed at build time): run `npm ci` in web/ (scripts/setup.sh build "
         "does it), re-run cmake and rebuild";
}

}  // namespace yoloscope
