#include "js/client.h"

#include <algorithm>
#include <cmath>

#include "js/async_task.h"
#include "js/errors.h"
#include "js/js_values.h"
#include "js/open_once.h"

namespace streamcoder {

namespace {

using Clock = std::chrono::steady_clock;

ClientOptions ParseOptions(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] {
    Napi::Object options = GetOptionsObject(info, 0);
    ClientOptions client;
    client.reader = GetReaderOptions(options, 10000);
    client.cacheSize = size_t(std::max(1, GetInt(options, "cacheSize", 8)));
    // Checked before the conversion: a double beyond size_t's range does not convert (UB).
    double maxCacheBytes = GetNumber(options, "maxCacheBytes", double(size_t(1) << 30));
    if (!(maxCacheBytes >= 1 && maxCacheBytes <= 9007199254740991.0)) {
      throw Failure("ERR_INVALID_ARGUMENT", "Expected maxCacheBytes from 1 to 2^53 - 1");
    }
    client.maxCacheBytes = size_t(maxCacheBytes);
    client.frameRate = GetNumber(options, "frameRate", 0);
    if (client.frameRate < 0 || client.frameRate > 1000) {
      throw Failure("ERR_INVALID_ARGUMENT", "Expected frameRate from 0 to 1000");
    }
    client.retries = GetInt(options, "retries", 0);
    client.backoffMs = GetInt(options, "backoffMs", 1000);
    // Packets are not cached: a Client decodes what it keeps.
    if (client.reader.audio.copy || client.reader.videoCopy) {
      throw Failure("ERR_INVALID_ARGUMENT", "A Client decodes: stream copy (audio.copy, videoCopy) is for Decoder");
    }
    return client;
  });
}

// A wait for the next frame: a whole number of ms up to a day (10 s when not given). Checked
// before it becomes a duration, which a NaN or a huge double would overflow.
std::chrono::milliseconds GetTimeout(const Napi::Value& value) {
  if (value.IsUndefined()) return std::chrono::milliseconds(10000);
  double ms = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : NAN;
  if (!(ms >= 0 && ms <= 86400000.0) || ms != std::floor(ms)) {
    throw Failure("ERR_INVALID_ARGUMENT", "Expected a timeout from 0 to 86400000 ms");
  }
  return std::chrono::milliseconds(int64_t(ms));
}

struct Event {
  std::string type;
  std::optional<Failure> failure;
  int attempt;
};

}  // namespace

Napi::Function Client::Define(Napi::Env env) {
  return DefineClass(env, "Client",
                     {
                         InstanceMethod("openSync", &Client::OpenSync),
                         InstanceMethod("open", &Client::OpenAsync),
                         InstanceAccessor("info", &Client::GetInfo, nullptr),
                         InstanceMethod("start", &Client::Start),
                         InstanceMethod("stop", &Client::Stop),
                         InstanceMethod("newest", &Client::Newest),
                         InstanceMethod("next", &Client::NextSync),
                         InstanceMethod("nextAsync", &Client::NextAsync),
                         InstanceAccessor("stats", &Client::GetStats, nullptr),
                         InstanceAccessor("running", &Client::GetRunning, nullptr),
                         InstanceMethod("close", &Client::CloseMethod),
                     });
}

Client::Client(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<Client>(info), options_(ParseOptions(info)), cache_(options_.cacheSize, options_.maxCacheBytes) {
  Napi::Env env = info.Env();
  pixelFormat_ = av_get_pix_fmt_name(options_.reader.pixelFormat);
  if (info[1].IsFunction()) {
    events_ = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "streamcoder-client", 64, 1);
    events_.Unref(env);  // events alone must not keep the process alive
  }
  registry_ = Addon::Of(env).openObjects();
  registry_->Add(this);
}

Client::~Client() {
  Close();
  if (registry_) registry_->Remove(this);
}

