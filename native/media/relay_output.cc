#include "media/relay_output.h"

#include <chrono>

namespace streamcoder {

namespace {

double EpochMs() {
  using namespace std::chrono;
  return double(duration_cast<microseconds>(system_clock::now().time_since_epoch()).count()) / 1000.0;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

bool IsVideoPacket(const RelayItem& item) {
  return item.input.kind == MediaInput::Kind::kPacket && item.input.packetType == AVMEDIA_TYPE_VIDEO;
}

}  // namespace

RelayOutput::RelayOutput(RelayOutputOptions options, std::function<void()> changed, std::function<void()> room)
    : options_(std::move(options)), changed_(std::move(changed)), room_(std::move(room)) {
  // Started again mid-stream, a copied video stream begins at a keyframe.
  needKey_ = options_.rejoining;
}

RelayOutput::~RelayOutput() {
  Abort();
  if (thread_.joinable()) thread_.join();
}

void RelayOutput::Start() { thread_ = std::thread([this] { Run(); }); }

size_t RelayOutput::pictures() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queuedPictures_;
}

void RelayOutput::Push(SharedItem item) {
  // An output without sound (audio: false) is given none.
  if (!item->isPicture() && options_.writer.audio == StreamMode::kNone) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!accepting_) return;
    if (item->isPicture()) {
      ++queuedPictures_;
      stats_.maxDepth = std::max(stats_.maxDepth, queuedPictures_);
    }
    queue_.push_back(std::move(item));
  }
  wake_.notify_one();
}

void RelayOutput::Seed(const RelayOutput& other) {
  std::deque<SharedItem> items;
  {
    std::lock_guard<std::mutex> lock(other.mutex_);
    items = other.queue_;
  }
  for (SharedItem& item : items) Push(std::move(item));
}

void RelayOutput::DropOldestPicture() {
  std::lock_guard<std::mutex> lock(mutex_);
  while (!queue_.empty()) {
    SharedItem item = std::move(queue_.front());
    queue_.pop_front();
    if (!item->isPicture()) continue;
    --queuedPictures_;
    if (IsVideoPacket(*item)) needKey_ = true;
    return;
  }
}

void RelayOutput::End() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ended_ = true;
  }
  accepting_ = false;
  wake_.notify_one();
}

void RelayOutput::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopRequested_ = true;
    ended_ = true;
  }
  accepting_ = false;
  wake_.notify_one();
  std::lock_guard<std::mutex> lock(writerMutex_);
  if (writer_) writer_->CancelWait();
}

void RelayOutput::Abort() {
  Stop();
  std::lock_guard<std::mutex> lock(writerMutex_);
  if (writer_) writer_->Abort();
}

RelayOutputStats RelayOutput::stats() const {
  RelayOutputStats stats;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stats = stats_;
    stats.depth = queuedPictures_;
  }
  std::lock_guard<std::mutex> lock(const_cast<std::mutex&>(writerMutex_));
  if (writer_ && writer_->isOpen()) stats.writer = writer_->stats();
  return stats;
}

void RelayOutput::SetState(RelayOutputState state, std::optional<Failure> error) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.state = state;
    if (error) stats_.error = std::move(error);
  }
  if (changed_) changed_();
}

SharedItem RelayOutput::Pop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    if (stopRequested_) return nullptr;
    if (queue_.empty()) {
      if (ended_) return nullptr;
      ++stats_.consumerWaits;
      wake_.wait(lock, [this] { return stopRequested_ || ended_ || !queue_.empty(); });
      continue;
    }
    SharedItem item = std::move(queue_.front());
    queue_.pop_front();
    if (item->isPicture()) --queuedPictures_;
    if (needKey_ && IsVideoPacket(*item)) {
      // The pictures after a lost one refer to it: a copied stream resumes at a keyframe.
      if (!item->input.keyFrame) {
        lock.unlock();
        if (room_) room_();
        lock.lock();
        continue;
      }
      needKey_ = false;
    }
    lock.unlock();
    if (item->isPicture() && room_) room_();
    return item;
  }
}

void RelayOutput::Run() {
  using Clock = std::chrono::steady_clock;
  std::optional<Failure> failure = FailureOf([&] {
    auto writer = std::make_unique<MediaWriter>(options_.writer);
    MediaWriter* w = writer.get();
    {
      std::lock_guard<std::mutex> lock(writerMutex_);
      writer_ = std::move(writer);
      if (stopRequested_) w->Abort();  // stopped before it began: the open gives up at once
    }
    w->Open();
    running_ = true;
    SetState(RelayOutputState::kRunning);
    Clock::time_point first;
    bool any = false;
    for (SharedItem item = Pop(); item; item = Pop()) {
      const Clock::time_point started = Clock::now();
      const bool picture = item->isPicture();
      if (picture && !any) {
        any = true;
        first = started;
        std::lock_guard<std::mutex> lock(mutex_);
        stats_.firstPictureAt = EpochMs();
      }
      try {
        w->Write(item->input, options_.realtime);
      } catch (const Failure& error) {
        // A Stop cut a deadline's wait short: not a failure of the output.
        if (error.code() == "ERR_CLOSED" && stopRequested_) break;
        throw;
      }
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.busySeconds += SecondsSince(started);
      if (picture) {
        ++stats_.frames;
        stats_.streamSeconds = SecondsSince(first);
      }
    }
    const Clock::time_point closing = Clock::now();
    w->Finish();
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.busySeconds += SecondsSince(closing);
  });
  accepting_ = false;
  running_ = false;
  {
    // The last figures stay readable once the writer (and its connection) is gone.
    std::lock_guard<std::mutex> lock(writerMutex_);
    if (writer_ && writer_->isOpen()) {
      std::lock_guard<std::mutex> statsLock(mutex_);
      stats_.writer = writer_->stats();
    }
    writer_.reset();
  }
  {
    // What is still queued is never written: free it now (pictures go back to the pool).
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.clear();
    queuedPictures_ = 0;
  }
  if (room_) room_();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // A failure once stopped (a connect or a wait cut short) is the stop's doing, not the output's.
    if (failure && !stopRequested_) {
      stats_.state = RelayOutputState::kFailed;
      stats_.error = std::move(failure);
    } else {
      stats_.state = stopRequested_ ? RelayOutputState::kStopped : RelayOutputState::kDone;
    }
  }
  finished_ = true;
  if (changed_) changed_();
}

}  // namespace streamcoder
