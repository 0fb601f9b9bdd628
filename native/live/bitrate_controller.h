// BitrateController: adaptive bitrate for a live output. It watches what the link really carries
// (bytes the writes took per second, and the share of the time they spent blocked because the
// socket was full) and how far the served timeline has fallen behind the wall clock:
// - congestion (writes blocked a third of the time and the timeline late, or it 0.3 s behind): the target
//   drops at once to what got through, less a margin so the backlog drains (more when behind, so
//   the timeline catches up), never below `min`, and holds there a moment while the queues empty;
// - clear for a while: it climbs back, 10 % at most per step, a step every few seconds, up to `max`.
// Pure arithmetic on the times it is given (seconds on a monotonic clock).
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>

namespace streamcoder {

struct AdaptiveBitRate {
  bool enabled = false;
  int64_t start = 0;
  int64_t min = 0;
  int64_t max = 0;
};

class BitrateController {
 public:
  enum class Reason { kCongestion, kRecovery };
  struct Change {
    int64_t bitRate = 0;
    Reason reason = Reason::kCongestion;
    double throughput = 0;  // bits per second that got through in the last window
  };

  explicit BitrateController(AdaptiveBitRate range) : range_(range), target_(range.start) {}

  // Writes to the link, finished at `now`, took `bytes` in `seconds`; of them, those that blocked
  // on a full socket took `blockedBytes` in `blockedSeconds`.
  void Written(double now, int64_t bytes, double seconds, int64_t blockedBytes, double blockedSeconds) {
    windowBytes_ += bytes;
    windowBlocked_ += seconds;
    // From the first write that blocked on, bytes go at the pace the link frees room in the
    // socket: the bytes since then over the time since then is what the link carries.
    if (blockedBytes > 0 && std::isnan(blockedSince_)) blockedSince_ = now - blockedSeconds;
    if (!std::isnan(blockedSince_)) bytesSinceBlocked_ += bytes;
  }
  // Judges the window that ends at `now`, the served timeline being `lead` s ahead of the wall
  // clock (negative: behind). Returns the new target when it changes.
  std::optional<Change> Evaluate(double now, double lead);
  // The link was down (reconnecting): what was measured says nothing of its capacity.
  void Reset(double now);

  int64_t target() const { return target_; }

 private:
  const AdaptiveBitRate range_;
  int64_t target_;
  bool started_ = false;
  double windowStart_ = 0;
  int64_t windowBytes_ = 0;
  double windowBlocked_ = 0;
  double blockedSince_ = NAN;  // when the first write of the window that blocked began
  int64_t bytesSinceBlocked_ = 0;
  double holdUntil_ = 0;      // no step up before this (the queues drain after a step down)
  double holdDownUntil_ = 0;  // no early step down before this
  double clearSince_ = 0;  // since when the link has kept up
};

}  // namespace streamcoder
