// FrameCache: the bounded cache between the Client's reading thread and JavaScript. Full means
// the oldest frame is dropped (and counted), never that the reader waits: a live stream cannot
// be paused. The reader converts each frame into a spare buffer of its own and swaps it into a
// slot under the lock, so frames are never copied on the way in; JS copies out what it takes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "failure.h"
#include "media_reader.h"

namespace streamcoder {

struct CachedFrame {
  std::vector<uint8_t> data;
  FrameMeta meta;
};

class FrameCache {
 public:
  // At most `capacity` frames and `maxBytes` of pictures (always at least one frame).
  FrameCache(size_t capacity, size_t maxBytes) : capacity_(capacity), maxBytes_(maxBytes) {}
  FrameCache(const FrameCache&) = delete;
  FrameCache& operator=(const FrameCache&) = delete;

  // Reader thread: takes `frame` (its buffer is swapped for a recycled one of the same size).
  void Push(CachedFrame& frame);
  // The stream ended (nothing more will come) or failed; wakes every waiter.
  void End();
  void Fail(const Failure& failure);
  // Back to the running state (a restart after stop, a reconnect).
  void Reopen();

  // JS: copies of the newest `n` frames, oldest first; fewer when fewer are cached.
  template <typename Sink>
  void Newest(size_t n, Sink&& sink) const {
    std::lock_guard<std::mutex> lock(mutex_);
    size_t count = std::min(n, frames_.size());
    for (size_t i = frames_.size() - count; i < frames_.size(); ++i) sink(frames_[i]);
  }
  // Any thread: the oldest frame, waiting up to `timeout` for one. nullopt at the end of the
  // stream or on timeout (`timedOut` tells which); throws the stream's failure, or ERR_CLOSED.
  std::optional<CachedFrame> Next(std::chrono::milliseconds timeout, bool* timedOut);
  // Wakes every waiter for good (close()).
  void Close();

  size_t size() const;
  int64_t dropped() const;

 private:
  const size_t capacity_;
  const size_t maxBytes_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<CachedFrame> frames_;
  std::vector<std::vector<uint8_t>> spare_;  // buffers of taken or dropped frames, for reuse
  int64_t dropped_ = 0;
  bool ended_ = false;
  bool closed_ = false;
  std::optional<Failure> failure_;
};

}  // namespace streamcoder
