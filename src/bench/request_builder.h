// RequestBuilder: the bytes of one HTTP/1.1 request per image, built once
// before the load starts so the hot path only writes prepared buffers.
//
// Protocols:
// - yoloscope: `POST /v1/detect` with the image as the body and its
//   Content-Type (the server's native API). `endpoint` and `method` change
//   the target, e.g. `GET /v2/health/live` (no body) for a trivial endpoint.
// - kserve: `POST /v2/models/{model}/infer` (KServe v2 / Triton) with one
//   BYTES input of shape [1] holding the encoded image, using the
//   binary-tensor extension: the JSON inference header, then the element as
//   a 4-byte little-endian length and the bytes, with
//   `Inference-Header-Content-Length` giving the JSON header's length.
//
// A prepared request is `prefix` (request line, headers, and for kserve the
// JSON header and length) followed by `payload` (the image bytes, borrowed
// from the ImageSet; empty for a body-less request).
//
// Thread-safety: Build is const and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench/image_set.h"
#include "common/status.h"

namespace yoloscope {

// kKServeGrpc is driven by GrpcLoadGenerator, never by RequestBuilder.
enum class BenchProtocol { kYoloscope, kKServe, kKServeGrpc };

// "yoloscope" / "kserve" / "kserve-grpc".
std::string_view BenchProtocolName(BenchProtocol protocol);
// Inverse of BenchProtocolName; InvalidArgument for anything else.
StatusOr<BenchProtocol> ParseBenchProtocol(std::string_view name);

struct TargetConfig {
  // http://HOST[:PORT][/PATH]; the path, when given and `endpoint` is empty,
  // is the request target. HOST is an IP literal or a resolvable name.
  std::string url = "http://127.0.0.1:8000";
  BenchProtocol protocol = BenchProtocol::kYoloscope;
  // Request target; "" = the URL's path, else /v1/detect (yoloscope) or
  // /v2/models/{model_name}/infer (kserve).
  std::string endpoint;
  // HTTP method; GET and HEAD send no body.
  std::string method = "POST";
  // kserve: the model to call and the name of its BYTES input. "" = ask the
  // server which model it serves (ServedModelName) before the load starts.
  std::string model_name;
  std::string input_name = "images";
  // Extra header fields sent with every request.
  std::vector<std::pair<std::string, std::string>> headers;
};

// Host, port and path of an http:// URL.
struct ParsedUrl {
  std::string host;
  int port = 80;
  std::string path;  // "" when the URL has none
};
// InvalidArgument for anything but http://HOST[:PORT][/PATH] (https is not
// supported).
StatusOr<ParsedUrl> ParseHttpUrl(std::string_view url);

struct PreparedRequest {
  std::string prefix;
  std::string_view payload;  // borrowed; empty for a body-less request
  size_t size() const { return prefix.size() + payload.size(); }
};

class RequestBuilder {
 public:
  // InvalidArgument for a bad URL, method or (kserve) an empty model name.
  static StatusOr<RequestBuilder> Create(const TargetConfig& config);

  // The request for `image` (which must outlive the result).
  PreparedRequest Build(const EncodedImage& image) const;

  bool sends_body() const { return sends_body_; }
  const ParsedUrl& url() const { return url_; }
  const std::string& target() const { return target_; }

 private:
  TargetConfig config_;
  ParsedUrl url_;
  std::string target_;
  bool sends_body_ = true;
  std::string common_headers_;  // Host, extras: "Name: value\r\n" each
};

}  // namespace yoloscope
