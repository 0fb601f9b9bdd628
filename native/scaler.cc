#include "scaler.h"

#include "failure.h"

namespace streamcoder {

namespace {

// Bicubic is what the ffmpeg CLI uses by default, so frames match what `ffmpeg -pix_fmt` gives.
constexpr int kSwsFlags = SWS_BICUBIC;

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
  sws_scale(ctx, planes, strides, 0, srcHeight, dst->data, dst->linesize);
}

}  // namespace streamcoder
