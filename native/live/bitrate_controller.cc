#include "live/bitrate_controller.h"

#include <algorithm>
#include <cmath>

namespace streamcoder {

namespace {

// Measurements are judged half a second at a time: congestion shows only once the buffers on the
// way are full and the writes block, and from then on the served timeline falls behind fast.
constexpr double kWindowSeconds = 0.5;
constexpr double kBlockedShare = 0.3;    // writes blocked this much of the window: congested
constexpr double kBehindSeconds = 0.3;   // or the served timeline this far behind
constexpr double kLateSeconds = 0.06;    // blocked writes count when they make it this late
constexpr double kDrainMargin = 0.8;     // step down below what got through, so the backlog drains
constexpr double kCatchUpMargin = 0.6;   // further when behind, so the timeline catches up
constexpr double kHoldSeconds = 2.0;     // after a step down, no step up for this long
constexpr double kClearSeconds = 3.0;    // kept up this long before the first step up
constexpr double kStepSeconds = 2.0;     // then a step every this often
constexpr double kStepUp = 1.10;         // of at most 10 %
constexpr double kClearBlockedShare = 0.1;  // clear: writes rarely blocked,
constexpr double kClearBehindSeconds = 0.2;  // and the timeline about on time
constexpr double kMinBlockedSpan = 0.1;  // time since a write blocked enough to measure the link by

}  // namespace

void BitrateController::Reset(double now) {
  windowStart_ = now;
  windowBytes_ = 0;
  windowBlocked_ = 0;
  blockedSince_ = NAN;
  bytesSinceBlocked_ = 0;
  holdUntil_ = now + kHoldSeconds;
  clearSince_ = now;
}

std::optional<BitrateController::Change> BitrateController::Evaluate(double now, double lead) {
  if (!started_) {
    started_ = true;
    Reset(now);
    holdUntil_ = now;
    return std::nullopt;
  }
  const double span = now - windowStart_;
  // Writes blocked for a good part of a window already: judged now, not at the window's end (the
  // served timeline falls behind fast while they block).
  const bool blockedEarly = windowBlocked_ >= kBlockedShare * kWindowSeconds && lead < -kLateSeconds && now >= holdDownUntil_;
  if (span < kWindowSeconds && !blockedEarly) return std::nullopt;
  // What the link carries: the bytes written since the first write of the window that blocked,
  // over the time since (room in a full socket frees at the link's pace; the writes before it
  // went into buffers on the way, far faster). With no blocked write, all bytes over the window.
  const double blocked = windowBlocked_ / span;
  const double sinceBlocked = now - blockedSince_;
  const double throughput = sinceBlocked >= kMinBlockedSpan ? double(bytesSinceBlocked_) * 8 / sinceBlocked
                                                            : double(windowBytes_) * 8 / span;
  windowStart_ = now;
  windowBytes_ = 0;
  windowBlocked_ = 0;
  blockedSince_ = NAN;
  bytesSinceBlocked_ = 0;
  // Writes that block while the timeline keeps time are buffers doing their work (a backlog
  // draining after a step down): only blocking that makes the push late is congestion.
  const bool congested = (blocked > kBlockedShare && lead < -kLateSeconds) || lead < -kBehindSeconds;
  // A step down may follow another a window later: the first window of a congestion still counts
  // the bytes the buffers on the way absorbed, the next ones only what the link carried.
  if (congested) {
    clearSince_ = now;
    // What got through, less a margin; when little got through because the timeline is behind
    // for another reason (a slow producer), the target still drops by a step at least.
    const double margin = lead < -kBehindSeconds ? kCatchUpMargin : kDrainMargin;
    const double measured = std::min(throughput * margin, double(target_) / kStepUp);
    const int64_t next = std::max(range_.min, int64_t(std::llround(measured)));
    if (next >= target_) return std::nullopt;
    target_ = next;
    holdUntil_ = now + kHoldSeconds;
    holdDownUntil_ = now + kWindowSeconds;  // the next step down judges a window of the new rate
    return Change{target_, Reason::kCongestion, throughput};
  }
  if (now < holdUntil_) return std::nullopt;
  if (blocked > kClearBlockedShare || lead < -kClearBehindSeconds) {
    clearSince_ = now;
    return std::nullopt;
  }
  if (target_ >= range_.max || now - clearSince_ < kClearSeconds) return std::nullopt;
  target_ = std::min(range_.max, int64_t(std::llround(double(target_) * kStepUp)));
  // The next step only after this one has been carried for a while.
  clearSince_ = now - kClearSeconds + kStepSeconds;
  return Change{target_, Reason::kRecovery, throughput};
}

}  // namespace streamcoder