void Client::Close() {
  if (!gate_.MarkClosed()) return;
  closing_ = true;
  stopRequested_ = true;
  {
    std::lock_guard<std::mutex> lock(readerMutex_);
    if (opening_ != nullptr) opening_->Abort();
    if (reader_) reader_->Abort();
  }
  wake_.notify_all();
  cache_.Close();
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard<std::mutex> gateLock(gate_.mutex());  // an open in flight has let go
    std::lock_guard<std::mutex> lock(readerMutex_);
    reader_.reset();
  }
  if (events_) {
    events_.Release();
    events_ = Napi::ThreadSafeFunction();
  }
}

void Client::OpenReader() {
  auto reader = std::make_unique<MediaReader>(options_.reader);
  {
    std::lock_guard<std::mutex> lock(readerMutex_);
    if (closing_) throw Failure("ERR_CLOSED", "The client was closed");
    opening_ = reader.get();
  }
  try {
    reader->Open();
  } catch (...) {
    std::lock_guard<std::mutex> lock(readerMutex_);
    opening_ = nullptr;
    throw;
  }
  std::lock_guard<std::mutex> lock(readerMutex_);
  opening_ = nullptr;
  if (closing_) throw Failure("ERR_CLOSED", "The client was closed");
  if (reader_) bytes_ += reader_->bytesRead();
  info_ = reader->info();
  reader_ = std::move(reader);
}

bool Client::Backoff(int attempt) {
  int delay = options_.backoffMs;
  for (int i = 1; i < attempt && delay < 30000; ++i) delay *= 2;
  std::unique_lock<std::mutex> lock(wakeMutex_);
  wake_.wait_for(lock, std::chrono::milliseconds(std::min(delay, 30000)), [this] { return stopRequested_.load(); });
  return !stopRequested_;
}

void Client::Emit(const char* type, const Failure* failure, int attempt) {
  if (!events_) return;
  auto* event = new Event{type, failure ? std::optional<Failure>(*failure) : std::nullopt, attempt};
  napi_status status = events_.NonBlockingCall(event, [](Napi::Env env, Napi::Function callback, Event* event) {
    std::unique_ptr<Event> owned(event);
    if (env == nullptr || callback == nullptr) return;
    CallListener(env, [&] {
      Napi::Value error = owned->failure ? ToJsError(env, *owned->failure).Value() : env.Undefined();
      callback.Call({Napi::String::New(env, owned->type), error, Napi::Number::New(env, owned->attempt)});
    });
  });
  if (status != napi_ok) delete event;
}

