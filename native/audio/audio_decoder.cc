#include "audio/audio_decoder.h"

#include <cstdlib>

#include "base/dictionary.h"
#include "base/failure.h"

namespace streamcoder {

AudioDecoder::AudioDecoder(const AVStream* stream, const AVCodec* decoder, AudioFormat output, const std::string& label)
    : frame_(av_frame_alloc()), resampler_(output), timeBase_(stream->time_base) {
  context_.reset(avcodec_alloc_context3(decoder));
  if (!context_ || !frame_) throw Failure("ERR_NO_MEMORY", "Cannot allocate an audio decoder for " + label);
  Check(avcodec_parameters_to_context(context_.get(), stream->codecpar), "Cannot configure the audio decoder of " + label);
  context_->pkt_timebase = stream->time_base;
  // Audio frames are small: one thread, no frame-threading delay.
  context_->thread_count = 1;
  int ret = avcodec_open2(context_.get(), decoder, nullptr);
  if (ret < 0) throw Failure::FromAv(ret, "Cannot open the " + std::string(decoder->name) + " decoder for the audio of " + label);
}

bool AudioDecoder::Send(const AVPacket* packet) {
  if (packet == nullptr) {
    if (!draining_) avcodec_send_packet(context_.get(), nullptr);
    draining_ = true;
    return true;
  }
  int ret = avcodec_send_packet(context_.get(), packet);
  if (ret == AVERROR(EAGAIN)) return false;
  if (ret < 0) ++corrupt_;
  return true;
}

AudioDecoder::Result AudioDecoder::Receive(AudioChunk* chunk) {
  chunk->data.clear();
  chunk->samples = 0;
  const int rate = output().sampleRate;
  for (;;) {
    int ret = avcodec_receive_frame(context_.get(), frame_.get());
    if (ret == AVERROR(EAGAIN)) return Result::kNeedInput;
    if (ret == AVERROR_EOF) {
      if (drained_) return Result::kEnd;
      drained_ = true;
      chunk->samples = resampler_.Drain();
      resampler_.AppendTo(&chunk->data);
      if (chunk->samples == 0 || nextPts_ == INT64_MIN) return Result::kEnd;
      chunk->pts = nextPts_;
      nextPts_ += chunk->samples;
      return Result::kChunk;
    }
    if (ret < 0) {
      ++corrupt_;
      continue;
    }
    // The first sample out of this conversion is the oldest one the resampler holds: `delay`
    // output samples before this frame's own first sample.
    int64_t pts = nextPts_;
    const int64_t timestamp = frame_->best_effort_timestamp;
    const int64_t scaled = timestamp == AV_NOPTS_VALUE ? INT64_MIN : av_rescale_q(timestamp, timeBase_, AVRational{1, rate});
    // A crafted timestamp near int64's ends is no timestamp (and no overflow below).
    if (scaled > INT64_MIN / 4 && scaled < INT64_MAX / 4) {
      const int64_t expected = scaled - resampler_.delay();
      // Continuous unless the timestamps say otherwise (a gap, damage, a seek): rounding alone
      // must not make chunks overlap or leave one-sample holes.
      if (nextPts_ == INT64_MIN || std::llabs(expected - nextPts_) > 1) pts = expected;
    }
    int samples = 0;
    try {
      // A frame no resampler can take (a rate or channel count out of bounds, a format swresample
      // refuses) is damage: counted, skipped, the sound goes on.
      if (!Resampler::Accepts(frame_.get())) throw Failure("ERR_INVALID_DATA", "Unusable audio frame");
      samples = resampler_.Convert(frame_.get());
      resampler_.AppendTo(&chunk->data);
    } catch (const Failure&) {
      ++corrupt_;
    }
    av_frame_unref(frame_.get());
    if (samples == 0) continue;  // the resampler's filter is still filling, or the frame was damage
    if (pts == INT64_MIN) pts = 0;  // no timestamp yet at all: the timeline's start
    chunk->samples = samples;
    chunk->pts = pts;
    nextPts_ = pts + samples;
    return Result::kChunk;
  }
}

void AudioDecoder::Flush() {
  avcodec_flush_buffers(context_.get());
  resampler_.Reset();
  draining_ = false;
  drained_ = false;
  nextPts_ = INT64_MIN;
}

}  // namespace streamcoder
