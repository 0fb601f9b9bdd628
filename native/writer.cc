#include "writer.h"

#include <cmath>
#include <cstdio>
#include <cstring>

#include "async_task.h"
#include "open_once.h"
#include "errors.h"
#include "js_values.h"

namespace streamcoder {

namespace {

// A whole number within int64 for VideoWriter to range-check: a double beyond int64's range (or
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

WriterOptions ParseOptions(const Napi::Object& options) {
  WriterOptions writer;
  writer.url = GetString(options, "url");
  if (writer.url.empty()) throw Failure("ERR_INVALID_ARGUMENT", "Expected an output path or URL");
  writer.format = GetString(options, "format");
  writer.width = GetInt(options, "width", 0);
  writer.height = GetInt(options, "height", 0);
  writer.frameRate = AVRational{GetInt(options, "frameRateNum", 30), GetInt(options, "frameRateDen", 1)};
  writer.inputFormat = GetPixelFormat(options, "pixelFormat", AV_PIX_FMT_RGB24);
  writer.codec = GetString(options, "codec", "libx264");
  writer.bitRate = GetWhole(options, "bitRate", 0);
  writer.maxBitRate = GetWhole(options, "maxBitRate", 0);
  writer.bufSize = GetWhole(options, "bufSize", 0);
  writer.gopSize = GetInt(options, "gopSize", -1);
  writer.maxBFrames = GetInt(options, "maxBFrames", -1);
  writer.threads = GetInt(options, "threads", 0);
  writer.preset = GetString(options, "preset");
  writer.tune = GetString(options, "tune");
  writer.crf = GetNumber(options, "crf", -1);
  writer.timeoutMs = GetWhole(options, "timeoutMs", 0);
  writer.codecOptions = GetOptionList(options, "codecOptions");
  writer.formatOptions = GetOptionList(options, "formatOptions");
  return writer;
}

int64_t GetPts(const Napi::Value& value) {
  if (!value.IsNumber()) throw Failure("ERR_INVALID_ARGUMENT", "Expected a pts number");
  double pts = value.As<Napi::Number>().DoubleValue();
  if (!(pts >= 0) || pts > 9007199254740991.0 || pts != std::floor(pts)) {
    throw Failure("ERR_INVALID_ARGUMENT", "Expected a pts that is a non-negative integer");
  }
  return int64_t(pts);
}

Napi::Object StatsToJs(Napi::Env env, const WriterStats& stats) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("frames", double(stats.frames));
  object.Set("packets", double(stats.packets));
  object.Set("bytes", double(stats.bytes));
  object.Set("keyFrames", double(stats.keyFrames));
  object.Set("lateFrames", double(stats.lateFrames));
  object.Set("bitRate", stats.bitRate);
  object.Set("fps", stats.fps);
  object.Set("lead", stats.lead);
  return object;
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
                         InstanceMethod("closeSync", &Writer::CloseSync),
                         InstanceMethod("close", &Writer::CloseAsync),
                     });
}

Writer::Writer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Writer>(info) {
  Guarded(info.Env(), [&] { writer_ = std::make_unique<VideoWriter>(ParseOptions(GetOptionsObject(info, 0))); });
  registry_ = Addon::Of(info.Env()).openObjects();
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
}

void Writer::Release() {
  std::unique_ptr<VideoWriter> writer;
  {
    // writer_ changes only here, under both locks, so GetStats may read it under statsMutex_.
    std::lock_guard<std::mutex> lock(statsMutex_);
    if (writer_) lastStats_ = writer_->stats();
    writer.swap(writer_);
  }
}

VideoWriter& Writer::OpenWriter() {
  if (!writer_) throw Failure("ERR_CLOSED", "The stream is closed");
  if (!writer_->isOpen()) throw Failure("ERR_NOT_OPEN", "The stream is not open yet");
  return *writer_;
}

double Writer::WriteFrame(const uint8_t* data, size_t size, int64_t pts, bool block) {
  VideoWriter& writer = OpenWriter();
  double late = block ? writer.WaitForDeadline(pts) : 0;
  writer.Write(data, size, pts);
  return late;
}

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
    std::lock_guard<std::mutex> lock(gate_.mutex());
    return Napi::Number::New(info.Env(), WriteFrame(bytes.data, bytes.length, pts, block));
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
          std::lock_guard<std::mutex> lock(gate_.mutex());
          return WriteFrame(bytes.data, bytes.length, pts, block);
        },
        [](Napi::Env env, double& late) -> Napi::Value { return Napi::Number::New(env, late); },
        {info.This(), info[0]}, settled);
  });
}

Napi::Value Writer::CloseSync(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    if (gate_.closed()) return info.Env().Undefined();
    if (writer_) writer_->CancelWait();
    std::lock_guard<std::mutex> lock(gate_.mutex());
    gate_.MarkClosed();
    Finish();
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
          std::lock_guard<std::mutex> lock(gate_.mutex());
          Finish();
          return true;
        },
        [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); }, {info.This()});
  });
}

}  // namespace streamcoder
