#include "live/outage_buffer.h"

#include "base/failure.h"

namespace streamcoder {

namespace {

// The replay starts at a key frame at least this old: a key frame written a moment before the
// drop may have gone out after packets that were lost with the connection.
constexpr double kReplaySeconds = 0.5;

}  // namespace

QueuedPacket OutageBuffer::Make(const AVPacket* packet, AVRational timeBase, int stream, bool video) {
  QueuedPacket queued;
  queued.packet.reset(av_packet_clone(packet));
  if (!queued.packet) throw Failure("ERR_NO_MEMORY", "Cannot keep a packet for the reconnect");
  queued.timeBase = timeBase;
  queued.stream = stream;
  queued.video = video;
  queued.key = video && (packet->flags & AV_PKT_FLAG_KEY) != 0;
  const int64_t ts = packet->dts != AV_NOPTS_VALUE ? packet->dts : packet->pts;
  queued.time = ts == AV_NOPTS_VALUE ? 0 : double(ts) * av_q2d(timeBase);
  return queued;
}

void OutageBuffer::Sent(const AVPacket* packet, AVRational timeBase, int stream, bool video) {
  replay_.push_back(Make(packet, timeBase, stream, video));
  // Keep from the newest key frame that is old enough; before the first key frame, everything.
  const double newest = replay_.back().time;
  for (size_t i = replay_.size(); i-- > 1;) {
    if (replay_[i].key && replay_[i].time <= newest - kReplaySeconds) {
      replay_.erase(replay_.begin(), replay_.begin() + std::ptrdiff_t(i));
      break;
    }
  }
}

void OutageBuffer::Begin(std::deque<QueuedPacket> unsent) {
  // The replay first, then what a failed send had not written, then what was queued meanwhile.
  std::deque<QueuedPacket> queue = std::move(replay_);
  replay_.clear();
  pinned_ = queue.size();
  for (QueuedPacket& packet : unsent) queue.push_back(std::move(packet));
  for (QueuedPacket& packet : queue_) queue.push_back(std::move(packet));
  queue_ = std::move(queue);
  Bound();
}

bool OutageBuffer::Queue(const AVPacket* packet, AVRational timeBase, int stream, bool video) {
  const bool key = video && (packet->flags & AV_PKT_FLAG_KEY) != 0;
  if (video && waitForKey_ && !key) {
    ++droppedFrames_;
    return false;
  }
  if (key) waitForKey_ = false;
  queue_.push_back(Make(packet, timeBase, stream, video));
  const bool before = waitForKey_;
  Bound();
  return waitForKey_ && !before;
}

void OutageBuffer::Bound() {
  while (queue_.size() > pinned_ && queue_.back().time - queue_[pinned_].time > seconds_) {
    // The oldest GOP of the outage goes: up to the next key frame after its first packet.
    size_t next = pinned_ + 1;
    while (next < queue_.size() && !queue_[next].key) ++next;
    if (next < queue_.size()) {
      Drop(pinned_, next);
      continue;
    }
    // One GOP, still growing, longer than the bound: all of it, and a key frame to start again.
    Drop(pinned_, queue_.size());
    waitForKey_ = true;
  }
}

void OutageBuffer::Drop(size_t from, size_t to) {
  for (size_t i = from; i < to; ++i) {
    if (queue_[i].video) ++droppedFrames_;
    else ++droppedAudio_;
  }
  queue_.erase(queue_.begin() + std::ptrdiff_t(from), queue_.begin() + std::ptrdiff_t(to));
}

std::deque<QueuedPacket> OutageBuffer::Take() {
  std::deque<QueuedPacket> all = std::move(queue_);
  queue_.clear();
  pinned_ = 0;
  return all;
}

void OutageBuffer::DropAll() {
  Drop(0, queue_.size());
  pinned_ = 0;
  replay_.clear();
}

}  // namespace streamcoder
