// Relay: one input to several outputs on native threads, for a pipeline whose frames no
// JavaScript sees (the service's streams, `pipeline()`). A reading thread takes items from a
// RelaySource (pictures, sound, copied packets: one input, or inputs that stand in for each
// other) and hands each, shared and uncopied, to every
// output's queue (RelayOutput), which writes them on a thread of its own, paced when asked.
//
// Flow control is the FrameRing's: the reader waits while an output has `slots` pictures queued;
// an output whose policy is 'drop' and which alone holds the others back (more than twice the
// pictures of the least-queued output, for 100 ms) is moved past its oldest picture instead,
// which counts as dropped for it. An output that fails stops taking items and the others go on;
// it can be started again on a fresh writer (RestartOutput) while the input still runs.
// Pure C++ (no V8).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "media/relay_output.h"
#include "media/relay_source.h"

namespace streamcoder {

struct RelayOptions {
  int64_t maxFrames = 0;  // stop after this many pictures (or video packets); 0: all
};

struct RelayStats {
  int64_t frames = 0;         // pictures (or video packets) handed to the outputs
  int64_t corrupt = 0;        // packets the video decoder found corrupt and skipped
  int64_t producerWaits = 0;  // times the reader waited for an output's room
  double busySeconds = 0;     // in the reader's calls (demuxing, decoding, converting)
  bool finished = false;      // the reading thread has ended
  std::optional<Failure> error;  // why it ended, when it failed
};

class Relay {
 public:
  explicit Relay(std::unique_ptr<RelaySource> source);
  ~Relay();  // aborts everything and joins every thread
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  void Open();  // opens the input (blocking, any thread)
  const StreamInfo& info() const { return source_->info(); }
  RelaySource& source() { return *source_; }

  // Starts one thread per output, then the reading thread. `changed` runs (on some relay
  // thread) whenever the reader ends or an output's state changes.
  void Start(std::vector<RelayOutputOptions> outputs, RelayOptions options, std::function<void()> changed);
  // A finished output starts again, on a fresh writer of the same options, from the items read
  // next. False (nothing done) when the reader has ended or the output has not finished.
  bool RestartOutput(size_t index);
  void Stop();   // the reader stops, every output finishes (its trailer written)
  void Abort();  // as Stop, and blocked network calls give up
  size_t outputCount() const;

  RelayStats stats() const;
  // A JPEG of the last picture handed to the outputs, `width` pixels wide; null before the first.
  // Any thread (the picture is shared, never changed).
  PacketPtr Thumbnail(int width) const;
  std::vector<RelayOutputStats> outputStats() const;

 private:
  using Outputs = std::vector<std::shared_ptr<RelayOutput>>;
  void Run();
  void WaitForRoom();
  Outputs Snapshot() const;
  std::shared_ptr<RelayOutput> MakeOutput(RelayOutputOptions options);
  void Room();

  std::unique_ptr<RelaySource> source_;
  std::atomic<bool> opened_{false};
  RelayOptions options_;
  std::function<void()> changed_;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  mutable std::mutex outputsMutex_;
  Outputs outputs_;
  std::vector<int64_t> framesBefore_;  // pictures each output's earlier starts wrote

  std::mutex roomMutex_;  // the producer waits here for an output's room
  std::condition_variable room_;
  std::vector<std::chrono::steady_clock::time_point> holdingBackSince_;  // reader thread only

  mutable std::mutex statsMutex_;
  RelayStats stats_;
  SharedItem lastPicture_;  // under statsMutex_
};

}  // namespace streamcoder
