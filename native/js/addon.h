// The per-environment state of the addon. Node runs one instance per main thread and per
// worker_thread, so nothing here may be static: each environment gets its own error class and
// its own list of open objects, which are closed when that environment goes away.
#pragma once

#include <memory>
#include <mutex>
#include <set>

#include <napi.h>

namespace streamcoder {

// Anything that holds libav resources and must be released even if the user never calls close().
class Closable {
 public:
  virtual ~Closable() = default;
  virtual void Close() = 0;
};

// Shared by the addon and every object it created, so an object finalised after the addon's
// teardown can still unregister safely.
class OpenObjects {
 public:
  void Add(Closable* object);
  void Remove(Closable* object);
  void CloseAll();

 private:
  std::mutex mutex_;
  std::set<Closable*> objects_;
};

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports);
  ~Addon();  // the environment is going away: close whatever the user left open

  static Addon& Of(Napi::Env env) { return *env.GetInstanceData<Addon>(); }

  std::shared_ptr<OpenObjects> openObjects() const { return open_; }
  // The JS StreamcoderError class, handed over once by lib/binding.ts; empty until then.
  Napi::FunctionReference errorClass;

 private:
  Napi::Value SetErrorClass(const Napi::CallbackInfo& info);
  Napi::Value SetLogLevel(const Napi::CallbackInfo& info);
  Napi::Value SetLogCallback(const Napi::CallbackInfo& info);
  void StopLogCallback();
  Napi::Value Versions(const Napi::CallbackInfo& info);
  // redactUrl(text): RedactUrl (redact.h), the one implementation lib/redact.ts uses too.
  Napi::Value RedactUrlMethod(const Napi::CallbackInfo& info);
  Napi::Value OutputTakes(const Napi::CallbackInfo& info);
  Napi::Value EncoderType(const Napi::CallbackInfo& info);

  std::shared_ptr<OpenObjects> open_ = std::make_shared<OpenObjects>();
  // FFmpeg's log lines for this environment's onLog callback; 0 when there is none.
  int logSink_ = 0;
  Napi::ThreadSafeFunction logFunction_;
};

}  // namespace streamcoder
