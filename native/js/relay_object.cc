#include "js/relay_object.h"

#include "js/async_task.h"
#include "js/errors.h"
#include "js/js_values.h"
#include "js/writer_values.h"
#include "media/input_switch.h"
#include "media/reader_source.h"

namespace streamcoder {

namespace {

const char* StateName(RelayOutputState state) {
  switch (state) {
    case RelayOutputState::kStarting: return "starting";
    case RelayOutputState::kRunning: return "running";
    case RelayOutputState::kDone: return "done";
    case RelayOutputState::kStopped: return "stopped";
    case RelayOutputState::kFailed: return "failed";
  }
  return "failed";
}

Napi::Value ErrorOrNull(Napi::Env env, const std::optional<Failure>& failure) {
  return failure ? ToJsError(env, *failure).Value() : env.Null();
}

Napi::Object OutputStatsToJs(Napi::Env env, const RelayOutputStats& stats) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("state", StateName(stats.state));
  object.Set("frames", double(stats.frames));
  object.Set("dropped", double(stats.dropped));
  object.Set("consumerWaits", double(stats.consumerWaits));
  object.Set("depth", double(stats.depth));
  object.Set("maxDepth", double(stats.maxDepth));
  object.Set("busySeconds", stats.busySeconds);
  object.Set("streamSeconds", stats.streamSeconds);
  object.Set("firstFrameAt", std::isnan(stats.firstPictureAt) ? env.Null() : Napi::Number::New(env, stats.firstPictureAt));
  object.Set("server", stats.writer ? Napi::Value(StatsToJs(env, *stats.writer)) : env.Null());
  object.Set("error", ErrorOrNull(env, stats.error));
  return object;
}

SwitchOptions GetSwitchOptions(const Napi::Value& value, ReaderOptions primary) {
  if (!value.IsObject()) throw Failure("ERR_INVALID_ARGUMENT", "Expected an object for failover");
  Napi::Object object = value.As<Napi::Object>();
  SwitchOptions options;
  options.inputs.push_back(std::move(primary));
  Napi::Value fallbacks = object.Get("fallbacks");
  if (!fallbacks.IsUndefined()) {
    if (!fallbacks.IsArray()) throw Failure("ERR_INVALID_ARGUMENT", "Expected a list of fallback inputs");
    Napi::Array list = fallbacks.As<Napi::Array>();
    if (list.Length() > 16) throw Failure("ERR_INVALID_ARGUMENT", "Expected at most 16 fallback inputs");
    for (uint32_t i = 0; i < list.Length(); ++i) {
      Napi::Value fallback = list.Get(i);
      if (!fallback.IsObject()) throw Failure("ERR_INVALID_ARGUMENT", "Expected the options of fallback " + std::to_string(i));
      options.inputs.push_back(GetReaderOptions(fallback.As<Napi::Object>(), 0));
    }
  }
  Napi::Value slate = object.Get("slate");
  if (slate.IsObject()) options.slate = GetReaderOptions(slate.As<Napi::Object>(), 0);
  else if (!slate.IsUndefined() && !slate.IsNull()) throw Failure("ERR_INVALID_ARGUMENT", "Expected the slate's options or null");
  const double timeout = GetNumber(object, "inputTimeoutMs", 2000);
  if (!(timeout >= 100 && timeout <= 600000)) throw Failure("ERR_INVALID_ARGUMENT", "Expected inputTimeoutMs from 100 to 600000");
  options.inputTimeoutMs = int64_t(timeout);
  const double steady = GetNumber(object, "steadyMs", 1000);
  if (!(steady >= 0 && steady <= 600000)) throw Failure("ERR_INVALID_ARGUMENT", "Expected steadyMs from 0 to 600000");
  options.steadyMs = int64_t(steady);
  options.switchBack = GetBool(object, "switchBack", true);
  options.startWidth = GetInt(object, "startWidth", 0);
  options.startHeight = GetInt(object, "startHeight", 0);
  if (options.startWidth < 0 || options.startWidth > 16384 || options.startHeight < 0 || options.startHeight > 16384) {
    throw Failure("ERR_INVALID_ARGUMENT", "Expected startWidth and startHeight from 0 to 16384");
  }
  const double fps = GetNumber(object, "startFrameRate", 25);
  if (!(fps >= 1 && fps <= 240)) throw Failure("ERR_INVALID_ARGUMENT", "Expected startFrameRate from 1 to 240");
  options.startFrameRate = av_d2q(fps, 100000);
  return options;
}

Napi::Object SwitchStatsToJs(Napi::Env env, const SwitchStats& stats) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("current", stats.current);
  object.Set("switches", double(stats.switches));
  Napi::Array seconds = Napi::Array::New(env, stats.secondsOn.size());
  for (size_t i = 0; i < stats.secondsOn.size(); ++i) seconds.Set(uint32_t(i), stats.secondsOn[i]);
  object.Set("secondsOn", seconds);
  Napi::Array events = Napi::Array::New(env, stats.events.size());
  for (size_t i = 0; i < stats.events.size(); ++i) {
    Napi::Object event = Napi::Object::New(env);
    event.Set("from", stats.events[i].from);
    event.Set("to", stats.events[i].to);
    event.Set("reason", stats.events[i].reason);
    event.Set("at", stats.events[i].at);
    events.Set(uint32_t(i), event);
  }
  object.Set("events", events);
  object.Set("eventCount", double(stats.eventCount));
  return object;
}

