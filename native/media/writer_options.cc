#include "media/writer_options.h"

#include <cstdio>

#include "base/failure.h"

namespace streamcoder {

Failure OutOfRange(const std::string& name, const std::string& expected, const std::string& received) {
  return Failure("ERR_INVALID_ARGUMENT", "Expected " + expected + " for " + name + " but received " + received);
}

std::string ShortNumber(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.10g", value);
  return text;
}

namespace {

void CheckRange(int64_t value, int64_t min, int64_t max, const char* name) {
  if (value < min || value > max) {
    throw OutOfRange(name, "an integer from " + std::to_string(min) + " to " + std::to_string(max),
                     std::to_string(value));
  }
}

void CheckCopySource(const std::shared_ptr<CopySource>& source, const char* what) {
  if (!source || !source->parameters) throw Failure("ERR_INVALID_ARGUMENT", std::string("Expected the codec parameters of the ") + what + " to copy");
  const AVRational tb = source->timeBase;
  if (tb.num <= 0 || tb.den <= 0) {
    throw OutOfRange(std::string(what) + " time base", "a positive rational", std::to_string(tb.num) + "/" + std::to_string(tb.den));
  }
}

}  // namespace

WriterOptions Checked(WriterOptions options) {
  VideoEncoderOptions& video = options.encoder;
  const AVRational rate = video.frameRate;
  // In 64 bits, exactly: 60 * num >= den (a frame a minute at least), num <= 1000 * den.
  if (rate.num <= 0 || rate.den <= 0 || int64_t(rate.num) * 60 < int64_t(rate.den) * kMinFramesPerMinute ||
      int64_t(rate.num) > int64_t(rate.den) * kMaxFrameRate) {
    throw OutOfRange("frameRate",
                     "a frame rate from 1/60 (one frame a minute) to " + std::to_string(kMaxFrameRate) + " frames per second",
                     std::to_string(rate.num) + "/" + std::to_string(rate.den));
  }
  CheckRange(video.bitRate, 0, kMaxBitRate, "bitRate");
  CheckRange(video.maxBitRate, 0, kMaxBitRate, "maxBitRate");
  CheckRange(video.bufSize, 0, kMaxBitRate, "bufSize");
  CheckRange(video.gopSize, -1, 100000, "gopSize");
  CheckRange(video.maxBFrames, -1, 16, "maxBFrames");
  CheckRange(video.threads, 0, 64, "threads");
  CheckRange(options.timeoutMs, 0, kMaxTimeoutMs, "timeoutMs");
  if (!std::isfinite(video.crf) || video.crf > 63) throw OutOfRange("crf", "a number from 0 to 63", ShortNumber(video.crf));
  if (video.crf == 0) video.crf = 0;  // -0 would reach the encoder as "-0.000000"
  if (options.video == StreamMode::kNone) throw Failure("ERR_INVALID_ARGUMENT", "Expected a video stream (encoded or copied)");
  if (options.video == StreamMode::kCopy) CheckCopySource(options.videoCopy, "video");
  if (options.audio == StreamMode::kEncode) {
    AudioEncoderOptions& audio = options.audioEncoder;
    CheckRange(audio.bitRate, 0, kMaxBitRate, "audio.bitRate");
    CheckRange(audio.sampleRate, kMinSampleRate, kMaxSampleRate, "audio.sampleRate");
    CheckRange(audio.channels, 1, kMaxChannels, "audio.channels");
  }
  if (options.audio == StreamMode::kCopy) CheckCopySource(options.audioCopy, "audio");
  if (options.adaptive.enabled) {
    AdaptiveBitRate& range = options.adaptive;
    if (options.video != StreamMode::kEncode || (video.codec != "libx264" && video.codec != "libx264rgb")) {
      throw Failure("ERR_UNSUPPORTED", "An adaptive bitRate needs an encoder that changes its rate in place: libx264 (not " +
                                           (options.video == StreamMode::kCopy ? std::string("a copied stream") : video.codec) + ")");
    }
    CheckRange(range.min, 1000, kMaxBitRate, "bitRate.min");
    CheckRange(range.max, range.min, kMaxBitRate, "bitRate.max");
    CheckRange(range.start, range.min, range.max, "bitRate.start");
    if (video.maxBitRate > 0 || video.bufSize > 0 || video.crf >= 0) {
      throw Failure("ERR_INVALID_ARGUMENT", "An adaptive bitRate sets the rate control itself: leave out maxBitRate, bufSize and crf");
    }
    // Rate control with a VBV from the start: x264 can change its rates later only if it has one.
    video.bitRate = range.start;
    video.maxBitRate = range.start;
    video.bufSize = VideoEncoder::AdaptiveBufferSize(range.start);
  }
  if (options.reconnect.enabled) {
    ReconnectOptions& link = options.reconnect;
    CheckRange(link.retries, 1, kMaxRetries, "reconnect.retries");
    CheckRange(link.backoffMs, 1, kMaxTimeoutMs, "reconnect.backoffMs");
    CheckRange(link.maxBackoffMs, link.backoffMs, kMaxTimeoutMs, "reconnect.maxBackoffMs");
    if (!(link.outageBufferSeconds >= 0 && link.outageBufferSeconds <= kMaxOutageSeconds)) {
      throw OutOfRange("reconnect.outageBufferSeconds", "a number of seconds from 0 to " + std::to_string(kMaxOutageSeconds),
                       ShortNumber(link.outageBufferSeconds));
    }
  }
  return options;
}

}  // namespace streamcoder
