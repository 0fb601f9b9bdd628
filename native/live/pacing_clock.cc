#include "live/pacing_clock.h"

#include <algorithm>
#include <cmath>
#include <thread>

#include "base/failure.h"

namespace streamcoder {

double PacingClock::Wait(double position, const std::function<bool()>& aborted) const {
  Clock::time_point start;
  double first;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!started_) return 0;  // the first item sets the clock: due now
    start = start_;
    first = first_;
  }
  // In integer nanoseconds: positions are at most 10^9 s apart (kMaxTimelineSeconds), so the
  // offset is at most 10^18 ns, within int64 and within steady_clock's range from any moment this
  // century (a double offset cast to the clock's ticks overflowed for pts 1e15).
  const auto offset = std::chrono::nanoseconds(int64_t(std::llround((position - first) * 1e9)));
  const auto due = start + std::chrono::duration_cast<Clock::duration>(offset);
  // Sleep in slices so that close() from another thread is not kept waiting.
  for (auto now = Clock::now(); now < due; now = Clock::now()) {
    if (aborted() || cancelled_.load(std::memory_order_acquire)) {
      throw Failure("ERR_CLOSED", "Closed while waiting to serve a frame");
    }
    std::this_thread::sleep_until(std::min(due, now + std::chrono::milliseconds(50)));
  }
  return std::max(0.0, std::chrono::duration<double>(Clock::now() - due).count());
}

void PacingClock::Served(double position) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!started_) {
    started_ = true;
    start_ = Clock::now();
    first_ = last_ = position;
    return;
  }
  last_ = std::max(last_, position);
}

PacingClock::Reading PacingClock::Read() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Reading reading;
  reading.started = started_;
  reading.first = first_;
  reading.last = last_;
  if (started_) reading.elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  return reading;
}

}  // namespace streamcoder
