// Conversions between JS values and the media core's plain structs. Options arrive already
// validated and normalised by lib/ (the "baton"), so these only guard against misuse of the raw
// binding: a wrong type becomes ERR_INVALID_ARGUMENT, never a crash.
#pragma once

#include <string>

#include <napi.h>

#include "base/dictionary.h"
#include "media/media_reader.h"

namespace streamcoder {

std::string GetString(const Napi::Object& object, const char* key, const std::string& fallback = "");
double GetNumber(const Napi::Object& object, const char* key, double fallback);
int GetInt(const Napi::Object& object, const char* key, int fallback);
bool GetBool(const Napi::Object& object, const char* key, bool fallback);
OptionList GetOptionList(const Napi::Object& object, const char* key);
AVPixelFormat GetPixelFormat(const Napi::Object& object, const char* key, AVPixelFormat fallback);
Napi::Object GetOptionsObject(const Napi::CallbackInfo& info, size_t index);

// The options of a MediaReader, as Decoder and Client take them from lib/ (`timeoutMs` when the
// object has none: lib/ always sets it).
ReaderOptions GetReaderOptions(const Napi::Object& options, int64_t defaultTimeoutMs);

// The bytes behind a Uint8Array, whether its buffer is an ArrayBuffer or a SharedArrayBuffer.
struct ByteView {
  uint8_t* data = nullptr;
  size_t length = 0;
  // The memory of an ArrayBuffer, which JS may detach (transfer), resize or let be freed while
  // another thread still uses it; a SharedArrayBuffer's memory never moves or shrinks. Only
  // immovable memory may be used by the thread pool in place: async calls copy the rest.
  bool movable = true;
};
// Refuses anything but a Uint8Array (or Uint8ClampedArray) and a detached buffer.
// The bytes behind a typed array of the given type (Uint8Array, or Uint8ClampedArray, for pictures
// and packets; Float32Array or Int16Array for samples), ArrayBuffer or SharedArrayBuffer alike.
ByteView GetTypedBytes(const Napi::Value& value, napi_typedarray_type expected, const char* what);
ByteView GetBytes(const Napi::Value& value, const char* what);

Napi::Object InfoToJs(Napi::Env env, const StreamInfo& info);
Napi::Object MetaToJs(Napi::Env env, const FrameMeta& meta, const std::string& pixelFormat);
// An AudioFrame (lib/types.ts): the chunk's samples copied into a Float32Array or Int16Array.
Napi::Object AudioToJs(Napi::Env env, const AudioItem& item, const AudioFormat& format);
// A Packet (lib/types.ts): the packet's bytes copied into a Buffer.
Napi::Object PacketToJs(Napi::Env env, const PacketItem& item);

}  // namespace streamcoder
