// Response: what a handler sends back through its Responder. A plain value
// type; the server owns the framing (status line, Date, Content-Length,
// Connection) and serializes the rest as given.
//
// Thread-safety: a value type; build it on any thread and move it into
// Responder::Send.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace yoloscope::http {

struct Response {
  int status = 200;
  // Sent as Content-Type unless empty.
  std::string content_type = "application/json";
  std::string body;
  // Extra header fields, sent in order. Fields the server owns (Content-Length,
  // Transfer-Encoding, Connection, Date, Server) and fields whose name is not an
  // HTTP token or whose value holds CR/LF are dropped.
  std::vector<std::pair<std::string, std::string>> headers;
  // Close the connection after this response even if the client wants keep-alive.
  bool close_connection = false;

  // A 200 (or `status`) response with an application/json body.
  static Response Json(std::string body, int status = 200);
  // `{"error": "<message>"}` with `status` (the message is JSON-escaped).
  static Response Error(int status, std::string_view message);
  // A text/plain response (e.g. Prometheus' text format passes its own type).
  static Response Text(std::string body, int status = 200,
                       std::string content_type = "text/plain; charset=utf-8");
};

// Appends `text` to `out` as the inside of a JSON string (quotes not added):
// escapes '"', '\\' and control characters; valid UTF-8 passes through and
// each invalid byte becomes \ufffd, so the result is always valid UTF-8.
void AppendJsonEscaped(std::string_view text, std::string& out);

}  // namespace yoloscope::http
