// Pixel conversion and scaling between decoded/encoded AVFrames and the tightly packed pictures
// JavaScript sees (one plane after another, no row padding). The swscale context is rebuilt only
// when the source's size, format or colour details change, which a live stream may do mid-way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "base/handles.h"

namespace streamcoder {

class Scaler {
 public:
  Scaler(int width, int height, AVPixelFormat format);
  Scaler(const Scaler&) = delete;
  Scaler& operator=(const Scaler&) = delete;

  // Bytes of one packed picture of this scaler's size and format.
  static size_t PackedSize(int width, int height, AVPixelFormat format);
  size_t packedSize() const { return packedSize_; }
  int width() const { return width_; }
  int height() const { return height_; }
  AVPixelFormat format() const { return format_; }

  // Writable bytes past a packed picture that let FrameToPacked convert straight into it, when
  // it starts 64-byte aligned (memory the library allocates for frames; a caller's buffer has no
  // slack and gets a copy). 0 when this format is never converted in place.
  size_t inPlaceSlack() const { return inPlaceSlack_; }
  static constexpr size_t kInPlaceAlignment = 64;  // as libav's own frames (av_malloc)

  // src (any size/format) -> this scaler's size and format, packed into dst. dst is followed by
  // dstSlack bytes that may be overwritten (inPlaceSlack() or 0).
  void FrameToPacked(const AVFrame* src, uint8_t* dst, size_t dstSlack = 0);
  // src (any size/format, a decoder's padded frame) -> dst, an allocated frame of this scaler's
  // size and format.
  void FrameToFrame(const AVFrame* src, AVFrame* dst);
  // A packed picture of the given size/format -> dst, an allocated frame of this scaler's size
  // and format.
  void PackedToFrame(const uint8_t* src, int srcWidth, int srcHeight, AVPixelFormat srcFormat,
                     AVFrame* dst);

 private:
  AVFrame* PaddedFrame();
  bool WritesInPlace(const uint8_t* dst, const int strides[4], size_t dstSlack);
  SwsContext* ContextFor(int srcWidth, int srcHeight, AVPixelFormat srcFormat, int colorspace,
                         bool fullRange);

  const int width_;
  const int height_;
  const AVPixelFormat format_;
  const size_t packedSize_;
  const size_t inPlaceSlack_;
  SwsContextPtr sws_;
  FramePtr padded_;             // what swscale writes before the copy out (see FrameToPacked)
  // The last rows of a packed input, or a whole one to be scaled, padded (see PackedToFrame):
  // grown, never shrunk. Not a std::vector: under ASan its resize() resolved to node's own
  // uninstrumented copy of the template, and the half-annotated buffer was reported as a
  // container overflow; nor need the bytes be zeroed before they are overwritten.
  uint8_t* Staging(size_t bytes);  // `bytes` to fill, and kOverrun zeroed bytes after them
  std::unique_ptr<uint8_t[]> staging_;
  size_t stagingBytes_ = 0;
  // What sws_ was made for (the destination is fixed).
  struct ContextKey {
    int width = 0, height = 0;
    AVPixelFormat format = AV_PIX_FMT_NONE;
    int colorspace = -1;
    bool fullRange = false;
    bool operator==(const ContextKey& o) const {
      return width == o.width && height == o.height && format == o.format && colorspace == o.colorspace &&
             fullRange == o.fullRange;
    }
  };
  ContextKey key_;
};

}  // namespace streamcoder
