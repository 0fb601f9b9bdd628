#include "js/decoder.h"

#include <cstring>

#include "base/huge_pages.h"
#include "js/async_task.h"
#include "js/errors.h"
#include "js/open_once.h"

namespace streamcoder {

namespace {

// A V8-owned buffer for a sync read (its memory is freed by the collector, even in a loop that
// never yields), with the hint that saves most of a large picture's page faults. JS gets a
// Uint8Array (as from the async reads) `bytes` long; with slack it is a view of its
// ArrayBuffer, aligned, with `slack` bytes past it so that the picture is converted in place
// (Scaler::FrameToPacked), and its .buffer is larger than it. The view is made here, not by a
// JS call (a subarray that JS code could have replaced must not decide where we write).
FreshFrame FreshFrameBuffer(Napi::Env env, size_t bytes, size_t slack) {
  constexpr size_t kAlign = Scaler::kInPlaceAlignment;
  Napi::Buffer<uint8_t> whole = Napi::Buffer<uint8_t>::New(env, slack > 0 ? bytes + slack + kAlign - 1 : bytes);
  AdviseHugePages(whole.Data(), whole.Length());
  const size_t offset = slack > 0 ? (kAlign - reinterpret_cast<uintptr_t>(whole.Data()) % kAlign) % kAlign : 0;
  Napi::Uint8Array view = Napi::Uint8Array::New(env, bytes, whole.ArrayBuffer(), whole.ByteOffset() + offset);
  return {view, whole.Data() + offset, slack};
}

}  // namespace

Napi::Function Decoder::Define(Napi::Env env) {
  return DefineClass(env, "Decoder",
                     {
                         InstanceMethod("openSync", &Decoder::OpenSync),
                         InstanceMethod("open", &Decoder::OpenAsync),
                         InstanceAccessor("info", &Decoder::GetInfo, nullptr),
                         InstanceAccessor("frameBytes", &Decoder::GetFrameBytes, nullptr),
                         InstanceAccessor("corruptPackets", &Decoder::GetCorruptPackets, nullptr),
                         InstanceAccessor("audioCorruptPackets", &Decoder::GetAudioCorruptPackets, nullptr),
                         InstanceAccessor("audioSkipped", &Decoder::GetAudioSkipped, nullptr),
                         InstanceAccessor("closed", &Decoder::GetClosed, nullptr),
                         InstanceMethod("readFrame", &Decoder::ReadFrame),
                         InstanceMethod("readFrameAsync", &Decoder::ReadFrameAsync),
                         InstanceMethod("readFrameInto", &Decoder::ReadFrameInto),
                         InstanceMethod("readFrameIntoAsync", &Decoder::ReadFrameIntoAsync),
                         InstanceMethod("readGop", &Decoder::ReadGop),
                         InstanceMethod("readGopAsync", &Decoder::ReadGopAsync),
                         InstanceMethod("readItem", &Decoder::ReadItem),
                         InstanceMethod("readItemInto", &Decoder::ReadItemInto),
                         InstanceMethod("readItemAsync", &Decoder::ReadItemAsync),
                         InstanceMethod("seek", &Decoder::Seek),
                         InstanceMethod("close", &Decoder::CloseMethod),
                     });
}

Decoder::Decoder(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Decoder>(info) {
  Guarded(info.Env(), [&] {
    Napi::Object options = GetOptionsObject(info, 0);
    ReaderOptions reader = GetReaderOptions(options, 0);
    maxGopBytes_ = GetNumber(options, "maxGopBytes", double(kDefaultMaxGopBytes));
    if (!(maxGopBytes_ >= 1)) throw Failure("ERR_INVALID_ARGUMENT", "Expected maxGopBytes of at least 1");
    pixelFormat_ = av_get_pix_fmt_name(reader.pixelFormat);
    reader_ = std::make_unique<MediaReader>(std::move(reader));
  });
  registry_ = Addon::Of(info.Env()).openObjects();
  registry_->Add(this);
}

Decoder::~Decoder() {
  Close();
  if (registry_) registry_->Remove(this);
}

void Decoder::Close() {
  if (!gate_.MarkClosed()) return;
  std::unique_ptr<MediaReader> reader;
  {
    // Wake a read blocked on the network, then wait for it to let go of the reader.
    if (reader_) reader_->Abort();
    std::lock_guard<std::mutex> lock(gate_.mutex());
    reader.swap(reader_);
  }
  pool_->Drain();
}

FreshFrame Decoder::NewFrameBuffer(Napi::Env env) {
  size_t bytes, slack;
  {
    std::lock_guard<std::mutex> lock(gate_.mutex());
    bytes = OpenReader().frameBytes();
    slack = OpenReader().inPlaceSlack();
  }
  return FreshFrameBuffer(env, bytes, slack);
}

MediaReader& Decoder::OpenReader() {
  if (!reader_) throw Failure("ERR_CLOSED", "The decoder is closed");
  if (!reader_->isOpen()) throw Failure("ERR_NOT_OPEN", "The decoder is not open yet");
  return *reader_;
}

std::optional<FrameMeta> Decoder::DecodeInto(ByteView destination, bool checkOnly, size_t slack) {
  if (!checkOnly) ThrowDeferred();
  MediaReader& reader = OpenReader();
  if (destination.length < reader.frameBytes()) {
    throw Failure("ERR_BUFFER_SIZE", "The buffer holds " + std::to_string(destination.length) +
                                         " bytes but a frame needs " + std::to_string(reader.frameBytes()));
  }
  if (checkOnly) return std::nullopt;
  if (!reader.Peek()) return std::nullopt;
  FrameMeta meta;
  reader.Take(destination.data, &meta, slack);
  return meta;
}

std::optional<Decoder::Decoded> Decoder::DecodePooled() {
  std::lock_guard<std::mutex> lock(gate_.mutex());
  ThrowDeferred();
  MediaReader& reader = OpenReader();
  if (!reader.Peek()) return std::nullopt;
  // With the slack that lets the picture be converted in place (Scaler::FrameToPacked).
  Decoded decoded{PooledBuffer(pool_, reader.frameBytes(), reader.inPlaceSlack()), {}};
  reader.Take(decoded.pixels.data(), &decoded.meta, decoded.pixels.slack());
  return decoded;
}

void Decoder::DecodeGop(const std::function<uint8_t*(size_t)>& allocate,
                        const std::function<void(const FrameMeta&)>& taken, size_t slack) {
  ThrowDeferred();
  MediaReader& reader = OpenReader();
  // A GOP ends where the next keyframe begins; that keyframe stays pending for the next call.
  // A stream that never sends another keyframe would grow it without end: maxGopBytes bounds it.
  double bytes = 0;
  int64_t first = -1, count = 0;
  while (reader.Peek() && !(reader.PendingIsKey() && count > 0)) {
    bytes += double(reader.frameBytes());
    if (bytes > maxGopBytes_) {
      throw Failure("ERR_LIMIT", "The GOP from frame " + std::to_string(first) + " outgrew maxGopBytes (" +
                                     std::to_string(int64_t(maxGopBytes_)) + " bytes) after " +
                                     std::to_string(count) + " frames without reaching the next keyframe; "
                                     "those frames are discarded and reading goes on with the next one. "
                                     "Raise maxGopBytes, or read frames one at a time");
    }
    FrameMeta meta;
    reader.Take(allocate(reader.frameBytes()), &meta, slack);
    if (count++ == 0) first = meta.index;
    taken(meta);
  }
}

Napi::Value Decoder::FrameToJs(Napi::Env env, const FrameMeta& meta, Napi::Uint8Array data) {
  Napi::Object frame = MetaToJs(env, meta, pixelFormat_);
  frame.Set("kind", "video");
  frame.Set("data", data);
  return frame;
}

Napi::Value Decoder::OpenSync(const Napi::CallbackInfo& info) {
  return OpenOnce(info, gate_, opened_, false, [this] { OpenUnderLock(); });
}

Napi::Value Decoder::OpenAsync(const Napi::CallbackInfo& info) {
  return OpenOnce(info, gate_, opened_, true, [this] { OpenUnderLock(); });
}

void Decoder::OpenUnderLock() {
  if (!reader_) throw Failure("ERR_CLOSED", "The decoder was closed while opening");
  reader_->Open();
}

Napi::Value Decoder::GetInfo(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    gate_.CheckIdle();
    std::lock_guard<std::mutex> lock(gate_.mutex());
    return InfoToJs(info.Env(), OpenReader().info());
  });
}

