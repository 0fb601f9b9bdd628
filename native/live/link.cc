#include "live/link.h"

#include <utility>

#include "base/ffmpeg.h"
#include "live/backoff.h"

namespace streamcoder {

namespace {

using Clock = std::chrono::steady_clock;

void Log(int level, const std::string& line) { av_log(nullptr, level, "%s\n", line.c_str()); }

// A session whose server is gone: its trailer and close give up at once, and what they say is moot.
void Discard(std::unique_ptr<Output> session) {
  if (!session) return;
  session->Abort();
  try {
    session->Close();
  } catch (const Failure&) {
  }
}

// How a lost connection fails a write: reset or broken pipe, an I/O error, the end of the stream,
// no answer within timeoutMs. Anything else (a bad packet, no memory, closing) is not a drop.
bool IsDrop(const Failure& failure) {
  const std::string& code = failure.code();
  return code == "ERR_CONNECTION_LOST" || code == "ERR_IO" || code == "ERR_TIMEOUT" || code == "ERR_END_OF_STREAM" ||
         code == "ERR_CONNECTION_REFUSED";
}

// A server that answers and says no. Right after a drop the server may still hold the dropped
// session's stream name ("Already publishing"), so a reconnect retries a refusal this many times
// in a row before it ends the push.
bool IsRefusal(const Failure& failure) {
  const std::string& code = failure.code();
  return code == "ERR_PUBLISH_REFUSED" || code == "ERR_ACCESS" || code == "ERR_NOT_FOUND" || code == "ERR_INVALID_DATA";
}
constexpr int kRefusalAttempts = 3;
// A write that took longer than this waited for room in the socket (a copy into it takes microseconds).
constexpr double kBlockedWriteSeconds = 0.002;

}  // namespace

const char* LinkStateName(LinkState state) {
  switch (state) {
    case LinkState::kConnecting: return "connecting";
    case LinkState::kLive: return "live";
    case LinkState::kReconnecting: return "reconnecting";
    case LinkState::kClosed: return "closed";
    case LinkState::kFailed: return "failed";
  }
  return "failed";
}

Link::Link(std::unique_ptr<Output> output, ReconnectOptions options)
    : options_(options), label_(output->label()), output_(std::move(output)), buffer_(options.outageBufferSeconds) {}

Link::~Link() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    if (connecting_ != nullptr) connecting_->Abort();
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Link::Open() {
  // The streams as they were asked for, before the muxer adjusts them: every reconnect's session.
  if (options_.enabled) template_ = output_->Clone();
  output_->Open();
  std::lock_guard<std::mutex> lock(mutex_);
  state_ = LinkState::kLive;
}

bool Link::isOpen() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_ == LinkState::kLive || state_ == LinkState::kReconnecting;
}

void Link::CheckWritable() const {
  std::lock_guard<std::mutex> lock(mutex_);
  switch (state_) {
    case LinkState::kConnecting: throw Failure("ERR_NOT_OPEN", "The output " + label_ + " is not open");
    case LinkState::kClosed: throw Failure("ERR_CLOSED", "The output " + label_ + " is closed");
    case LinkState::kFailed: throw *failure_;
    case LinkState::kReconnecting: return;
    case LinkState::kLive: output_->CheckWritable(); return;
  }
}

void Link::Write(AVPacket* packet, AVRational timeBase, int stream, bool video) {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (state_ == LinkState::kFailed) throw *failure_;
    if (state_ == LinkState::kReconnecting) {
      if (buffer_.Queue(packet, timeBase, stream, video)) keyRequest_ = true;
      av_packet_unref(packet);
      return;
    }
    // Remembered before it is written (the write takes the data), since it may never arrive.
    if (options_.enabled) buffer_.Sent(packet, timeBase, stream, video);
  }
  const int64_t bytes = packet->size;
  const Clock::time_point began = Clock::now();
  try {
    output_->Write(packet, timeBase, stream);
    const double seconds = std::chrono::duration<double>(Clock::now() - began).count();
    std::lock_guard<std::mutex> lock(mutex_);
    writes_.bytes += bytes;
    writes_.seconds += seconds;
    if (seconds > kBlockedWriteSeconds) {
      writes_.blockedBytes += bytes;
      writes_.blockedSeconds += seconds;
    }
  } catch (const Failure& failure) {
    if (!options_.enabled || aborted() || !IsDrop(failure)) throw;
    std::unique_lock<std::mutex> lock(mutex_);
    Drop(failure, {}, lock);
  }
}

void Link::Drop(const Failure& why, std::deque<QueuedPacket> unsent, std::unique_lock<std::mutex>& lock) {
  state_ = LinkState::kReconnecting;
  downSince_ = Clock::now();
  ++disconnects_;
  dropped_ = std::move(output_);
  buffer_.Begin(std::move(unsent));
  keyRequest_ = true;  // the packets made from here on start a GOP the buffer can drop whole
  if (!thread_.joinable()) thread_ = std::thread(&Link::Run, this);
  wake_.notify_all();
  OutputEvent event;
  event.type = OutputEvent::Type::kDisconnect;
  event.code = why.code();
  event.message = why.message();
  lock.unlock();
  Log(AV_LOG_WARNING, "Lost " + label_ + " (" + why.message() + "): reconnecting");
  Emit(event);
  lock.lock();
}

void Link::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || state_ == LinkState::kReconnecting; });
    if (stopping_) return;
    std::unique_ptr<Output> old = std::move(dropped_);
    lock.unlock();
    Discard(std::move(old));
    Reconnect();
    lock.lock();
  }
}

