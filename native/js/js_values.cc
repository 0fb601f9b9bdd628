#include "js/js_values.h"

#include <cmath>
#include <cstring>

#include "base/failure.h"
#include "container/codec_parameters.h"

namespace streamcoder {

namespace {

Failure BadOption(const char* key, const char* expected) {
  return Failure("ERR_INVALID_ARGUMENT", std::string("Expected ") + expected + " for " + key);
}

// FFmpeg takes C strings: a NUL inside a JS string would silently cut it there ('libx264\0evil'
// opening libx264, a URL losing its tail). This is the one place JS strings become C++ ones.
std::string WithoutNul(const Napi::Value& value, const char* key, const char* expected) {
  std::string text = value.As<Napi::String>().Utf8Value();
  if (text.find('\0') != std::string::npos) throw BadOption(key, expected);
  return text;
}

Napi::Value Rational(Napi::Env env, AVRational value) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("num", value.num);
  object.Set("den", value.den);
  return object;
}

Napi::Value NumberOrNull(Napi::Env env, double value) {
  return std::isnan(value) ? env.Null() : Napi::Number::New(env, value);
}

}  // namespace

std::string GetString(const Napi::Object& object, const char* key, const std::string& fallback) {
  Napi::Value value = object.Get(key);
  if (value.IsUndefined() || value.IsNull()) return fallback;
  if (!value.IsString()) throw BadOption(key, "a string");
  return WithoutNul(value, key, "a string without NUL characters");
}

double GetNumber(const Napi::Object& object, const char* key, double fallback) {
  Napi::Value value = object.Get(key);
  if (value.IsUndefined() || value.IsNull()) return fallback;
  if (!value.IsNumber()) throw BadOption(key, "a number");
  double number = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(number)) throw BadOption(key, "a finite number");
  return number;
}

int GetInt(const Napi::Object& object, const char* key, int fallback) {
  double number = GetNumber(object, key, fallback);
  if (number != std::floor(number) || number < -2147483648.0 || number > 2147483647.0) {
    throw BadOption(key, "a 32-bit integer");
  }
  return int(number);
}

bool GetBool(const Napi::Object& object, const char* key, bool fallback) {
  Napi::Value value = object.Get(key);
  if (value.IsUndefined() || value.IsNull()) return fallback;
  if (!value.IsBoolean()) throw BadOption(key, "a boolean");
  return value.As<Napi::Boolean>().Value();
}

OptionList GetOptionList(const Napi::Object& object, const char* key) {
  OptionList list;
  Napi::Value value = object.Get(key);
  if (value.IsUndefined() || value.IsNull()) return list;
  if (!value.IsObject()) throw BadOption(key, "an object of strings");
  Napi::Object options = value.As<Napi::Object>();
  Napi::Array names = options.GetPropertyNames();
  for (uint32_t i = 0; i < names.Length(); ++i) {
    Napi::Value name = names.Get(i);
    Napi::Value entry = options.Get(name);
    if (!entry.IsString()) throw BadOption(key, "an object of strings");
    const char* expected = "option names and values without NUL characters";
    list.emplace_back(WithoutNul(name.ToString(), key, expected), WithoutNul(entry, key, expected));
  }
  return list;
}

AVPixelFormat GetPixelFormat(const Napi::Object& object, const char* key, AVPixelFormat fallback) {
  std::string name = GetString(object, key);
  if (name.empty()) return fallback;
  AVPixelFormat format = av_get_pix_fmt(name.c_str());
  if (format == AV_PIX_FMT_NONE) {
    throw Failure("ERR_INVALID_ARGUMENT", "Unknown pixel format '" + name + "'");
  }
  return format;
}

Napi::Object GetOptionsObject(const Napi::CallbackInfo& info, size_t index) {
  if (!info[index].IsObject()) throw Failure("ERR_INVALID_ARGUMENT", "Expected an options object");
  return info[index].As<Napi::Object>();
}

