// RingQueue<T>: a fixed-capacity FIFO over a buffer allocated once at
// construction, so pushing and popping never allocate. It also supports
// removing arbitrary elements in place while keeping the order of the rest
// (the batcher drops expired requests from the middle of its queues).
//
// T must be default-constructible and move-assignable; popped and removed
// slots are reset to T{} so the queue never keeps a moved-from payload alive
// (e.g. a shared_ptr's referent).
// Thread-safety: thread-compatible (the owner synchronizes).
#pragma once

#include <cassert>
#include <cstddef>
#include <utility>
#include <vector>

namespace yoloscope {

template <typename T>
class RingQueue {
 public:
  explicit RingQueue(size_t capacity) : slots_(capacity > 0 ? capacity : 1) {}

  size_t size() const { return size_; }
  size_t capacity() const { return slots_.size(); }
  bool empty() const { return size_ == 0; }
  bool full() const { return size_ == slots_.size(); }

  // Appends `value`. Requires !full().
  void PushBack(T&& value) {
    assert(!full());
    slots_[Index(size_)] = std::move(value);
    ++size_;
  }

  // The element `i` places from the front (0 = oldest). Requires i < size().
  T& At(size_t i) { return slots_[Index(i)]; }
  const T& At(size_t i) const { return slots_[Index(i)]; }
  T& Front() { return At(0); }
  const T& Front() const { return At(0); }

  // Removes and returns the oldest element. Requires !empty().
  T PopFront() {
    assert(!empty());
    T out = std::move(slots_[head_]);
    slots_[head_] = T{};
    head_ = head_ + 1 == slots_.size() ? 0 : head_ + 1;
    --size_;
    return out;
  }

  // Removes every element for which `pred(const T&)` is true, handing each
  // to `sink(T&&)` oldest first; the rest keep their order. Returns how many
  // were removed. O(size()).
  template <typename Pred, typename Sink>
  size_t RemoveIf(Pred pred, Sink sink) {
    size_t kept = 0;
    for (size_t i = 0; i < size_; ++i) {
      T& slot = At(i);
      if (pred(static_cast<const T&>(slot))) {
        sink(std::move(slot));
        slot = T{};
      } else {
        if (kept != i) {
          At(kept) = std::move(slot);
          slot = T{};
        }
        ++kept;
      }
    }
    const size_t removed = size_ - kept;
    size_ = kept;
    return removed;
  }

 private:
  size_t Index(size_t i) const {
    size_t j = head_ + i;
    return j >= slots_.size() ? j - slots_.size() : j;
  }

  std::vector<T> slots_;
  size_t head_ = 0;
  size_t size_ = 0;
};

}  // namespace yoloscope
