// VideoWriter: encodes packed pictures and muxes them to a file or publishes them to a server
// (rtsp:// through the RTSP muxer, which does its own networking; rtmp:// as FLV over avio;
// anything else by file name or a forced format). Pure C++ (no V8), like VideoReader.
//
// Timestamps: frame pts are in 1/frameRate; the caller gives each frame's pts (strictly
// increasing) and the writer rescales packets to the muxer's time base.
//
// Pacing: WaitForDeadline(pts) sleeps until the absolute deadline t0 + pts * (1/frameRate) on
// the monotonic clock, t0 being the moment the first frame was served. Deadlines are absolute,
// so sleeping never accumulates drift, and they depend on the frames served, not on the packets
// the encoder has emitted (x264's lookahead holds back ~40 frames at first).
//
// Bounds: every option is range-checked when the writer is made, and every pts before it is
// used, so no later arithmetic (deadlines in nanoseconds, rescaling to the muxer's time base)
// can overflow, and a refused pts changes nothing.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "dictionary.h"
#include "handles.h"
#include "interrupter.h"
#include "redact.h"
#include "scaler.h"

namespace streamcoder {

// Frame rates from one frame a minute to 1000 per second (the same bounds as lib/). Slower, and
// a paced stream waits minutes between frames and at close; faster is no video anyone encodes,
// and both usually mean a num/den mix-up ({num: 1, den: 1e6}).
constexpr int kMinFramesPerMinute = 1;
constexpr int kMaxFrameRate = 1000;
// The latest time a frame may have on the timeline (pts / frameRate): 10^9 s, about 31.7 years,
// far beyond any stream's life. With it, a deadline in nanoseconds stays below 10^18 (int64
// holds 9.2 x 10^18) and a pts in any muxer time base down to 1 ns fits too.
constexpr int64_t kMaxTimelineSeconds = 1000000000;
// The largest bit rates and buffer sizes accepted: 100 Gbit/s (as lib/ checks).
constexpr int64_t kMaxBitRate = 100000000000;
// The longest timeoutMs: a day (as lib/ checks).
constexpr int64_t kMaxTimeoutMs = 86400000;

struct WriterOptions {
  std::string url;
  std::string format;  // force a muxer ("" = from the URL)
  int width = 0;
  int height = 0;
  AVRational frameRate{30, 1};
  AVPixelFormat inputFormat = AV_PIX_FMT_RGB24;
  std::string codec = "libx264";
  int64_t bitRate = 0;      // 0: the encoder's default (or crf)
  int64_t maxBitRate = 0;
  int64_t bufSize = 0;
  int gopSize = -1;         // -1: the encoder's default
  int maxBFrames = -1;      // -1: the encoder's default
  int threads = 0;          // 0: the encoder chooses
  std::string preset;
  std::string tune;
  double crf = -1;          // < 0: not set
  int64_t timeoutMs = 0;
  OptionList codecOptions;
  OptionList formatOptions;
};

struct WriterStats {
  int64_t frames = 0;
  int64_t packets = 0;
  int64_t bytes = 0;
  int64_t keyFrames = 0;
  int64_t lateFrames = 0;
  double bitRate = 0;  // bits per second of media time
  double fps = 0;      // frames per wall-clock second since the first frame
  double lead = 0;     // seconds the served timeline runs ahead of the wall clock
};

class VideoWriter {
 public:
  explicit VideoWriter(WriterOptions options);
  ~VideoWriter();
  VideoWriter(const VideoWriter&) = delete;
  VideoWriter& operator=(const VideoWriter&) = delete;

  // Opens the encoder, connects / creates the output and writes the header. Blocking.
  void Open();
  bool isOpen() const { return header_; }
  // Bytes of one packed input picture (width x height in the input pixel format).
  size_t frameBytes() const { return frameBytes_; }
  AVRational frameRate() const { return options_.frameRate; }

  // Sleeps until the frame with this pts is due (no sleep for a late frame, which is counted).
  // Returns how late the frame is against its deadline, in seconds (0 when on time). A pts that
  // Write would refuse is refused here first, before anything changes.
  double WaitForDeadline(int64_t pts);
  // Throws ERR_BUFFER_SIZE unless `size` is one packed picture of the declared size and format.
  void CheckFrameSize(size_t size) const;
  // Encodes one packed picture and writes every packet that is ready. Never sleeps.
  void Write(const uint8_t* data, size_t size, int64_t pts);
  // Flushes the encoder, writes the trailer, closes the output. After a failure it only frees.
  void Finish();

  WriterStats stats() const;  // any thread
  void Abort() { interrupter_.Abort(); }  // any thread: gives up a blocked connect/write
  // Any thread: a WaitForDeadline in progress (or to come) returns at once with ERR_CLOSED, so a
  // graceful close need not wait out a frame's deadline; network operations go on.
  void CancelWait() { waitCancelled_.store(true, std::memory_order_release); }

 private:
  void OpenEncoder();
  void OpenOutput();
  // Writes every packet the encoder has ready; `paced` spaces them a frame apart (the flush
  // of a paced stream: its lookahead would otherwise leave in one burst at the end).
  void Drain(bool paced = false);
  void ReleaseEncoder();
  bool AnyFrameSent() const;
  void SleepFor(double seconds);
  double FlushSpacing() const;  // seconds between the packets of a paced flush
  // Refuses (ERR_INVALID_ARGUMENT) a pts outside [0, maxPts_] or not after the last one written.
  void CheckPts(int64_t pts) const;
  [[noreturn]] void ThrowIo(int averror, const std::string& what);

  using Clock = std::chrono::steady_clock;

  WriterOptions options_;
  // The URL's secrets (stream name, tokens...) masked in every message and log line while this
  // writer lives (redact.h).
  SecretScope secrets_;
  std::string label_;
  int64_t maxPts_ = 0;  // the largest pts accepted: kMaxTimelineSeconds at this frame rate
  Interrupter interrupter_;
  OutputContextPtr format_;
  CodecContextPtr codec_;
  FramePtr frame_;
  PacketPtr packet_;
  std::unique_ptr<Scaler> scaler_;
  AVStream* stream_ = nullptr;
  bool ownsIo_ = false;    // opened pb ourselves (not a NOFILE muxer)
  bool header_ = false;
  bool failed_ = false;    // the output is broken: Finish only frees
  bool finished_ = false;
  bool paced_ = false;     // serveFrameBlock was used
  std::string failure_;    // why the output broke
  size_t frameBytes_ = 0;

  int64_t lastPts_ = AV_NOPTS_VALUE;
  int64_t firstPts_ = AV_NOPTS_VALUE;
  Clock::time_point start_{};  // when the first frame was served

  std::atomic<bool> waitCancelled_{false};
  mutable std::mutex statsMutex_;
  WriterStats stats_;
  int64_t lastServedPts_ = AV_NOPTS_VALUE;
};

}  // namespace streamcoder
