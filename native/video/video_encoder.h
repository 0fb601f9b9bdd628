// VideoEncoder: one libavcodec video encoder fed with packed pictures (rgb24, yuv420p, ... as JS
// has them), converted by a Scaler into the encoder's pixel format. Packets go to a sink as they
// come out (the writer hands them to the Output). Pure C++ (no V8).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/dictionary.h"
#include "base/handles.h"
#include "base/packet_sink.h"
#include "video/scaler.h"

namespace streamcoder {

struct VideoEncoderOptions {
  std::string codec = "libx264";
  int width = 0;
  int height = 0;
  AVRational frameRate{30, 1};
  // The time base of the pts given to Send: 1/frameRate for constant-rate output, finer to keep
  // each frame's own time (see MediaWriter).
  AVRational timeBase{1, 30};
  AVPixelFormat inputFormat = AV_PIX_FMT_RGB24;
  int64_t bitRate = 0;  // 0: the encoder's default (or crf)
  int64_t maxBitRate = 0;
  int64_t bufSize = 0;
  int gopSize = -1;     // -1: the encoder's default
  int maxBFrames = -1;  // -1: the encoder's default
  int threads = 0;      // 0: the encoder chooses
  std::string preset;
  std::string tune;
  double crf = -1;  // < 0: not set
  OptionList codecOptions;
};

// The size and pixel format of a packed picture given to the encoder.
struct PictureLayout {
  int width = 0;
  int height = 0;
  AVPixelFormat format = AV_PIX_FMT_NONE;
  bool operator==(const PictureLayout& o) const { return width == o.width && height == o.height && format == o.format; }
};

class VideoEncoder {
 public:
  // Opens the encoder (blocking: some load a model or probe a device). `label` names the output.
  VideoEncoder(const VideoEncoderOptions& options, bool globalHeader, const std::string& label);
  ~VideoEncoder();
  VideoEncoder(const VideoEncoder&) = delete;
  VideoEncoder& operator=(const VideoEncoder&) = delete;

  // Whether the encoder can be given a time base finer than 1/frameRate. Old standards code the
  // frame rate itself (MPEG-4 part 2 takes a denominator up to 65535, MPEG-1/2 only standard
  // rates), so their output is made constant-rate.
  static bool TakesFineTimeBase(const std::string& codec);

  const AVCodecContext* context() const { return codec_.get(); }
  AVRational timeBase() const { return codec_->time_base; }
  // Bytes of one packed input picture (width x height in the input pixel format).
  size_t frameBytes() const { return frameBytes_; }
  // Throws ERR_BUFFER_SIZE unless `size` is one packed picture of the declared size and format.
  void CheckFrameSize(size_t size) const { CheckPicture(size, declared_); }
  // A picture's layout, 0 / NONE meaning the declared width, height, format (packed bytes).
  PictureLayout LayoutOf(int width, int height, AVPixelFormat format) const;
  // Throws unless `size` is one packed picture of `layout`, and `layout` is one the encoder can
  // be given: ERR_DIMENSIONS (the library's picture bounds), ERR_PIXEL_FORMAT (not one of the
  // packed formats JS has), ERR_BUFFER_SIZE.
  void CheckPicture(size_t size, const PictureLayout& layout) const;

  // Converts a packed picture of `layout` into the picture the next Send encodes: copied when it
  // has the encoder's size and format, else converted and scaled by swscale (whose context is
  // kept for the last input layout, so a stream of one size builds it once).
  void Convert(const uint8_t* data, size_t size, const PictureLayout& layout);
  // The same for a decoded frame (a relay's): one of the encoder's size and format is taken by
  // reference, no copy (encoders only read their input); any other is scaled.
  void ConvertFrame(const AVFrame* frame);
  // Encodes the last converted picture at `pts` (again, for a duplicate) and hands every packet
  // that is ready to the sink.
  void Send(int64_t pts, const PacketSink& sink);
  // Drains the encoder: its held-back packets (B-frames, lookahead) go to the sink.
  void Flush(const PacketSink& sink);
  bool anySent() const { return sent_; }
  // From the next picture on, a new target bit rate (and VBV max rate and buffer): libx264
  // reconfigures in place, without a new stream.
  void SetBitRate(int64_t bitRate);
  // The VBV buffer of an adaptive rate: half a second of it, so that no picture (a key frame)
  // takes more than that on a link that carries just the rate, and a push stays within a second.
  static int64_t AdaptiveBufferSize(int64_t bitRate) { return bitRate / 2; }
  // The next picture sent is a key frame (an IDR for H.264/HEVC with closed GOPs).
  void ForceKeyFrame() { forceKey_ = true; }

 private:
  void Drain(const PacketSink& sink);

  VideoEncoderOptions options_;
  std::string label_;
  CodecContextPtr codec_;
  FramePtr frame_;
  PacketPtr packet_;
  std::unique_ptr<Scaler> scaler_;
  PictureLayout declared_;  // the size and format the writer was opened with
  size_t frameBytes_ = 0;
  bool sent_ = false;
  bool forceKey_ = false;
};

}  // namespace streamcoder
