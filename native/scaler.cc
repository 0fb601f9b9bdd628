#include "scaler.h"

#include <algorithm>
#include <cstring>

#include "failure.h"

namespace streamcoder {

namespace {

// Bicubic is what the ffmpeg CLI uses by default, so frames match what `ffmpeg -pix_fmt` gives.
constexpr int kSwsFlags = SWS_BICUBIC;

// swscale's input readers fetch whole SIMD words, and for odd widths a pixel pair, past the end
// of a row (valgrind saw 16-byte loads end 4 bytes past a 160x120 rgb24 picture). Inside a
// picture that lands in the next row; past the last row of a caller's packed picture it lands
// outside the caller's buffer, which may be the end of a mapped page.
constexpr size_t kReadOverrun = 64;

bool IsYuv(AVPixelFormat format) {
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(format);
  return desc != nullptr && !(desc->flags & AV_PIX_FMT_FLAG_RGB) && desc->nb_components >= 3;
}

}  // namespace

Scaler::Scaler(int width, int height, AVPixelFormat format)
    : width_(width), height_(height), format_(format), packedSize_(PackedSize(width, height, format)) {}

size_t Scaler::PackedSize(int width, int height, AVPixelFormat format) {
  int size = av_image_get_buffer_size(format, width, height, 1);
  if (size < 0) throw Failure::FromAv(size, "Invalid picture size " + std::to_string(width) + "x" + std::to_string(height));
  return static_cast<size_t>(size);
}

SwsContext* Scaler::ContextFor(int srcWidth, int srcHeight, AVPixelFormat srcFormat, int colorspace,
                               bool fullRange) {
  SwsContext* previous = sws_.release();
  SwsContext* ctx = sws_getCachedContext(previous, srcWidth, srcHeight, srcFormat, width_, height_,
                                         format_, kSwsFlags, nullptr, nullptr, nullptr);
  if (ctx == nullptr) {
    throw Failure("ERR_PIXEL_FORMAT", std::string("Cannot convert ") +
                                          (av_get_pix_fmt_name(srcFormat) ?: "unknown") + " " +
                                          std::to_string(srcWidth) + "x" + std::to_string(srcHeight) +
                                          " to " + av_get_pix_fmt_name(format_));
  }
  sws_.reset(ctx);
  if (ctx != previous || colorspace != lastColorspace_ || int(fullRange) != lastFullRange_) {
    // The frame's own matrix and range, for both sides, as the ffmpeg CLI's scale filter does.
    int* invTable = nullptr;
    int* table = nullptr;
    int srcRange = 0, dstRange = 0, brightness = 0, contrast = 0, saturation = 0;
    if (sws_getColorspaceDetails(ctx, &invTable, &srcRange, &table, &dstRange, &brightness,
                                 &contrast, &saturation) >= 0) {
      const int* coefficients = sws_getCoefficients(colorspace);
      sws_setColorspaceDetails(ctx, coefficients, IsYuv(srcFormat) ? fullRange : srcRange,
                               coefficients, dstRange, brightness, contrast, saturation);
    }
    lastColorspace_ = colorspace;
    lastFullRange_ = fullRange;
  }
  return ctx;
}

void Scaler::FrameToPacked(const AVFrame* src, uint8_t* dst) {
  auto srcFormat = static_cast<AVPixelFormat>(src->format);
  uint8_t* planes[4];
  int strides[4];
  Check(av_image_fill_arrays(planes, strides, dst, format_, width_, height_, 1), "Cannot lay out frame");
  if (srcFormat == format_ && src->width == width_ && src->height == height_) {
    av_image_copy(planes, strides, const_cast<const uint8_t**>(src->data), src->linesize, format_,
                  width_, height_);
    return;
  }
  int colorspace = src->colorspace == AVCOL_SPC_UNSPECIFIED ? SWS_CS_DEFAULT : src->colorspace;
  SwsContext* ctx = ContextFor(src->width, src->height, srcFormat, colorspace,
                               src->color_range == AVCOL_RANGE_JPEG);
  sws_scale(ctx, src->data, src->linesize, 0, src->height, planes, strides);
}

void Scaler::PackedToFrame(const uint8_t* src, int srcWidth, int srcHeight, AVPixelFormat srcFormat,
                           AVFrame* dst) {
  const uint8_t* planes[4];
  int strides[4];
  Check(av_image_fill_arrays(const_cast<uint8_t**>(planes), strides, src, srcFormat, srcWidth,
                             srcHeight, 1),
        "Cannot lay out frame");
  if (srcFormat == format_ && srcWidth == width_ && srcHeight == height_) {
    av_image_copy(dst->data, dst->linesize, planes, strides, format_, width_, height_);
    return;
  }
  SwsContext* ctx = ContextFor(srcWidth, srcHeight, srcFormat, SWS_CS_DEFAULT, false);
  // Two slices: all but the last rows straight from the caller's memory, the last rows from a
  // padded copy (see kReadOverrun). The split keeps whole chroma rows on both sides.
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(srcFormat);
  const int tail = std::min(srcHeight, srcHeight % 2 == 0 ? 2 : 1);
  const int head = srcHeight - tail;
  if (head > 0) sws_scale(ctx, planes, strides, 0, head, dst->data, dst->linesize);
  const int planeCount = av_pix_fmt_count_planes(srcFormat);
  const uint8_t* tailPlanes[4] = {};
  size_t tailBytes[4] = {};
  size_t bytes = 0;
  for (int p = 0; p < planeCount; p++) {
    const int shift = (p == 1 || p == 2) ? desc->log2_chroma_h : 0;
    tailPlanes[p] = planes[p] + size_t(head >> shift) * strides[p];
    tailBytes[p] = size_t(AV_CEIL_RSHIFT(srcHeight, shift) - (head >> shift)) * strides[p];
    bytes += tailBytes[p];
  }
  tail_.resize(bytes + kReadOverrun);
  uint8_t* to = tail_.data();
  for (int p = 0; p < planeCount; p++) {
    std::memcpy(to, tailPlanes[p], tailBytes[p]);
    tailPlanes[p] = to;
    to += tailBytes[p];
  }
  sws_scale(ctx, tailPlanes, strides, head, tail, dst->data, dst->linesize);
}

}  // namespace streamcoder
