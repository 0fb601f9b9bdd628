#include "audio/resampler.h"

#include "base/bounds.h"
#include "base/failure.h"

namespace streamcoder {

namespace {

// The most samples per channel one input may bring: decoders make a few thousand; a frame
// claiming more is damage, and converting it would take memory in proportion.
constexpr int kMaxInputSamples = 1 << 20;

}  // namespace

Resampler::Resampler(AVSampleFormat format, int rate, const AVChannelLayout& layout) : format_(format), rate_(rate) {
  Check(av_channel_layout_copy(&layout_, &layout), "Cannot copy a channel layout");
  planes_.assign(size_t(av_sample_fmt_is_planar(format_) ? layout_.nb_channels : 1), nullptr);
}

Resampler::Resampler(AudioFormat output) : format_(output.sampleFormat), rate_(output.sampleRate) {
  av_channel_layout_default(&layout_, output.channels);
  // FFmpeg has standard layouts for some counts only (1 to 8, 16, 24...): for the others there is
  // no mixing matrix, and every frame would be refused. Said at open instead.
  if (layout_.order == AV_CHANNEL_ORDER_UNSPEC) {
    av_channel_layout_uninit(&layout_);
    throw Failure("ERR_INVALID_ARGUMENT", std::to_string(output.channels) +
                                              " audio channels have no standard layout to convert to: ask for another "
                                              "count with audio.channels (1 to 8 always work)");
  }
  planes_.assign(1, nullptr);
}

Resampler::~Resampler() {
  av_channel_layout_uninit(&layout_);
  av_channel_layout_uninit(&inputLayout_);
}

bool Resampler::Accepts(const AVFrame* frame) {
  return frame->ch_layout.nb_channels >= 1 && frame->ch_layout.nb_channels <= kMaxChannels &&
         frame->sample_rate >= 1000 && frame->sample_rate <= kMaxSampleRate && frame->format >= 0 &&
         frame->format < AV_SAMPLE_FMT_NB && frame->nb_samples >= 0 && frame->nb_samples <= kMaxInputSamples;
}

int Resampler::Convert(const AVFrame* frame) {
  if (frame->ch_layout.order != AV_CHANNEL_ORDER_UNSPEC) {
    return Run(frame->extended_data, frame->nb_samples, AVSampleFormat(frame->format), frame->sample_rate, frame->ch_layout);
  }
  // A layout of unknown order ("2 channels") is taken as FFmpeg's default for its count.
  AVChannelLayout layout{};
  av_channel_layout_default(&layout, frame->ch_layout.nb_channels);
  const int got = Run(frame->extended_data, frame->nb_samples, AVSampleFormat(frame->format), frame->sample_rate, layout);
  av_channel_layout_uninit(&layout);
  return got;
}

int Resampler::Convert(const uint8_t* data, int samples, AVSampleFormat format, int rate, int channels) {
  AVChannelLayout layout{};
  av_channel_layout_default(&layout, channels);
  const uint8_t* input[1] = {data};  // interleaved: one plane
  const int got = Run(input, samples, format, rate, layout);
  av_channel_layout_uninit(&layout);
  return got;
}

void Resampler::Configure(AVSampleFormat format, int rate, const AVChannelLayout& layout, SwrContextPtr* old) {
  if (swr_ && format == inputFormat_ && rate == inputRate_ && av_channel_layout_compare(&layout, &inputLayout_) == 0) return;
  SwrContext* raw = nullptr;
  // FFmpeg 5.1 declares the layouts non-const; it only reads them.
  int ret = swr_alloc_set_opts2(&raw, &layout_, format_, rate_, const_cast<AVChannelLayout*>(&layout), format, rate, 0, nullptr);
  SwrContextPtr swr(raw);
  Check(ret, "Cannot set up the resampler");
  Check(swr_init(swr.get()), "Cannot set up the resampler for " + std::to_string(layout.nb_channels) +
                                 " channels at " + std::to_string(rate) + " Hz");
  *old = std::move(swr_);
  swr_ = std::move(swr);
  inputFormat_ = format;
  inputRate_ = rate;
  av_channel_layout_uninit(&inputLayout_);
  Check(av_channel_layout_copy(&inputLayout_, &layout), "Cannot copy a channel layout");
}

int Resampler::Run(const uint8_t* const* input, int samples, AVSampleFormat format, int rate, const AVChannelLayout& layout) {
  SwrContextPtr old;
  Configure(format, rate, layout, &old);
  // Room for everything that can come out: what the old context holds, then what is held plus
  // this input, at the output rate.
  const int held = old ? swr_get_out_samples(old.get(), 0) : 0;
  const int room = swr_get_out_samples(swr_.get(), samples);
  Check(room, "Cannot resample");
  Reserve(std::max(0, held) + room);
  int got = held > 0 ? Pull(old.get(), nullptr, 0, 0, held) : 0;
  got += Pull(swr_.get(), input, samples, got, room);
  samples_ = got;
  return got;
}

int Resampler::Drain() {
  samples_ = 0;
  if (!swr_) return 0;
  const int held = swr_get_out_samples(swr_.get(), 0);
  if (held <= 0) return 0;
  Reserve(held);
  samples_ = Pull(swr_.get(), nullptr, 0, 0, held);
  return samples_;
}

void Resampler::Reset() {
  swr_.reset();
  samples_ = 0;
}

void Resampler::Reserve(int samples) {
  const int channels = layout_.nb_channels;
  const int size = av_samples_get_buffer_size(nullptr, channels, std::max(1, samples), format_, 1);
  Check(size, "Cannot size the resampler's buffer");
  if (buffer_.size() < size_t(size)) buffer_.resize(size_t(size));
  uint8_t* planes[kMaxChannels] = {nullptr};
  Check(av_samples_fill_arrays(planes, nullptr, buffer_.data(), channels, std::max(1, samples), format_, 1),
        "Cannot lay out the resampler's buffer");
  for (size_t i = 0; i < planes_.size(); ++i) planes_[i] = planes[i];
}

// Converts into the output planes from sample `at` on (at most `room` samples).
int Resampler::Pull(SwrContext* swr, const uint8_t* const* input, int samples, int at, int room) {
  if (room <= 0) return 0;
  const int step = av_get_bytes_per_sample(format_) * (av_sample_fmt_is_planar(format_) ? 1 : layout_.nb_channels);
  uint8_t* out[kMaxChannels] = {nullptr};
  for (size_t i = 0; i < planes_.size(); ++i) out[i] = planes_[i] + ptrdiff_t(at) * step;
  const int got = swr_convert(swr, out, room, const_cast<const uint8_t**>(input), samples);
  Check(got, "Cannot resample");
  return got;
}

void Resampler::AppendTo(std::vector<uint8_t>* out) const {
  const size_t bytes = size_t(samples_) * size_t(bytesPerSample());
  out->insert(out->end(), planes_[0], planes_[0] + bytes);
}

void Resampler::WriteTo(AVAudioFifo* fifo) const {
  if (samples_ > 0 && av_audio_fifo_write(fifo, reinterpret_cast<void**>(const_cast<uint8_t**>(planes_.data())), samples_) < samples_) {
    throw Failure("ERR_NO_MEMORY", "Cannot queue audio samples");
  }
}

int64_t Resampler::delay() const { return swr_ ? swr_get_delay(swr_.get(), rate_) : 0; }

}  // namespace streamcoder
