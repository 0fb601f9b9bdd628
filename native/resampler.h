// Resampler: libswresample from whatever interleaved PCM the caller gives (f32 or s16, any rate
// from 8 to 384 kHz, 1 to 64 channels) to an audio encoder's format, rate and layout, appended to
// the encoder's FIFO. The caller's rate or layout may change mid-stream (a source switching from
// 44.1 to 48 kHz): the context is rebuilt, after draining what the old one holds, and the sound
// goes on. Pure C++ (no V8).
#pragma once

#include <cstdint>
#include <vector>

#include "handles.h"

namespace streamcoder {

class Resampler {
 public:
  Resampler(AVSampleFormat format, int rate, const AVChannelLayout& layout);
  ~Resampler();
  Resampler(const Resampler&) = delete;
  Resampler& operator=(const Resampler&) = delete;

  // Converts `samples` interleaved samples of `channels` channels at `rate` in `format` and
  // appends the result to `fifo`.
  void Convert(const uint8_t* data, int samples, AVSampleFormat format, int rate, int channels, AVAudioFifo* fifo);
  // Appends what the filter still holds (its delay) to `fifo`.
  void Drain(AVAudioFifo* fifo);
  // Output samples the filter holds back, not yet in the FIFO.
  int64_t delay() const;

 private:
  void Configure(AVSampleFormat format, int rate, int channels, AVAudioFifo* fifo);
  void Run(const uint8_t* const* input, int samples, AVAudioFifo* fifo);

  const AVSampleFormat format_;
  const int rate_;
  AVChannelLayout layout_{};
  SwrContextPtr swr_;
  AVSampleFormat inFormat_ = AV_SAMPLE_FMT_NONE;
  int inRate_ = 0;
  int inChannels_ = 0;
  std::vector<uint8_t> buffer_;  // the converted samples, before they go into the FIFO
};

}  // namespace streamcoder
