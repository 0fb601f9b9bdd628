#include "js/writer.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "base/bounds.h"
#include "container/codec_parameters.h"
#include "js/async_task.h"
#include "js/errors.h"
#include "js/js_values.h"
#include "js/open_once.h"
#include "js/writer_values.h"

namespace streamcoder {

namespace {

int64_t GetPts(const Napi::Value& value) {
  if (!value.IsNumber()) throw Failure("ERR_INVALID_ARGUMENT", "Expected a pts number");
  double pts = value.As<Napi::Number>().DoubleValue();
  if (!(pts >= 0) || pts > 9007199254740991.0 || pts != std::floor(pts)) {
    throw Failure("ERR_INVALID_ARGUMENT", "Expected a pts that is a non-negative integer");
  }
  return int64_t(pts);
}

// A time in seconds (NaN for null or undefined), within the timeline's bounds.
double GetTime(const Napi::Object& item, const char* key) {
  Napi::Value value = item.Get(key);
  if (value.IsUndefined() || value.IsNull()) return NAN;
  if (!value.IsNumber()) throw Failure("ERR_INVALID_ARGUMENT", std::string("Expected a number of seconds or null for ") + key);
  double time = value.As<Napi::Number>().DoubleValue();
  if (!(std::fabs(time) <= double(kMaxTimelineSeconds))) {
    throw Failure("ERR_INVALID_ARGUMENT", std::string("Expected a time within 1e9 s for ") + key);
  }
  return time;
}

// A packet timestamp: an integer within 2^53, or null (AV_NOPTS_VALUE).
int64_t GetTimestamp(const Napi::Object& item, const char* key) {
  Napi::Value value = item.Get(key);
  if (value.IsUndefined() || value.IsNull()) return AV_NOPTS_VALUE;
  double number = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : NAN;
  if (!(std::fabs(number) <= 9007199254740991.0) || number != std::floor(number)) {
    throw Failure("ERR_INVALID_ARGUMENT", std::string("Expected an integer or null for packet.") + key);
  }
  return int64_t(number);
}

// One item of lib/'s normalised shapes (binding.d.ts NativeItem) as a MediaInput over its bytes.
MediaInput GetItem(const Napi::Value& value, ByteView* bytes, Napi::Value* data) {
  if (!value.IsObject()) throw Failure("ERR_INVALID_ARGUMENT", "Expected an item object");
  Napi::Object item = value.As<Napi::Object>();
  const std::string kind = GetString(item, "kind");
  *data = item.Get("data");
  MediaInput input;
  if (kind == "video") {
    input.kind = MediaInput::Kind::kVideo;
    *bytes = GetBytes(*data, "the frame");
    input.time = GetTime(item, "time");
    // A Frame says its own size and pixel format (all three, or none: packed bytes of the open
    // ones). Bounded here, before the size arithmetic; the writer checks the bytes against it.
    if (!item.Get("width").IsUndefined() || !item.Get("height").IsUndefined() || !item.Get("pixelFormat").IsUndefined()) {
      input.width = GetInt(item, "width", 0);
      input.height = GetInt(item, "height", 0);
      CheckDimensions(input.width, input.height, "The frame");
      input.pixelFormat = GetPixelFormat(item, "pixelFormat", AV_PIX_FMT_NONE);
      if (input.pixelFormat == AV_PIX_FMT_NONE) throw Failure("ERR_PIXEL_FORMAT", "Expected the frame's pixelFormat");
    }
  } else if (kind == "audio") {
    input.kind = MediaInput::Kind::kAudio;
    const std::string format = GetString(item, "sampleFormat");
    if (format != "f32" && format != "s16") throw Failure("ERR_INVALID_ARGUMENT", "Expected 'f32' or 's16' for sampleFormat");
    input.sampleFormat = format == "f32" ? AV_SAMPLE_FMT_FLT : AV_SAMPLE_FMT_S16;
    *bytes = GetTypedBytes(*data, format == "f32" ? napi_float32_array : napi_int16_array, "the samples");
    input.sampleRate = GetInt(item, "sampleRate", 0);
    input.channels = GetInt(item, "channels", 0);
    input.time = GetTime(item, "time");
  } else if (kind == "video-packet" || kind == "audio-packet") {
    input.kind = MediaInput::Kind::kPacket;
    input.packetType = kind == "video-packet" ? AVMEDIA_TYPE_VIDEO : AVMEDIA_TYPE_AUDIO;
    *bytes = GetBytes(*data, "the packet");
    input.pts = GetTimestamp(item, "pts");
    input.dts = GetTimestamp(item, "dts");
    input.duration = GetTimestamp(item, "duration");
    if (input.duration == AV_NOPTS_VALUE) input.duration = 0;
    input.timeBase = GetRational(item, "timeBase");
    input.keyFrame = GetBool(item, "keyFrame", false);
  } else {
    throw Failure("ERR_INVALID_ARGUMENT", "Expected kind 'video', 'audio', 'video-packet' or 'audio-packet'");
  }
  input.data = bytes->data;
  input.size = bytes->length;
  return input;
}


// A link event for the JS side's listener: (type, { code, message, attempt, downtimeMs }).
void Notify(Napi::ThreadSafeFunction& events, const OutputEvent& event) {
  auto* copy = new OutputEvent(event);
  napi_status status = events.NonBlockingCall(copy, [](Napi::Env env, Napi::Function callback, OutputEvent* event) {
    std::unique_ptr<OutputEvent> owned(event);
    if (env == nullptr || callback == nullptr) return;
    const char* type = owned->type == OutputEvent::Type::kDisconnect  ? "disconnect"
                       : owned->type == OutputEvent::Type::kReconnect ? "reconnect"
                       : owned->type == OutputEvent::Type::kBitRate   ? "bitrate"
                                                                      : "failed";
    CallListener(env, [&] {
      Napi::Object info = Napi::Object::New(env);
      if (!owned->code.empty()) info.Set("error", ToJsError(env, Failure(owned->code, owned->message)).Value());
      info.Set("attempt", double(owned->attempt));
      info.Set("downtimeMs", owned->downtimeMs);
      if (owned->type == OutputEvent::Type::kBitRate) {
        info.Set("bitRate", double(owned->bitRate));
        info.Set("throughput", owned->throughput);
        info.Set("reason", owned->congestion ? "congestion" : "recovery");
      }
      callback.Call({Napi::String::New(env, type), info});
    });
  });
  if (status != napi_ok) delete copy;
}

}  // namespace

Napi::Function Writer::Define(Napi::Env env) {
  return DefineClass(env, "Writer",
                     {
                         InstanceMethod("openSync", &Writer::OpenSync),
                         InstanceMethod("open", &Writer::OpenAsync),
                         InstanceAccessor("frameBytes", &Writer::GetFrameBytes, nullptr),
                         InstanceAccessor("stats", &Writer::GetStats, nullptr),
                         InstanceAccessor("closed", &Writer::GetClosed, nullptr),
                         InstanceMethod("write", &Writer::WriteSync),
                         InstanceMethod("writeAsync", &Writer::WriteAsync),
                         InstanceMethod("send", &Writer::SendSync),
                         InstanceMethod("sendAsync", &Writer::SendAsync),
                         InstanceMethod("enqueueAsync", &Writer::EnqueueAsync),
                         InstanceMethod("closeSync", &Writer::CloseSync),
                         InstanceMethod("close", &Writer::CloseAsync),
                     });
}

Writer::Writer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Writer>(info) {
  Napi::Env env = info.Env();
  Guarded(env, [&] { writer_ = std::make_unique<MediaWriter>(GetWriterOptions(GetOptionsObject(info, 0))); });
  if (writer_ && info[1].IsFunction()) {
    events_ = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "streamcoder-writer", 64, 1);
    events_.Unref(env);  // events alone must not keep the process alive
    writer_->SetListener([events = events_](const OutputEvent& event) mutable { Notify(events, event); });
  }
  registry_ = Addon::Of(env).openObjects();
  registry_->Add(this);
}

