// Responder: the completion handle of one request. A handler gets one with
// each Request and completes it exactly once with Send, at once or later
// from any thread (e.g. a postprocess worker); the server then writes the
// response on the connection's I/O thread.
//
// Ownership and lifetime: move-only. A Responder may outlive its connection
// and even the HttpServer: Send then does nothing. Destroying a Responder
// that was never sent answers 500 so a client never waits forever on a
// dropped request.
//
// Thread-safety: one Responder is used by one thread at a time (move it to
// hand it over); Send on different Responders is safe concurrently, from any
// thread, including the server's I/O threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "http/request.h"
#include "http/response.h"

namespace yoloscope::http {

class Responder;

// What HttpServer calls for every complete request, on an I/O thread: it
// must not block; hand heavy work to another thread together with the
// Responder. Exceptions are caught (the Responder, destroyed unsent, then
// answers 500).
using HttpHandler = std::function<void(Request request, Responder responder)>;

namespace internal {

// Implemented by the server's connection.
class ResponseTarget {
 public:
  virtual ~ResponseTarget() = default;
  // Called with the gate held, from any thread: hands `response` for request
  // number `sequence` to the connection's I/O thread. Must not block.
  virtual void PostResponse(uint64_t sequence, Response&& response) = 0;
};

// Shared by the server and every Responder it made; closed (under `mu`)
// before the server's I/O contexts are destroyed so a late Send never
// touches them.
struct ResponderGate {
  std::mutex mu;
  bool open = true;  // Guarded by mu.
};

}  // namespace internal

class Responder {
 public:
  // An empty Responder: Send does nothing, pending() is false.
  Responder() = default;
  // Used by the server: completes request `sequence` of `target`.
  Responder(std::weak_ptr<internal::ResponseTarget> target,
            std::shared_ptr<internal::ResponderGate> gate, uint64_t sequence);
  // A Responder that calls `callback` (on the thread calling Send) instead of
  // writing to a socket: for handler tests and in-process callers.
  static Responder FromCallback(std::function<void(Response&&)> callback);

  Responder(Responder&& other) noexcept;
  Responder& operator=(Responder&& other) noexcept;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder();

  // Completes the request; the Responder is empty afterwards. Never blocks on
  // I/O (it posts to the connection) and never throws.
  void Send(Response response);

  // Whether Send has yet to be called on this handle.
  bool pending() const { return pending_; }

 private:
  void Reset();

  std::weak_ptr<internal::ResponseTarget> target_;
  std::shared_ptr<internal::ResponderGate> gate_;
  std::function<void(Response&&)> callback_;
  uint64_t sequence_ = 0;
  bool pending_ = false;
};

}  // namespace yoloscope::http
