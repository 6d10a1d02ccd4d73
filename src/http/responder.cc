#include "http/responder.h"

#include <utility>

namespace yoloscope::http {

Responder::Responder(std::weak_ptr<internal::ResponseTarget> target,
                     std::shared_ptr<internal::ResponderGate> gate, uint64_t sequence)
    : target_(std::move(target)), gate_(std::move(gate)), sequence_(sequence), pending_(true) {}

Responder Responder::FromCallback(std::function<void(Response&&)> callback) {
  Responder responder;
  responder.callback_ = std::move(callback);
  responder.pending_ = static_cast<bool>(responder.callback_);
  return responder;
}

Responder::Responder(Responder&& other) noexcept
    : target_(std::move(other.target_)),
      gate_(std::move(other.gate_)),
      callback_(std::move(other.callback_)),
      sequence_(other.sequence_),
      pending_(std::exchange(other.pending_, false)) {}

Responder& Responder::operator=(Responder&& other) noexcept {
  if (this != &other) {
    // The handle being overwritten still owes its client an answer.
    if (pending_) Send(Response::Error(500, "internal error: the request was dropped"));
    target_ = std::move(other.target_);
    gate_ = std::move(other.gate_);
    callback_ = std::move(other.callback_);
    sequence_ = other.sequence_;
    pending_ = std::exchange(other.pending_, false);
  }
  return *this;
}

Responder::~Responder() {
  if (pending_) Send(Response::Error(500, "internal error: the request was dropped"));
}

void Responder::Send(Response response) {
  if (!pending_) return;
  pending_ = false;
  try {
    if (callback_) {
      callback_(std::move(response));
    } else if (gate_) {
      // The gate keeps the server's I/O contexts alive for the duration of
      // the post; a closed gate means the server is gone and nobody listens.
      std::lock_guard<std::mutex> lock(gate_->mu);
      if (gate_->open) {
        if (std::shared_ptr<internal::ResponseTarget> target = target_.lock()) {
          target->PostResponse(sequence_, std::move(response));
        }
      }
    }
  } catch (...) {
    // Out of memory while posting or a throwing test callback: the request
    // is lost either way, and Send promises not to throw.
  }
  Reset();
}

void Responder::Reset() {
  target_.reset();
  gate_.reset();
  callback_ = nullptr;
}

}  // namespace yoloscope::http
