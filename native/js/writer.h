// Writer: the JS binding of MediaWriter, behind both Server (publishing, paced) and Encoder
// (files). Sync methods for worker_threads and scripts, async ones on the libuv pool, the same
// OperationGate rules as Decoder; but enqueueAsync (encode, serve) queues instead of running
// alone (see WriteQueue), and everything else goes after what is queued.
#pragma once

#include <memory>
#include <optional>

#include <napi.h>

#include "js/addon.h"
#include "js/buffer_pool.h"
#include "js/operation_gate.h"
#include "js/write_queue.h"
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

  // JS thread, once a drain has ended: settles the enqueue that waited for room.
  void OnDrained(Napi::Env env);
  // Any thread, before any other write or the close: after what is queued, and throws the
  // refusal of a queued item that no call has reported yet.
  void AfterQueue();

  // enqueueAsync's items (see WriteQueue), and the enqueue that found it full (JS thread only).
  WriteQueue queue_;
  std::optional<Napi::Promise::Deferred> roomWaiter_;

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