Writer::~Writer() {
  Close();
  if (registry_) registry_->Remove(this);
}

void Writer::Close() {
  if (!gate_.MarkClosed()) return;
  if (writer_) writer_->Abort();
  std::lock_guard<std::mutex> lock(gate_.mutex());
  Release();  // the writer's destructor frees everything, swallowing errors
  pool_->Drain();
  ReleaseEvents();
}

void Writer::ReleaseEvents() {
  // Only once the writer (and with it the reconnect thread) is gone: nothing calls it after.
  if (events_) {
    events_.Release();
    events_ = Napi::ThreadSafeFunction();
  }
}

void Writer::Release() {
  std::unique_ptr<MediaWriter> writer;
  {
    // writer_ changes only here, under both locks, so GetStats may read it under statsMutex_.
    std::lock_guard<std::mutex> lock(statsMutex_);
    if (writer_) lastStats_ = writer_->stats();
    writer.swap(writer_);
  }
}

MediaWriter& Writer::OpenWriter() {
  if (!writer_) throw Failure("ERR_CLOSED", "The stream is closed");
  if (!writer_->isOpen()) throw Failure("ERR_NOT_OPEN", "The stream is not open yet");
  return *writer_;
}

double Writer::WriteItem(const MediaInput& input, bool block) { return OpenWriter().Write(input, block); }

