#include "resampler.h"

#include "codec_parameters.h"
#include "failure.h"

namespace streamcoder {

namespace {

// The most samples per channel one frame may bring: FFmpeg's decoders make a few thousand; a
// frame claiming more is damage, and converting it would take memory in proportion.
constexpr int kMaxFrameSamples = 1 << 20;

}  // namespace

Resampler::Resampler(AudioFormat output)
    : output_(output), bytesPerSample_(av_get_bytes_per_sample(output.sampleFormat) * output.channels) {
  av_channel_layout_default(&outputLayout_, output.channels);
}

Resampler::~Resampler() {
  av_channel_layout_uninit(&outputLayout_);
  av_channel_layout_uninit(&inputLayout_);
}

bool Resampler::Configure(const AVFrame* frame, std::vector<uint8_t>* out, int* drained) {
  if (frame->ch_layout.nb_channels < 1 || frame->ch_layout.nb_channels > kMaxChannels ||
      frame->sample_rate < 1000 || frame->sample_rate > kMaxSampleRate || frame->format < 0 ||
      frame->nb_samples < 0 || frame->nb_samples > kMaxFrameSamples) {
    return false;
  }
  AVChannelLayout layout{};
  // A layout of unknown order ("2 channels") is taken as FFmpeg's default for its count.
  if (frame->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
    av_channel_layout_default(&layout, frame->ch_layout.nb_channels);
  } else if (av_channel_layout_copy(&layout, &frame->ch_layout) < 0) {
    throw Failure("ERR_NO_MEMORY", "Cannot copy a channel layout");
  }
  if (swr_ && frame->sample_rate == inputRate_ && frame->format == inputFormat_ &&
      av_channel_layout_compare(&layout, &inputLayout_) == 0) {
    av_channel_layout_uninit(&layout);
    return true;
  }
  // A change of rate, layout or format: what the old context holds comes out first.
  *drained += Drain(out);
  SwrContext* raw = nullptr;
  int ret = swr_alloc_set_opts2(&raw, &outputLayout_, output_.sampleFormat, output_.sampleRate, &layout,
                                AVSampleFormat(frame->format), frame->sample_rate, 0, nullptr);
  SwrContextPtr swr(raw);
  if (ret >= 0) ret = swr_init(swr.get());
  if (ret < 0) {
    av_channel_layout_uninit(&layout);
    return false;
  }
  swr_ = std::move(swr);
  inputRate_ = frame->sample_rate;
  inputFormat_ = AVSampleFormat(frame->format);
  av_channel_layout_uninit(&inputLayout_);
  inputLayout_ = layout;  // owned now
  return true;
}

int Resampler::Run(const uint8_t** input, int samples, std::vector<uint8_t>* out) {
  // Room for everything that can come out: what is held plus this input, at the output rate.
  const int room = swr_get_out_samples(swr_.get(), samples);
  if (room <= 0) return 0;
  const size_t before = out->size();
  out->resize(before + size_t(room) * size_t(bytesPerSample_));
  uint8_t* destination = out->data() + before;
  const int got = swr_convert(swr_.get(), &destination, room, input, samples);
  out->resize(before + size_t(got > 0 ? got : 0) * size_t(bytesPerSample_));
  return got > 0 ? got : 0;
}

int Resampler::Convert(const AVFrame* frame, std::vector<uint8_t>* out, bool* accepted) {
  int drained = 0;
  *accepted = Configure(frame, out, &drained);
  if (!*accepted) return drained;
  return drained + Run(const_cast<const uint8_t**>(frame->extended_data), frame->nb_samples, out);
}

int Resampler::Drain(std::vector<uint8_t>* out) {
  if (!swr_) return 0;
  int total = 0;
  // swr_convert with no input flushes; loop until nothing more comes.
  for (int got = Run(nullptr, 0, out); got > 0; got = Run(nullptr, 0, out)) total += got;
  swr_.reset();
  return total;
}

void Resampler::Reset() { swr_.reset(); }

int64_t Resampler::delay() const { return swr_ ? swr_get_delay(swr_.get(), output_.sampleRate) : 0; }

}  // namespace streamcoder
