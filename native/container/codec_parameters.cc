#include "container/codec_parameters.h"

#include <cmath>
#include <cstring>

#include "base/bounds.h"
#include "base/failure.h"

namespace streamcoder {

namespace {

Napi::Object RationalToJs(Napi::Env env, AVRational value) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("num", value.num);
  object.Set("den", value.den);
  return object;
}

// Field readers for CodecParametersFromJs: each names the object and the field when it refuses.
class FieldReader {
 public:
  FieldReader(Napi::Object object, std::string name) : object_(object), name_(std::move(name)) {}

  [[noreturn]] void Refuse(const char* field, const std::string& expected) const {
    throw Failure("ERR_INVALID_ARGUMENT", "Expected " + expected + " for " + name_ + "." + field);
  }

  Napi::Value Get(const char* field) const { return object_.Get(field); }

  // An integer in [min, max]; `fallback` when absent (undefined or null).
  int64_t Integer(const char* field, int64_t min, int64_t max, int64_t fallback) const {
    Napi::Value value = Get(field);
    if (value.IsUndefined() || value.IsNull()) return fallback;
    const std::string expected = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
    if (!value.IsNumber()) Refuse(field, expected);
    double number = value.As<Napi::Number>().DoubleValue();
    // Checked on the double: NaN fails both comparisons, and nothing out of range is converted.
    if (!(number >= double(min) && number <= double(max)) || number != std::floor(number)) Refuse(field, expected);
    return int64_t(number);
  }

  // A string without NUL characters; "" when absent.
  std::string String(const char* field) const {
    Napi::Value value = Get(field);
    if (value.IsUndefined() || value.IsNull()) return "";
    if (!value.IsString()) Refuse(field, "a string");
    std::string text = value.As<Napi::String>().Utf8Value();
    if (text.find('\0') != std::string::npos) Refuse(field, "a string without NUL characters");
    return text;
  }

  // {num, den} with num in [minNum, INT_MAX] and den in [1, INT_MAX]; `fallback` when absent.
  AVRational Rational(const char* field, int minNum, AVRational fallback) const {
    Napi::Value value = Get(field);
    if (value.IsUndefined() || value.IsNull()) return fallback;
    const std::string expected = "{num, den} with num from " + std::to_string(minNum) + " and den from 1, integers up to 2^31 - 1";
    if (!value.IsObject()) Refuse(field, expected);
    FieldReader inner(value.As<Napi::Object>(), name_ + "." + field);
    const int64_t num = inner.Integer("num", minNum, INT32_MAX, INT64_MIN);
    const int64_t den = inner.Integer("den", 1, INT32_MAX, INT64_MIN);
    if (num == INT64_MIN || den == INT64_MIN) Refuse(field, expected);
    return AVRational{int(num), int(den)};
  }

 private:
  Napi::Object object_;
  std::string name_;
};

}  // namespace

std::string ChannelLayoutName(const AVChannelLayout& layout) {
  char text[128] = {0};
  if (av_channel_layout_describe(&layout, text, sizeof(text)) < 0) return std::to_string(layout.nb_channels) + " channels";
  return text;
}

std::shared_ptr<const AVCodecParameters> ShareCodecParameters(const AVCodecParameters* source) {
  CodecParametersPtr copy(avcodec_parameters_alloc());
  if (!copy) throw Failure("ERR_NO_MEMORY", "Cannot allocate codec parameters");
  Check(avcodec_parameters_copy(copy.get(), source), "Cannot copy codec parameters");
  return std::shared_ptr<const AVCodecParameters>(copy.release(), CodecParametersFree());
}

