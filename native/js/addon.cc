#include "js/addon.h"

#include "base/ffmpeg.h"
#include "base/library_versions.h"
#include "base/log.h"
#include "base/redact.h"
#include "container/output.h"
#include "js/audio_encoder_object.h"
#include "js/client.h"
#include "js/decoder.h"
#include "js/errors.h"
#include "js/relay_object.h"
#include "js/writer.h"

namespace streamcoder {

void OpenObjects::Add(Closable* object) {
  std::lock_guard<std::mutex> lock(mutex_);
  objects_.insert(object);
}

void OpenObjects::Remove(Closable* object) {
  std::lock_guard<std::mutex> lock(mutex_);
  objects_.erase(object);
}

void OpenObjects::CloseAll() {
  std::set<Closable*> objects;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    objects.swap(objects_);
  }
  for (Closable* object : objects) object->Close();
}

Addon::Addon(Napi::Env env, Napi::Object exports) {
  // Before anything touches an FFmpeg struct: require() fails with this message instead.
  std::string mismatch = MajorMismatch(LinkedLibraries());
  if (!mismatch.empty()) throw Napi::Error::New(env, mismatch);
  InstallLogCallback();
  DefineAddon(exports, {
                           InstanceMethod("setErrorClass", &Addon::SetErrorClass),
                           InstanceMethod("setLogLevel", &Addon::SetLogLevel),
                           InstanceMethod("setLogCallback", &Addon::SetLogCallback),
                           InstanceMethod("versions", &Addon::Versions),
                           InstanceMethod("redactUrl", &Addon::RedactUrlMethod),
                           InstanceMethod("outputTakes", &Addon::OutputTakes),
                           InstanceMethod("encoderType", &Addon::EncoderType),
                           InstanceValue("Decoder", Decoder::Define(env)),
                           InstanceValue("Writer", Writer::Define(env)),
                           InstanceValue("Client", Client::Define(env)),
                           InstanceValue("AudioEncoder", AudioEncoderObject::Define(env)),
                           InstanceValue("Relay", RelayObject::Define(env)),
                       });
}

Addon::~Addon() {
  StopLogCallback();
  open_->CloseAll();
}

namespace {

struct LogLine {
  int level;
  std::string text;
};

}  // namespace

Napi::Value Addon::SetLogCallback(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  StopLogCallback();
  if (info[0].IsNull() || info[0].IsUndefined()) return env.Undefined();
  if (!info[0].IsFunction()) throw Napi::TypeError::New(env, "setLogCallback expects a function or null");
  // Queue of 1024 lines; when JS falls that far behind, further lines are dropped rather than
  // blocking the FFmpeg thread that logs them.
  logFunction_ = Napi::ThreadSafeFunction::New(env, info[0].As<Napi::Function>(), "streamcoder-log", 1024, 1);
  logFunction_.Unref(env);  // a log listener alone must not keep the process alive
  Napi::ThreadSafeFunction function = logFunction_;
  logSink_ = AddLogSink([function](int level, const std::string& text) mutable {
    auto* line = new LogLine{level, text};
    napi_status status = function.NonBlockingCall(line, [](Napi::Env env, Napi::Function callback, LogLine* line) {
      std::unique_ptr<LogLine> owned(line);
      if (env != nullptr && callback != nullptr) {
        CallListener(env, [&] { callback.Call({Napi::Number::New(env, owned->level), Napi::String::New(env, owned->text)}); });
      }
    });
    if (status != napi_ok) delete line;
  });
  return env.Undefined();
}

void Addon::StopLogCallback() {
  if (logSink_ == 0) return;
  RemoveLogSink(logSink_);  // after this no thread calls the function again
  logSink_ = 0;
  logFunction_.Release();
}

Napi::Value Addon::SetErrorClass(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "setErrorClass expects a class");
  errorClass = Napi::Persistent(info[0].As<Napi::Function>());
  return info.Env().Undefined();
}

Napi::Value Addon::SetLogLevel(const Napi::CallbackInfo& info) {
  if (!info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "setLogLevel expects a number");
  SetPrintLevel(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

// { ffmpeg, libraries: { libavcodec: { built, runtime }, ... } }
Napi::Value Addon::Versions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object libraries = Napi::Object::New(env);
  for (const LibraryVersion& library : LinkedLibraries()) {
    Napi::Object versions = Napi::Object::New(env);
    versions.Set("built", FormatVersion(library.built));
    versions.Set("runtime", FormatVersion(library.runtime));
    libraries.Set(library.name, versions);
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("ffmpeg", av_version_info());
  result.Set("libraries", libraries);
  return result;
}

// outputTakes(url, format, codec): whether the muxer that `url` (or `format`) implies can hold
// `codec` (a codec name): so a pipeline or a recording can choose stream copy before it opens
// anything. Nothing is connected or created.
Napi::Value Addon::OutputTakes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsString() || !info[2].IsString()) {
    throw Napi::TypeError::New(env, "outputTakes expects (url, format, codec) strings");
  }
  return Guarded(env, [&]() -> Napi::Value {
    const std::string codec = info[2].As<Napi::String>().Utf8Value();
    const AVCodecDescriptor* descriptor = avcodec_descriptor_get_by_name(codec.c_str());
    if (descriptor == nullptr) return Napi::Boolean::New(env, false);
    Output output(info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::String>().Utf8Value(), 0, {});
    output.Allocate();
    return Napi::Boolean::New(env, output.Takes(descriptor->id));
  });
}

// encoderType(name): 'video' or 'audio' for an encoder this FFmpeg has, else null. Lets lib/
// refuse a codec that does not exist before any thread or connection starts (a ladder's outputs
// are checked together), instead of at the open of one output among several.
Napi::Value Addon::EncoderType(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "encoderType expects a string");
  const AVCodec* codec = avcodec_find_encoder_by_name(info[0].As<Napi::String>().Utf8Value().c_str());
  if (codec == nullptr) return env.Null();
  if (codec->type == AVMEDIA_TYPE_VIDEO) return Napi::String::New(env, "video");
  if (codec->type == AVMEDIA_TYPE_AUDIO) return Napi::String::New(env, "audio");
  return env.Null();
}

Napi::Value Addon::RedactUrlMethod(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "redactUrl expects a string");
  return Napi::String::New(info.Env(), RedactUrl(info[0].As<Napi::String>().Utf8Value()));
}

}  // namespace streamcoder

// The macro pastes the class name into identifiers, so it needs an unqualified name.
using StreamcoderAddon = streamcoder::Addon;
NODE_API_ADDON(StreamcoderAddon)
