// Decoder: the JS binding of MediaReader. Sync methods run on the calling thread (scripts and
// worker_threads); the *Async methods run the same work on the libuv pool. One operation at a
// time: a second one while an async one runs fails with ERR_BUSY instead of queueing silently.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <napi.h>

#include "js/addon.h"
#include "js/buffer_pool.h"
#include "js/js_values.h"
#include "js/operation_gate.h"
#include "media/media_reader.h"

namespace streamcoder {

// A frame buffer for a sync read: the Buffer JS gets, and the bytes past it that may be
// overwritten (see MediaReader::Take).
struct FreshFrame {
  Napi::Uint8Array view;
  uint8_t* data = nullptr;  // where it starts
  size_t slack = 0;
};

class Decoder : public Napi::ObjectWrap<Decoder>, public Closable {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Decoder(const Napi::CallbackInfo& info);
  ~Decoder() override;
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Stops any read in progress, waits for it, frees the reader. Idempotent, any thread.
  void Close() override;

 private:
  struct Decoded {
    PooledBuffer pixels;
    FrameMeta meta;
  };
  // One item of readItemAsync, made on the pool thread (or read ahead): exactly one of the three is set.
  struct Item {
    std::optional<Decoded> video;
    std::optional<AudioItem> audio;
    AudioFormat audioFormat;  // of `audio`
    std::optional<PacketItem> packet;
  };

  Napi::Value OpenSync(const Napi::CallbackInfo& info);
  Napi::Value OpenAsync(const Napi::CallbackInfo& info);
  Napi::Value GetInfo(const Napi::CallbackInfo& info);
  Napi::Value GetFrameBytes(const Napi::CallbackInfo& info);
  Napi::Value GetCorruptPackets(const Napi::CallbackInfo& info);
  Napi::Value GetAudioCorruptPackets(const Napi::CallbackInfo& info);
  Napi::Value GetAudioSkipped(const Napi::CallbackInfo& info);
  Napi::Value GetClosed(const Napi::CallbackInfo& info);
  Napi::Value ReadFrame(const Napi::CallbackInfo& info);
  Napi::Value ReadFrameAsync(const Napi::CallbackInfo& info);
  Napi::Value ReadFrameInto(const Napi::CallbackInfo& info);
  Napi::Value ReadFrameIntoAsync(const Napi::CallbackInfo& info);
  Napi::Value ReadFrameIntoMovable(const Napi::CallbackInfo& info);
  Napi::Value ReadGop(const Napi::CallbackInfo& info);
  Napi::Value ReadGopAsync(const Napi::CallbackInfo& info);
  Napi::Value ReadItem(const Napi::CallbackInfo& info);
  Napi::Value ReadItemInto(const Napi::CallbackInfo& info);
  Napi::Value ReadItemAsync(const Napi::CallbackInfo& info);
  Napi::Value Seek(const Napi::CallbackInfo& info);
  Napi::Value CloseMethod(const Napi::CallbackInfo& info);

  // These run with gate_.mutex() held, on whichever thread does the work.
  MediaReader& OpenReader();
  void OpenUnderLock();
  // checkOnly: the checks alone (open, big enough), nothing decoded. slack: see MediaReader::Take.
  std::optional<FrameMeta> DecodeInto(ByteView destination, bool checkOnly = false, size_t slack = 0);
  // Decodes the next GOP: `allocate` gives each frame's destination, followed by `slack` bytes
  // that may be overwritten (see MediaReader::Take), `taken` its description.
  void DecodeGop(const std::function<uint8_t*(size_t)>& allocate,
                 const std::function<void(const FrameMeta&)>& taken, size_t slack);

  // Pool thread, without the mutex (it takes it): the next frame into pooled memory.
  std::optional<Decoded> DecodePooled();
  // Pool thread, without the mutex: up to `most` items, empty at the end. A decoded picture goes
  // alone (its decode is the cost, and pictures are large); sound and packets come in batches,
  // which is what spares a thread hop per item. A failure after the first item is kept for the
  // next read (deferred_), so the items before it are delivered first.
  std::vector<Item> NextItemsPooled(size_t most);
  // Under the mutex: throws the failure a batch read kept for the next read.
  void ThrowDeferred();
  // JS thread: the frame methods deliver video only; the sound read ahead is passed over as
  // theirs is (dropped, counted in audioSkipped).
  void PassOverReadAhead();
  // With the mutex: the pending item of `kind` (PeekItem's answer, not kNone), a picture into
  // pooled memory (the sync reads take sound and packets with it too, and pictures their own way).
  Item TakeItem(MediaReader& reader, ItemKind kind);
  // JS thread: the first item read ahead, taken.
  Napi::Value TakeAhead(Napi::Env env);
  Napi::Value ItemToJs(Napi::Env env, Item& item);

  // A frame buffer owned by V8 (uninitialised: every byte is overwritten). V8 frees it in the
  // GC itself, so a tight synchronous loop in a worker never piles up frames waiting for the
  // event loop, as external buffers with Node-API finalisers would.
  FreshFrame NewFrameBuffer(Napi::Env env);
  Napi::Value FrameToJs(Napi::Env env, const FrameMeta& meta, Napi::Uint8Array data);

  // What one GOP may hold (readGop); 1 GiB by default (a 250-frame GOP, x264's default, of
  // 1080p rgb24 is 1.55 GB: such a GOP is read a frame at a time, or with a larger bound).
  static constexpr double kDefaultMaxGopBytes = double(int64_t(1) << 30);  // lib/decoder.ts DEFAULT_MAX_GOP_BYTES
  double maxGopBytes_ = kDefaultMaxGopBytes;

  // Items read ahead by readItemAsync and not yet delivered (JS thread only). Never a decoded
  // picture (see NextItemsPooled): only sound and packets, which are small.
  std::deque<Item> ahead_;
  // Audio items read ahead and then passed over by a frame method (added to audioSkipped).
  int64_t aheadSkipped_ = 0;
  // A failure met by a batch read after its first item: thrown by the next read (under the mutex).
  std::optional<Failure> deferred_;
  // A batch read ahead stops at this many items or bytes (of packets and sound).
  static constexpr size_t kReadAheadItems = 64;
  static constexpr size_t kReadAheadBytes = size_t(4) << 20;

  std::unique_ptr<MediaReader> reader_;
  OperationGate gate_{"decoder"};
  bool opened_ = false;
  std::string pixelFormat_;
  std::shared_ptr<OpenObjects> registry_;
  // Memory of frames delivered by async reads (64 MiB: ten 1080p rgb24 frames).
  std::shared_ptr<BufferPool> pool_ = BufferPool::Create(size_t(64) << 20);
};

}  // namespace streamcoder