Napi::Value Decoder::GetFrameBytes(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    gate_.CheckIdle();
    std::lock_guard<std::mutex> lock(gate_.mutex());
    return Napi::Number::New(info.Env(), double(OpenReader().frameBytes()));
  });
}

Napi::Value Decoder::GetCorruptPackets(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    gate_.CheckIdle();
    std::lock_guard<std::mutex> lock(gate_.mutex());
    return Napi::Number::New(info.Env(), double(OpenReader().corruptPackets()));
  });
}

Napi::Value Decoder::GetAudioCorruptPackets(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    gate_.CheckIdle();
    std::lock_guard<std::mutex> lock(gate_.mutex());
    return Napi::Number::New(info.Env(), double(OpenReader().audioCorruptPackets()));
  });
}

Napi::Value Decoder::GetAudioSkipped(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    gate_.CheckIdle();
    std::lock_guard<std::mutex> lock(gate_.mutex());
    return Napi::Number::New(info.Env(), double(OpenReader().audioSkipped() + aheadSkipped_));
  });
}

Napi::Value Decoder::GetClosed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), gate_.closed());
}

Napi::Value Decoder::ReadFrame(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    gate_.CheckIdle();
    PassOverReadAhead();
    FreshFrame fresh = NewFrameBuffer(info.Env());
    std::lock_guard<std::mutex> lock(gate_.mutex());
    std::optional<FrameMeta> meta = DecodeInto(ByteView{fresh.data, fresh.view.ByteLength()}, false, fresh.slack);
    return meta ? FrameToJs(info.Env(), *meta, fresh.view) : info.Env().Null();
  });
}

