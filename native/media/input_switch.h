// InputSwitch: a relay source for a channel that must not go dark. It reads one of several inputs
// (the primary, then fallbacks in order) and, when the one on air fails (no picture for
// inputTimeoutMs, an error, its end), puts on air at once a fallback that stands by, or else a
// slate: a still image, a looped clip, or a black card, paced to real time, with silence for
// sound. The fallbacks of the input on air stand by warm: kept open and decoded all along (a
// decode each), their pictures dropped but the latest. Meanwhile a thread per input opens it
// again (a file that played to its end is done), and one that delivers steadily (a keyframe,
// then pictures for steadyMs) goes on air: from the slate always, over a later input when
// switchBack is set, an earlier input first when several do.
//
// Everything goes out on one timeline: each stretch of an input (or of the slate) is shifted so
// that it follows what went out before, after the time the switch took, so the outputs keep their
// connection, encoder and pacing, and sound stays in step with pictures within each stretch.
// Every input is decoded to the size, pixel format and sound format of the first one opened.
// Pure C++ (no V8).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "media/reader_source.h"
#include "media/relay_source.h"

namespace streamcoder {

struct SwitchOptions {
  std::vector<ReaderOptions> inputs;   // the primary first, then the fallbacks in order
  std::optional<ReaderOptions> slate;  // an image (shown still) or a clip (looped); none: black
  int64_t inputTimeoutMs = 2000;       // no picture for this long: the input has failed
  bool switchBack = true;              // back to an earlier input once it delivers steadily
  int64_t steadyMs = 1000;             // what "steadily" means: pictures for this long from a keyframe
  // When no input opens at the start: the slate goes on air at this size (0: the slate's own;
  // no slate either: the open fails) and frame rate.
  int startWidth = 0;
  int startHeight = 0;
  AVRational startFrameRate{25, 1};
};

struct SwitchEvent {
  int from = 0;  // input index; -1: the slate
  int to = 0;
  std::string reason;
  double at = 0;  // ms since the Unix epoch
};

struct SwitchStats {
  int current = 0;  // input index on air; -1: the slate
  int64_t switches = 0;
  std::vector<double> secondsOn;  // per input, then the slate last
  std::vector<SwitchEvent> events;  // the latest kMaxEvents, oldest first
  int64_t eventCount = 0;           // events ever (to tell which are new)
};

class InputSwitch : public RelaySource {
 public:
  static constexpr int kSlate = -1;
  static constexpr size_t kMaxEvents = 64;

  explicit InputSwitch(SwitchOptions options);
  ~InputSwitch() override;  // aborts and joins the thread that opens inputs

  // Opens the first input that opens, in order (its info is the outputs'), and the slate.
  void Open() override;
  const StreamInfo& info() const override { return info_; }
  size_t frameBytes() const override { return frameBytes_; }
  std::shared_ptr<RelayItem> Next() override;
  void Abort() override;
  int64_t corrupt() const override;
  // Runs (on a relay thread) after every switch.
  void Watch(std::function<void()> changed) { changed_ = std::move(changed); }

  SwitchStats stats() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Ready {
    int index = 0;
    std::unique_ptr<ReaderSource> source;
    std::shared_ptr<RelayItem> first;  // the picture that made it steady: on air first
  };

  ReaderOptions Conformed(ReaderOptions options) const;
  std::shared_ptr<RelayItem> NextFromInput();
  std::shared_ptr<RelayItem> NextFromSlate();
  std::shared_ptr<RelayItem> StillPicture();
  static std::shared_ptr<RelayItem> Repeat(const RelayItem& picture, double time);
  std::shared_ptr<RelayItem> Silence(double from, double to);
  void OpenSlate();
  void StartOnSlate(const Failure& why);
  void SwitchTo(int index, std::unique_ptr<ReaderSource> source, const std::string& reason);
  void Placed(RelayItem& item);
  double NextBase() const;
  void Probe(int index);
  bool Offer(int index, std::unique_ptr<ReaderSource>& candidate, std::shared_ptr<RelayItem> last);
  std::optional<Ready> TakeStandby(int failed);
  bool Wanted(int index) const;
  bool StandsBy(int index) const;
  bool Steady(ReaderSource& candidate, std::shared_ptr<RelayItem>* last);
  bool SleepFor(std::chrono::milliseconds wait);

  SwitchOptions options_;
  StreamInfo info_;
  size_t frameBytes_ = 0;
  double frameSeconds_ = 1.0 / 25;
  std::function<void()> changed_;

  // The reading thread's.
  std::unique_ptr<ReaderSource> current_;
  std::shared_ptr<RelayItem> firstItem_;  // of the input just put on air (Ready::first)
  std::unique_ptr<ReaderSource> slateClip_;
  std::shared_ptr<const RelayItem> still_;  // the slate's picture (or the black card)
  bool slateHasRun_ = false;
  double slateClipLast_ = NAN;   // the clip's last source time (a loop goes back)
  double slateClipShift_ = 0;    // what its loops add
  double offset_ = 0;           // output time = source time + offset_, for the stretch on air
  bool conformRate_ = false;    // the input on air has another frame rate than the outputs
  int64_t lastSlot_ = 0;        // then: the output frame slot of its last picture, and it
  std::shared_ptr<const RelayItem> lastShown_;
  bool rebase_ = false;         // the next item starts a stretch
  double lastPicture_ = NAN;    // output time of the last picture, and the end of the last sound
  double audioEnd_ = NAN;
  Clock::time_point lastItemAt_;
  Clock::time_point lastPictureAt_;
  Clock::time_point slateStartedAt_;
  double slateBase_ = 0;
  int64_t slatePictures_ = 0;
  // What goes out before the next item is read: silence after a picture, repeats before one.
  std::deque<std::shared_ptr<RelayItem>> pending_;
  int64_t corruptBefore_ = 0;

  // Shared with the thread that opens inputs.
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<bool> aborted_{false};
  std::atomic<int> onAir_{0};
  std::optional<Ready> ready_;
  std::vector<ReaderSource*> probing_;  // being opened or tried (aborted with the switch)
  ReaderSource* reading_ = nullptr;  // on air (aborted with the switch)
  std::vector<std::thread> probers_;  // one per input
  std::vector<bool> ended_;           // per input: a file that played to its end (not tried again)
  std::vector<Clock::time_point> standby_;  // per input standing by: when its last picture came
  int handOver_ = -1;                  // the standby asked to hand itself over
  std::optional<Ready> handedOver_;
  SwitchStats stats_;
  Clock::time_point onAirSince_;
};

}  // namespace streamcoder
