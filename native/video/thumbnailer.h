// Thumbnailer: a small JPEG of a picture, for a status page that shows what a stream sends. The
// picture is one the stream has already decoded (a relay's last), scaled down with swscale and
// encoded by libavcodec's MJPEG encoder: no second decode, a few milliseconds every few seconds.
#pragma once

#include <cstdint>

#include "base/handles.h"

namespace streamcoder {

class Thumbnailer {
 public:
  // `width` pixels wide (16 to 1920); the height keeps the picture's aspect ratio.
  explicit Thumbnailer(int width);

  // The JPEG of a decoded frame.
  PacketPtr Encode(const AVFrame* frame);
  // The JPEG of a packed picture of that size and pixel format.
  PacketPtr Encode(const uint8_t* data, int width, int height, AVPixelFormat format);

 private:
  PacketPtr Encode(const AVFrame* frame, const uint8_t* data, int width, int height, AVPixelFormat format);
  const int width_;
};

}  // namespace streamcoder
