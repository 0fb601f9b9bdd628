// RelayOutput: one output of a Relay. Its own thread opens a MediaWriter (connects, writes the
// header), then writes the items the relay queues for it, paced when asked, and finishes the
// output (flush, trailer). The items are shared with the relay's other outputs, never copied.
// A failure here is this output's alone: it stops taking items and says why; the relay and the
// other outputs go on. Pure C++ (no V8).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/failure.h"
#include "base/handles.h"
#include "media/media_writer.h"

namespace streamcoder {

// One item the relay's reader delivered: a decoded picture, a decoded sound chunk or a copied
// packet, its MediaInput pointing into the bytes it owns.
struct RelayItem {
  MediaInput input;
  FramePtr frame;                    // a decoded picture, as the decoder made it
  std::shared_ptr<uint8_t> picture;  // or its converted bytes (from the relay's pool)
  std::vector<uint8_t> samples;      // a sound chunk's interleaved samples
  PacketPtr packet;                  // a copied packet
  bool isPicture() const {
    return input.kind == MediaInput::Kind::kVideo ||
           (input.kind == MediaInput::Kind::kPacket && input.packetType == AVMEDIA_TYPE_VIDEO);
  }
};
using SharedItem = std::shared_ptr<const RelayItem>;

struct RelayOutputOptions {
  WriterOptions writer;
  bool realtime = true;       // each item waits for its deadline (serveFrameBlock)
  bool dropWhenSlow = false;  // onSlow 'drop': the relay may leave out pictures this one holds back
  size_t slots = 8;           // pictures queued at most
  bool rejoining = false;     // started again after a failure: never holds the others back
};

enum class RelayOutputState { kStarting, kRunning, kDone, kStopped, kFailed };

struct RelayOutputStats {
  RelayOutputState state = RelayOutputState::kStarting;
  int64_t frames = 0;         // pictures (or video packets) written
  int64_t dropped = 0;        // pictures handed out that it did not write (the relay counts them)
  int64_t consumerWaits = 0;  // times the thread found its queue empty
  size_t depth = 0;           // pictures queued now, and at most
  size_t maxDepth = 0;
  double busySeconds = 0;     // in the writer's calls
  double streamSeconds = 0;   // from the first picture's write to the end of the last's
  double firstPictureAt = NAN;  // ms since the Unix epoch, when the first picture's write began
  std::optional<WriterStats> writer;  // once opened
  std::optional<Failure> error;
};

class RelayOutput {
 public:
  // `changed` runs on this output's thread when its state changes; `room` when a queued
  // picture left the queue (the relay's producer may be waiting for that).
  RelayOutput(RelayOutputOptions options, std::function<void()> changed, std::function<void()> room);
  ~RelayOutput();  // aborts and joins
  RelayOutput(const RelayOutput&) = delete;
  RelayOutput& operator=(const RelayOutput&) = delete;

  void Start();  // the thread: open, write what comes, finish

  // The relay's producer side.
  bool accepting() const { return accepting_; }  // starting or running, not ended
  bool running() const { return running_; }      // opened, taking items at its pace
  size_t pictures() const;
  const RelayOutputOptions& options() const { return options_; }
  void Push(SharedItem item);
  // Before Start: queues what `other` has queued, so that an output started again begins as far
  // behind the input as the others (an output with fewer pictures queued looks faster to the
  // relay's flow control than it is).
  void Seed(const RelayOutput& other);
  // Leaves out the oldest queued picture (and the sound before it): this output fell behind.
  // A copied video stream then resumes at its next keyframe.
  void DropOldestPicture();
  void End();  // no more items: what is queued is written, then the output finishes

  void Stop();   // finish soon: the queue is left, no deadline waited for, the trailer written
  void Abort();  // as Stop, and blocked network calls (connect, write, reconnecting) give up
  bool finished() const { return finished_; }
  RelayOutputStats stats() const;

 private:
  void Run();
  SharedItem Pop();  // the next item, or null at the end / on Stop
  void SetState(RelayOutputState state, std::optional<Failure> error = std::nullopt);

  RelayOutputOptions options_;
  std::function<void()> changed_;
  std::function<void()> room_;
  std::thread thread_;

  mutable std::mutex mutex_;  // the queue, the state, the counters below
  std::condition_variable wake_;
  std::deque<SharedItem> queue_;
  size_t queuedPictures_ = 0;
  bool ended_ = false;
  std::atomic<bool> stopRequested_{false};  // set under mutex_ (the queue's waits), read anywhere
  bool needKey_ = false;  // a copied video stream lost a picture: skip to a keyframe
  RelayOutputStats stats_;
  std::atomic<bool> accepting_{true};
  std::atomic<bool> running_{false};
  std::atomic<bool> finished_{false};

  std::mutex writerMutex_;  // writer_ is made and freed on the thread; Stop/Abort reach it
  std::unique_ptr<MediaWriter> writer_;
};

}  // namespace streamcoder
