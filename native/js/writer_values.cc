#include "js/writer_values.h"

#include <cmath>
#include <cstdio>

#include "container/codec_parameters.h"
#include "js/js_values.h"

namespace streamcoder {

namespace {

// A whole number within int64 for MediaWriter to range-check: a double beyond int64's range (or
// a fraction) is refused here, because converting it would be undefined behaviour.
int64_t GetWhole(const Napi::Object& options, const char* key, int64_t fallback) {
  double value = GetNumber(options, key, double(fallback));
  if (value != std::floor(value) || !(std::fabs(value) < 9.2e18)) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.17g", value);  // 1e+300, not 301 digits
    throw Failure("ERR_INVALID_ARGUMENT", std::string("Expected an integer for ") + key + " but received " + text);
  }
  return int64_t(value);
}

}  // namespace

AVRational GetRational(const Napi::Object& object, const char* key) {
  Napi::Value value = object.Get(key);
  if (!value.IsObject()) throw Failure("ERR_INVALID_ARGUMENT", std::string("Expected { num, den } for ") + key);
  Napi::Object rational = value.As<Napi::Object>();
  return AVRational{GetInt(rational, "num", 0), GetInt(rational, "den", 0)};
}

namespace {

// The source stream a copy takes its packets from: the CodecParameters object of a Decoder's
// info (codec_parameters.h checks and converts it).
std::shared_ptr<CopySource> GetCopySource(const Napi::Object& options, const char* key) {
  StreamParameters stream = CodecParametersFromJs(options.Get(key), key);
  auto source = std::make_shared<CopySource>();
  source->parameters = std::move(stream.parameters);
  source->timeBase = stream.timeBase;
  return source;
}

StreamMode GetStreamMode(const Napi::Object& options, const char* key, StreamMode fallback) {
  const std::string mode = GetString(options, key);
  if (mode.empty()) return fallback;
  if (mode == "none") return StreamMode::kNone;
  if (mode == "encode") return StreamMode::kEncode;
  if (mode == "copy") return StreamMode::kCopy;
  throw Failure("ERR_INVALID_ARGUMENT", std::string("Expected 'none', 'encode' or 'copy' for ") + key);
}

}  // namespace

WriterOptions GetWriterOptions(const Napi::Object& options) {
  WriterOptions writer;
  writer.url = GetString(options, "url");
  if (writer.url.empty()) throw Failure("ERR_INVALID_ARGUMENT", "Expected an output path or URL");
  writer.format = GetString(options, "format");
  VideoEncoderOptions& video = writer.encoder;
  video.width = GetInt(options, "width", 0);
  video.height = GetInt(options, "height", 0);
  video.frameRate = AVRational{GetInt(options, "frameRateNum", 30), GetInt(options, "frameRateDen", 1)};
  video.inputFormat = GetPixelFormat(options, "pixelFormat", AV_PIX_FMT_RGB24);
  video.codec = GetString(options, "codec", "libx264");
  video.bitRate = GetWhole(options, "bitRate", 0);
  video.maxBitRate = GetWhole(options, "maxBitRate", 0);
  video.bufSize = GetWhole(options, "bufSize", 0);
  video.gopSize = GetInt(options, "gopSize", -1);
  video.maxBFrames = GetInt(options, "maxBFrames", -1);
  video.threads = GetInt(options, "threads", 0);
  video.preset = GetString(options, "preset");
  video.tune = GetString(options, "tune");
  video.crf = GetNumber(options, "crf", -1);
  video.codecOptions = GetOptionList(options, "codecOptions");
  writer.timeoutMs = GetWhole(options, "timeoutMs", 0);
  writer.formatOptions = GetOptionList(options, "formatOptions");

  writer.video = GetStreamMode(options, "video", StreamMode::kEncode);
  if (writer.video == StreamMode::kCopy) writer.videoCopy = GetCopySource(options, "videoParameters");
  const std::string sync = GetString(options, "videoSync", "passthrough");
  if (sync == "passthrough") writer.videoSync = VideoSync::kPassthrough;
  else if (sync == "constant") writer.videoSync = VideoSync::kConstant;
  else if (sync == "retime") writer.videoSync = VideoSync::kRetime;
  else throw Failure("ERR_INVALID_ARGUMENT", "Expected 'passthrough', 'constant' or 'retime' for videoSync");
  const std::string timeline = GetString(options, "timeline", "strict");
  if (timeline == "strict") writer.timeline = Timeline::Mode::kStrict;
  else if (timeline == "continue") writer.timeline = Timeline::Mode::kContinue;
  else throw Failure("ERR_INVALID_ARGUMENT", "Expected 'strict' or 'continue' for timeline");

  writer.audio = GetStreamMode(options, "audio", StreamMode::kNone);
  if (writer.audio == StreamMode::kEncode) {
    writer.audioEncoder.codec = GetString(options, "audioCodec");
    writer.audioEncoder.bitRate = GetWhole(options, "audioBitRate", 0);
    writer.audioEncoder.sampleRate = GetInt(options, "audioSampleRate", 48000);
    writer.audioEncoder.channels = GetInt(options, "audioChannels", 2);
  }
  if (writer.audio == StreamMode::kCopy) writer.audioCopy = GetCopySource(options, "audioParameters");

  Napi::Value adaptive = options.Get("adaptiveBitRate");
  if (adaptive.IsObject()) {
    Napi::Object a = adaptive.As<Napi::Object>();
    writer.adaptive.enabled = true;
    writer.adaptive.start = video.bitRate;
    writer.adaptive.min = GetWhole(a, "min", 0);
    writer.adaptive.max = GetWhole(a, "max", 0);
  }

  Napi::Value reconnect = options.Get("reconnect");
  if (reconnect.IsObject()) {
    Napi::Object r = reconnect.As<Napi::Object>();
    ReconnectOptions& link = writer.reconnect;
    link.enabled = true;
    link.retries = GetInt(r, "retries", 30);
    link.backoffMs = GetWhole(r, "backoffMs", 250);
    link.maxBackoffMs = GetWhole(r, "maxBackoffMs", 5000);
    link.outageBufferSeconds = GetNumber(r, "outageBufferSeconds", 10);
  }
  return writer;
}

Napi::Object StatsToJs(Napi::Env env, const WriterStats& stats) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("frames", double(stats.frames));
  object.Set("packets", double(stats.packets));
  object.Set("bytes", double(stats.bytes));
  object.Set("keyFrames", double(stats.keyFrames));
  object.Set("lateFrames", double(stats.lateFrames));
  object.Set("droppedFrames", double(stats.droppedFrames));
  object.Set("duplicatedFrames", double(stats.duplicatedFrames));
  object.Set("audioSamples", double(stats.audioSamples));
  object.Set("audioPackets", double(stats.audioPackets));
  object.Set("audioBytes", double(stats.audioBytes));
  object.Set("bitRate", stats.bitRate);
  object.Set("fps", stats.fps);
  object.Set("lead", stats.lead);
  object.Set("targetBitRate", double(stats.targetBitRate));
  object.Set("state", LinkStateName(stats.state));
  object.Set("disconnects", double(stats.disconnects));
  object.Set("reconnects", double(stats.reconnects));
  object.Set("downtimeMs", stats.downtimeMs);
  object.Set("outageDroppedFrames", double(stats.outageDroppedFrames));
  object.Set("droppedAudioPackets", double(stats.droppedAudioPackets));
  return object;
}

}  // namespace streamcoder