Napi::Object CodecParametersToJs(Napi::Env env, const AVCodecParameters& par, AVRational timeBase) {
  Napi::Object object = Napi::Object::New(env);
  const bool video = par.codec_type == AVMEDIA_TYPE_VIDEO;
  const bool audio = par.codec_type == AVMEDIA_TYPE_AUDIO;
  object.Set("mediaType", video ? "video" : audio ? "audio" : "other");
  const AVCodecDescriptor* descriptor = avcodec_descriptor_get(par.codec_id);
  object.Set("codec", descriptor != nullptr ? descriptor->name : "none");
  object.Set("codecTag", double(par.codec_tag));
  if (par.extradata != nullptr && par.extradata_size > 0) {
    object.Set("extradata", Napi::Buffer<uint8_t>::Copy(env, par.extradata, size_t(par.extradata_size)));
  } else {
    object.Set("extradata", env.Null());
  }
  object.Set("profile", par.profile);
  object.Set("level", par.level);
  object.Set("bitRate", double(par.bit_rate > 0 ? par.bit_rate : 0));
  object.Set("width", video ? par.width : 0);
  object.Set("height", video ? par.height : 0);
  const char* pixelFormat = video ? av_get_pix_fmt_name(AVPixelFormat(par.format)) : nullptr;
  object.Set("pixelFormat", pixelFormat != nullptr ? pixelFormat : "");
  AVRational sar = par.sample_aspect_ratio;
  object.Set("sampleAspectRatio", RationalToJs(env, video && sar.num > 0 && sar.den > 0 ? sar : AVRational{0, 1}));
  object.Set("sampleRate", audio ? par.sample_rate : 0);
  object.Set("channels", audio ? par.ch_layout.nb_channels : 0);
  object.Set("channelLayout", audio ? ChannelLayoutName(par.ch_layout) : "");
  const char* sampleFormat = audio ? av_get_sample_fmt_name(AVSampleFormat(par.format)) : nullptr;
  object.Set("sampleFormat", sampleFormat != nullptr ? sampleFormat : "");
  object.Set("frameSize", audio ? par.frame_size : 0);
  object.Set("timeBase", RationalToJs(env, timeBase));
  return object;
}

