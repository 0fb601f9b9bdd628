// The interrupt callback that bounds every blocking libav call: FFmpeg polls it while it connects,
// reads and writes, and gives up with AVERROR_EXIT when it returns 1. It fires when the current
// operation has outlived its deadline (timeoutMs) or when another thread asked to abort (close()).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include "base/ffmpeg.h"

namespace streamcoder {

class Interrupter {
 public:
  explicit Interrupter(int64_t timeoutMs = 0) : timeoutMs_(timeoutMs) {}
  Interrupter(const Interrupter&) = delete;
  Interrupter& operator=(const Interrupter&) = delete;

  // Starts the clock for one blocking operation. A timeout, once it fired, stays reported: avio
  // keeps the AVERROR_EXIT it caused and returns it again from later calls without polling.
  void Arm() {
    if (timeoutMs_ > 0) {
      deadlineNs_.store(NowNs() + timeoutMs_ * 1000000, std::memory_order_relaxed);
    }
  }
  void Abort() { aborted_.store(true, std::memory_order_release); }
  void Reset() { aborted_.store(false, std::memory_order_release); }

  bool aborted() const { return aborted_.load(std::memory_order_acquire); }
  bool timedOut() const { return timedOut_.load(std::memory_order_relaxed); }
  int64_t timeoutMs() const { return timeoutMs_; }

  AVIOInterruptCB callback() { return AVIOInterruptCB{&Interrupter::Poll, this}; }

 private:
  static int64_t NowNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  static int Poll(void* opaque) {
    auto* self = static_cast<Interrupter*>(opaque);
    if (self->aborted()) return 1;
    if (self->timeoutMs_ > 0 && NowNs() > self->deadlineNs_.load(std::memory_order_relaxed)) {
      self->timedOut_.store(true, std::memory_order_relaxed);
      return 1;
    }
    return 0;
  }

  const int64_t timeoutMs_;
  std::atomic<int64_t> deadlineNs_{0};
  std::atomic<bool> aborted_{false};
  std::atomic<bool> timedOut_{false};
};

}  // namespace streamcoder
