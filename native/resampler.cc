#include "resampler.h"

#include "failure.h"

namespace streamcoder {

Resampler::Resampler(AVSampleFormat format, int rate, const AVChannelLayout& layout) : format_(format), rate_(rate) {
  Check(av_channel_layout_copy(&layout_, &layout), "Cannot copy a channel layout");
}

Resampler::~Resampler() { av_channel_layout_uninit(&layout_); }

void Resampler::Configure(AVSampleFormat format, int rate, int channels, AVAudioFifo* fifo) {
  if (swr_ && format == inFormat_ && rate == inRate_ && channels == inChannels_) return;
  if (swr_) Drain(fifo);  // the old rate's last samples first
  AVChannelLayout input{};
  av_channel_layout_default(&input, channels);
  SwrContext* raw = nullptr;
  int ret = swr_alloc_set_opts2(&raw, &layout_, format_, rate_, &input, format, rate, 0, nullptr);
  av_channel_layout_uninit(&input);
  swr_.reset(raw);
  Check(ret, "Cannot set up the resampler");
  Check(swr_init(swr_.get()), "Cannot set up the resampler for " + std::to_string(channels) + " channels at " +
                                  std::to_string(rate) + " Hz");
  inFormat_ = format;
  inRate_ = rate;
  inChannels_ = channels;
}

void Resampler::Convert(const uint8_t* data, int samples, AVSampleFormat format, int rate, int channels,
                        AVAudioFifo* fifo) {
  Configure(format, rate, channels, fifo);
  const uint8_t* input[1] = {data};  // interleaved: one plane
  Run(input, samples, fifo);
}

void Resampler::Drain(AVAudioFifo* fifo) {
  if (swr_) Run(nullptr, 0, fifo);
}

int64_t Resampler::delay() const { return swr_ ? swr_get_delay(swr_.get(), rate_) : 0; }

void Resampler::Run(const uint8_t* const* input, int samples, AVAudioFifo* fifo) {
  const int capacity = swr_get_out_samples(swr_.get(), samples);
  if (capacity < 0) Check(capacity, "Cannot resample");
  if (capacity == 0) return;
  const int channels = layout_.nb_channels;
  int size = av_samples_get_buffer_size(nullptr, channels, capacity, format_, 1);
  Check(size, "Cannot size the resampler's buffer");
  buffer_.resize(size_t(size));
  uint8_t* planes[64] = {nullptr};  // at most 64 channels (the library's bound)
  Check(av_samples_fill_arrays(planes, nullptr, buffer_.data(), channels, capacity, format_, 1),
        "Cannot lay out the resampler's buffer");
  int converted = swr_convert(swr_.get(), planes, capacity, const_cast<const uint8_t**>(input), samples);
  Check(converted, "Cannot resample");
  if (converted > 0 && av_audio_fifo_write(fifo, reinterpret_cast<void**>(planes), converted) < converted) {
    throw Failure("ERR_NO_MEMORY", "Cannot queue audio samples");
  }
}

}  // namespace streamcoder
