// AudioEncoderObject: the JS binding of AudioEncoder on its own, not inside a writer: PCM in,
// compressed packets out, so that one encode can feed several outputs that stream-copy them
// (lib/audio-encoder.ts). The encoder is opened with a global header, as FLV, MP4 and Matroska
// need it (MPEG-TS makes its ADTS headers from it). Packet timestamps count samples at the
// encoder's rate from the input's timeline: the first AudioFrame's time is where its first sample
// goes, and gaps or overlaps in later frames' times are filled with silence, jumped or trimmed as
// the writer does, so the packets stay in step with the pictures of the same source.
// Synchronous (an audio frame is microseconds of work) but for open(), which follows the other
// bindings; one operation at a time (OperationGate).
#pragma once

#include <memory>
#include <vector>

#include <napi.h>

#include "audio/audio_encoder.h"
#include "js/addon.h"
#include "js/operation_gate.h"
#include "media/media_reader.h"

namespace streamcoder {

class AudioEncoderObject : public Napi::ObjectWrap<AudioEncoderObject>, public Closable {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit AudioEncoderObject(const Napi::CallbackInfo& info);
  ~AudioEncoderObject() override;
  AudioEncoderObject(const AudioEncoderObject&) = delete;
  AudioEncoderObject& operator=(const AudioEncoderObject&) = delete;

  // Frees the encoder (what is still queued in it is dropped). Idempotent, any thread.
  void Close() override;

 private:
  Napi::Value OpenSync(const Napi::CallbackInfo& info);
  Napi::Value OpenAsync(const Napi::CallbackInfo& info);
  Napi::Value GetParameters(const Napi::CallbackInfo& info);
  Napi::Value GetTimeBase(const Napi::CallbackInfo& info);
  Napi::Value GetClosed(const Napi::CallbackInfo& info);
  // encode(data: Float32Array | Int16Array, sampleFormat, sampleRate, channels, time | null): Packet[]
  Napi::Value Encode(const Napi::CallbackInfo& info);
  // flush(): Packet[]; afterwards encode is ERR_INVALID_STATE and flush returns [].
  Napi::Value Flush(const Napi::CallbackInfo& info);
  Napi::Value CloseMethod(const Napi::CallbackInfo& info);

  // With the gate's mutex held.
  AudioEncoder& Opened();
  void Place(double time, int inputRate, int64_t* trim, const PacketSink& sink);
  PacketSink Collect(std::vector<PacketItem>* packets) const;
  static Napi::Array PacketsToJs(Napi::Env env, const std::vector<PacketItem>& packets);

  AudioEncoderOptions options_;
  std::unique_ptr<AudioEncoder> encoder_;
  OperationGate gate_{"audio encoder"};
  bool opened_ = false;
  bool flushed_ = false;
  std::shared_ptr<OpenObjects> registry_;
};

}  // namespace streamcoder
