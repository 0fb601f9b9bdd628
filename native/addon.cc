#include "addon.h"

#include "decoder.h"
#include "ffmpeg.h"
#include "log.h"

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
  InstallLogCallback();
  DefineAddon(exports, {
                           InstanceMethod("setErrorClass", &Addon::SetErrorClass),
                           InstanceMethod("setLogLevel", &Addon::SetLogLevel),
                           InstanceMethod("versions", &Addon::Versions),
                           InstanceValue("Decoder", Decoder::Define(env)),
                       });
}

Addon::~Addon() { open_->CloseAll(); }

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

Napi::Value Addon::Versions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object versions = Napi::Object::New(env);
  versions.Set("libavformat", AV_STRINGIFY(LIBAVFORMAT_VERSION));
  versions.Set("libavcodec", AV_STRINGIFY(LIBAVCODEC_VERSION));
  versions.Set("libavutil", AV_STRINGIFY(LIBAVUTIL_VERSION));
  versions.Set("libswscale", AV_STRINGIFY(LIBSWSCALE_VERSION));
  versions.Set("ffmpeg", av_version_info());
  return versions;
}

}  // namespace streamcoder

// The macro pastes the class name into identifiers, so it needs an unqualified name.
using StreamcoderAddon = streamcoder::Addon;
NODE_API_ADDON(StreamcoderAddon)