void Link::Reconnect() {
  Backoff backoff(options_.backoffMs, options_.maxBackoffMs);
  std::optional<Failure> last;
  int refusals = 0;
  for (int attempt = 1;; ++attempt) {
    if (attempt > options_.retries) {
      Fail(Failure("ERR_RECONNECT_FAILED", "Gave up reconnecting to " + label_ + " after " +
                                               std::to_string(options_.retries) + " attempts" +
                                               (last ? ": " + last->message() : std::string())));
      return;
    }
    std::unique_lock<std::mutex> lock(mutex_);
    if (wake_.wait_for(lock, std::chrono::milliseconds(backoff.DelayMs(attempt)), [this] { return stopping_; })) return;
    std::unique_ptr<Output> session = template_->Clone();
    connecting_ = session.get();
    lock.unlock();
    std::optional<Failure> failure;
    try {
      session->Open();
    } catch (const Failure& error) {
      failure = error;
    }
    lock.lock();
    connecting_ = nullptr;
    if (stopping_) return;
    if (failure) {
      Log(AV_LOG_VERBOSE, "Reconnect attempt " + std::to_string(attempt) + " to " + label_ + ": " + failure->message());
      refusals = IsRefusal(*failure) ? refusals + 1 : 0;
      if (refusals >= kRefusalAttempts) {
        lock.unlock();
        Fail(*failure);
        return;
      }
      last = failure;
      continue;
    }
    // Connected: send what the outage kept, in batches (the writer's thread keeps adding), and
    // hand the session over once nothing is left.
    for (;;) {
      std::deque<QueuedPacket> batch = buffer_.Take();
      if (batch.empty()) {
        output_ = std::move(session);
        state_ = LinkState::kLive;
        ++reconnects_;
        const double downtime = DowntimeMs(Clock::now());
        downtimeMs_ += downtime;
        OutputEvent event;
        event.type = OutputEvent::Type::kReconnect;
        event.attempt = attempt;
        event.downtimeMs = downtime;
        lock.unlock();
        Log(AV_LOG_INFO, "Reconnected to " + label_ + " (attempt " + std::to_string(attempt) + ")");
        Emit(event);
        return;
      }
      lock.unlock();
      std::optional<Failure> lost;
      const bool sent = Send(*session, batch, lost);
      lock.lock();
      if (state_ == LinkState::kFailed) return;
      if (stopping_) {
        buffer_.Begin(std::move(batch));  // counted as dropped at Close
        return;
      }
      if (!sent) {
        // Dropped again while catching up: what was sent of the batch is the new replay.
        buffer_.Begin(std::move(batch));
        keyRequest_ = true;
        last = lost;
        break;
      }
    }
    lock.unlock();
    Discard(std::move(session));
  }
}

bool Link::Send(Output& session, std::deque<QueuedPacket>& batch, std::optional<Failure>& failure) {
  while (!batch.empty()) {
    QueuedPacket& next = batch.front();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      buffer_.Sent(next.packet.get(), next.timeBase, next.stream, next.video);
    }
    try {
      session.Write(next.packet.get(), next.timeBase, next.stream);
    } catch (const Failure& error) {
      batch.pop_front();  // in the replay now
      if (!IsDrop(error)) {
        Fail(error);
        return false;
      }
      failure = error;
      return false;
    }
    batch.pop_front();
  }
  return true;
}

void Link::Fail(Failure failure) {
  OutputEvent event;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (state_ == LinkState::kReconnecting) downtimeMs_ += DowntimeMs(Clock::now());
    state_ = LinkState::kFailed;
    buffer_.Begin({});
    buffer_.DropAll();
    failure_ = failure;
    event.type = OutputEvent::Type::kFailed;
    event.code = failure.code();
    event.message = failure.message();
  }
  Log(AV_LOG_ERROR, failure.message());
  Emit(event);
}

void Link::Emit(const OutputEvent& event) {
  if (listener_) listener_(event);
}

double Link::DowntimeMs(Clock::time_point now) const {
  return std::chrono::duration<double, std::milli>(now - downSince_).count();
}

void Link::Close() {
  std::unique_lock<std::mutex> lock(mutex_);
  stopping_ = true;
  if (connecting_ != nullptr) connecting_->Abort();
  wake_.notify_all();
  lock.unlock();
  if (thread_.joinable()) thread_.join();
  lock.lock();
  if (state_ == LinkState::kReconnecting) {
    downtimeMs_ += DowntimeMs(Clock::now());
    buffer_.DropAll();
  }
  if (state_ != LinkState::kFailed) state_ = LinkState::kClosed;
  std::unique_ptr<Output> live = std::move(output_);
  std::unique_ptr<Output> dropped = std::move(dropped_);
  lock.unlock();
  Discard(std::move(dropped));
  if (live) live->Close();
}

void Link::Abort() {
  aborted_.store(true, std::memory_order_release);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    if (output_) output_->Abort();
    if (connecting_ != nullptr) connecting_->Abort();
  }
  wake_.notify_all();
}

WriteTally Link::TakeWrites() {
  std::lock_guard<std::mutex> lock(mutex_);
  WriteTally tally = writes_;
  writes_ = WriteTally();
  return tally;
}

bool Link::live() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_ == LinkState::kLive;
}

LinkStats Link::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  LinkStats stats;
  stats.state = state_;
  stats.disconnects = disconnects_;
  stats.reconnects = reconnects_;
  stats.droppedFrames = buffer_.droppedFrames();
  stats.droppedAudioPackets = buffer_.droppedAudioPackets();
  stats.downtimeMs = downtimeMs_ + (state_ == LinkState::kReconnecting ? DowntimeMs(Clock::now()) : 0);
  return stats;
}

}  // namespace streamcoder