StreamParameters CodecParametersFromJs(const Napi::Value& value, const std::string& name) {
  if (!value.IsObject() || value.IsArray()) {
    throw Failure("ERR_INVALID_ARGUMENT", "Expected codec parameters (an object) for " + name);
  }
  FieldReader fields(value.As<Napi::Object>(), name);
  StreamParameters result;
  result.parameters.reset(avcodec_parameters_alloc());
  if (!result.parameters) throw Failure("ERR_NO_MEMORY", "Cannot allocate codec parameters");
  AVCodecParameters* par = result.parameters.get();

  const std::string mediaType = fields.String("mediaType");
  if (mediaType != "video" && mediaType != "audio") fields.Refuse("mediaType", "'video' or 'audio'");
  const bool video = mediaType == "video";
  par->codec_type = video ? AVMEDIA_TYPE_VIDEO : AVMEDIA_TYPE_AUDIO;

  const std::string codec = fields.String("codec");
  const AVCodecDescriptor* descriptor = codec.empty() ? nullptr : avcodec_descriptor_get_by_name(codec.c_str());
  if (descriptor == nullptr) fields.Refuse("codec", "a codec FFmpeg knows (e.g. 'h264', 'aac')");
  if (descriptor->type != par->codec_type) fields.Refuse("codec", "a " + mediaType + " codec, not '" + codec + "'");
  par->codec_id = descriptor->id;
  par->codec_tag = uint32_t(fields.Integer("codecTag", 0, UINT32_MAX, 0));

  Napi::Value extradata = fields.Get("extradata");
  if (!extradata.IsUndefined() && !extradata.IsNull()) {
    const std::string expected = "a Uint8Array of at most " + std::to_string(kMaxExtradataBytes) + " bytes, or null";
    if (!extradata.IsTypedArray() || extradata.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
      fields.Refuse("extradata", expected);
    }
    Napi::Uint8Array bytes = extradata.As<Napi::Uint8Array>();
    // A detached buffer reads as 0 bytes: the same as no global header.
    if (bytes.ByteLength() > kMaxExtradataBytes) fields.Refuse("extradata", expected);
    if (bytes.ByteLength() > 0) {
      // FFmpeg's readers may look past the end by up to the padding: zeroed, as it requires.
      par->extradata = static_cast<uint8_t*>(av_mallocz(bytes.ByteLength() + AV_INPUT_BUFFER_PADDING_SIZE));
      if (par->extradata == nullptr) throw Failure("ERR_NO_MEMORY", "Cannot allocate the extradata of " + name);
      std::memcpy(par->extradata, bytes.Data(), bytes.ByteLength());
      par->extradata_size = int(bytes.ByteLength());
    }
  }
  // FFmpeg's profile and level values are small (FF_PROFILE_UNKNOWN = FF_LEVEL_UNKNOWN = -99).
  par->profile = int(fields.Integer("profile", -99, 0xFFFF, -99));
  par->level = int(fields.Integer("level", -99, 0xFFFF, -99));
  par->bit_rate = fields.Integer("bitRate", 0, int64_t(1e11), 0);
  result.timeBase = fields.Rational("timeBase", 1, AVRational{0, 1});
  if (result.timeBase.num <= 0) fields.Refuse("timeBase", "{num, den}, both positive integers");

  if (video) {
    par->width = int(fields.Integer("width", 1, kMaxDimension, 0));
    par->height = int(fields.Integer("height", 1, kMaxDimension, 0));
    CheckDimensions(par->width, par->height, name);
    const std::string pixelFormat = fields.String("pixelFormat");
    par->format = AV_PIX_FMT_NONE;
    if (!pixelFormat.empty()) {
      par->format = av_get_pix_fmt(pixelFormat.c_str());
      if (par->format == AV_PIX_FMT_NONE) fields.Refuse("pixelFormat", "a pixel format FFmpeg knows, or ''");
    }
    AVRational sar = fields.Rational("sampleAspectRatio", 0, AVRational{0, 1});
    par->sample_aspect_ratio = sar.num > 0 ? sar : AVRational{0, 1};
    return result;
  }

  par->sample_rate = int(fields.Integer("sampleRate", kMinSampleRate, kMaxSampleRate, 0));
  if (par->sample_rate == 0) fields.Refuse("sampleRate", "an integer from " + std::to_string(kMinSampleRate) + " to " + std::to_string(kMaxSampleRate));
  const int channels = int(fields.Integer("channels", 1, kMaxChannels, 0));
  if (channels == 0) fields.Refuse("channels", "an integer from 1 to " + std::to_string(kMaxChannels));
  const std::string layout = fields.String("channelLayout");
  if (layout.empty() || av_channel_layout_from_string(&par->ch_layout, layout.c_str()) < 0 ||
      par->ch_layout.nb_channels != channels) {
    // A layout FFmpeg cannot name, or one that disagrees with the count: the count wins.
    av_channel_layout_uninit(&par->ch_layout);
    av_channel_layout_default(&par->ch_layout, channels);
  }
#if FF_API_OLD_CHANNEL_LAYOUT
  // FFmpeg 5.x still reads the deprecated fields in places, and prefers them when they disagree.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  par->channels = channels;
  par->channel_layout = par->ch_layout.order == AV_CHANNEL_ORDER_NATIVE ? par->ch_layout.u.mask : 0;
#pragma GCC diagnostic pop
#endif
  const std::string sampleFormat = fields.String("sampleFormat");
  par->format = AV_SAMPLE_FMT_NONE;
  if (!sampleFormat.empty()) {
    par->format = av_get_sample_fmt(sampleFormat.c_str());
    if (par->format == AV_SAMPLE_FMT_NONE) fields.Refuse("sampleFormat", "a sample format FFmpeg knows, or ''");
  }
  par->frame_size = int(fields.Integer("frameSize", 0, 1 << 20, 0));
  return result;
}

}  // namespace streamcoder