Napi::Value Decoder::ReadFrameAsync(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    auto settled = gate_.BeginAsync();
    PassOverReadAhead();
    return AsyncTask<std::optional<Decoded>>::Run(
        info.Env(),
        [this] { return DecodePooled(); },
        [this](Napi::Env env, std::optional<Decoded>& decoded) -> Napi::Value {
          return decoded ? FrameToJs(env, decoded->meta, decoded->pixels.ToJs(env)) : env.Null();
        },
        {info.This()}, settled);
  });
}

Napi::Value Decoder::ReadFrameInto(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    gate_.CheckIdle();
    ByteView destination = GetBytes(info[0], "the destination");
    PassOverReadAhead();
    std::lock_guard<std::mutex> lock(gate_.mutex());
    std::optional<FrameMeta> meta = DecodeInto(destination);
    return meta ? Napi::Value(MetaToJs(info.Env(), *meta, pixelFormat_)) : info.Env().Null();
  });
}

Napi::Value Decoder::ReadFrameIntoAsync(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    ByteView destination = GetBytes(info[0], "the destination");
    if (destination.movable) return ReadFrameIntoMovable(info);
    auto settled = gate_.BeginAsync();
    PassOverReadAhead();
    // A SharedArrayBuffer's memory stays where it is (kept alive below): decoded into in place.
    return AsyncTask<std::optional<FrameMeta>>::Run(
        info.Env(),
        [this, destination] {
          std::lock_guard<std::mutex> lock(gate_.mutex());
          return DecodeInto(destination);
        },
        [this](Napi::Env env, std::optional<FrameMeta>& meta) -> Napi::Value {
          return meta ? Napi::Value(MetaToJs(env, *meta, pixelFormat_)) : env.Null();
        },
        {info.This(), info[0]}, settled);
  });
}

Napi::Value Decoder::ReadFrameIntoMovable(const Napi::CallbackInfo& info) {
  // An ArrayBuffer may be detached, resized or freed while the pool thread works, so the frame
  // is decoded into memory of ours and copied into the caller's buffer back on the JS thread,
  // where the buffer is looked at again: a detached or shrunk one gets an error, never a write.
  // One too small from the start is refused now, before a frame is consumed.
  gate_.CheckIdle();
  {
    std::lock_guard<std::mutex> lock(gate_.mutex());
    DecodeInto(GetBytes(info[0], "the destination"), /*checkOnly=*/true);
  }
  auto settled = gate_.BeginAsync();
  PassOverReadAhead();
  auto target = std::make_shared<Napi::Reference<Napi::Value>>(Napi::Persistent(info[0]));
  return AsyncTask<std::optional<Decoded>>::Run(
      info.Env(),
      [this] { return DecodePooled(); },
      [this, target](Napi::Env env, std::optional<Decoded>& decoded) -> Napi::Value {
        if (!decoded) return env.Null();
        ByteView destination;
        try {
          destination = GetBytes(target->Value(), "the destination");
        } catch (const Failure& failure) {
          if (failure.code() != "ERR_DETACHED") throw;
          throw Failure("ERR_DETACHED", "The destination was detached while frame " +
                                            std::to_string(decoded->meta.index) +
                                            " was decoded into it; that frame is lost");
        }
        if (destination.length < decoded->pixels.size()) {
          throw Failure("ERR_BUFFER_SIZE", "The destination shrank to " + std::to_string(destination.length) +
                                               " bytes while frame " + std::to_string(decoded->meta.index) +
                                               " was decoded; it needs " + std::to_string(decoded->pixels.size()));
        }
        std::memcpy(destination.data, decoded->pixels.data(), decoded->pixels.size());
        return MetaToJs(env, decoded->meta, pixelFormat_);
      },
      {info.This()}, settled);
}

