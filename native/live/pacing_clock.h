// PacingClock: the one real-time clock of a paced output (serveFrameBlock / serveBlock). Items of
// every stream are due at absolute deadlines on the monotonic clock, start + (position - first),
// `start` being the moment the first item went out and `first` its place on the output timeline.
// Deadlines are absolute, so sleeping never accumulates drift, and they depend on the items served,
// not on the packets the encoders have emitted (x264's lookahead holds back ~40 frames at first).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>

namespace streamcoder {

class PacingClock {
 public:
  using Clock = std::chrono::steady_clock;

  // Sleeps until `position` (seconds on the output timeline, at most 10^9) is due; at once before
  // the first item went out. Returns how late it is against its deadline (0 when on time). Throws
  // ERR_CLOSED when Cancel() or `aborted` comes while waiting.
  double Wait(double position, const std::function<bool()>& aborted) const;
  // An item at `position` went out: the first one starts the clock.
  void Served(double position);
  // Any thread: a Wait in progress (or to come) gives up.
  void Cancel() { cancelled_.store(true, std::memory_order_release); }

  struct Reading {
    bool started = false;
    double first = 0;    // the first item's position
    double last = 0;     // the latest position served
    double elapsed = 0;  // wall-clock seconds since the first item
  };
  Reading Read() const;  // any thread

 private:
  mutable std::mutex mutex_;
  bool started_ = false;
  Clock::time_point start_{};
  double first_ = 0;
  double last_ = 0;
  std::atomic<bool> cancelled_{false};
};

}  // namespace streamcoder
