// OutageBuffer: the packets of a push whose connection dropped, kept for the reconnect.
//
// While live it remembers the last GOP written (from a key frame at least kReplaySeconds old):
// a write into a connection the server has just lost still succeeds once, and a killed server
// loses what it had not read, so that GOP may never have arrived. When the link drops, it becomes
// the head of the buffer and is sent again first: the new session starts with a key frame, and no
// frame is lost without being counted. It is never dropped (it is one GOP at most).
//
// Behind it, the packets made during the outage, bounded to `seconds` of media time: past the
// bound the oldest GOP goes (counted), so what is left still starts with a key frame; when the
// only GOP left is the one still growing, all of it goes and the encoder is asked for a key frame
// (packets are dropped until one comes). Not thread-safe: Link holds its mutex around every call.
#pragma once

#include <cstdint>
#include <deque>

#include "base/handles.h"

namespace streamcoder {

struct QueuedPacket {
  PacketPtr packet;  // a reference to the encoded data
  AVRational timeBase{1, 1};
  int stream = 0;  // the output stream's index
  bool video = false;
  bool key = false;
  double time = 0;  // its decoding time in seconds (ordering and the bound)
};

class OutageBuffer {
 public:
  explicit OutageBuffer(double seconds) : seconds_(seconds) {}

  // Live: a packet was written; remembers it for a replay. Takes a new reference to its data.
  void Sent(const AVPacket* packet, AVRational timeBase, int stream, bool video);
  // The link dropped: the remembered GOP heads the buffer, then `unsent` (packets taken for a
  // send that failed, never written), then whatever comes.
  void Begin(std::deque<QueuedPacket> unsent);
  // Outage: keeps a packet made meanwhile. Returns true when the encoder should make the next
  // picture a key frame (the buffer had to drop the GOP it was in).
  bool Queue(const AVPacket* packet, AVRational timeBase, int stream, bool video);
  // Everything to send, in order; the buffer is empty after.
  std::deque<QueuedPacket> Take();
  // Closing while down: what is still queued will never be sent, and is counted as dropped.
  void DropAll();

  bool waitingForKey() const { return waitForKey_; }
  int64_t droppedFrames() const { return droppedFrames_; }
  int64_t droppedAudioPackets() const { return droppedAudio_; }

 private:
  static QueuedPacket Make(const AVPacket* packet, AVRational timeBase, int stream, bool video);
  void Drop(size_t from, size_t to);  // [from, to) of queue_, counted
  void Bound();

  const double seconds_;
  std::deque<QueuedPacket> replay_;  // live: since the last key frame old enough
  std::deque<QueuedPacket> queue_;   // down: the replay (pinned_ packets), then the rest
  size_t pinned_ = 0;
  bool waitForKey_ = false;  // video packets are dropped until a key frame
  int64_t droppedFrames_ = 0;
  int64_t droppedAudio_ = 0;
};

}  // namespace streamcoder
