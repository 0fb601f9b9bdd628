// VideoDecoder: the decoder (AVCodecContext) of one video stream, and the Scaler that turns its
// frames into packed pictures. Send and Receive are FFmpeg's send/receive loop: EAGAIN and EOF are
// control flow (Result), a frame or packet the decoder rejects is counted as corrupt and skipped,
// and only a long run of them (a stream that is all damage) is a failure.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/dictionary.h"
#include "base/handles.h"
#include "video/scaler.h"

namespace streamcoder {

struct VideoDecoderOptions {
  int threads = 0;          // 0: as many as FFmpeg thinks useful
  int64_t maxPixels = 0;    // the largest picture the decoder may allocate mid-stream
  OptionList codecOptions;
  int width = 0;            // of the packed pictures (already derived and checked)
  int height = 0;
  AVPixelFormat pixelFormat = AV_PIX_FMT_RGB24;
};

class VideoDecoder {
 public:
  enum class Result { kFrame, kNeedInput, kEnd };

  // Opens `decoder` on `stream`'s parameters; `label` names the source in messages.
  VideoDecoder(const AVStream* stream, const AVCodec* decoder, const VideoDecoderOptions& options, const std::string& label);
  VideoDecoder(const VideoDecoder&) = delete;
  VideoDecoder& operator=(const VideoDecoder&) = delete;

  // Gives the decoder a packet; nullptr enters draining mode (once). false when the decoder
  // must give frames first (EAGAIN): the packet is not taken.
  bool Send(const AVPacket* packet);
  // The next frame into `frame`; kNeedInput when the decoder wants a packet, kEnd once drained.
  Result Receive(AVFrame* frame);
  // Forgets everything buffered (after a seek); leaves draining mode.
  void Flush();
  bool draining() const { return draining_; }

  Scaler& scaler() { return *scaler_; }
  const AVCodec* codec() const { return context_->codec; }
  // Frames or packets the decoder rejected as corrupt and skipped so far.
  int64_t corrupt() const { return corrupt_; }

 private:
  void CountCorrupt(int averror);

  std::string label_;
  CodecContextPtr context_;
  std::unique_ptr<Scaler> scaler_;
  bool draining_ = false;
  int64_t corrupt_ = 0;
  int consecutiveErrors_ = 0;
};

}  // namespace streamcoder
