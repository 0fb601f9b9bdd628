// MediaWriter: what a Server or Encoder is natively. One Output (the muxer) with a video stream
// (a VideoEncoder, or a StreamCopy of the source's packets) and optionally an audio stream (an
// AudioEncoder, or a StreamCopy), every item placed on one Timeline and, when paced, against one
// PacingClock. Pure C++ (no V8), like VideoReader.
//
// Video placement (`videoSync`):
// - passthrough: each picture at its own source time, in a 1/90000 encoder time base, so
//   variable frame rates and gaps survive (the container's rate is only a hint);
// - constant: a constant-rate stream at frameRate, pictures dropped or duplicated by their time
//   as ffmpeg's -r does (chosen for a frame-rate change, and for containers and codecs that only
//   know a constant rate: AVI, MPEG-4 part 2);
// - retime: every picture one frame after the last, whatever its time (frames re-spaced evenly).
// Pictures without a time (packed bytes) take the next frame slot at frameRate in every mode.
//
// Bounds: every option is range-checked when the writer is made, and every position before it is
// used, so no later arithmetic (deadlines in nanoseconds, rescaling to the muxer's time base) can
// overflow, and a refused item changes nothing.
#pragma once

#include <atomic>
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "audio/audio_encoder.h"
#include "base/bounds.h"
#include "container/output.h"
#include "container/stream_copy.h"
#include "container/timeline.h"
#include "live/bitrate_controller.h"
#include "live/link.h"
#include "live/pacing_clock.h"
#include "media/writer_options.h"
#include "video/video_encoder.h"

namespace streamcoder {

struct WriterStats {
  int64_t frames = 0;     // pictures encoded (duplicates included), or video packets copied
  int64_t packets = 0;    // video packets written and their bytes
  int64_t bytes = 0;
  int64_t keyFrames = 0;
  int64_t lateFrames = 0;  // items that reached a paced write more than half a frame late
  int64_t droppedFrames = 0;     // pictures that never went out: a constant-rate output left them
                                 // out (two in one slot), or an outage did not keep them
  int64_t outageDroppedFrames = 0;  // of those, the outage's
  int64_t droppedAudioPackets = 0;  // audio packets an outage did not keep
  int64_t duplicatedFrames = 0;  // pictures repeated to fill a constant-rate output's slots
  int64_t audioSamples = 0;      // samples (per channel) taken, or audio packets copied' duration
  int64_t audioPackets = 0;
  int64_t audioBytes = 0;
  double bitRate = 0;  // video bits per second of media time
  double fps = 0;      // pictures per wall-clock second since the first item
  double lead = 0;     // seconds the served timeline runs ahead of the wall clock
  int64_t targetBitRate = 0;  // adaptive bitrate: the encoder's target now
  LinkState state = LinkState::kConnecting;
  int64_t disconnects = 0;
  int64_t reconnects = 0;
  double downtimeMs = 0;
};

// One item to write. Pointers are the caller's, valid for the call.
struct MediaInput {
  enum class Kind { kVideo, kAudio, kPacket };
  Kind kind = Kind::kVideo;
  const uint8_t* data = nullptr;
  size_t size = 0;
  double time = NAN;  // seconds on the source's timeline; NaN: none
  int64_t slot = -1;  // video: a frame slot at frameRate (the raw binding's write(data, pts))
  // Video: the packed picture's own size and pixel format; 0 / NONE: the writer's (packed bytes
  // are a picture of the open size and format). Any other is scaled to the encoder's (see
  // VideoEncoder::Convert).
  int width = 0;
  int height = 0;
  AVPixelFormat pixelFormat = AV_PIX_FMT_NONE;
  // Video: a decoded frame instead of packed bytes (a relay's; data and size unused).
  const AVFrame* frame = nullptr;
  // Audio: interleaved samples.
  AVSampleFormat sampleFormat = AV_SAMPLE_FMT_NONE;
  int sampleRate = 0;
  int channels = 0;
  // Packets: timestamps in timeBase (AV_NOPTS_VALUE: none).
  AVMediaType packetType = AVMEDIA_TYPE_UNKNOWN;
  int64_t pts = AV_NOPTS_VALUE;
  int64_t dts = AV_NOPTS_VALUE;
  int64_t duration = 0;
  AVRational timeBase{0, 1};
  bool keyFrame = false;  // packets: written as a keyframe; pictures: decoded from one (unused)
};

class MediaWriter {
 public:
  explicit MediaWriter(WriterOptions options);
  ~MediaWriter();
  MediaWriter(const MediaWriter&) = delete;
  MediaWriter& operator=(const MediaWriter&) = delete;