void Writer::Finish() {
  if (!writer_) return;
  try {
    writer_->Finish();  // the flush adds the last packets to the counters
  } catch (...) {
    Release();
    throw;
  }
  Release();
}

Napi::Value Writer::OpenSync(const Napi::CallbackInfo& info) {
  return OpenOnce(info, gate_, opened_, false, [this] { OpenUnderLock(); });
}

Napi::Value Writer::OpenAsync(const Napi::CallbackInfo& info) {
  return OpenOnce(info, gate_, opened_, true, [this] { OpenUnderLock(); });
}

void Writer::OpenUnderLock() {
  if (!writer_) throw Failure("ERR_CLOSED", "The stream was closed while opening");
  writer_->Open();
}

Napi::Value Writer::GetFrameBytes(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    gate_.CheckIdle();
    std::lock_guard<std::mutex> lock(gate_.mutex());
    return Napi::Number::New(info.Env(), double(OpenWriter().frameBytes()));
  });
}

Napi::Value Writer::GetStats(const Napi::CallbackInfo& info) {
  // Readable while a write is in flight and after close: the counters are the record of the push.
  return Guarded(info.Env(), [&]() -> Napi::Value {
    std::lock_guard<std::mutex> lock(statsMutex_);
    if (writer_) lastStats_ = writer_->stats();
    return StatsToJs(info.Env(), lastStats_);
  });
}

Napi::Value Writer::GetClosed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), gate_.closed());
}

Napi::Value Writer::WriteSync(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    gate_.CheckIdle();
    ByteView bytes = GetBytes(info[0], "the frame");
    int64_t pts = GetPts(info[1]);
    bool block = info[2].ToBoolean().Value();
    AfterQueue();
    std::lock_guard<std::mutex> lock(gate_.mutex());
    MediaInput input;
    input.data = bytes.data;
    input.size = bytes.length;
    input.slot = pts;
    return Napi::Number::New(info.Env(), WriteItem(input, block));
  });
}

Napi::Value Writer::WriteAsync(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    ByteView bytes = GetBytes(info[0], "the frame");
    int64_t pts = GetPts(info[1]);
    bool block = info[2].ToBoolean().Value();
    gate_.CheckIdle();
    // An ArrayBuffer may be detached, resized or freed while the pool thread reads it: its bytes
    // are copied now, into memory of ours reused from frame to frame. A SharedArrayBuffer's
    // memory never moves (and is kept alive below): read in place, no copy.
    std::shared_ptr<PooledBuffer> staged;
    if (bytes.movable) {
      {
        // A wrong size is refused before anything is copied (a huge wrong buffer, say).
        std::lock_guard<std::mutex> lock(gate_.mutex());
        OpenWriter().CheckFrameSize(bytes.length);
      }
      staged = std::make_shared<PooledBuffer>(pool_, bytes.length);
      std::memcpy(staged->data(), bytes.data, bytes.length);
      bytes.data = staged->data();
    }
    auto settled = gate_.BeginAsync();
    return AsyncTask<double>::Run(
        info.Env(),
        [this, bytes, pts, block, staged] {
          AfterQueue();
          std::lock_guard<std::mutex> lock(gate_.mutex());
          MediaInput input;
          input.data = bytes.data;
          input.size = bytes.length;
          input.slot = pts;
          return WriteItem(input, block);
        },
        [](Napi::Env env, double& late) -> Napi::Value { return Napi::Number::New(env, late); },
        {info.This(), info[0]}, settled);
  });
}

Napi::Value Writer::SendSync(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    gate_.CheckIdle();
    AfterQueue();
    ByteView bytes;
    Napi::Value data;
    MediaInput input = GetItem(info[0], &bytes, &data);
    bool block = info[1].ToBoolean().Value();
    std::lock_guard<std::mutex> lock(gate_.mutex());
    return Napi::Number::New(info.Env(), WriteItem(input, block));
  });
}

