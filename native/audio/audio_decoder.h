// AudioDecoder: the decoder (AVCodecContext) of one audio stream and the Resampler after it. Each
// decoded frame becomes one AudioChunk (AAC: 1024 samples) in the output rate, layout and format,
// stamped on the source's timeline in output samples. Damage never stops the video: a packet or
// frame the decoder rejects, or one the resampler cannot take, is counted and skipped.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "audio/resampler.h"
#include "base/handles.h"

namespace streamcoder {

struct AudioChunk {
  std::vector<uint8_t> data;  // interleaved samples in the output format
  int samples = 0;            // per channel
  int64_t pts = 0;            // first sample, in 1/sampleRate of the output, on the source's timeline
};

class AudioDecoder {
 public:
  enum class Result { kChunk, kNeedInput, kEnd };

  AudioDecoder(const AVStream* stream, const AVCodec* decoder, AudioFormat output, const std::string& label);
  AudioDecoder(const AudioDecoder&) = delete;
  AudioDecoder& operator=(const AudioDecoder&) = delete;

  // As VideoDecoder::Send: nullptr drains; false on EAGAIN (the packet is not taken).
  bool Send(const AVPacket* packet);
  // The next chunk of samples (never empty); kNeedInput when the decoder wants a packet, kEnd
  // once drained (the resampler's held samples come out as a last chunk first).
  Result Receive(AudioChunk* chunk);
  // Forgets everything buffered, in the decoder and the resampler (a seek, skipped packets).
  void Flush();
  bool draining() const { return draining_; }

  AudioFormat output() const { return resampler_.output(); }
  int bytesPerSample() const { return resampler_.bytesPerSample(); }
  // Packets or frames rejected as corrupt (or unconvertible) and skipped so far.
  int64_t corrupt() const { return corrupt_; }

 private:
  CodecContextPtr context_;
  FramePtr frame_;
  Resampler resampler_;
  AVRational timeBase_;
  bool draining_ = false;
  bool drained_ = false;
  // Where the next chunk's first sample belongs, in output samples; INT64_MIN when unknown.
  int64_t nextPts_ = INT64_MIN;
  int64_t corrupt_ = 0;
};

}  // namespace streamcoder