void Client::Run() {
  edgeLag_ = INFINITY;  // the connection open() made is this run's first
  const double keepEvery = options_.frameRate > 0 ? 1.0 / options_.frameRate : 0;
  double nextKeep = NAN;
  CachedFrame spare;
  int attempt = 0;
  while (!stopRequested_) {
    try {
      MediaReader* reader;
      {
        std::lock_guard<std::mutex> lock(readerMutex_);
        reader = reader_.get();
      }
      if (reader == nullptr) {  // after stop(), or a drop: connect again
        OpenReader();
        edgeLag_ = INFINITY;
        if (attempt > 0) ++reconnects_;
        attempt = 0;
        continue;
      }
      const ItemKind kind = reader->PeekItem();
      if (kind == ItemKind::kAudio) {
        AudioItem chunk;
        reader->TakeAudio(&chunk);
        cache_.PushAudio(std::move(chunk), reader->info().audio->output);
        ++audioReceived_;
        attempt = 0;
        continue;
      }
      if (kind == ItemKind::kNone) {
        // A live stream that ends is a drop when reconnecting was asked for.
        if (options_.retries > 0) throw Failure("ERR_END_OF_STREAM", "The stream ended");
        cache_.End();
        Emit("end", nullptr, 0);
        break;
      }
      ++decoded_;
      double time = reader->PendingTime();
      if (keepEvery > 0 && !std::isnan(time)) {
        // Decimation by stream time: keep a frame per 1/frameRate, convert nothing else.
        if (!std::isnan(nextKeep) && time < nextKeep - keepEvery * 0.01) {
          FrameMeta skipped;
          reader->Drop(&skipped);
          continue;
        }
        nextKeep = (std::isnan(nextKeep) || time > nextKeep + keepEvery) ? time + keepEvery : nextKeep + keepEvery;
      }
      if (spare.data.size() != reader->frameBytes()) spare.data.assign(reader->frameBytes(), 0);
      reader->Take(spare.data.data(), &spare.meta);
      int64_t now = Clock::now().time_since_epoch() / std::chrono::nanoseconds(1);
      if (std::isnan(firstTime_.load())) {
        firstAtNs_ = now;
        firstTime_ = spare.meta.time;
      }
      double stream = spare.meta.time - firstTime_;
      if (!std::isnan(stream)) streamSeconds_ = stream;
      // How far behind the live edge this frame was read. The stream's times say nothing of how
      // old its first frame already was; but a backlog comes out faster than real time, so the
      // smallest (arrival - stream time) since the connection marks the edge, and a frame's
      // excess over it is its lateness: a burst starts high and falls to 0, a reader that falls
      // behind grows it. Each connection has its own timeline, hence its own edge.
      if (!std::isnan(spare.meta.time)) {
        const double lag = double(now) / 1e9 - spare.meta.time;
        edgeLag_ = std::min(edgeLag_, lag);
        latencyMs_ = (lag - edgeLag_) * 1000;
      }
      cache_.Push(spare);
      ++received_;
      attempt = 0;
    } catch (const Failure& failure) {
      if (stopRequested_ || closing_) break;
      if (attempt < options_.retries) {
        ++attempt;
        Emit("reconnect", &failure, attempt);
        {
          std::lock_guard<std::mutex> lock(readerMutex_);
          if (reader_) bytes_ += reader_->bytesRead();
          reader_.reset();
        }
        if (!Backoff(attempt)) break;
        continue;
      }
      cache_.Fail(failure);
      Emit("error", &failure, 0);
      break;
    } catch (const std::exception& error) {
      Failure failure("ERR_INTERNAL", error.what());
      cache_.Fail(failure);
      Emit("error", &failure, 0);
      break;
    }
  }
  threadDone_ = true;
}

void Client::StopThread() {
  if (!thread_.joinable()) return;
  stopRequested_ = true;
  {
    // A read blocked on the network gives up now; the next start() connects again.
    std::lock_guard<std::mutex> lock(readerMutex_);
    if (reader_ && !threadDone_) reader_->Abort();
  }
  wake_.notify_all();
  thread_.join();
  // The reader was aborted (or has ended): the next start() connects afresh.
  std::lock_guard<std::mutex> lock(readerMutex_);
  if (reader_) bytes_ += reader_->bytesRead();
  reader_.reset();
}

Napi::Value Client::OpenSync(const Napi::CallbackInfo& info) {
  return OpenOnce(info, gate_, opened_, false, [this] { OpenReader(); });
}

Napi::Value Client::OpenAsync(const Napi::CallbackInfo& info) {
  return OpenOnce(info, gate_, opened_, true, [this] { OpenReader(); });
}

Napi::Value Client::GetInfo(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    if (gate_.closed()) throw Failure("ERR_CLOSED", "The client is closed");
    std::lock_guard<std::mutex> lock(readerMutex_);
    if (info_.streamIndex < 0) throw Failure("ERR_NOT_OPEN", "The client is not open yet");
    return InfoToJs(info.Env(), info_);
  });
}

Napi::Value Client::Start(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    if (gate_.closed()) throw Failure("ERR_CLOSED", "The client is closed");
    {
      std::lock_guard<std::mutex> lock(readerMutex_);
      if (info_.streamIndex < 0) throw Failure("ERR_NOT_OPEN", "The client is not open yet");
    }
    if (thread_.joinable() && !threadDone_) return info.Env().Undefined();  // already running
    StopThread();  // it ended by itself (end of stream, failure): join it, connect afresh
    stopRequested_ = false;
    threadDone_ = false;
    cache_.Reopen();
    thread_ = std::thread([this] { Run(); });
    return info.Env().Undefined();
  });
}

