#include "bench/request_builder.h"

#include <charconv>
#include <cstdint>

namespace yoloscope {

std::string_view BenchProtocolName(BenchProtocol protocol) {
  switch (protocol) {
    case BenchProtocol::kKServe:
      return "kserve";
    case BenchProtocol::kKServeGrpc:
      return "kserve-grpc";
    case BenchProtocol::kYoloscope:
      break;
  }
  return "yoloscope";
}

StatusOr<BenchProtocol> ParseBenchProtocol(std::string_view name) {
  if (name == "yoloscope") return BenchProtocol::kYoloscope;
  if (name == "kserve") return BenchProtocol::kKServe;
  if (name == "kserve-grpc") return BenchProtocol::kKServeGrpc;
  return InvalidArgumentError("protocol must be 'yoloscope', 'kserve' or 'kserve-grpc', not '" +
                              std::string(name) + "'");
}

StatusOr<ParsedUrl> ParseHttpUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return InvalidArgumentError("URL must start with http:// (got '" + std::string(url) + "')");
  }
  std::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  ParsedUrl out;
  if (slash != std::string_view::npos) out.path = std::string(rest.substr(slash));
  if (!authority.empty() && authority.front() == '[') {  // [v6]:port
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return InvalidArgumentError("bad IPv6 host in URL");
    out.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() != ':') {
      return InvalidArgumentError("bad URL authority");
    }
  } else {
    size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    authority = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
  }
  if (!authority.empty()) {  // ":port"
    std::string_view digits = authority.substr(1);
    int port = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc() || p != digits.data() + digits.size() || port < 1 || port > 65535) {
      return InvalidArgumentError("bad port in URL '" + std::string(url) + "'");
    }
    out.port = port;
  }
  if (out.host.empty()) return InvalidArgumentError("URL has no host: '" + std::string(url) + "'");
  return out;
}

StatusOr<RequestBuilder> RequestBuilder::Create(const TargetConfig& config) {
  RequestBuilder b;
  b.config_ = config;
  YS_ASSIGN_OR_RETURN(b.url_, ParseHttpUrl(config.url));
  if (config.method.empty() || config.method.find_first_of(" \r\n") != std::string::npos) {
    return InvalidArgumentError("bad HTTP method '" + config.method + "'");
  }
  if (!config.endpoint.empty()) {
    b.target_ = config.endpoint;
  } else if (!b.url_.path.empty() && b.url_.path != "/") {
    b.target_ = b.url_.path;
  } else if (config.protocol == BenchProtocol::kKServe) {
    if (config.model_name.empty()) return InvalidArgumentError("kserve needs a model name");
    b.target_ = "/v2/models/" + config.model_name + "/infer";
  } else {
    b.target_ = "/v1/detect";
  }
  if (b.target_.front() != '/') b.target_.insert(b.target_.begin(), '/');
  b.sends_body_ = config.method != "GET" && config.method != "HEAD";
  std::string host =
      b.url_.host.find(':') != std::string::npos ? "[" + b.url_.host + "]" : b.url_.host;
  b.common_headers_ = "Host: " + host + ":" + std::to_string(b.url_.port) + "\r\n";
  for (const auto& [name, value] : config.headers) {
    b.common_headers_ += name + ": " + value + "\r\n";
  }
  return b;
}

PreparedRequest RequestBuilder::Build(const EncodedImage& image) const {
  PreparedRequest r;
  r.prefix = config_.method + " " + target_ + " HTTP/1.1\r\n" + common_headers_;
  if (!sends_body_) {
    r.prefix += "\r\n";
    return r;
  }
  if (config_.protocol == BenchProtocol::kKServe) {
    const size_t element = 4 + image.bytes.size();
    std::string json = R"({"inputs":[{"name":")" + config_.input_name +
                       R"(","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":)" +
                       std::to_string(element) + "}}]}";
    r.prefix += "Content-Type: application/octet-stream\r\n";
    r.prefix += "Inference-Header-Content-Length: " + std::to_string(json.size()) + "\r\n";
    r.prefix += "Content-Length: " + std::to_string(json.size() + element) + "\r\n\r\n";
    r.prefix += json;
    const uint32_t n = static_cast<uint32_t>(image.bytes.size());
    const char len[4] = {static_cast<char>(n & 0xff), static_cast<char>((n >> 8) & 0xff),
                         static_cast<char>((n >> 16) & 0xff), static_cast<char>(n >> 24)};
    r.prefix.append(len, 4);
  } else {
    r.prefix += "Content-Type: " + image.content_type + "\r\n";
    r.prefix += "Content-Length: " + std::to_string(image.bytes.size()) + "\r\n\r\n";
  }
  r.payload = image.bytes;
  return r;
}

}  // namespace yoloscope
