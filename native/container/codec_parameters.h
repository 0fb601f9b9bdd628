// A stream's AVCodecParameters as plain JS data (lib/types.ts CodecParameters) and back, so that a
// stream copy can cross worker threads: Decoder info -> a Server or Encoder that copies the stream.
// Both directions live here so they stay each other's inverse. JS -> AVCodecParameters trusts
// nothing: every field is range-checked and the extradata bounded, since a muxer reads them as
// they are (a crafted extradata size is an out-of-bounds read in a bitstream filter).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include <napi.h>

#include "base/bounds.h"
#include "base/handles.h"

namespace streamcoder {

// The largest codec global header taken from JS: H.264/HEVC parameter sets and AAC's
// AudioSpecificConfig are tens of bytes, Vorbis and Theora headers a few KiB.
constexpr size_t kMaxExtradataBytes = size_t(1) << 20;

// A copy of `source` (extradata included) that many owners can share: StreamInfo is copied
// between threads (Client) and into JS more than once.
std::shared_ptr<const AVCodecParameters> ShareCodecParameters(const AVCodecParameters* source);

// AVCodecParameters -> a CodecParameters object; `timeBase` is the stream's (the packets').
// Extradata is copied into a new Buffer.
Napi::Object CodecParametersToJs(Napi::Env env, const AVCodecParameters& par, AVRational timeBase);

// A CodecParameters object -> new AVCodecParameters and its time base. Throws Failure
// (ERR_INVALID_ARGUMENT, naming `name` and the field) for anything missing, of the wrong type or
// out of range: an unknown codec or a codec of the other media type, an extradata over
// kMaxExtradataBytes, a size beyond CheckDimensions' bounds, a sample rate or channel count out
// of [kMinSampleRate, kMaxSampleRate] / [1, kMaxChannels], a layout whose channel count differs,
// unknown pixel or sample format names, a time base that is not positive.
struct StreamParameters {
  CodecParametersPtr parameters;
  AVRational timeBase{0, 1};
};
StreamParameters CodecParametersFromJs(const Napi::Value& value, const std::string& name);

// Name of a channel layout as FFmpeg writes it ("stereo", "5.1", "3 channels").
std::string ChannelLayoutName(const AVChannelLayout& layout);

}  // namespace streamcoder