ReaderOptions GetReaderOptions(const Napi::Object& options, int64_t defaultTimeoutMs) {
  ReaderOptions reader;
  reader.source = GetString(options, "source");
  if (reader.source.empty()) throw Failure("ERR_INVALID_ARGUMENT", "Expected a source path or URL");
  reader.pixelFormat = GetPixelFormat(options, "pixelFormat", AV_PIX_FMT_RGB24);
  reader.width = GetInt(options, "width", 0);
  reader.height = GetInt(options, "height", 0);
  // Ranges checked on the doubles, before any conversion (one out of range is undefined).
  reader.startTime = GetNumber(options, "startTime", 0);
  if (reader.startTime < 0 || reader.startTime > 1e9) throw BadOption("startTime", "seconds from 0 to 1e9");
  reader.threads = GetInt(options, "threads", 0);
  if (reader.threads < 0 || reader.threads > 64) throw BadOption("threads", "an integer from 0 to 64");
  const double timeoutMs = GetNumber(options, "timeoutMs", double(defaultTimeoutMs));
  if (timeoutMs < 0 || timeoutMs > 86400000) throw BadOption("timeoutMs", "milliseconds from 0 to 86400000");
  reader.timeoutMs = int64_t(timeoutMs);
  const double maxPixels = GetNumber(options, "maxPixels", double(kDefaultMaxPixels));
  if (maxPixels < 1 || maxPixels > double(kMaxPixels)) {
    throw Failure("ERR_INVALID_ARGUMENT", "Expected maxPixels from 1 to " + std::to_string(kMaxPixels));
  }
  reader.maxPixels = int64_t(maxPixels);
  reader.inputFormat = GetString(options, "inputFormat");
  reader.confineTo = GetString(options, "confineTo");
  reader.formatOptions = GetOptionList(options, "formatOptions");
  reader.codecOptions = GetOptionList(options, "codecOptions");
  if (reader.width < 0 || reader.height < 0) throw Failure("ERR_DIMENSIONS", "Width and height must not be negative");
  reader.videoCopy = GetBool(options, "videoCopy", false);
  Napi::Value audio = options.Get("audio");
  if (!audio.IsUndefined() && !audio.IsNull()) {
    if (!audio.IsObject()) throw BadOption("audio", "an object");
    Napi::Object a = audio.As<Napi::Object>();
    reader.audio.enabled = true;
    reader.audio.copy = GetBool(a, "copy", false);
    reader.audio.stream = GetInt(a, "stream", -1);
    if (reader.audio.stream < -1 || reader.audio.stream > 65535) throw BadOption("audio.stream", "an integer from 0 to 65535, or -1");
    // 0: the source's own rate or channel count.
    reader.audio.sampleRate = GetInt(a, "sampleRate", 0);
    if (reader.audio.sampleRate != 0 && (reader.audio.sampleRate < kMinSampleRate || reader.audio.sampleRate > kMaxSampleRate)) {
      throw BadOption("audio.sampleRate", "an integer from 8000 to 384000 (or 0)");
    }
    reader.audio.channels = GetInt(a, "channels", 0);
    if (reader.audio.channels < 0 || reader.audio.channels > kMaxChannels) throw BadOption("audio.channels", "an integer from 1 to 64 (or 0)");
    const std::string format = GetString(a, "sampleFormat", "f32");
    if (format != "f32" && format != "s16") throw BadOption("audio.sampleFormat", "'f32' or 's16'");
    reader.audio.sampleFormat = format == "s16" ? AV_SAMPLE_FMT_S16 : AV_SAMPLE_FMT_FLT;
  }
  return reader;
}

namespace {

const char* TypedArrayName(napi_typedarray_type type) {
  switch (type) {
    case napi_float32_array: return "a Float32Array";
    case napi_int16_array: return "an Int16Array";
    default: return "a Uint8Array";
  }
}

size_t ElementSize(napi_typedarray_type type) {
  switch (type) {
    case napi_float32_array: return 4;
    case napi_int16_array: return 2;
    default: return 1;
  }
}

}  // namespace

ByteView GetTypedBytes(const Napi::Value& value, napi_typedarray_type expected, const char* what) {
  const std::string wrongType = std::string("Expected ") + TypedArrayName(expected) + " for " + what;
  if (!value.IsTypedArray()) throw Failure("ERR_INVALID_ARGUMENT", wrongType);
  napi_env env = value.Env();
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  napi_value arrayBuffer;
  size_t offset = 0;
  // Raw calls: Napi::TypedArray::ArrayBuffer() refuses SharedArrayBuffer-backed views.
  if (napi_get_typedarray_info(env, value, &type, &length, &data, &arrayBuffer, &offset) != napi_ok) {
    throw Failure("ERR_INVALID_ARGUMENT", std::string("Cannot read the buffer given for ") + what);
  }
  if (type != expected && !(expected == napi_uint8_array && type == napi_uint8_clamped_array)) {
    throw Failure("ERR_INVALID_ARGUMENT", wrongType);
  }
  bool isArrayBuffer = false;  // false for a SharedArrayBuffer
  bool detached = false;
  if (napi_is_arraybuffer(env, arrayBuffer, &isArrayBuffer) != napi_ok ||
      (isArrayBuffer && napi_is_detached_arraybuffer(env, arrayBuffer, &detached) != napi_ok)) {
    throw Failure("ERR_INVALID_ARGUMENT", std::string("Cannot read the buffer given for ") + what);
  }
  if (detached) {
    throw Failure("ERR_DETACHED", std::string("The buffer given for ") + what +
                                      " is detached (its memory was transferred elsewhere)");
  }
  return ByteView{static_cast<uint8_t*>(data), length * ElementSize(expected), isArrayBuffer};
}

ByteView GetBytes(const Napi::Value& value, const char* what) { return GetTypedBytes(value, napi_uint8_array, what); }

