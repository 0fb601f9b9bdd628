// The concurrency rules every binding object follows, in one place: one operation at a time
// (a second while an async one runs is ERR_BUSY, never silently queued), nothing after close
// (ERR_CLOSED), and close() waits for the operation in flight by taking the same mutex.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>

#include "base/failure.h"

namespace streamcoder {

class OperationGate {
 public:
  explicit OperationGate(std::string what) : what_(std::move(what)) {}
  OperationGate(const OperationGate&) = delete;
  OperationGate& operator=(const OperationGate&) = delete;

  // JS thread: throws unless the object is open and idle.
  void CheckIdle() const {
    if (closed_.load(std::memory_order_acquire)) throw Failure("ERR_CLOSED", "The " + what_ + " is closed");
    if (busy_.load(std::memory_order_acquire)) {
      throw Failure("ERR_BUSY", "The " + what_ + " is busy with another operation; await it first");
    }
  }

  // JS thread: CheckIdle, then busy until the returned callback runs (when the Promise settles,
  // on the JS thread, so no JS code can see the object idle before it has its result).
  std::function<void()> BeginAsync() {
    CheckIdle();
    busy_.store(true, std::memory_order_release);
    return [this] { busy_.store(false, std::memory_order_release); };
  }

  // Held by whichever thread works on the object.
  std::mutex& mutex() { return mutex_; }

  // True the first time only.
  bool MarkClosed() { return !closed_.exchange(true, std::memory_order_acq_rel); }
  bool closed() const { return closed_.load(std::memory_order_acquire); }

 private:
  const std::string what_;
  std::mutex mutex_;
  std::atomic<bool> busy_{false};
  std::atomic<bool> closed_{false};
};

}  // namespace streamcoder
