#include "audio/audio_encoder.h"

#include <algorithm>
#include <vector>

#include "base/failure.h"

namespace streamcoder {

namespace {

// Planar float first (aac, libmp3lame take it), then interleaved float (libopus), then the
// encoder's own first choice.
AVSampleFormat PickSampleFormat(const AVCodec* codec) {
  const AVSampleFormat* formats = nullptr;
#if SC_HAVE_SUPPORTED_CONFIG
  avcodec_get_supported_config(nullptr, codec, AV_CODEC_CONFIG_SAMPLE_FORMAT, 0,
                               reinterpret_cast<const void**>(&formats), nullptr);
#else
  formats = codec->sample_fmts;
#endif
  if (formats == nullptr) return AV_SAMPLE_FMT_FLTP;
  for (AVSampleFormat wanted : {AV_SAMPLE_FMT_FLTP, AV_SAMPLE_FMT_FLT}) {
    for (const AVSampleFormat* f = formats; *f != AV_SAMPLE_FMT_NONE; ++f) {
      if (*f == wanted) return wanted;
    }
  }
  return formats[0];
}

// The rate asked for when the encoder takes it, else the lowest it takes above it (libopus makes
// 44.1 kHz 48 kHz), else its highest.
int PickRate(const AVCodec* codec, int wanted) {
  const int* rates = nullptr;
#if SC_HAVE_SUPPORTED_CONFIG
  avcodec_get_supported_config(nullptr, codec, AV_CODEC_CONFIG_SAMPLE_RATE, 0,
                               reinterpret_cast<const void**>(&rates), nullptr);
#else
  rates = codec->supported_samplerates;
#endif
  if (rates == nullptr || rates[0] == 0) return wanted;
  int above = 0;
  int highest = 0;
  for (const int* r = rates; *r != 0; ++r) {
    if (*r == wanted) return wanted;
    if (*r > wanted && (above == 0 || *r < above)) above = *r;
    highest = std::max(highest, *r);
  }
  return above != 0 ? above : highest;
}

// A layout of `channels` channels the encoder takes, else its largest with fewer (libmp3lame takes
// at most stereo: 5.1 is downmixed), else its first.
void PickLayout(const AVCodec* codec, int channels, AVChannelLayout* layout) {
  const AVChannelLayout* layouts = nullptr;
#if SC_HAVE_SUPPORTED_CONFIG
  avcodec_get_supported_config(nullptr, codec, AV_CODEC_CONFIG_CHANNEL_LAYOUT, 0,
                               reinterpret_cast<const void**>(&layouts), nullptr);
#else
  layouts = codec->ch_layouts;
#endif
  if (layouts == nullptr || layouts[0].nb_channels == 0) {
    av_channel_layout_default(layout, channels);
    return;
  }
  const AVChannelLayout* best = nullptr;
  for (const AVChannelLayout* l = layouts; l->nb_channels != 0; ++l) {
    if (l->nb_channels == channels) {
      best = l;
      break;
    }
    if (l->nb_channels < channels && (best == nullptr || l->nb_channels > best->nb_channels)) best = l;
  }
  av_channel_layout_copy(layout, best != nullptr ? best : &layouts[0]);
}

}  // namespace

AudioEncoder::AudioEncoder(const AudioEncoderOptions& options, bool globalHeader, const std::string& label)
    : label_(label), name_(options.codec) {
  const AVCodec* encoder = avcodec_find_encoder_by_name(name_.c_str());
  if (encoder == nullptr) {
    throw Failure("ERR_CODEC_NOT_FOUND", "No audio encoder named '" + name_ + "' in this FFmpeg");
  }
  if (encoder->type != AVMEDIA_TYPE_AUDIO) {
    throw Failure("ERR_INVALID_ARGUMENT", "'" + name_ + "' is not an audio encoder");
  }
  codec_.reset(avcodec_alloc_context3(encoder));
  if (!codec_) throw Failure("ERR_NO_MEMORY", "Cannot allocate an encoder");
  AVCodecContext* c = codec_.get();
  c->sample_fmt = PickSampleFormat(encoder);
  c->sample_rate = PickRate(encoder, options.sampleRate);
  PickLayout(encoder, options.channels, &c->ch_layout);
  c->time_base = AVRational{1, c->sample_rate};
  if (options.bitRate > 0) c->bit_rate = options.bitRate;
  if (globalHeader) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  int ret = avcodec_open2(c, encoder, nullptr);
  if (ret < 0) throw Failure::FromAv(ret, "Cannot open the " + name_ + " encoder for " + label_);

  variableFrames_ = (encoder->capabilities & AV_CODEC_CAP_VARIABLE_FRAME_SIZE) != 0 || c->frame_size <= 0;
  smallLast_ = (encoder->capabilities & AV_CODEC_CAP_SMALL_LAST_FRAME) != 0;
  frameSize_ = c->frame_size > 0 ? c->frame_size : 1024;
  frame_.reset(av_frame_alloc());
  packet_.reset(av_packet_alloc());
  fifo_.reset(av_audio_fifo_alloc(c->sample_fmt, c->ch_layout.nb_channels, frameSize_ * 2));
  if (!frame_ || !packet_ || !fifo_) throw Failure("ERR_NO_MEMORY", "Cannot allocate audio buffers");
  frame_->format = c->sample_fmt;
  frame_->sample_rate = c->sample_rate;
  frame_->nb_samples = frameSize_;
  Check(av_channel_layout_copy(&frame_->ch_layout, &c->ch_layout), "Cannot copy a channel layout");
  Check(av_frame_get_buffer(frame_.get(), 0), "Cannot allocate an audio frame");
  resampler_ = std::make_unique<Resampler>(c->sample_fmt, c->sample_rate, c->ch_layout);
}

AudioEncoder::~AudioEncoder() = default;

int64_t AudioEncoder::nextPts() const {
  return fifoPts_ + av_audio_fifo_size(fifo_.get()) + resampler_->delay();
}

void AudioEncoder::Start(int64_t pts) {
  fifoPts_ = pts;
  started_ = true;
}

void AudioEncoder::Add(const uint8_t* data, int samples, AVSampleFormat format, int rate, int channels,
                       const PacketSink& sink) {
  started_ = true;
  resampler_->Convert(data, samples, format, rate, channels);
  resampler_->WriteTo(fifo_.get());
  SendQueued(false, false, sink);
}

void AudioEncoder::QueueSilence(int samples) {
  const int channels = codec_->ch_layout.nb_channels;
  int size = av_samples_get_buffer_size(nullptr, channels, samples, codec_->sample_fmt, 1);
  Check(size, "Cannot size silence");
  std::vector<uint8_t> buffer(static_cast<size_t>(size));
  uint8_t* data[64] = {nullptr};
  Check(av_samples_fill_arrays(data, nullptr, buffer.data(), channels, samples, codec_->sample_fmt, 1), "Cannot lay out silence");
  av_samples_set_silence(data, 0, samples, channels, codec_->sample_fmt);
  if (av_audio_fifo_write(fifo_.get(), reinterpret_cast<void**>(data), samples) < samples) {
    throw Failure("ERR_NO_MEMORY", "Cannot queue audio samples");
  }
}

void AudioEncoder::AddSilence(int64_t samples, const PacketSink& sink) {
  started_ = true;
  // The sound before the gap goes before the silence.
  resampler_->Drain();
  resampler_->WriteTo(fifo_.get());
  while (samples > 0) {
    const int chunk = int(std::min<int64_t>(samples, frameSize_));
    QueueSilence(chunk);
    samples -= chunk;
    SendQueued(false, false, sink);
  }
}

void AudioEncoder::Jump(int64_t pts, const PacketSink& sink) {
  resampler_->Drain();
  resampler_->WriteTo(fifo_.get());
  SendQueued(true, false, sink);
  fifoPts_ = std::max(pts, fifoPts_);
}

void AudioEncoder::Flush(const PacketSink& sink) {
  if (flushed_ || !started_) return;
  flushed_ = true;
  resampler_->Drain();
  resampler_->WriteTo(fifo_.get());
  SendQueued(true, true, sink);
  Check(avcodec_send_frame(codec_.get(), nullptr), "Cannot flush the " + name_ + " encoder");
  Drain(sink);
}

void AudioEncoder::SendQueued(bool rest, bool last, const PacketSink& sink) {
  while (av_audio_fifo_size(fifo_.get()) >= frameSize_) SendFrame(frameSize_, sink);
  const int left = av_audio_fifo_size(fifo_.get());
  if (!rest || left == 0) return;
  // A short frame only where the encoder takes one: frames of any size, or a short last one.
  if (variableFrames_ || (last && smallLast_)) {
    SendFrame(left, sink);
  } else {
    QueueSilence(frameSize_ - left);
    SendFrame(frameSize_, sink);
  }
}

void AudioEncoder::SendFrame(int samples, const PacketSink& sink) {
  // Whole-size first: make_writable allocates a new buffer of the frame's current nb_samples.
  frame_->nb_samples = frameSize_;
  Check(av_frame_make_writable(frame_.get()), "Cannot prepare an audio frame");
  frame_->nb_samples = samples;
  if (av_audio_fifo_read(fifo_.get(), reinterpret_cast<void**>(frame_->data), samples) < samples) {
    throw Failure("ERR_INTERNAL", "The audio queue ran short");
  }
  frame_->pts = fifoPts_;
  fifoPts_ += samples;
  int ret = avcodec_send_frame(codec_.get(), frame_.get());
  if (ret < 0) throw Failure::FromAv(ret, "Cannot encode audio for " + label_);
  Drain(sink);
}

void AudioEncoder::Drain(const PacketSink& sink) {
  for (;;) {
    int ret = avcodec_receive_packet(codec_.get(), packet_.get());
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
    if (ret < 0) throw Failure::FromAv(ret, "Cannot encode audio for " + label_);
    sink(packet_.get());
    av_packet_unref(packet_.get());
  }
}

}  // namespace streamcoder
