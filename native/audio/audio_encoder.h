// AudioEncoder: one libavcodec audio encoder (aac, libopus, libmp3lame, ...) fed with PCM in any
// rate, layout and format the caller has (a Resampler converts it), queued in an AVAudioFifo and
// sent in frames of the encoder's frame size (any size for encoders that take variable frames).
// Timestamps count samples at the encoder's rate; the writer says where the first sample goes and
// fills or jumps gaps (Start, AddSilence, Jump). Packets go to a sink. Pure C++ (no V8).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "audio/resampler.h"
#include "base/handles.h"
#include "base/packet_sink.h"

namespace streamcoder {

struct AudioEncoderOptions {
  std::string codec = "aac";
  int64_t bitRate = 0;  // 0: the encoder's default
  int sampleRate = 48000;  // the nearest the encoder takes
  int channels = 2;        // as many as the encoder takes, at most this
};

class AudioEncoder {
 public:
  AudioEncoder(const AudioEncoderOptions& options, bool globalHeader, const std::string& label);
  ~AudioEncoder();
  AudioEncoder(const AudioEncoder&) = delete;
  AudioEncoder& operator=(const AudioEncoder&) = delete;

  const AVCodecContext* context() const { return codec_.get(); }
  AVRational timeBase() const { return codec_->time_base; }
  int sampleRate() const { return codec_->sample_rate; }
  // The pts (in 1/sampleRate) the next sample added will have.
  int64_t nextPts() const;
  bool started() const { return started_; }
  // Before the first samples: the pts they start at.
  void Start(int64_t pts);

  void Add(const uint8_t* data, int samples, AVSampleFormat format, int rate, int channels, const PacketSink& sink);
  void AddSilence(int64_t samples, const PacketSink& sink);
  // A gap too long to fill with silence: what is queued goes out (padded to a whole frame) and
  // the next sample is at `pts` (or right after the padding, if that is later).
  void Jump(int64_t pts, const PacketSink& sink);
  // Sends what is queued and drains the encoder.
  void Flush(const PacketSink& sink);

 private:
  // Sends every whole frame queued; with `rest`, the remainder too (a small last frame where the
  // encoder takes one, else padded with silence).
  void SendQueued(bool rest, bool last, const PacketSink& sink);
  void SendFrame(int samples, const PacketSink& sink);
  void Drain(const PacketSink& sink);
  void QueueSilence(int samples);

  std::string label_;
  std::string name_;
  CodecContextPtr codec_;
  FramePtr frame_;
  PacketPtr packet_;
  AudioFifoPtr fifo_;
  std::unique_ptr<Resampler> resampler_;
  int frameSize_ = 1024;
  bool variableFrames_ = false;  // the encoder takes frames of any size
  bool smallLast_ = false;       // the encoder takes a short last frame
  bool started_ = false;
  bool flushed_ = false;
  int64_t fifoPts_ = 0;  // pts of the first sample in the FIFO
};

}  // namespace streamcoder
