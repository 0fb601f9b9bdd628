#include "js/write_queue.h"

#include <chrono>

namespace streamcoder {

bool WriteQueue::Push(Item item, bool* full) {
  bool start;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    bytes_ += item.size();
    items_.push_back(std::move(item));
    start = !draining_;
    draining_ = true;
    *full = FullLocked();
    fullWaiter_ = *full;
  }
  pushed_.notify_one();
  return start;
}

void WriteQueue::Drain(const std::function<void(const MediaInput&)>& write) {
  for (;;) {
    std::optional<Item> item;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (items_.empty() && waiters_ == 0 && !fullWaiter_) {
        pushed_.wait_for(lock, std::chrono::microseconds(kLingerUs),
                         [this] { return !items_.empty() || waiters_ > 0 || fullWaiter_; });
      }
      if (items_.empty()) {
        draining_ = false;
        drained_.notify_all();
        return;
      }
      item.emplace(std::move(items_.front()));
      items_.pop_front();
      bytes_ -= item->size();
    }
    std::optional<Failure> failed = FailureOf([&] { write(item->input); });
    if (failed) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!failure_) failure_ = std::move(failed);
    }
  }
}

void WriteQueue::WaitDrained() {
  std::unique_lock<std::mutex> lock(mutex_);
  ++waiters_;
  pushed_.notify_all();  // a lingering drain ends now
  drained_.wait(lock, [this] { return !draining_; });
  --waiters_;
}

std::optional<Failure> WriteQueue::TakeFailure() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::optional<Failure> failed = std::move(failure_);
  failure_.reset();
  return failed;
}

bool WriteQueue::RoomOrFailure() {
  std::lock_guard<std::mutex> lock(mutex_);
  return failure_.has_value() || !FullLocked();
}

}  // namespace streamcoder
