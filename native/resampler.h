// Resampler: libswresample (an SwrContext) from whatever the audio decoder gives to the rate,
// channel layout and sample format asked for, interleaved. The context is made for the first
// frame's rate, layout and format, and made again when a later frame brings others (a live
// stream that switches from 44.1 to 48 kHz is resampled, not an error); the samples the old
// context still held come out first.
#pragma once

#include <cstdint>
#include <vector>

#include "handles.h"

namespace streamcoder {

struct AudioFormat {
  int sampleRate = 0;
  int channels = 0;
  AVSampleFormat sampleFormat = AV_SAMPLE_FMT_FLT;  // packed (interleaved): FLT or S16
};

class Resampler {
 public:
  explicit Resampler(AudioFormat output);
  ~Resampler();
  Resampler(const Resampler&) = delete;
  Resampler& operator=(const Resampler&) = delete;

  // Converts `frame` and appends the samples that come out to `out` (interleaved, in the output
  // format); returns how many samples per channel it appended. false in `accepted` (and nothing
  // appended) for a frame no context can be made for (no channels, a rate out of bounds):
  // the caller counts it as corrupt.
  int Convert(const AVFrame* frame, std::vector<uint8_t>* out, bool* accepted);
  // The samples still held (rate conversion's filter delay), at the end of the stream.
  int Drain(std::vector<uint8_t>* out);
  // Drops what is held (after a seek); the next frame starts afresh.
  void Reset();
  // Samples per channel held inside, in output samples: how far the next output lags its input.
  int64_t delay() const;

  const AudioFormat& output() const { return output_; }
  int bytesPerSample() const { return bytesPerSample_; }  // one sample of all channels

 private:
  // Makes swr_ fit `frame` (draining the old one into `out` first when it changes).
  bool Configure(const AVFrame* frame, std::vector<uint8_t>* out, int* drained);
  int Run(const uint8_t** input, int samples, std::vector<uint8_t>* out);

  const AudioFormat output_;
  AVChannelLayout outputLayout_{};
  const int bytesPerSample_;
  SwrContextPtr swr_;
  // What swr_ was made for.
  int inputRate_ = 0;
  AVSampleFormat inputFormat_ = AV_SAMPLE_FMT_NONE;
  AVChannelLayout inputLayout_{};
};

}  // namespace streamcoder
