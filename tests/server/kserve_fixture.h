// A served tiny generated YOLO model (TorchScript, 320) on free HTTP and
// gRPC ports with a request log, for the KServe conformance tests over real
// sockets (kserve_http_test.cc, kserve_grpc_test.cc): ServedModelFixture plus
// the KServe payload helpers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "served_model_fixture.h"

namespace yoloscope::testing {

class KServeFixture : public ServedModelFixture {
 protected:
  // Stops the server and returns the request log's `request` records.
  std::vector<Json> StopAndReadRequests() { return StopAndReadLog("request"); }
  static std::string Base64(const std::string& in) {
    static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
      uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
      for (int k = 3; k >= 0; --k) out += a[(v >> (6 * k)) & 63];
    }
    if (i < in.size()) {
      uint32_t v = uint8_t(in[i]) << 16;
      if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
      out += a[(v >> 18) & 63];
      out += a[(v >> 12) & 63];
      out += i + 1 < in.size() ? a[(v >> 6) & 63] : '=';
      out += '=';
    }
    return out;
  }
  // BYTES elements in the binary-tensor layout: 4-byte LE length + bytes.
  static std::string LengthPrefixed(const std::vector<std::string>& elements) {
    std::string out;
    for (const std::string& e : elements) {
      const auto len = static_cast<uint32_t>(e.size());
      out.append(reinterpret_cast<const char*>(&len), 4);
      out += e;
    }
    return out;
  }
};

}  // namespace yoloscope::testing