RelayOutputOptions GetOutput(const Napi::Value& value, size_t index) {
  if (!value.IsObject()) throw Failure("ERR_INVALID_ARGUMENT", "Expected an object for output " + std::to_string(index));
  Napi::Object object = value.As<Napi::Object>();
  Napi::Value writer = object.Get("writer");
  if (!writer.IsObject()) throw Failure("ERR_INVALID_ARGUMENT", "Expected the writer options of output " + std::to_string(index));
  RelayOutputOptions output;
  output.writer = GetWriterOptions(writer.As<Napi::Object>());
  output.realtime = GetBool(object, "realtime", true);
  const std::string onSlow = GetString(object, "onSlow", "wait");
  if (onSlow != "wait" && onSlow != "drop") throw Failure("ERR_INVALID_ARGUMENT", "Expected 'wait' or 'drop' for onSlow");
  output.dropWhenSlow = onSlow == "drop";
  const int slots = GetInt(object, "slots", 8);
  // The FrameRing's bounds (lib/ring/layout.ts MAX_SLOTS), per output.
  if (slots < 2 || slots > 1024) throw Failure("ERR_INVALID_ARGUMENT", "Expected slots from 2 to 1024");
  output.slots = size_t(slots);
  return output;
}

}  // namespace

Napi::Function RelayObject::Define(Napi::Env env) {
  return DefineClass(env, "Relay",
                     {
                         InstanceMethod("open", &RelayObject::OpenAsync),
                         InstanceMethod("start", &RelayObject::Start),
                         InstanceMethod("restartOutput", &RelayObject::RestartOutput),
                         InstanceMethod("stop", &RelayObject::Stop),
                         InstanceMethod("abort", &RelayObject::Abort),
                         InstanceAccessor("stats", &RelayObject::GetStats, nullptr),
                         InstanceMethod("thumbnail", &RelayObject::Thumbnail),
                         InstanceMethod("close", &RelayObject::CloseMethod),
                     });
}

RelayObject::RelayObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RelayObject>(info) {
  Napi::Env env = info.Env();
  Guarded(env, [&] {
    ReaderOptions input = GetReaderOptions(GetOptionsObject(info, 0), 0);
    if (!info[1].IsFunction()) throw Failure("ERR_INVALID_ARGUMENT", "Expected a change listener");
    Napi::Object options = info[2].IsUndefined() ? Napi::Object::New(env) : GetOptionsObject(info, 2);
    Napi::Value failover = options.Get("failover");
    if (failover.IsUndefined() || failover.IsNull()) {
      relay_ = std::make_shared<Relay>(std::make_unique<ReaderSource>(std::move(input), GetBool(options, "loop", false)));
      return;
    }
    if (GetBool(options, "loop", false)) throw Failure("ERR_INVALID_ARGUMENT", "A looped input has no fallbacks");
    auto inputSwitch = std::make_unique<InputSwitch>(GetSwitchOptions(failover, std::move(input)));
    switch_ = inputSwitch.get();
    relay_ = std::make_shared<Relay>(std::move(inputSwitch));
  });
  changed_ = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "streamcoder-relay", 0, 1);
  changed_.Unref(env);  // the pipeline's own timer keeps the process alive while it runs
  if (switch_ != nullptr) {
    Napi::ThreadSafeFunction changed = changed_;
    switch_->Watch([changed]() mutable { changed.NonBlockingCall(); });
  }
  registry_ = Addon::Of(env).openObjects();
  registry_->Add(this);
}

RelayObject::~RelayObject() {
  Close();
  if (registry_) registry_->Remove(this);
}

void RelayObject::Close() {
  if (relay_) {
    relay_->Abort();
    relay_.reset();  // joins its threads, unless an open() in flight holds it: then it will
  }
  if (changed_) {
    changed_.Release();
    changed_ = Napi::ThreadSafeFunction();
  }
}

Relay& RelayObject::Ready(const char* what) {
  if (!relay_) throw Failure("ERR_CLOSED", std::string("Cannot ") + what + ": the relay is closed");
  if (!opened_) throw Failure("ERR_NOT_OPEN", std::string("Cannot ") + what + ": the relay is not open");
  return *relay_;
}

