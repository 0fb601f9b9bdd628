#include "js/audio_encoder_object.h"

#include <cmath>

#include "base/bounds.h"
#include "container/codec_parameters.h"
#include "js/errors.h"
#include "js/js_values.h"
#include "js/open_once.h"
#include "media/media_writer.h"  // kMaxTimelineSeconds

namespace streamcoder {

namespace {

// As the writer places AudioFrames (media_writer.cc): a frame within 20 ms of where the last one
// ended continues it; a later one is preceded by silence up to 10 s, beyond that the timestamps
// jump; an earlier one loses its overlap.
constexpr double kAudioJitter = 0.02;
constexpr double kMaxSilence = 10;

Napi::Object RationalToJs(Napi::Env env, AVRational value) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("num", value.num);
  object.Set("den", value.den);
  return object;
}

}  // namespace

Napi::Function AudioEncoderObject::Define(Napi::Env env) {
  return DefineClass(env, "AudioEncoder",
                     {
                         InstanceMethod("openSync", &AudioEncoderObject::OpenSync),
                         InstanceMethod("open", &AudioEncoderObject::OpenAsync),
                         InstanceAccessor("parameters", &AudioEncoderObject::GetParameters, nullptr),
                         InstanceAccessor("timeBase", &AudioEncoderObject::GetTimeBase, nullptr),
                         InstanceAccessor("closed", &AudioEncoderObject::GetClosed, nullptr),
                         InstanceMethod("encode", &AudioEncoderObject::Encode),
                         InstanceMethod("flush", &AudioEncoderObject::Flush),
                         InstanceMethod("close", &AudioEncoderObject::CloseMethod),
                     });
}

AudioEncoderObject::AudioEncoderObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<AudioEncoderObject>(info) {
  Guarded(info.Env(), [&] {
    Napi::Object options = GetOptionsObject(info, 0);
    options_.codec = GetString(options, "codec", "aac");
    const double bitRate = GetNumber(options, "bitRate", 0);
    options_.sampleRate = GetInt(options, "sampleRate", 48000);
    options_.channels = GetInt(options, "channels", 2);
    // lib/ has checked these; the raw binding is held to the same bounds.
    if (!(bitRate >= 0 && bitRate <= 1e11)) throw Failure("ERR_INVALID_ARGUMENT", "Expected a bit rate from 0 to 1e11");
    options_.bitRate = int64_t(bitRate);
    if (options_.sampleRate < kMinSampleRate || options_.sampleRate > kMaxSampleRate) {
      throw Failure("ERR_INVALID_ARGUMENT", "Expected a sample rate from 8000 to 384000");
    }
    if (options_.channels < 1 || options_.channels > kMaxChannels) {
      throw Failure("ERR_INVALID_ARGUMENT", "Expected a channel count from 1 to 64");
    }
    // Which encoders exist is only known here: an unknown name or a video encoder is refused now,
    // before open, naming it.
    const AVCodec* codec = avcodec_find_encoder_by_name(options_.codec.c_str());
    if (codec == nullptr || codec->type != AVMEDIA_TYPE_AUDIO) {
      throw Failure("ERR_UNSUPPORTED", "No audio encoder named '" + options_.codec +
                                           "' in this FFmpeg (`ffmpeg -encoders` lists them; e.g. aac, libopus, libmp3lame)");
    }
  });
  registry_ = Addon::Of(info.Env()).openObjects();
  registry_->Add(this);
}

AudioEncoderObject::~AudioEncoderObject() {
  Close();
  if (registry_) registry_->Remove(this);
}

void AudioEncoderObject::Close() {
  if (!gate_.MarkClosed()) return;
  std::unique_ptr<AudioEncoder> encoder;
  {
    std::lock_guard<std::mutex> lock(gate_.mutex());
    encoder.swap(encoder_);
  }
}

Napi::Value AudioEncoderObject::OpenSync(const Napi::CallbackInfo& info) {
  return OpenOnce(info, gate_, opened_, false, [this] {
    if (gate_.closed()) throw Failure("ERR_CLOSED", "The audio encoder was closed while opening");
    encoder_ = std::make_unique<AudioEncoder>(options_, true, "an AudioEncoder");
  });
}

Napi::Value AudioEncoderObject::OpenAsync(const Napi::CallbackInfo& info) {
  return OpenOnce(info, gate_, opened_, true, [this] {
    if (gate_.closed()) throw Failure("ERR_CLOSED", "The audio encoder was closed while opening");
    encoder_ = std::make_unique<AudioEncoder>(options_, true, "an AudioEncoder");
  });
}

AudioEncoder& AudioEncoderObject::Opened() {
  if (gate_.closed()) throw Failure("ERR_CLOSED", "The audio encoder is closed");
  if (!encoder_) throw Failure("ERR_NOT_OPEN", "The audio encoder is not open yet");
  return *encoder_;
}

Napi::Value AudioEncoderObject::GetParameters(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    gate_.CheckIdle();
    std::lock_guard<std::mutex> lock(gate_.mutex());
    AudioEncoder& encoder = Opened();
    CodecParametersPtr parameters(avcodec_parameters_alloc());
    if (!parameters) throw Failure("ERR_NO_MEMORY", "Cannot allocate codec parameters");
    Check(avcodec_parameters_from_context(parameters.get(), encoder.context()), "Cannot describe the audio encoder");
    return CodecParametersToJs(info.Env(), *parameters, encoder.timeBase());
  });
}

Napi::Value AudioEncoderObject::GetTimeBase(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    gate_.CheckIdle();
    std::lock_guard<std::mutex> lock(gate_.mutex());
    return RationalToJs(info.Env(), Opened().timeBase());
  });
}