Napi::Value Writer::SendAsync(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    ByteView bytes;
    Napi::Value data;
    MediaInput input = GetItem(info[0], &bytes, &data);
    bool block = info[1].ToBoolean().Value();
    gate_.CheckIdle();
    // As in WriteAsync: movable memory is copied now (pictures into the pool, refused first if
    // their length is not that of the size and format they claim; samples and packets, which
    // are small, into memory of their own); a SharedArrayBuffer is used in place and kept alive
    // until the write settles. Any scaling happens with the encoding, on the pool.
    std::shared_ptr<PooledBuffer> staged;
    std::shared_ptr<std::vector<uint8_t>> copied;
    if (bytes.movable && input.kind == MediaInput::Kind::kVideo) {
      {
        std::lock_guard<std::mutex> lock(gate_.mutex());
        OpenWriter().CheckPicture(input);
      }
      staged = std::make_shared<PooledBuffer>(pool_, bytes.length);
      std::memcpy(staged->data(), bytes.data, bytes.length);
      input.data = staged->data();
    } else if (bytes.movable) {
      copied = std::make_shared<std::vector<uint8_t>>(bytes.data, bytes.data + bytes.length);
      input.data = copied->data();
    }
    auto settled = gate_.BeginAsync();
    return AsyncTask<double>::Run(
        info.Env(),
        [this, input, block, staged, copied] {
          AfterQueue();
          std::lock_guard<std::mutex> lock(gate_.mutex());
          return WriteItem(input, block);
        },
        [](Napi::Env env, double& late) -> Napi::Value { return Napi::Number::New(env, late); },
        {info.This(), data}, settled);
  });
}

Napi::Value Writer::EnqueueAsync(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    ByteView bytes;
    Napi::Value data;
    MediaInput input = GetItem(info[0], &bytes, &data);
    gate_.CheckIdle();
    if (roomWaiter_) throw Failure("ERR_BUSY", "The stream's queue is full and an item waits for room; await it first");
    if (std::optional<Failure> failed = queue_.TakeFailure()) throw *failed;
    // The caller may reuse its buffer once the Promise settles, before the item is written:
    // every item is copied now, a SharedArrayBuffer's too.
    WriteQueue::Item item;
    if (input.kind == MediaInput::Kind::kVideo) {
      // A picture whose length is not its size and format's is refused now, before the copy.
      // Without the mutex, which a drain may hold for a whole encode: past CheckIdle no open or
      // close runs, a drain only writes, and the check reads only what the open set.
      OpenWriter().CheckPicture(input);
      item.picture.emplace(pool_, bytes.length);
      std::memcpy(item.picture->data(), bytes.data, bytes.length);
      input.data = item.picture->data();
    } else {
      item.bytes.assign(bytes.data, bytes.data + bytes.length);
      input.data = item.bytes.data();
    }
    item.input = input;
    bool full = false;
    if (queue_.Push(std::move(item), &full)) {
      AsyncTask<bool>::Run(
          env,
          [this] {
            queue_.Drain([this](const MediaInput& queued) {
              std::lock_guard<std::mutex> lock(gate_.mutex());
              WriteItem(queued, /*block=*/false);
            });
            return true;
          },
          [this](Napi::Env env, bool&) -> Napi::Value {
            OnDrained(env);
            return env.Undefined();
          },
          {Value()});
    }
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    if (full) roomWaiter_.emplace(deferred);
    else deferred.Resolve(env.Undefined());
    return deferred.Promise();
  });
}

void Writer::OnDrained(Napi::Env env) {
  // A drain that ended before the queue filled again leaves the waiter to the next one.
  if (!roomWaiter_ || !queue_.RoomOrFailure()) return;
  std::optional<Failure> failed = queue_.TakeFailure();
  Napi::Promise::Deferred waiter = *roomWaiter_;
  roomWaiter_.reset();
  if (failed) waiter.Reject(ToJsError(env, *failed).Value());
  else waiter.Resolve(env.Undefined());
}

void Writer::AfterQueue() {
  queue_.WaitDrained();
  if (std::optional<Failure> failed = queue_.TakeFailure()) throw *failed;
}

Napi::Value Writer::CloseSync(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    if (gate_.closed()) return info.Env().Undefined();
    if (writer_) writer_->CancelWait();
    queue_.WaitDrained();
    std::lock_guard<std::mutex> lock(gate_.mutex());
    gate_.MarkClosed();
    std::optional<Failure> failed = queue_.TakeFailure();
    Finish();
    if (failed) throw *failed;
    return info.Env().Undefined();
  });
}

Napi::Value Writer::CloseAsync(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    if (gate_.closed()) {
      auto deferred = Napi::Promise::Deferred::New(info.Env());
      deferred.Resolve(info.Env().Undefined());
      return deferred.Promise();
    }
    // Closed from now on for JS; the flush runs on the pool after any write in flight.
    if (writer_) writer_->CancelWait();
    gate_.MarkClosed();
    return AsyncTask<bool>::Run(
        info.Env(),
        [this] {
          // After what is queued (the drain was queued on the pool before this task, and the
          // pool runs tasks in order, so this wait cannot hold up the drain).
          queue_.WaitDrained();
          std::lock_guard<std::mutex> lock(gate_.mutex());
          std::optional<Failure> failed = queue_.TakeFailure();
          Finish();
          if (failed) throw *failed;
          return true;
        },
        [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); }, {info.This()});
  });
}

}  // namespace streamcoder
