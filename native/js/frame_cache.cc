#include "js/frame_cache.h"

#include <utility>

namespace streamcoder {

void FrameCache::Push(CachedFrame& frame) {
  std::lock_guard<std::mutex> lock(mutex_);
  // Full by count, or by bytes (a cacheSize of large pictures could take the machine's memory):
  // the oldest pictures go, counted; audio around them stays.
  while (pictures_ > 0 && (pictures_ >= capacity_ || (pictures_ + 1) * frame.data.size() > maxBytes_)) {
    auto oldest = std::find_if(frames_.begin(), frames_.end(), [](const CachedFrame& f) { return !f.audio; });
    spare_.push_back(std::move(oldest->data));
    frames_.erase(oldest);
    --pictures_;
    ++evicted_;
    if (ordered_) ++dropped_;
  }
  CachedFrame stored;
  stored.data.swap(frame.data);
  stored.meta = frame.meta;
  frames_.push_back(std::move(stored));
  ++pictures_;
  // Hand the reader a buffer to convert the next frame into.
  const size_t size = frames_.back().data.size();
  while (!spare_.empty() && spare_.back().size() != size) spare_.pop_back();
  if (!spare_.empty()) {
    frame.data.swap(spare_.back());
    spare_.pop_back();
  } else {
    frame.data.assign(size, 0);
  }
  changed_.notify_all();
}

void FrameCache::PushAudio(AudioItem&& item, const AudioFormat& format) {
  std::lock_guard<std::mutex> lock(mutex_);
  while (chunks_ > 0 && chunks_ >= audioCapacity_) {
    frames_.erase(std::find_if(frames_.begin(), frames_.end(), [](const CachedFrame& f) { return f.audio != nullptr; }));
    --chunks_;
    ++audioDropped_;
  }
  CachedFrame stored;
  stored.audio = std::make_unique<AudioItem>(std::move(item));
  stored.audioFormat = format;
  frames_.push_back(std::move(stored));
  ++chunks_;
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
  ordered_ = true;
  *timedOut = !changed_.wait_for(lock, timeout, [this] { return closed_ || !frames_.empty() || ended_; });
  if (closed_) throw Failure("ERR_CLOSED", "The client was closed");
  if (frames_.empty()) {
    if (failure_) throw *failure_;
    return std::nullopt;  // the end, or the timeout
  }
  CachedFrame frame = std::move(frames_.front());
  frames_.pop_front();
  if (frame.audio) {
    --chunks_;
  } else {
    --pictures_;
  }
  return frame;
}

size_t FrameCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return pictures_;
}

int64_t FrameCache::audioDropped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return audioDropped_;
}

int64_t FrameCache::evicted() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return evicted_;
}

int64_t FrameCache::dropped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return dropped_;
}

}  // namespace streamcoder
