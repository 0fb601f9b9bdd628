// FrameCache: the bounded cache between the Client's reading thread and JavaScript. Full means
// the oldest frame is dropped (and counted), never that the reader waits: a live stream cannot
// be paused. Audio chunks (Client audio) wait in the same queue, in the order they were read,
// under a bound of their own (audioCapacity chunks; the oldest chunk dropped and counted). The reader converts each frame into a spare buffer of its own and swaps it into a
// slot under the lock, so frames are never copied on the way in; JS copies out what it takes.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <algorithm>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "base/failure.h"
#include "media/media_reader.h"

namespace streamcoder {

// A picture, or (with `audio` set, `data` then empty) a chunk of sound.
struct CachedFrame {
  std::vector<uint8_t> data;
  FrameMeta meta;
  std::unique_ptr<AudioItem> audio;  // a pointer: a picture's entry stays small
  AudioFormat audioFormat;  // of `audio`
};

class FrameCache {
 public:
  // At most `capacity` frames and `maxBytes` of pictures (always at least one frame).
  FrameCache(size_t capacity, size_t maxBytes, size_t audioCapacity = 256)
      : capacity_(capacity), maxBytes_(maxBytes), audioCapacity_(audioCapacity) {}
  FrameCache(const FrameCache&) = delete;
  FrameCache& operator=(const FrameCache&) = delete;

  // Reader thread: takes `frame` (its buffer is swapped for a recycled one of the same size).
  void Push(CachedFrame& frame);
  // Reader thread: an audio chunk.
  void PushAudio(AudioItem&& item, const AudioFormat& format);
  // The stream ended (nothing more will come) or failed; wakes every waiter.
  void End();
  void Fail(const Failure& failure);
  // Back to the running state (a restart after stop, a reconnect).
  void Reopen();

  // JS: copies of the newest `n` frames (pictures only), oldest first; fewer when fewer are cached.
  template <typename Sink>
  void Newest(size_t n, Sink&& sink) const {
    std::lock_guard<std::mutex> lock(mutex_);
    size_t first = frames_.size(), found = 0;
    while (first > 0 && found < n) {
      if (!frames_[--first].audio) ++found;
    }
    for (size_t i = first; i < frames_.size(); ++i) {
      if (!frames_[i].audio) sink(frames_[i]);
    }
  }
  // Any thread: the oldest frame, waiting up to `timeout` for one. nullopt at the end of the
  // stream or on timeout (`timedOut` tells which); throws the stream's failure, or ERR_CLOSED.
  std::optional<CachedFrame> Next(std::chrono::milliseconds timeout, bool* timedOut);
  // Wakes every waiter for good (close()).
  void Close();

  size_t size() const;  // pictures cached
  // Pictures a full cache let go before anyone read them: `dropped` once the consumer reads in
  // order (Next was called), so a frame lost to it; before, a cache read only for its newest
  // frames (extractFrame(n)) turns over by design, and those count as `evicted` only.
  int64_t dropped() const;
  int64_t evicted() const;
  int64_t audioDropped() const;

 private:
  const size_t capacity_;
  const size_t maxBytes_;
  const size_t audioCapacity_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<CachedFrame> frames_;
  std::vector<std::vector<uint8_t>> spare_;  // buffers of taken or dropped frames, for reuse
  size_t pictures_ = 0;  // entries of frames_ that are pictures
  size_t chunks_ = 0;    // entries that are audio
  int64_t dropped_ = 0;
  int64_t evicted_ = 0;
  bool ordered_ = false;  // Next was called
  int64_t audioDropped_ = 0;
  bool ended_ = false;
  bool closed_ = false;
  std::optional<Failure> failure_;
};

}  // namespace streamcoder