Napi::Value Decoder::ReadGop(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    gate_.CheckIdle();
    PassOverReadAhead();
    Napi::Env env = info.Env();
    Napi::Array frames = Napi::Array::New(env);
    Napi::Uint8Array data;
    std::lock_guard<std::mutex> lock(gate_.mutex());
    const size_t slack = OpenReader().inPlaceSlack();
    DecodeGop(
        [&](size_t bytes) {
          FreshFrame fresh = FreshFrameBuffer(env, bytes, slack);
          data = fresh.view;
          return fresh.data;
        },
        [&](const FrameMeta& meta) { frames.Set(frames.Length(), FrameToJs(env, meta, data)); }, slack);
    return frames.Length() > 0 ? Napi::Value(frames) : env.Null();
  });
}

Napi::Value Decoder::ReadGopAsync(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    auto settled = gate_.BeginAsync();
    PassOverReadAhead();
    // The GOP's length is unknown until it is decoded, so the pool thread allocates.
    return AsyncTask<std::vector<Decoded>>::Run(
        info.Env(),
        [this] {
          std::vector<Decoded> gop;
          std::lock_guard<std::mutex> lock(gate_.mutex());
          const size_t slack = OpenReader().inPlaceSlack();
          DecodeGop([&](size_t bytes) { return gop.emplace_back(Decoded{PooledBuffer(pool_, bytes, slack), {}}).pixels.data(); },
                    [&](const FrameMeta& meta) { gop.back().meta = meta; }, slack);
          return gop;
        },
        [this](Napi::Env env, std::vector<Decoded>& gop) -> Napi::Value {
          if (gop.empty()) return env.Null();
          Napi::Array frames = Napi::Array::New(env, gop.size());
          for (size_t i = 0; i < gop.size(); ++i) {
            frames.Set(uint32_t(i), FrameToJs(env, gop[i].meta, gop[i].pixels.ToJs(env)));
          }
          return frames;
        },
        {info.This()}, settled);
  });
}

Napi::Value Decoder::ReadItem(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    gate_.CheckIdle();
    Napi::Env env = info.Env();
    if (!ahead_.empty()) return TakeAhead(env);
    size_t bytes, slack;
    {
      std::lock_guard<std::mutex> lock(gate_.mutex());
      ThrowDeferred();
      MediaReader& reader = OpenReader();
      ItemKind kind = reader.PeekItem();
      if (kind == ItemKind::kNone) return env.Null();
      if (kind != ItemKind::kVideo) {
        Item item = TakeItem(reader, kind);
        return ItemToJs(env, item);
      }
      bytes = reader.frameBytes();
      slack = reader.inPlaceSlack();
    }
    // The frame stays pending while its buffer is made outside the lock (as readFrame does):
    // nothing else can run on this decoder meanwhile (sync, and CheckIdle refused async work).
    FreshFrame fresh = FreshFrameBuffer(env, bytes, slack);
    std::lock_guard<std::mutex> lock(gate_.mutex());
    FrameMeta meta;
    OpenReader().Take(fresh.data, &meta, fresh.slack);
    return FrameToJs(env, meta, fresh.view);
  });
}

Napi::Value Decoder::ReadItemInto(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    gate_.CheckIdle();
    Napi::Env env = info.Env();
    ByteView destination = GetBytes(info[0], "the destination");
    if (!ahead_.empty()) return TakeAhead(env);  // sound or a packet: the destination is not used
    std::lock_guard<std::mutex> lock(gate_.mutex());
    ThrowDeferred();
    MediaReader& reader = OpenReader();
    ItemKind kind = reader.PeekItem();
    if (kind == ItemKind::kNone) return env.Null();
    if (kind != ItemKind::kVideo) {
      Item item = TakeItem(reader, kind);
      return ItemToJs(env, item);
    }
    // Too small: refused with the frame still pending, so the next call with a good buffer gets it.
    DecodeInto(destination, /*checkOnly=*/true);
    FrameMeta meta;
    reader.Take(destination.data, &meta);  // the pending frame: no video-only Peek, audio kept
    Napi::Object object = MetaToJs(env, meta, pixelFormat_);
    object.Set("kind", "video");
    return object;
  });
}

