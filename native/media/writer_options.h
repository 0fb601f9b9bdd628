// WriterOptions: everything a MediaWriter is made with (the output, its video and sound, how
// pictures are placed, reconnecting, adaptive bit rate), the bounds of each number, and the one
// check that holds a set of options to them before any is used.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "audio/audio_encoder.h"
#include "base/bounds.h"
#include "base/dictionary.h"
#include "base/failure.h"
#include "base/handles.h"
#include "container/timeline.h"
#include "live/bitrate_controller.h"
#include "live/link.h"
#include "video/video_encoder.h"

namespace streamcoder {

// Frame rates from one frame a minute to 1000 per second (the same bounds as lib/). Slower, and
// a paced stream waits minutes between frames and at close; faster is no video anyone encodes,
// and both usually mean a num/den mix-up ({num: 1, den: 1e6}).
constexpr int kMinFramesPerMinute = 1;
constexpr int kMaxFrameRate = 1000;
// The latest time an item may have on the timeline: 10^9 s, about 31.7 years, far beyond any
// stream's life. With it, a deadline in nanoseconds stays below 10^18 (int64 holds 9.2 x 10^18)
// and a pts in any muxer time base down to 1 ns fits too.
constexpr int64_t kMaxTimelineSeconds = 1000000000;
// The largest bit rates and buffer sizes accepted: 100 Gbit/s (as lib/ checks).
constexpr int64_t kMaxBitRate = 100000000000;
// The longest timeoutMs: a day (as lib/ checks); backoffs too.
constexpr int64_t kMaxTimeoutMs = 86400000;
// Reconnect attempts per outage, and the longest outage buffer (an hour of media; what it holds
// is bounded by the encoder's bit rate), as lib/ checks.
constexpr int64_t kMaxRetries = 1000000;
constexpr int kMaxOutageSeconds = 3600;

enum class StreamMode { kNone, kEncode, kCopy };
enum class VideoSync { kPassthrough, kConstant, kRetime };

// A source stream to copy: its codec parameters and the time base of its packets.
struct CopySource {
  CodecParametersPtr parameters;
  AVRational timeBase{0, 1};
};

struct WriterOptions {
  std::string url;
  std::string format;  // force a muxer ("" = from the URL)
  int64_t timeoutMs = 0;
  OptionList formatOptions;
  StreamMode video = StreamMode::kEncode;
  VideoEncoderOptions encoder;  // size, frame rate, codec... (its timeBase is chosen at Open)
  VideoSync videoSync = VideoSync::kPassthrough;
  std::shared_ptr<CopySource> videoCopy;
  StreamMode audio = StreamMode::kNone;
  AudioEncoderOptions audioEncoder;  // codec "" = aac, else the container's own
  std::shared_ptr<CopySource> audioCopy;
  Timeline::Mode timeline = Timeline::Mode::kStrict;
  ReconnectOptions reconnect;  // network outputs: survive the server going away (link.h)
  AdaptiveBitRate adaptive;    // libx264: follow what the link carries (bitrate_controller.h)
};

// ERR_INVALID_ARGUMENT: "Expected <expected> for <name> but received <received>", lib/'s shape.
Failure OutOfRange(const std::string& name, const std::string& expected, const std::string& received);
// A number as messages show it: up to 10 significant digits, no trailing zeros.
std::string ShortNumber(double value);

// `options` with every number the writer later does arithmetic with checked, before any is used
// (ERR_INVALID_ARGUMENT naming the option). lib/ checks the same, with the same messages, so this
// only guards the raw binding.
WriterOptions Checked(WriterOptions options);

}  // namespace streamcoder