  // Opens the encoders, connects / creates the output and writes the header. Blocking.
  void Open();
  bool isOpen() const { return opened_; }
  // Bytes of one packed input picture (0 when the video is copied).
  size_t frameBytes() const { return videoEncoder_ ? videoEncoder_->frameBytes() : 0; }
  // Throws ERR_BUFFER_SIZE unless `size` is one packed picture of the declared size and format.
  void CheckFrameSize(size_t size) const;
  // The same for a picture of its own size and format (MediaInput's width, height, pixelFormat),
  // which is refused (ERR_DIMENSIONS, ERR_PIXEL_FORMAT) unless the writer can scale it.
  void CheckPicture(const MediaInput& input) const;

  // Places the item on the timeline, waits for its deadline when `block` (the item refused
  // first, if it is to be), then encodes or copies it and writes every packet that is ready.
  // Returns how late it was against its deadline, in seconds (0 when not paced or on time).
  double Write(const MediaInput& input, bool block);
  // Flushes the encoders, writes the trailer, closes the output. After a failure it only frees.
  void Finish();

  WriterStats stats() const;  // any thread
  void Abort() { link_.Abort(); }  // any thread: gives up a blocked connect/write, and reconnecting
  // Told when the link drops, comes back or gives up (on the reconnect thread), and when the
  // adaptive bitrate changes (on the writer's thread).
  void SetListener(Link::Listener listener) {
    listener_ = listener;
    link_.SetListener(std::move(listener));
  }
  // Any thread: a wait in progress (or to come) returns at once with ERR_CLOSED, so a graceful
  // close need not wait out a frame's deadline; network operations go on.
  void CancelWait() { clock_.Cancel(); }

 private:
  struct Plan;
  Plan PlanVideo(const MediaInput& input) const;
  Plan PlanAudio(const MediaInput& input) const;
  Plan PlanPacket(const MediaInput& input) const;
  void WriteVideo(const MediaInput& input, const Plan& plan);
  void WriteAudio(const MediaInput& input, const Plan& plan);
  void WritePacket(const MediaInput& input, const Plan& plan);
  void OpenVideo();
  void OpenAudio();
  void SleepFor(double seconds);
  double FrameTime() const;
  PacketSink VideoSink(bool paced);
  PacketSink AudioSink();
  void SendPicture(int64_t pts, const PacketSink& sink);
  void AdaptBitRate();

  WriterOptions options_;
  Link link_;
  Link::Listener listener_;
  std::unique_ptr<BitrateController> bitrate_;
  std::unique_ptr<VideoEncoder> videoEncoder_;
  std::unique_ptr<StreamCopy> videoCopy_;
  int videoIndex_ = -1;
  std::unique_ptr<AudioEncoder> audioEncoder_;
  std::unique_ptr<StreamCopy> audioCopy_;
  int audioIndex_ = -1;
  AVRational videoTimeBase_{1, 90000};
  Timeline timeline_;
  PacingClock clock_;
  int64_t lastSlot_ = -1;       // constant-rate and slot placement: the last frame slot written
  int64_t lastVideoPts_ = AV_NOPTS_VALUE;  // passthrough: the last pts sent (encoder time base)
  bool paced_ = false;     // a paced write was made: the flush is paced too
  bool opened_ = false;
  bool finished_ = false;

  mutable std::mutex statsMutex_;
  WriterStats stats_;
  double firstVideo_ = NAN;  // positions of the first and latest pictures, for the bit rate
  double lastVideo_ = NAN;
};

}  // namespace streamcoder
