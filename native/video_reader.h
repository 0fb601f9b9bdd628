// VideoReader: demuxes and decodes the best video stream of a file or URL and converts each frame
// into a tightly packed picture. Pure C++ (no V8): the Decoder binding runs it on the main thread,
// on the libuv pool for async calls, and the Client runs it on its own thread.
//
// Frames come out in presentation order, each exactly once: after every packet the decoder is
// drained until EAGAIN, and at the end of input it is flushed and drained until EOF, so the frames
// that B-frames and frame threading hold back are never lost.
#pragma once

#include <atomic>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "dictionary.h"
#include "failure.h"
#include "handles.h"
#include "interrupter.h"
#include "scaler.h"

namespace streamcoder {

// Largest picture the library accepts from a source or as an output size: 16384 on a side and
// 2^27 pixels (8K x 8K is 2^26), so a crafted header cannot make it allocate gigabytes per frame.
constexpr int kMaxDimension = 16384;
constexpr int64_t kMaxPixels = int64_t(1) << 27;
// What a reader decodes unless told otherwise: DCI 8K (8192x4320). A frame at the hard bound
// above makes the decoder hold over 2 GB (a 16384x8192 H.264 file of 400 KB: 2.2 GB resident);
// at this bound a crafted small file costs a quarter of that, and any real camera's video fits.
constexpr int64_t kDefaultMaxPixels = int64_t(8192) * 4320;

struct ReaderOptions {
  std::string source;
  AVPixelFormat pixelFormat = AV_PIX_FMT_RGB24;
  int width = 0;   // 0: the source's, or derived from height keeping the aspect ratio
  int height = 0;  // 0: the source's, or derived from width
  double startTime = 0;
  int threads = 0;  // 0: as many as FFmpeg thinks useful
  int64_t timeoutMs = 0;  // bounds each blocking open/read; 0: no bound
  int64_t maxPixels = kDefaultMaxPixels;  // the largest picture decoded or delivered
  std::string inputFormat;  // force a demuxer ("" = probe)
  OptionList formatOptions;
  OptionList codecOptions;
};

struct StreamInfo {
  std::string codec;
  std::string format;
  std::string pixelFormat;
  std::string sourcePixelFormat;
  int width = 0;
  int height = 0;
  int sourceWidth = 0;
  int sourceHeight = 0;
  int streamIndex = -1;
  AVRational frameRate{0, 1};
  AVRational timeBase{0, 1};
  double startTime = NAN;  // seconds, NAN when unknown
  double duration = NAN;   // seconds, NAN when unknown
  int64_t frameCount = -1;  // -1 when unknown
  int64_t bitRate = 0;      // 0 when unknown
};

struct FrameMeta {
  int width = 0;
  int height = 0;
  int64_t pts = AV_NOPTS_VALUE;
  double time = NAN;
  int64_t index = 0;
  bool keyFrame = false;
  char pictType = '?';
};

void CheckDimensions(int width, int height, const std::string& what);

class VideoReader {
 public:
  explicit VideoReader(ReaderOptions options);
  ~VideoReader();
  VideoReader(const VideoReader&) = delete;
  VideoReader& operator=(const VideoReader&) = delete;

  // Connects/opens, probes and opens the decoder. Blocking; bounded by timeoutMs.
  void Open();
  bool isOpen() const { return codec_ != nullptr; }
  const StreamInfo& info() const { return info_; }
  size_t frameBytes() const { return scaler_->packedSize(); }

  // Decodes until a frame is pending; false once the stream has ended and been drained.
  bool Peek();
  // Whether the pending frame (Peek() returned true) is a keyframe.
  bool PendingIsKey() const;
  // Time in seconds of the pending frame (NAN without a timestamp).
  double PendingTime() const;
  // Converts the pending frame into dst (frameBytes() long) and moves past it.
  void Take(uint8_t* dst, FrameMeta* meta);
  // Moves past the pending frame without converting it (decimation).
  void Drop(FrameMeta* meta);

  // The next frame returned is the first whose time is at or after `seconds`.
  void Seek(double seconds);

  // Thread-safe: makes any blocking call in progress give up (close() from another thread).
  void Abort() { interrupter_.Abort(); }

  // Frames or packets the decoder rejected as corrupt and skipped so far.
  int64_t corruptPackets() const { return corruptPackets_; }
  // Bytes of video packets read so far (any thread).
  int64_t bytesRead() const { return bytesRead_.load(std::memory_order_relaxed); }

 private:
  int FindStreamInfo();
  void CheckPixelBound(int width, int height, const std::string& what) const;
  void FeedPacket();
  void FillMeta(FrameMeta* meta);
  [[noreturn]] void ThrowIo(int averror, const std::string& what);
  void BuildInfo(const AVCodec* codec);

  ReaderOptions options_;
  // While the reader lives, its URL's secrets are masked in every message and log line (FFmpeg
  // logs an RTMP stream name on its own).
  SecretScope secrets_;
  std::string label_;  // the source as it may appear in messages (credentials removed)
  Interrupter interrupter_;
  InputContextPtr format_;
  CodecContextPtr codec_;
  FramePtr frame_;
  PacketPtr packet_;
  std::unique_ptr<Scaler> scaler_;
  StreamInfo info_;
  AVStream* stream_ = nullptr;

  bool pending_ = false;
  bool draining_ = false;
  int64_t seekTarget_ = AV_NOPTS_VALUE;  // frames before this pts are decoded and discarded
  int64_t firstPts_ = AV_NOPTS_VALUE;    // pts of frame index 0
  int64_t lastIndex_ = -1;
  int64_t lastPts_ = AV_NOPTS_VALUE;
  int64_t corruptPackets_ = 0;
  // A read failure waiting for the decoder to give up the frames it still holds.
  std::optional<Failure> deferredFailure_;
  std::atomic<int64_t> bytesRead_{0};
  int consecutiveErrors_ = 0;
};

}  // namespace streamcoder