Napi::Value AudioEncoderObject::GetClosed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), gate_.closed());
}

PacketSink AudioEncoderObject::Collect(std::vector<PacketItem>* packets) const {
  const AVRational timeBase = encoder_->timeBase();
  return [packets, timeBase](AVPacket* packet) {
    PacketItem item;
    // A new reference to the packet's buffer: the encoder unrefs its own packet next.
    item.packet.reset(av_packet_clone(packet));
    if (!item.packet) throw Failure("ERR_NO_MEMORY", "Cannot keep an encoded packet");
    item.video = false;
    item.timeBase = timeBase;
    item.time = packet->pts == AV_NOPTS_VALUE ? NAN : double(packet->pts) * av_q2d(timeBase);
    packets->push_back(std::move(item));
  };
}

Napi::Array AudioEncoderObject::PacketsToJs(Napi::Env env, const std::vector<PacketItem>& packets) {
  Napi::Array array = Napi::Array::New(env, packets.size());
  for (size_t i = 0; i < packets.size(); ++i) array.Set(uint32_t(i), PacketToJs(env, packets[i]));
  return array;
}

void AudioEncoderObject::Place(double time, int inputRate, int64_t* trim, const PacketSink& sink) {
  AudioEncoder& encoder = *encoder_;
  if (std::isnan(time)) return;  // no time: it follows what came before
  const int rate = encoder.sampleRate();
  const int64_t at = std::llround(time * rate);
  if (!encoder.started()) {
    encoder.Start(at);
    return;
  }
  const int64_t diff = at - encoder.nextPts();
  if (diff > kAudioJitter * rate) {
    if (diff <= kMaxSilence * rate) encoder.AddSilence(diff, sink);
    else encoder.Jump(at, sink);
  } else if (diff < -kAudioJitter * rate) {
    *trim = std::llround(double(-diff) * inputRate / rate);
  }
}

Napi::Value AudioEncoderObject::Encode(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    gate_.CheckIdle();
    if (!info[1].IsString()) throw Failure("ERR_INVALID_ARGUMENT", "Expected 'f32' or 's16' for sampleFormat");
    const std::string format = info[1].As<Napi::String>().Utf8Value();
    if (format != "f32" && format != "s16") throw Failure("ERR_INVALID_ARGUMENT", "Expected 'f32' or 's16' for sampleFormat");
    const AVSampleFormat sampleFormat = format == "f32" ? AV_SAMPLE_FMT_FLT : AV_SAMPLE_FMT_S16;
    // The typed array's own byte length bounds every read below.
    const ByteView bytes = GetTypedBytes(info[0], format == "f32" ? napi_float32_array : napi_int16_array, "the samples");
    const int rate = info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : 0;
    const int channels = info[3].IsNumber() ? info[3].As<Napi::Number>().Int32Value() : 0;
    if (rate < kMinSampleRate || rate > kMaxSampleRate) throw Failure("ERR_INVALID_ARGUMENT", "Expected a sample rate from 8000 to 384000");
    if (channels < 1 || channels > kMaxChannels) throw Failure("ERR_INVALID_ARGUMENT", "Expected a channel count from 1 to 64");
    double time = NAN;
    if (info[4].IsNumber()) {
      time = info[4].As<Napi::Number>().DoubleValue();
      if (!(std::fabs(time) <= double(kMaxTimelineSeconds))) throw Failure("ERR_INVALID_ARGUMENT", "Expected a time within 1e9 s");
    } else if (!info[4].IsNull() && !info[4].IsUndefined()) {
      throw Failure("ERR_INVALID_ARGUMENT", "Expected a number or null for time");
    }
    const size_t frameBytes = size_t(channels) * size_t(av_get_bytes_per_sample(sampleFormat));
    if (bytes.length % frameBytes != 0) {
      throw Failure("ERR_BUFFER_SIZE", "Expected whole samples (" + std::to_string(channels) + " channels of " +
                                           std::to_string(av_get_bytes_per_sample(sampleFormat)) + " bytes) but got " +
                                           std::to_string(bytes.length) + " bytes");
    }
    if (bytes.length / frameBytes > size_t(INT32_MAX)) throw Failure("ERR_BUFFER_SIZE", "Too many samples in one AudioFrame");
    const int64_t samples = int64_t(bytes.length / frameBytes);

    std::lock_guard<std::mutex> lock(gate_.mutex());
    AudioEncoder& encoder = Opened();
    if (flushed_) throw Failure("ERR_INVALID_STATE", "The audio encoder was flushed: open another to encode more");
    std::vector<PacketItem> packets;
    const PacketSink sink = Collect(&packets);
    int64_t trim = 0;
    Place(time, rate, &trim, sink);
    if (trim < samples) {
      encoder.Add(bytes.data + size_t(trim) * frameBytes, int(samples - trim), sampleFormat, rate, channels, sink);
    }
    return PacketsToJs(info.Env(), packets);
  });
}

Napi::Value AudioEncoderObject::Flush(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    gate_.CheckIdle();
    std::lock_guard<std::mutex> lock(gate_.mutex());
    AudioEncoder& encoder = Opened();
    std::vector<PacketItem> packets;
    if (!flushed_) {
      flushed_ = true;
      encoder.Flush(Collect(&packets));
    }
    return PacketsToJs(info.Env(), packets);
  });
}

Napi::Value AudioEncoderObject::CloseMethod(const Napi::CallbackInfo& info) {
  Close();
  return info.Env().Undefined();
}

}  // namespace streamcoder