Napi::Object InfoToJs(Napi::Env env, const StreamInfo& info) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("codec", info.codec);
  object.Set("format", info.format);
  object.Set("width", info.width);
  object.Set("height", info.height);
  object.Set("pixelFormat", info.pixelFormat);
  object.Set("sourceWidth", info.sourceWidth);
  object.Set("sourceHeight", info.sourceHeight);
  object.Set("sourcePixelFormat", info.sourcePixelFormat);
  object.Set("streamIndex", info.streamIndex);
  object.Set("frameRate", Rational(env, info.frameRate));
  object.Set("timeBase", Rational(env, info.timeBase));
  object.Set("startTime", NumberOrNull(env, info.startTime));
  object.Set("duration", NumberOrNull(env, info.duration));
  object.Set("frameCount", info.frameCount >= 0 ? Napi::Number::New(env, double(info.frameCount)) : env.Null());
  object.Set("bitRate", info.bitRate > 0 ? Napi::Number::New(env, double(info.bitRate)) : env.Null());
  object.Set("videoParameters", info.videoParameters ? Napi::Value(CodecParametersToJs(env, *info.videoParameters, info.timeBase))
                                                     : env.Null());
  if (!info.audio) {
    object.Set("audio", env.Null());
    return object;
  }
  const AudioStreamInfo& a = *info.audio;
  Napi::Object audio = Napi::Object::New(env);
  audio.Set("codec", a.codec);
  audio.Set("streamIndex", a.streamIndex);
  audio.Set("sampleRate", a.sampleRate);
  audio.Set("channels", a.channels);
  audio.Set("channelLayout", a.channelLayout);
  audio.Set("sampleFormat", a.sampleFormat);
  audio.Set("bitRate", a.bitRate > 0 ? Napi::Number::New(env, double(a.bitRate)) : env.Null());
  audio.Set("timeBase", Rational(env, a.timeBase));
  audio.Set("startTime", NumberOrNull(env, a.startTime));
  if (a.copy) {
    audio.Set("output", env.Null());
  } else {
    Napi::Object output = Napi::Object::New(env);
    output.Set("sampleRate", a.output.sampleRate);
    output.Set("channels", a.output.channels);
    output.Set("sampleFormat", a.output.sampleFormat == AV_SAMPLE_FMT_S16 ? "s16" : "f32");
    audio.Set("output", output);
  }
  audio.Set("parameters", a.parameters ? Napi::Value(CodecParametersToJs(env, *a.parameters, a.timeBase)) : env.Null());
  object.Set("audio", audio);
  return object;
}

Napi::Object AudioToJs(Napi::Env env, const AudioItem& item, const AudioFormat& format) {
  Napi::Object object = Napi::Object::New(env);
  const AudioChunk& chunk = item.chunk;
  const bool s16 = format.sampleFormat == AV_SAMPLE_FMT_S16;
  // A fresh ArrayBuffer per chunk: it is small (a few KiB) and JS owns it outright.
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, chunk.data.size());
  if (!chunk.data.empty()) std::memcpy(buffer.Data(), chunk.data.data(), chunk.data.size());
  const size_t values = size_t(chunk.samples) * size_t(format.channels);
  object.Set("kind", "audio");
  if (s16) {
    object.Set("data", Napi::Int16Array::New(env, values, buffer, 0));
  } else {
    object.Set("data", Napi::Float32Array::New(env, values, buffer, 0));
  }
  object.Set("sampleFormat", s16 ? "s16" : "f32");
  object.Set("sampleRate", format.sampleRate);
  object.Set("channels", format.channels);
  object.Set("samples", chunk.samples);
  object.Set("pts", double(chunk.pts));
  object.Set("time", item.time);
  return object;
}

Napi::Object PacketToJs(Napi::Env env, const PacketItem& item) {
  const AVPacket* packet = item.packet.get();
  Napi::Object object = Napi::Object::New(env);
  object.Set("kind", item.video ? "video-packet" : "audio-packet");
  object.Set("data", Napi::Buffer<uint8_t>::Copy(env, packet->data, size_t(packet->size)));
  object.Set("pts", packet->pts == AV_NOPTS_VALUE ? env.Null() : Napi::Number::New(env, double(packet->pts)));
  object.Set("dts", packet->dts == AV_NOPTS_VALUE ? env.Null() : Napi::Number::New(env, double(packet->dts)));
  object.Set("duration", double(packet->duration > 0 ? packet->duration : 0));
  object.Set("timeBase", Rational(env, item.timeBase));
  object.Set("time", NumberOrNull(env, item.time));
  object.Set("keyFrame", (packet->flags & AV_PKT_FLAG_KEY) != 0);
  return object;
}

Napi::Object MetaToJs(Napi::Env env, const FrameMeta& meta, const std::string& pixelFormat) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("width", meta.width);
  object.Set("height", meta.height);
  object.Set("pixelFormat", pixelFormat);
  object.Set("pts", meta.pts == AV_NOPTS_VALUE ? env.Null() : Napi::Number::New(env, double(meta.pts)));
  object.Set("time", NumberOrNull(env, meta.time));
  object.Set("index", double(meta.index));
  object.Set("keyFrame", meta.keyFrame);
  object.Set("pictType", std::string(1, meta.pictType));
  return object;
}

}  // namespace streamcoder
