#include "video/scaler.h"

#include <algorithm>
#include <cstring>

#include "base/failure.h"

namespace streamcoder {

namespace {

// Bicubic is what the ffmpeg CLI uses by default, so frames match what `ffmpeg -pix_fmt` gives,
// and a writer's rendition (a 1280x720 Frame served to a 640x360 Server) looks like `ffmpeg -s`'s:
// sharper than bilinear on a downscale, with fewer steps on an upscale, and its cost is small
// beside the encoder's.
constexpr int kSwsFlags = SWS_BICUBIC;

// swscale reads and writes whole SIMD words, and for odd widths a pixel pair, past the end of a
// row: valgrind saw 16-byte loads end 4 bytes past a 160x120 rgb24 picture, and a 1080-wide
// rgb24 row is written 24 bytes too long. swscale is made for frames whose rows are padded
// (av_frame_get_buffer), where that slack is ours; a caller's tightly packed picture has none,
// and past its last row lies memory that is not ours at all (possibly the end of a mapped page).
// Generous: it only decides how many rows go through a padded copy.
constexpr size_t kOverrun = 512;

// Slack for converting in place (Scaler::inPlaceSlack): single-plane formats only, as the planes
// of a packed picture follow each other with no gap, so a plane's spill would land on the next
// plane, which swscale may already have written. Two rows more than the overrun, in case a
// converter that writes row pairs writes one past an odd last row, as the padded frame (with
// rows to spare) would let it.
size_t InPlaceSlack(int width, AVPixelFormat format) {
  if (av_pix_fmt_count_planes(format) != 1) return 0;
  const int row = av_image_get_linesize(format, width, 0);
  return row > 0 ? 2 * size_t(row) + kOverrun : 0;
}

// Rows at the bottom of a packed picture that must go through a padded copy so that no access
// of swscale's, a row's worth of SIMD slack past any row above them, leaves the picture: enough
// for kOverrun bytes in every plane, at most the whole picture.
int TailRows(AVPixelFormat format, AVPixelFormat dstFormat, int height, const int strides[4]) {
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(format);
  // Whole chroma rows of both sides: swscale's unscaled converters make a 4:2:0 row pair from
  // two input rows at once, so a split between them left a chroma row unwritten.
  const int align = 1 << std::max(desc->log2_chroma_h, av_pix_fmt_desc_get(dstFormat)->log2_chroma_h);
  int tail = align;
  for (int p = 0; p < 4 && strides[p] > 0; p++) {
    const int shift = (p == 1 || p == 2) ? desc->log2_chroma_h : 0;
    const int rows = int((kOverrun + size_t(strides[p]) - 1) / size_t(strides[p])) << shift;
    tail = std::max(tail, rows);
  }
  // The head (what is converted in place) must hold whole chroma rows; the tail takes the rest,
  // odd last row included.
  const int head = std::max(0, (height - tail) / align * align);
  return height - head;
}

bool IsYuv(AVPixelFormat format) {
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(format);
  return desc != nullptr && !(desc->flags & AV_PIX_FMT_FLAG_RGB) && desc->nb_components >= 3;
}

// The deprecated "J" formats are their plain twins in full range. swscale would swap them for
// the twin itself, and then its cached context never matches the format it is asked for again,
// so it was rebuilt for every frame, and the range we set (from the frame's colour_range,
// unspecified for most sources) overrode the J format's full range.
AVPixelFormat WithoutJpegRange(AVPixelFormat format, bool* fullRange) {
  switch (format) {
    case AV_PIX_FMT_YUVJ420P: *fullRange = true; return AV_PIX_FMT_YUV420P;
    case AV_PIX_FMT_YUVJ422P: *fullRange = true; return AV_PIX_FMT_YUV422P;
    case AV_PIX_FMT_YUVJ444P: *fullRange = true; return AV_PIX_FMT_YUV444P;
    case AV_PIX_FMT_YUVJ440P: *fullRange = true; return AV_PIX_FMT_YUV440P;
    case AV_PIX_FMT_YUVJ411P: *fullRange = true; return AV_PIX_FMT_YUV411P;
    default: return format;
  }
}

}  // namespace

Scaler::Scaler(int width, int height, AVPixelFormat format)
    : width_(width),
      height_(height),
      format_(format),
      packedSize_(PackedSize(width, height, format)),
      inPlaceSlack_(InPlaceSlack(width, format)) {}

size_t Scaler::PackedSize(int width, int height, AVPixelFormat format) {
  int size = av_image_get_buffer_size(format, width, height, 1);
  if (size < 0) throw Failure::FromAv(size, "Invalid picture size " + std::to_string(width) + "x" + std::to_string(height));
  return static_cast<size_t>(size);
}

SwsContext* Scaler::ContextFor(int srcWidth, int srcHeight, AVPixelFormat srcFormat, int colorspace,
                               bool fullRange) {
  bool dstFullRange = false;
  const AVPixelFormat srcPlain = WithoutJpegRange(srcFormat, &fullRange);
  const AVPixelFormat dstPlain = WithoutJpegRange(format_, &dstFullRange);
  const ContextKey key{srcWidth, srcHeight, srcPlain, colorspace, fullRange};
  if (sws_ && key == key_) return sws_.get();
  sws_.reset();
  // The ranges are options set before initialisation, as the ffmpeg CLI's scale filter sets
  // them: set only afterwards (sws_setColorspaceDetails), swscale keeps the converter it chose
  // without them, e.g. a plain copy from full-range yuv420p to limited yuv420p.
  SwsContextPtr ctx(sws_alloc_context());
  if (!ctx) throw Failure("ERR_NO_MEMORY", "Cannot allocate a pixel converter");
  av_opt_set_int(ctx.get(), "srcw", srcWidth, 0);
  av_opt_set_int(ctx.get(), "srch", srcHeight, 0);
  av_opt_set_int(ctx.get(), "src_format", srcPlain, 0);
  av_opt_set_int(ctx.get(), "dstw", width_, 0);
  av_opt_set_int(ctx.get(), "dsth", height_, 0);
  av_opt_set_int(ctx.get(), "dst_format", dstPlain, 0);
  av_opt_set_int(ctx.get(), "sws_flags", kSwsFlags, 0);
  if (IsYuv(srcPlain)) av_opt_set_int(ctx.get(), "src_range", fullRange, 0);
  if (dstFullRange) av_opt_set_int(ctx.get(), "dst_range", 1, 0);
  if (sws_init_context(ctx.get(), nullptr, nullptr) < 0) {
    throw Failure("ERR_PIXEL_FORMAT", std::string("Cannot convert ") +
                                          (av_get_pix_fmt_name(srcFormat) ?: "unknown") + " " +
                                          std::to_string(srcWidth) + "x" + std::to_string(srcHeight) +
                                          " to " + av_get_pix_fmt_name(format_));
  }
  {
    // The frame's own matrix and range, for both sides, as the CLI's scale filter does. Set
    // even when they are the defaults: it is not a no-op for cascaded contexts (a large
    // downscale to gray came out unlike the CLI's without it).
    int* invTable = nullptr;
    int* table = nullptr;
    int srcRange = 0, dstRange = 0, brightness = 0, contrast = 0, saturation = 0;
    if (sws_getColorspaceDetails(ctx.get(), &invTable, &srcRange, &table, &dstRange, &brightness,
                                 &contrast, &saturation) >= 0) {
      const int* coefficients = sws_getCoefficients(colorspace);
      sws_setColorspaceDetails(ctx.get(), coefficients, IsYuv(srcPlain) ? fullRange : srcRange, coefficients,
                               dstFullRange ? 1 : dstRange, brightness, contrast, saturation);
    }
  }
  sws_ = std::move(ctx);
  key_ = key;
  return sws_.get();
}

void Scaler::FrameToPacked(const AVFrame* src, uint8_t* dst, size_t dstSlack) {
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
  // Into a padded frame of ours, then copied row by row at its exact width (see kOverrun).
  // Writing straight into the caller's picture overran its end, and within the picture a
  // writer that spills a row's slack over rows it has already written (the C yuv2rgb writes two
  // rows at a time) would leave wrong pixels.
  AVFrame* padded = PaddedFrame();
  if (WritesInPlace(dst, strides, dstSlack)) {
    // The same layout as the padded frame, so the same bytes, and the spill past the last row
    // lands in dst's slack: the copy (6 % of a 1080p rgb24 decode) is saved.
    sws_scale(ctx, src->data, src->linesize, 0, src->height, planes, strides);
    return;
  }
  sws_scale(ctx, src->data, src->linesize, 0, src->height, padded->data, padded->linesize);
  av_image_copy(planes, strides, const_cast<const uint8_t**>(padded->data), padded->linesize, format_,
                width_, height_);
}

void Scaler::FrameToFrame(const AVFrame* src, AVFrame* dst) {
  auto srcFormat = static_cast<AVPixelFormat>(src->format);
  int colorspace = src->colorspace == AVCOL_SPC_UNSPECIFIED ? SWS_CS_DEFAULT : src->colorspace;
  SwsContext* ctx = ContextFor(src->width, src->height, srcFormat, colorspace, src->color_range == AVCOL_RANGE_JPEG);
  // Both frames are libav's own, padded as swscale expects (unlike packed pictures: see
  // kOverrun): one call, the whole picture, which a cascaded context needs (see PackedToFrame).
  Check(sws_scale(ctx, src->data, src->linesize, 0, src->height, dst->data, dst->linesize), "Cannot scale a frame");
}

uint8_t* Scaler::Staging(size_t bytes) {
  if (bytes + kOverrun > stagingBytes_) {
    staging_.reset();  // the old one first: a 4K picture's copy is not held twice
    staging_.reset(new uint8_t[bytes + kOverrun]);
    stagingBytes_ = bytes + kOverrun;
  }
  // The slack swscale may read is zeroed (defined bytes for valgrind); the rest is the caller's.
  std::memset(staging_.get() + bytes, 0, kOverrun);
  return staging_.get();
}

bool Scaler::WritesInPlace(const uint8_t* dst, const int strides[4], size_t dstSlack) {
  return inPlaceSlack_ > 0 && dstSlack >= inPlaceSlack_ && strides[0] == PaddedFrame()->linesize[0] &&
         reinterpret_cast<uintptr_t>(dst) % kInPlaceAlignment == 0;
}

AVFrame* Scaler::PaddedFrame() {
  if (!padded_) {
    padded_.reset(av_frame_alloc());
    if (!padded_) throw Failure("ERR_NO_MEMORY", "Cannot allocate a frame");
    padded_->width = width_;
    padded_->height = height_;
    padded_->format = format_;
    Check(av_frame_get_buffer(padded_.get(), 0), "Cannot allocate a frame");
  }
  return padded_.get();
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
  if (srcWidth != width_ || srcHeight != height_) {
    // Scaled (a writer given a Frame of another size): one slice, the whole picture, from a
    // padded copy. For a large ratio swscale builds a cascade of two contexts (a 60:1 bicubic
    // filter has more taps than it allows, so it scales through an intermediate size), and
    // sws_scale (FFmpeg 5.1, 6 and 7 alike) runs the cascade only for the whole picture at once
    // (srcSliceY 0, srcSliceH the full height): a partial slice went to the uncascaded path,
    // never set up, and crashed (1920x1080 to 32x18).
    // The copy costs little beside the scaling; a picture of the encoder's size keeps the
    // slices below and no copy.
    const size_t bytes = PackedSize(srcWidth, srcHeight, srcFormat);
    uint8_t* copy = Staging(bytes);
    std::memcpy(copy, src, bytes);
    Check(av_image_fill_arrays(const_cast<uint8_t**>(planes), strides, copy, srcFormat, srcWidth, srcHeight, 1),
          "Cannot lay out frame");
    Check(sws_scale(ctx, planes, strides, 0, srcHeight, dst->data, dst->linesize), "Cannot scale a frame");
    return;
  }
  // Two slices: all but the last rows straight from the caller's memory, the last rows from a
  // padded copy (see kOverrun). The split keeps whole chroma rows on both sides.
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(srcFormat);
  const int tail = TailRows(srcFormat, format_, srcHeight, strides);
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
  uint8_t* to = Staging(bytes);
  for (int p = 0; p < planeCount; p++) {
    std::memcpy(to, tailPlanes[p], tailBytes[p]);
    tailPlanes[p] = to;
    to += tailBytes[p];
  }
  sws_scale(ctx, tailPlanes, strides, head, tail, dst->data, dst->linesize);
}

}  // namespace streamcoder
