// Fuzzes what an HTTP connection does with the bytes a client sends: the
// Boost.Beast request parser with the connection's limits (header and body
// size), pipelined requests one after another as the connection reads them,
// then Request::Impl::Finish (target split, query parsing), Router dispatch
// over serve's route patterns, and a handler that reads every accessor and
// parses Content-Type and multipart bodies as the inference handlers do.
// Property: every response body is valid UTF-8 JSON.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz/fuzz_input.h"
#include "http/http_server.h"
#include "http/media_type.h"
#include "http/multipart_form.h"
#include "http/request_impl.h"
#include "http/router.h"

namespace yoloscope::http {
namespace {

namespace bhttp = boost::beast::http;
using Parser = bhttp::request_parser<bhttp::string_body>;

// Valid UTF-8 (RFC 3629: no overlongs, surrogates or code points > 10FFFF).
bool IsValidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    size_t extra;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;
    for (size_t k = 1; k <= extra; ++k) {
      unsigned char cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

void CheckResponse(const Response& response) {
  if (response.content_type == "application/json") {
    fuzz::Check(IsValidUtf8(response.body), "a JSON response body is not valid UTF-8");
  }
}

// What the inference handlers read of a request.
void ReadEverything(const Request& request) {
  size_t total = request.method().size() + request.path().size() + request.query().size();
  for (const auto& [key, value] : request.query_params()) total += key.size() + value.size();
  request.ForEachHeader(
      [&](std::string_view name, std::string_view value) { total += name.size() + value.size(); });
  total += request.route().size() + request.body().size();
  if (auto model = request.path_param("model")) total += model->size();
  if (auto content_type = request.header("content-type")) {
    auto media = MediaType::Parse(*content_type);
    if (media.ok() && media->Is("multipart/form-data")) {
      auto form = MultipartForm::Parse(*content_type, request.body());
      if (form.ok()) {
        for (const MultipartPart& part : form->parts()) total += part.data.size();
      }
    }
  }
  fuzz::Check(total < (size_t{1} << 40), "absurd request size");
}

const Router& ServeRoutes() {
  static const Router* router = [] {
    auto* r = new Router();
    auto handler = [](Request request, Responder responder) {
      ReadEverything(request);
      responder.Send(Response::Error(400, "request " + std::string(request.target())));
    };
    for (const char* pattern : {"/v1/detect", "/v2/models/{model}/infer"}) {
      (void)r->Add("POST", pattern, handler);
    }
    for (const char* pattern : {"/v1/stats", "/v2/models/{model}", "/metrics", "/v2/health/live",
                                "/v2/health/ready", "/v2", "/v2/models/{model}/ready"}) {
      (void)r->Add("GET", pattern, handler);
    }
    return r;
  }();
  return *router;
}

void Dispatch(Parser& parser) {
  auto impl = std::make_unique<Request::Impl>();
  impl->message = parser.release();
  impl->peer = "127.0.0.1:1234";
  impl->Finish();
  (void)impl->message.keep_alive();
  ServeRoutes().Dispatch(Request(std::move(impl)), Responder::FromCallback([](Response&& response) {
                           CheckResponse(response);
                         }));
}

}  // namespace
}  // namespace yoloscope::http

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace yoloscope::http;
  static const HttpServerConfig config;
  // Small limits sometimes, so that the 413 / 431 paths are reached.
  yoloscope::fuzz::FuzzInput input(data, size);
  const uint8_t mode = input.TakeByte();
  const uint32_t header_limit = (mode & 1) ? 256 : config.max_header_bytes;
  const uint64_t body_limit = (mode & 2) ? 64 : config.max_body_bytes;
  std::string_view bytes = input.rest();

  std::optional<Parser> parser;
  int requests = 0;
  while (!bytes.empty() && requests < 64) {
    parser.emplace();
    parser->header_limit(header_limit);
    parser->body_limit(body_limit);
    boost::beast::error_code ec;
    // As the connection does: the header first, then the body.
    while (!ec && !parser->is_done() && !bytes.empty()) {
      size_t used = parser->put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
      bytes.remove_prefix(used);
      if (ec == bhttp::error::need_more) {
        if (bytes.empty()) return 0;  // The client stopped mid-request.
        ec = {};
        if (used == 0) return 0;  // Needs more than there is.
      } else if (used == 0 && !ec && !parser->is_done() && !parser->is_header_done()) {
        return 0;
      }
    }
    if (ec || !parser->is_done()) {
      // The connection answers 413 / 431 / 400 with Response::Error.
      CheckResponse(Response::Error(400, "malformed HTTP request: " + ec.message()));
      return 0;
    }
    Dispatch(*parser);
    ++requests;
  }
  return 0;
}
