// Thumbnailer: a small JPEG of a picture, for a status page that shows what a stream sends. The
// picture is one the stream has already decoded (a relay's last), scaled down with swscale and
// encoded by libavcodec's MJPEG encoder: no second decode, a few milliseconds every few seconds.
#pragma once

#include "base/handles.h"
#include "media/media_writer.h"

namespace streamcoder {

class Thumbnailer {
 public:
  // `width` pixels wide (16 to 1920); the height keeps the picture's aspect ratio.
  explicit Thumbnailer(int width);

  // The JPEG of a relay's picture (a decoded frame, or packed bytes of its size and format).
  PacketPtr Encode(const MediaInput& picture);

 private:
  const int width_;
};

}  // namespace streamcoder
