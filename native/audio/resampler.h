// Resampler: libswresample (one SwrContext) from whatever sound comes in (a decoder's frames, the
// interleaved PCM a caller gives a writer) to one rate, channel layout and sample format: packed
// for what JS reads, the encoder's own (often planar) for what is encoded. The context is made for
// the first input's rate, layout and format, and made again when a later input brings others (a
// source that switches from 44.1 to 48 kHz is resampled, not an error); the samples the old
// context still held come out first. Pure C++ (no V8).
//
// Each call leaves its output in the resampler (`planes()`, `samples()`) until the next call; the
// caller appends it where it goes (AppendTo a byte vector, WriteTo an encoder's AVAudioFifo).
#pragma once

#include <cstdint>
#include <vector>

#include "base/handles.h"

namespace streamcoder {

// Packed output, as JS gets it: rate, channel count (FFmpeg's default layout for it), format.
struct AudioFormat {
  int sampleRate = 0;
  int channels = 0;
  AVSampleFormat sampleFormat = AV_SAMPLE_FMT_FLT;  // packed (interleaved): FLT or S16
};

class Resampler {
 public:
  Resampler(AVSampleFormat format, int rate, const AVChannelLayout& layout);
  explicit Resampler(AudioFormat output);
  ~Resampler();
  Resampler(const Resampler&) = delete;
  Resampler& operator=(const Resampler&) = delete;

  // Whether a decoded frame can be converted at all (channels, rate and size within bounds, a
  // known format); a frame that cannot is damage the caller counts.
  static bool Accepts(const AVFrame* frame);

  // Converts a decoded frame (its own rate, layout and format; Accepts(frame) first).
  int Convert(const AVFrame* frame);
  // Converts `samples` interleaved samples of `channels` channels (FFmpeg's default layout) at
  // `rate` in `format`.
  int Convert(const uint8_t* data, int samples, AVSampleFormat format, int rate, int channels);
  // What the filter still holds (its delay): at the end, or before a gap. The context stays.
  int Drain();
  // Drops what is held (after a seek); the next input starts afresh.
  void Reset();

  // The samples per channel the last call left, and where they are (one plane if packed).
  int samples() const { return samples_; }
  uint8_t* const* planes() const { return planes_.data(); }
  // Appends them to `out` (packed output only) / writes them to `fifo` (the output's format).
  void AppendTo(std::vector<uint8_t>* out) const;
  void WriteTo(AVAudioFifo* fifo) const;

  // Output samples per channel held inside: how far the next output lags its input.
  int64_t delay() const;
  int rate() const { return rate_; }
  int channels() const { return layout_.nb_channels; }
  // Bytes of one sample of all channels (packed output).
  int bytesPerSample() const { return av_get_bytes_per_sample(format_) * layout_.nb_channels; }
  // The packed output as an AudioFormat.
  AudioFormat output() const { return AudioFormat{rate_, layout_.nb_channels, format_}; }

 private:
  int Run(const uint8_t* const* input, int samples, AVSampleFormat format, int rate, const AVChannelLayout& layout);
  // Makes swr_ fit the input, moving a context made for another input to `old`.
  void Configure(AVSampleFormat format, int rate, const AVChannelLayout& layout, SwrContextPtr* old);
  // Room for `samples` output samples per channel in buffer_, planes_ pointing into it.
  void Reserve(int samples);
  int Pull(SwrContext* swr, const uint8_t* const* input, int samples, int at, int room);

  const AVSampleFormat format_;
  const int rate_;
  AVChannelLayout layout_{};
  SwrContextPtr swr_;
  // What swr_ was made for.
  AVSampleFormat inputFormat_ = AV_SAMPLE_FMT_NONE;
  int inputRate_ = 0;
  AVChannelLayout inputLayout_{};
  // The last output.
  std::vector<uint8_t> buffer_;
  std::vector<uint8_t*> planes_;
  int samples_ = 0;
};

}  // namespace streamcoder
