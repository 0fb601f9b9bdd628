// WriteQueue: what `encode`/`serve` hand over, copied, written in order by one pool task (the
// drain) that runs while the queue has items, so that a loop of `await encoder.encode(item)` pays
// no thread hop per item. Bounded: Push says when the queue is full, and its caller waits for
// room. A write that fails does not end the queue: that item is refused, as a sync call would
// have been, the others are written, and the first failure waits for TakeFailure.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "base/failure.h"
#include "js/buffer_pool.h"
#include "media/media_writer.h"

namespace streamcoder {

class WriteQueue {
 public:
  // One item and the copy of its bytes that `input.data` points into.
  struct Item {
    MediaInput input;
    std::optional<PooledBuffer> picture;  // a picture's bytes
    std::vector<uint8_t> bytes;           // sound or a packet
    size_t size() const { return picture ? picture->size() : bytes.size(); }
  };

  // The queue holds at most this many items, or bytes (one item always fits).
  static constexpr size_t kMaxItems = 64;
  static constexpr size_t kMaxBytes = size_t(32) << 20;

  WriteQueue() = default;
  WriteQueue(const WriteQueue&) = delete;
  WriteQueue& operator=(const WriteQueue&) = delete;

  // Adds `item`. Returns true when no drain runs, and the caller must start one; `*full` says
  // whether the queue is full now (the caller then waits for the drain to end).
  bool Push(Item item, bool* full);
  // Pool thread: writes the items with `write` until the queue is empty. An empty queue is
  // waited on a moment for the next item (an item produced a little slower than it is written
  // would otherwise start a drain, a thread hop, of its own), unless someone waits for the
  // drain to end: WaitDrained, or a Push that found the queue full.
  void Drain(const std::function<void(const MediaInput&)>& write);
  // Any thread: waits until no drain runs (what comes after goes after what is queued).
  void WaitDrained();
  // Any thread: the first failure a drain met since the last call, taken.
  std::optional<Failure> TakeFailure();
  // Any thread: whether a drain's end left room, or a failure to report.
  bool RoomOrFailure();

 private:
  static constexpr int kLingerUs = 2000;

  bool FullLocked() const { return items_.size() >= kMaxItems || bytes_ >= kMaxBytes; }

  std::mutex mutex_;
  std::condition_variable pushed_;
  std::condition_variable drained_;
  std::deque<Item> items_;
  size_t bytes_ = 0;
  bool draining_ = false;
  // Someone waits for the drain to end: it does not linger.
  int waiters_ = 0;
  bool fullWaiter_ = false;
  std::optional<Failure> failure_;
};

}  // namespace streamcoder