Napi::Value Client::Stop(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    if (gate_.closed()) throw Failure("ERR_CLOSED", "The client is closed");
    StopThread();
    return info.Env().Undefined();
  });
}

Napi::Value Client::FrameToJs(Napi::Env env, const CachedFrame& frame) {
  if (frame.audio) return AudioToJs(env, *frame.audio, frame.audioFormat);
  Napi::Object object = MetaToJs(env, frame.meta, pixelFormat_);
  object.Set("kind", "video");
  object.Set("data", Napi::Buffer<uint8_t>::Copy(env, frame.data.data(), frame.data.size()));
  return object;
}

Napi::Value Client::Newest(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    if (gate_.closed()) throw Failure("ERR_CLOSED", "The client is closed");
    if (!info[0].IsNumber()) throw Failure("ERR_INVALID_ARGUMENT", "Expected a number of frames");
    double n = info[0].As<Napi::Number>().DoubleValue();
    if (!(n >= 1) || n != std::floor(n)) throw Failure("ERR_INVALID_ARGUMENT", "Expected a positive whole number of frames");
    Napi::Env env = info.Env();
    Napi::Array frames = Napi::Array::New(env);
    cache_.Newest(size_t(std::min(n, 1e9)), [&](const CachedFrame& frame) { frames.Set(frames.Length(), FrameToJs(env, frame)); });
    return frames;
  });
}

Napi::Value Client::NextSync(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    gate_.CheckIdle();
    auto timeout = GetTimeout(info[0]);
    bool timedOut = false;
    std::optional<CachedFrame> frame = cache_.Next(timeout, &timedOut);
    if (frame) return FrameToJs(info.Env(), *frame);
    if (timedOut) throw Failure("ERR_TIMEOUT", "No frame within " + std::to_string(timeout.count()) + " ms");
    return info.Env().Null();
  });
}

Napi::Value Client::NextAsync(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    auto timeout = GetTimeout(info[0]);
    auto settled = gate_.BeginAsync();
    return AsyncTask<std::optional<CachedFrame>>::Run(
        info.Env(),
        [this, timeout] {
          bool timedOut = false;
          std::optional<CachedFrame> frame = cache_.Next(timeout, &timedOut);
          if (!frame && timedOut) throw Failure("ERR_TIMEOUT", "No frame within " + std::to_string(timeout.count()) + " ms");
          return frame;
        },
        [this](Napi::Env env, std::optional<CachedFrame>& frame) -> Napi::Value {
          return frame ? FrameToJs(env, *frame) : env.Null();
        },
        {info.This()}, settled);
  });
}

Napi::Value Client::GetStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object stats = Napi::Object::New(env);
  int64_t bytes = bytes_;
  {
    std::lock_guard<std::mutex> lock(readerMutex_);
    if (reader_) bytes += reader_->bytesRead();
  }
  int64_t now = Clock::now().time_since_epoch() / std::chrono::nanoseconds(1);
  double wall = std::isnan(firstTime_.load()) ? 0 : double(now - firstAtNs_) / 1e9;
  double stream = streamSeconds_;
  stats.Set("received", double(received_));
  stats.Set("decoded", double(decoded_));
  stats.Set("dropped", double(cache_.dropped()));
  stats.Set("evicted", double(cache_.evicted()));
  stats.Set("audioReceived", double(audioReceived_));
  stats.Set("audioDropped", double(cache_.audioDropped()));
  stats.Set("reconnects", double(reconnects_));
  stats.Set("cached", double(cache_.size()));
  stats.Set("latencyMs", double(latencyMs_));
  stats.Set("fps", wall > 0 ? double(received_) / wall : 0.0);
  stats.Set("bitRate", stream > 0 ? double(bytes) * 8 / stream : 0.0);
  return stats;
}

Napi::Value Client::GetRunning(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), thread_.joinable() && !threadDone_);
}

Napi::Value Client::CloseMethod(const Napi::CallbackInfo& info) {
  Close();
  return info.Env().Undefined();
}

}  // namespace streamcoder
