// Link: the connection of a Server to its server, which survives the server going away.
//
// It holds the current Output session. When a write fails the way a lost connection fails (reset,
// broken pipe, I/O error, no answer within timeoutMs), and reconnecting is on, the push does not
// fail: the session is dropped, packets go to an OutageBuffer, and a thread of its own connects a
// new session (same URL, options and streams: a new header) with exponential backoff and jitter.
// Once connected, that thread sends the buffer (starting with a key frame, timestamps as they
// were: forward, never back to 0) and hands the session back; the caller's writes never wait for
// any of it. A server that refuses the publish (ERR_PUBLISH_REFUSED, ERR_ACCESS...) ends the push,
// as does running out of retries (ERR_RECONNECT_FAILED): the next write throws it.
//
// Threads: Write and Close on the writer's thread (one at a time); the reconnect thread while the
// link is down; Abort and stats() from any thread. `mutex_` guards the state, the buffer and who
// holds the session: the writer's thread uses `output_` only while live, the reconnect thread only
// while down.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "base/failure.h"
#include "container/output.h"
#include "live/outage_buffer.h"

namespace streamcoder {

struct ReconnectOptions {
  bool enabled = false;
  int retries = 0;            // attempts per outage before giving up
  int64_t backoffMs = 0;      // the first wait; doubles up to maxBackoffMs
  int64_t maxBackoffMs = 0;
  double outageBufferSeconds = 0;  // media time kept while down (beyond the last GOP sent)
};

enum class LinkState { kConnecting, kLive, kReconnecting, kClosed, kFailed };
const char* LinkStateName(LinkState state);

// What a Server tells its listener, from the thread where it happens: the link dropped, came
// back, or gave up (the reconnect thread); the adaptive bitrate changed (the writer's thread).
struct OutputEvent {
  enum class Type { kDisconnect, kReconnect, kFailed, kBitRate };
  Type type = Type::kDisconnect;
  std::string code;     // disconnect, failed: why
  std::string message;
  int attempt = 0;          // reconnect: the attempt that succeeded
  double downtimeMs = 0;    // reconnect: how long the link was down
  int64_t bitRate = 0;      // bitrate: the new target, bits per second
  double throughput = 0;    // bitrate: what got through in the last second, bits per second
  bool congestion = false;  // bitrate: a step down for congestion (else a step back up)
};

// Bytes written to the link and the seconds the writes took (blocked on a full socket); of
// those, the writes that did block: a full socket takes bytes only as fast as the link drains
// it, so their bytes per second are what the link carries.
struct WriteTally {
  int64_t bytes = 0;
  double seconds = 0;
  int64_t blockedBytes = 0;
  double blockedSeconds = 0;
};

struct LinkStats {
  LinkState state = LinkState::kConnecting;
  int64_t disconnects = 0;
  int64_t reconnects = 0;
  int64_t droppedFrames = 0;        // pictures made while down that were never sent
  int64_t droppedAudioPackets = 0;
  double downtimeMs = 0;            // the outages so far, the current one included
};

class Link {
 public:
  using Listener = std::function<void(const OutputEvent&)>;

  Link(std::unique_ptr<Output> output, ReconnectOptions options);
  ~Link();  // stops the reconnect thread
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  void SetListener(Listener listener) { listener_ = std::move(listener); }
  // The session being set up (streams are added to it before Open).
  Output& output() { return *output_; }
  const std::string& label() const { return label_; }

  // Connects the first session and writes its header. No retry: a server that is not there, or
  // refuses, fails the open.
  void Open();
  bool isOpen() const;
  // Throws unless packets may be written (open, not failed, not closed).
  void CheckWritable() const;
  // Writes a packet of output stream `stream` (times in `timeBase`); takes the packet's data.
  // While the link is down, the packet is kept for the reconnect instead.
  void Write(AVPacket* packet, AVRational timeBase, int stream, bool video);
  // Whether the next picture should be a key frame (a reconnect starts with one); clears it.
  bool TakeKeyFrameRequest() { return keyRequest_.exchange(false, std::memory_order_acq_rel); }
  // Stops reconnecting (what is still buffered is dropped and counted), writes the trailer of a
  // live session and closes it. Throws the first failure.
  void Close();

  void Abort();  // any thread: gives up a blocked connect or write, and reconnecting
  bool aborted() const { return aborted_.load(std::memory_order_acquire); }
  LinkStats stats() const;  // any thread
  // The writes of the writer's thread since the last call (adaptive bitrate's measurements).
  WriteTally TakeWrites();
  bool live() const;

 private:
  void Drop(const Failure& why, std::deque<QueuedPacket> unsent, std::unique_lock<std::mutex>& lock);
  void Run();        // the reconnect thread
  void Reconnect();  // one outage, until live, failed or stopped
  bool Send(Output& session, std::deque<QueuedPacket>& batch, std::optional<Failure>& failure);
  void Fail(Failure failure);
  void Emit(const OutputEvent& event);
  double DowntimeMs(std::chrono::steady_clock::time_point now) const;  // with mutex_ held

  const ReconnectOptions options_;
  const std::string label_;
  Listener listener_;
  std::unique_ptr<Output> output_;    // the live session (null while down)
  std::unique_ptr<Output> template_;  // the first session's muxer and streams, never opened
  std::unique_ptr<Output> dropped_;   // the session that failed, for the reconnect thread to close
  Output* connecting_ = nullptr;      // the session the reconnect thread is opening

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  LinkState state_ = LinkState::kConnecting;
  OutageBuffer buffer_;
  std::optional<Failure> failure_;  // why the link failed for good
  std::thread thread_;
  bool stopping_ = false;
  std::atomic<bool> aborted_{false};
  std::atomic<bool> keyRequest_{false};
  WriteTally writes_;
  int64_t disconnects_ = 0;
  int64_t reconnects_ = 0;
  double downtimeMs_ = 0;  // finished outages
  std::chrono::steady_clock::time_point downSince_{};
};

}  // namespace streamcoder
