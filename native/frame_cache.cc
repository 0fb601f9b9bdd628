#include "frame_cache.h"

#include <utility>

namespace streamcoder {

void FrameCache::Push(CachedFrame& frame) {
  std::lock_guard<std::mutex> lock(mutex_);
  // Full by count, or by bytes (a cacheSize of large pictures could take the machine's memory):
  // the oldest frames go, counted.
  while (!frames_.empty() && (frames_.size() >= capacity_ || (frames_.size() + 1) * frame.data.size() > maxBytes_)) {
    spare_.push_back(std::move(frames_.front().data));
    frames_.pop_front();
    ++dropped_;
  }
  CachedFrame stored;
  stored.data.swap(frame.data);
  stored.meta = frame.meta;
  frames_.push_back(std::move(stored));
  // Hand the reader a buffer to convert the next frame into.
  while (!spare_.empty() && spare_.back().size() != frames_.back().data.size()) spare_.pop_back();
  if (!spare_.empty()) {
    frame.data.swap(spare_.back());
    spare_.pop_back();
  } else {
    frame.data.assign(frames_.back().data.size(), 0);
  }
  changed_.notify_all();
}

void FrameCache::End() {
  std::lock_guard<std::mutex> lock(mutex_);
  ended_ = true;
  changed_.notify_all();
}

void FrameCache::Fail(const Failure& failure) {
  std::lock_guard<std::mutex> lock(mutex_);
  failure_.emplace(failure);
  ended_ = true;
  changed_.notify_all();
}

void FrameCache::Reopen() {
  std::lock_guard<std::mutex> lock(mutex_);
  ended_ = false;
  failure_.reset();
}

void FrameCache::Close() {
  std::lock_guard<std::mutex> lock(mutex_);
  closed_ = true;
  changed_.notify_all();
}

std::optional<CachedFrame> FrameCache::Next(std::chrono::milliseconds timeout, bool* timedOut) {
  std::unique_lock<std::mutex> lock(mutex_);
  *timedOut = !changed_.wait_for(lock, timeout, [this] { return closed_ || !frames_.empty() || ended_; });
  if (closed_) throw Failure("ERR_CLOSED", "The client was closed");
  if (frames_.empty()) {
    if (failure_) throw *failure_;
    return std::nullopt;  // the end, or the timeout
  }
  CachedFrame frame = std::move(frames_.front());
  frames_.pop_front();
  return frame;
}

size_t FrameCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return frames_.size();
}

int64_t FrameCache::dropped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return dropped_;
}

}  // namespace streamcoder