Decoder::Item Decoder::TakeItem(MediaReader& reader, ItemKind kind) {
  Item item;
  switch (kind) {
    case ItemKind::kNone:
      throw Failure("ERR_INTERNAL", "No item pending");
    case ItemKind::kVideo:
      item.video.emplace(Decoded{PooledBuffer(pool_, reader.frameBytes(), reader.inPlaceSlack()), {}});
      reader.Take(item.video->pixels.data(), &item.video->meta, item.video->pixels.slack());
      break;
    case ItemKind::kAudio:
      item.audio.emplace();
      reader.TakeAudio(&*item.audio);
      item.audioFormat = reader.info().audio->output;
      break;
    case ItemKind::kVideoPacket:
    case ItemKind::kAudioPacket:
      item.packet.emplace();
      reader.TakePacket(kind, &*item.packet);
      break;
  }
  return item;
}

std::vector<Decoder::Item> Decoder::NextItemsPooled(size_t most) {
  std::lock_guard<std::mutex> lock(gate_.mutex());
  ThrowDeferred();
  std::vector<Item> items;
  size_t bytes = 0;
  try {
    MediaReader& reader = OpenReader();
    while (items.size() < most && bytes < kReadAheadBytes) {
      const ItemKind kind = reader.PeekItem();
      if (kind == ItemKind::kNone || (kind == ItemKind::kVideo && !items.empty())) break;
      items.push_back(TakeItem(reader, kind));
      const Item& item = items.back();
      if (item.video) break;
      bytes += item.packet ? size_t(item.packet->packet->size) : item.audio->chunk.data.size();
    }
  } catch (const Failure& failure) {
    if (items.empty()) throw;
    deferred_.emplace(failure);
  }
  return items;
}

void Decoder::ThrowDeferred() {
  if (!deferred_) return;
  Failure failure = std::move(*deferred_);
  deferred_.reset();
  throw failure;
}

Napi::Value Decoder::TakeAhead(Napi::Env env) {
  Item item = std::move(ahead_.front());
  ahead_.pop_front();
  return ItemToJs(env, item);
}

void Decoder::PassOverReadAhead() {
  // With video copy the frame methods refuse (there are no pictures): nothing is dropped then.
  if (ahead_.empty() || (reader_ && reader_->videoCopy())) return;
  for (const Item& item : ahead_) aheadSkipped_ += item.audio || item.packet ? 1 : 0;
  ahead_.clear();
}

Napi::Value Decoder::ItemToJs(Napi::Env env, Item& item) {
  if (item.video) return FrameToJs(env, item.video->meta, item.video->pixels.ToJs(env));
  if (item.packet) return PacketToJs(env, *item.packet);
  return AudioToJs(env, *item.audio, item.audioFormat);
}

Napi::Value Decoder::ReadItemAsync(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    Napi::Env env = info.Env();
    if (!ahead_.empty()) {
      // Read ahead by an earlier call: delivered now, with no trip to the thread pool.
      gate_.CheckIdle();
      Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
      deferred.Resolve(TakeAhead(env));
      return deferred.Promise();
    }
    // Reading ahead never waits on a live source: its items go one at a time, as they come.
    const size_t most = reader_ && reader_->isOpen() && reader_->seekableInput() ? kReadAheadItems : 1;
    auto settled = gate_.BeginAsync();
    return AsyncTask<std::vector<Item>>::Run(
        env,
        [this, most] { return NextItemsPooled(most); },
        [this](Napi::Env env, std::vector<Item>& items) -> Napi::Value {
          if (items.empty()) return env.Null();
          for (size_t i = 1; i < items.size(); ++i) ahead_.push_back(std::move(items[i]));
          return ItemToJs(env, items.front());
        },
        {info.This()}, settled);
  });
}

Napi::Value Decoder::Seek(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    gate_.CheckIdle();
    if (!info[0].IsNumber()) throw Failure("ERR_INVALID_ARGUMENT", "Expected seconds as a number");
    std::lock_guard<std::mutex> lock(gate_.mutex());
    OpenReader().Seek(info[0].As<Napi::Number>().DoubleValue());
    // What was read ahead, and a failure met reading it, belong to the old position.
    ahead_.clear();
    deferred_.reset();
    return info.Env().Undefined();
  });
}

Napi::Value Decoder::CloseMethod(const Napi::CallbackInfo& info) {
  Close();
  ahead_.clear();
  return info.Env().Undefined();
}

}  // namespace streamcoder
