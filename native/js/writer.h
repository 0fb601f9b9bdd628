// Writer: the JS binding of MediaWriter, behind both Server (publishing, paced) and Encoder
// (files). Sync methods for worker_threads and scripts, async ones on the libuv pool, the same
// OperationGate rules as Decoder.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <napi.h>

#include "js/addon.h"
#include "js/buffer_pool.h"
#include "js/operation_gate.h"
#include "media/media_writer.h"

namespace streamcoder {

class Writer : public Napi::ObjectWrap<Writer>, public Closable {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Writer(const Napi::CallbackInfo& info);
  ~Writer() override;
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Environment teardown or garbage collection: give up whatever is blocked, free everything.
  void Close() override;

 private:
  Napi::Value OpenSync(const Napi::CallbackInfo& info);
  Napi::Value OpenAsync(const Napi::CallbackInfo& info);
  Napi::Value GetFrameBytes(const Napi::CallbackInfo& info);
  Napi::Value GetStats(const Napi::CallbackInfo& info);
  Napi::Value GetClosed(const Napi::CallbackInfo& info);
  Napi::Value WriteSync(const Napi::CallbackInfo& info);
  Napi::Value WriteAsync(const Napi::CallbackInfo& info);
  Napi::Value SendSync(const Napi::CallbackInfo& info);
  Napi::Value SendAsync(const Napi::CallbackInfo& info);
  Napi::Value EnqueueAsync(const Napi::CallbackInfo& info);
  Napi::Value CloseSync(const Napi::CallbackInfo& info);
  Napi::Value CloseAsync(const Napi::CallbackInfo& info);

  // With the gate's mutex held, on whichever thread does the work.
  MediaWriter& OpenWriter();
  void OpenUnderLock();
  double WriteItem(const MediaInput& input, bool block);
  void Finish();   // flush + trailer, then Release; throws what went wrong
  void Release();  // frees the writer, keeping its last counters readable
  void ReleaseEvents();

  // The write queue (enqueueAsync): items copied on the JS thread and written in order by one
  // pool task that runs while the queue has any (DrainQueue), so that a loop of
  // `await encoder.encode(item)` pays no thread hop per item. An item the writer refuses is not
  // written, as with a sync call, and the writer goes on; the refusal is thrown by the caller's
  // next call of any kind (whose own item is then not written), or by close.
  struct QueuedItem {
    MediaInput input;
    std::optional<PooledBuffer> picture;  // the copy of a picture's bytes
    std::vector<uint8_t> bytes;           // the copy of sound or a packet
  };
  // Pool thread: writes what is queued until the queue is empty.
  void DrainQueue();
  // JS thread, once a drain has ended: settles the enqueue that waited for room.
  void OnDrained(Napi::Env env);
  // Any thread: waits until no drain runs (the other operations go after what is queued).
  void WaitDrained();
  // Any thread: the failure a drain met, taken (to be thrown once).
  std::optional<Failure> TakeQueueFailure();

  std::mutex queueMutex_;
  std::condition_variable drained_;
  std::condition_variable queued_;
  // Callers of WaitDrained waiting now (a drain does not linger for them).
  int waitingForDrain_ = 0;
  // The last enqueue found the queue full: its caller waits for the drain to end.
  bool roomWanted_ = false;
  // How long a drain whose queue is empty waits for the next item before it ends.
  static constexpr int kDrainLingerUs = 2000;
  std::deque<QueuedItem> queue_;
  size_t queuedBytes_ = 0;
  bool draining_ = false;
  std::optional<Failure> queueFailure_;
  // The enqueue that found the queue full: settled when a drain has made room (JS thread only).
  std::optional<Napi::Promise::Deferred> roomWaiter_;
  // The queue holds at most this many items, or bytes (one item always fits).
  static constexpr size_t kQueueItems = 64;
  static constexpr size_t kQueueBytes = size_t(32) << 20;

  std::unique_ptr<MediaWriter> writer_;
  OperationGate gate_{"stream"};
  bool opened_ = false;
  std::shared_ptr<OpenObjects> registry_;
  // Copies of async writes' frames from movable memory (see WriteAsync); two frames' worth is
  // enough, since one write runs at a time.
  std::shared_ptr<BufferPool> pool_ = BufferPool::Create(size_t(2) * 4096 * 2160 * 4);
  std::mutex statsMutex_;
  WriterStats lastStats_;
  // The listener of the link's events (disconnect, reconnect, failed), called from its thread.
  Napi::ThreadSafeFunction events_;
};

}  // namespace streamcoder
