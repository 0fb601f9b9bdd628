// Client: reads a live stream on a native thread (a MediaReader) into a FrameCache, so that JS
// takes the newest frames, or every frame in order, whenever it wants, without blocking the
// event loop. Reconnects with backoff when asked to. Events (error, end, reconnect) reach JS
// through a thread-safe function that does not keep the process alive.
#pragma once

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include <napi.h>

#include "js/addon.h"
#include "js/frame_cache.h"
#include "js/operation_gate.h"
#include "media/media_reader.h"

namespace streamcoder {

struct ClientOptions {
  ReaderOptions reader;
  size_t cacheSize = 8;
  size_t maxCacheBytes = size_t(1) << 30;  // the cache drops its oldest frames beyond this
  double frameRate = 0;  // keep at most this many frames per second of stream time; 0: all
  int retries = 0;       // reconnect attempts after a drop; 0: none
  int backoffMs = 1000;  // wait before the first attempt, doubled each time (at most 30 s)
};

class Client : public Napi::ObjectWrap<Client>, public Closable {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Client(const Napi::CallbackInfo& info);
  ~Client() override;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void Close() override;  // stops the thread (interrupting a blocked read), frees everything

 private:
  Napi::Value OpenSync(const Napi::CallbackInfo& info);
  Napi::Value OpenAsync(const Napi::CallbackInfo& info);
  Napi::Value GetInfo(const Napi::CallbackInfo& info);
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Newest(const Napi::CallbackInfo& info);
  Napi::Value NextSync(const Napi::CallbackInfo& info);
  Napi::Value NextAsync(const Napi::CallbackInfo& info);
  Napi::Value GetStats(const Napi::CallbackInfo& info);
  Napi::Value GetRunning(const Napi::CallbackInfo& info);
  Napi::Value CloseMethod(const Napi::CallbackInfo& info);

  void OpenReader();  // connects a new MediaReader (any thread)
  void Run();         // the reading thread
  void StopThread();
  bool Backoff(int attempt);  // false when stopped during the wait
  void Emit(const char* type, const Failure* failure, int attempt);
  Napi::Value FrameToJs(Napi::Env env, const CachedFrame& frame);

  ClientOptions options_;
  std::string pixelFormat_;
  OperationGate gate_{"client"};
  std::mutex readerMutex_;             // guards reader_ (replaced on reconnect) and info_
  std::unique_ptr<MediaReader> reader_;
  MediaReader* opening_ = nullptr;     // a reader being connected, so Close() can abort it
  StreamInfo info_;
  bool opened_ = false;
  FrameCache cache_;

  std::thread thread_;
  std::atomic<bool> stopRequested_{false};
  std::atomic<bool> threadDone_{true};
  std::atomic<bool> closing_{false};
  std::mutex wakeMutex_;
  std::condition_variable wake_;  // cuts a backoff wait short

  // Counters, written by the reading thread.
  std::atomic<int64_t> received_{0};
  std::atomic<int64_t> decoded_{0};
  std::atomic<int64_t> audioReceived_{0};
  std::atomic<int64_t> reconnects_{0};
  std::atomic<int64_t> bytes_{0};
  std::atomic<double> latencyMs_{0};
  double edgeLag_ = INFINITY;  // reader thread: the smallest (arrival - stream time) this connection
  std::atomic<int64_t> firstAtNs_{0};   // steady clock, when the first frame arrived
  std::atomic<double> firstTime_{NAN};  // its stream time
  std::atomic<double> streamSeconds_{0};

  Napi::ThreadSafeFunction events_;
  std::shared_ptr<OpenObjects> registry_;
};

}  // namespace streamcoder
