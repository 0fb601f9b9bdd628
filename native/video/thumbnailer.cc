#include "video/thumbnailer.h"

#include <algorithm>

#include "base/failure.h"
#include "video/scaler.h"

namespace streamcoder {

Thumbnailer::Thumbnailer(int width) : width_(width) {
  if (width < 16 || width > 1920) throw Failure("ERR_INVALID_ARGUMENT", "Expected a thumbnail width from 16 to 1920");
}

PacketPtr Thumbnailer::Encode(const AVFrame* frame) { return Encode(frame, nullptr, frame->width, frame->height, AV_PIX_FMT_NONE); }

PacketPtr Thumbnailer::Encode(const uint8_t* data, int width, int height, AVPixelFormat format) {
  return Encode(nullptr, data, width, height, format);
}

PacketPtr Thumbnailer::Encode(const AVFrame* frame, const uint8_t* data, int sourceWidth, int sourceHeight, AVPixelFormat format) {
  if (sourceWidth <= 0 || sourceHeight <= 0) throw Failure("ERR_INVALID_ARGUMENT", "No picture to make a thumbnail of");
  // Even sides, as 4:2:0 wants; the aspect ratio kept.
  const int width = std::min(width_, sourceWidth + (sourceWidth & 1)) & ~1;
  const int height = std::max(2, int(int64_t(width) * sourceHeight / sourceWidth) & ~1);

  FramePtr scaled(av_frame_alloc());
  if (!scaled) throw Failure("ERR_NO_MEMORY", "Out of memory");
  scaled->width = std::max(2, width);
  scaled->height = height;
  scaled->format = AV_PIX_FMT_YUVJ420P;  // full range, as JPEG has it
  Check(av_frame_get_buffer(scaled.get(), 0), "Cannot allocate a thumbnail");
  Scaler scaler(scaled->width, scaled->height, AV_PIX_FMT_YUVJ420P);
  if (frame) scaler.FrameToFrame(frame, scaled.get());
  else scaler.PackedToFrame(data, sourceWidth, sourceHeight, format, scaled.get());

  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
  if (codec == nullptr) throw Failure("ERR_CODEC_NOT_FOUND", "FFmpeg has no MJPEG encoder for thumbnails");
  CodecContextPtr context(avcodec_alloc_context3(codec));
  if (!context) throw Failure("ERR_NO_MEMORY", "Out of memory");
  context->width = scaled->width;
  context->height = scaled->height;
  context->pix_fmt = AV_PIX_FMT_YUVJ420P;
  context->time_base = AVRational{1, 25};
  // A fixed quality (a JPEG's "quality 85" or so), not a bit rate.
  context->flags |= AV_CODEC_FLAG_QSCALE;
  context->global_quality = FF_QP2LAMBDA * 4;
  scaled->quality = context->global_quality;
  Check(avcodec_open2(context.get(), codec, nullptr), "Cannot open the thumbnail encoder");
  Check(avcodec_send_frame(context.get(), scaled.get()), "Cannot encode a thumbnail");
  PacketPtr packet(av_packet_alloc());
  if (!packet) throw Failure("ERR_NO_MEMORY", "Out of memory");
  Check(avcodec_receive_packet(context.get(), packet.get()), "Cannot encode a thumbnail");
  return packet;
}

}  // namespace streamcoder