Napi::Value RelayObject::OpenAsync(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    if (!relay_) throw Failure("ERR_CLOSED", "The relay is closed");
    if (opening_ || opened_) throw Failure("ERR_BUSY", "The relay is open or opening already");
    opening_ = true;
    std::shared_ptr<Relay> relay = relay_;
    return AsyncTask<bool>::Run(
        info.Env(),
        [relay] {
          relay->Open();
          return true;
        },
        [this, relay](Napi::Env env, bool&) -> Napi::Value {
          if (!relay_) throw Failure("ERR_CLOSED", "The relay was closed while it opened");
          opened_ = true;
          return InfoToJs(env, relay->info());
        },
        {info.This()}, [this] { opening_ = false; });
  });
}

Napi::Value RelayObject::Start(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Relay& relay = Ready("start");
    if (started_) throw Failure("ERR_BUSY", "The relay has started already");
    if (!info[0].IsArray()) throw Failure("ERR_INVALID_ARGUMENT", "Expected a list of outputs");
    Napi::Array list = info[0].As<Napi::Array>();
    if (list.Length() == 0 || list.Length() > 64) throw Failure("ERR_INVALID_ARGUMENT", "Expected 1 to 64 outputs");
    std::vector<RelayOutputOptions> outputs;
    for (uint32_t i = 0; i < list.Length(); ++i) outputs.push_back(GetOutput(list.Get(i), i));
    Napi::Object options = GetOptionsObject(info, 1);
    RelayOptions relayOptions;
    const double maxFrames = GetNumber(options, "maxFrames", 0);
    if (!(maxFrames >= 0 && maxFrames <= 9007199254740991.0)) throw Failure("ERR_INVALID_ARGUMENT", "Expected maxFrames of 0 or more");
    relayOptions.maxFrames = int64_t(maxFrames);
    Napi::ThreadSafeFunction changed = changed_;
    started_ = true;
    relay.Start(std::move(outputs), relayOptions, [changed]() mutable { changed.NonBlockingCall(); });
    return info.Env().Undefined();
  });
}

Napi::Value RelayObject::RestartOutput(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Relay& relay = Ready("restart an output");
    const double index = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
    if (!(index >= 0 && index < double(relay.outputCount()))) throw Failure("ERR_INVALID_ARGUMENT", "Expected an output's index");
    return Napi::Boolean::New(info.Env(), relay.RestartOutput(size_t(index)));
  });
}

Napi::Value RelayObject::Stop(const Napi::CallbackInfo& info) {
  if (relay_) relay_->Stop();
  return info.Env().Undefined();
}

Napi::Value RelayObject::Abort(const Napi::CallbackInfo& info) {
  if (relay_) relay_->Abort();
  return info.Env().Undefined();
}

Napi::Value RelayObject::GetStats(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    Relay& relay = Ready("read the stats");
    const RelayStats stats = relay.stats();
    Napi::Object object = Napi::Object::New(env);
    object.Set("frames", double(stats.frames));
    object.Set("corruptPackets", double(stats.corrupt));
    object.Set("producerWaits", double(stats.producerWaits));
    object.Set("busySeconds", stats.busySeconds);
    object.Set("finished", stats.finished);
    object.Set("error", ErrorOrNull(env, stats.error));
    const std::vector<RelayOutputStats> outputs = relay.outputStats();
    Napi::Array list = Napi::Array::New(env, outputs.size());
    for (size_t i = 0; i < outputs.size(); ++i) list.Set(uint32_t(i), OutputStatsToJs(env, outputs[i]));
    object.Set("outputs", list);
    object.Set("input", switch_ != nullptr ? Napi::Value(SwitchStatsToJs(env, switch_->stats())) : env.Null());
    return object;
  });
}

Napi::Value RelayObject::Thumbnail(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Ready("make a thumbnail");
    const int width = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
    if (width < 16 || width > 1920) throw Failure("ERR_INVALID_ARGUMENT", "Expected a thumbnail width from 16 to 1920");
    // The relay is held by the task: a close() meanwhile waits for nothing and frees it after.
    std::shared_ptr<Relay> relay = relay_;
    return AsyncTask<std::shared_ptr<AVPacket>>::Run(
        info.Env(),
        [relay, width] {
          PacketPtr packet = relay->Thumbnail(width);
          return std::shared_ptr<AVPacket>(packet.release(), [](AVPacket* p) { av_packet_free(&p); });
        },
        [](Napi::Env env, std::shared_ptr<AVPacket>& packet) -> Napi::Value {
          if (!packet) return env.Null();
          return Napi::Buffer<uint8_t>::Copy(env, packet->data, size_t(packet->size));
        },
        {info.This()});
  });
}

Napi::Value RelayObject::CloseMethod(const Napi::CallbackInfo& info) {
  Close();
  return info.Env().Undefined();
}

}  // namespace streamcoder
