// PacketSink: where an encoder or a stream copy hands each packet it makes, so that the video
// and audio encoders and the stream copy share one shape without knowing about each other or
// about the muxer behind the sink.
#pragma once

#include <functional>

#include "base/ffmpeg.h"

namespace streamcoder {

// Receives each packet made (timestamps in the maker's time base). It may throw.
using PacketSink = std::function<void(AVPacket*)>;

}  // namespace streamcoder
