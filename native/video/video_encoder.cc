#include "video/video_encoder.h"

#include <algorithm>
#include <cstring>

#include "base/bounds.h"
#include "base/failure.h"

namespace streamcoder {

namespace {

// yuv420p when the encoder takes it (what players and servers expect), else the encoder's
// format closest to the input.
AVPixelFormat EncoderPixelFormat(const AVCodec* codec, AVPixelFormat input) {
  const AVPixelFormat* formats = nullptr;
#if SC_HAVE_SUPPORTED_CONFIG
  avcodec_get_supported_config(nullptr, codec, AV_CODEC_CONFIG_PIX_FORMAT, 0,
                               reinterpret_cast<const void**>(&formats), nullptr);
#else
  formats = codec->pix_fmts;
#endif
  if (formats == nullptr) return AV_PIX_FMT_YUV420P;
  for (const AVPixelFormat* f = formats; *f != AV_PIX_FMT_NONE; ++f) {
    if (*f == AV_PIX_FMT_YUV420P) return *f;
  }
  return avcodec_find_best_pix_fmt_of_list(formats, input, 0, nullptr);
}

// "yuv420p subsamples chroma, and 853x479 is not a multiple of 2x2", or "" when the size fits.
std::string ChromaMisfit(int width, int height, AVPixelFormat format) {
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(format);
  if (desc == nullptr) return "";
  const int w = 1 << desc->log2_chroma_w;
  const int h = 1 << desc->log2_chroma_h;
  if (width % w == 0 && height % h == 0) return "";
  return std::string(desc->name) + " subsamples chroma, and " + std::to_string(width) + "x" +
         std::to_string(height) + " is not a multiple of " + std::to_string(w) + "x" + std::to_string(h);
}

// The packed layouts pictures come in from JS (lib/types.ts PIXEL_FORMATS): tightly packed,
// one plane after another, as av_image_fill_arrays lays them out with align 1. Anything else
// (a hardware or bitstream format, a format with padding bits) has no such layout to read.
bool IsPackedInputFormat(AVPixelFormat format) {
  switch (format) {
    case AV_PIX_FMT_RGB24:
    case AV_PIX_FMT_BGR24:
    case AV_PIX_FMT_RGBA:
    case AV_PIX_FMT_BGRA:
    case AV_PIX_FMT_GRAY8:
    case AV_PIX_FMT_YUV420P:
      return true;
    default:
      return false;
  }
}

}  // namespace

bool VideoEncoder::TakesFineTimeBase(const std::string& codec) {
  const AVCodec* encoder = avcodec_find_encoder_by_name(codec.c_str());
  if (encoder == nullptr) return true;  // refused when opened, with its own message
  switch (encoder->id) {
    case AV_CODEC_ID_MPEG4:
    case AV_CODEC_ID_MSMPEG4V2:
    case AV_CODEC_ID_MSMPEG4V3:
    case AV_CODEC_ID_H263:
    case AV_CODEC_ID_H263P:
    case AV_CODEC_ID_MPEG1VIDEO:
    case AV_CODEC_ID_MPEG2VIDEO:
    case AV_CODEC_ID_FLV1:
      return false;
    default:
      return true;
  }
}

VideoEncoder::VideoEncoder(const VideoEncoderOptions& options, bool globalHeader, const std::string& label)
    : options_(options), label_(label) {
  const AVCodec* encoder = avcodec_find_encoder_by_name(options_.codec.c_str());
  if (encoder == nullptr) {
    throw Failure("ERR_CODEC_NOT_FOUND", "No encoder named '" + options_.codec + "' in this FFmpeg");
  }
  if (encoder->type != AVMEDIA_TYPE_VIDEO) {
    throw Failure("ERR_INVALID_ARGUMENT", "'" + options_.codec + "' is not a video encoder");
  }
  codec_.reset(avcodec_alloc_context3(encoder));
  if (!codec_) throw Failure("ERR_NO_MEMORY", "Cannot allocate an encoder");
  AVCodecContext* c = codec_.get();
  c->width = options_.width;
  c->height = options_.height;
  c->time_base = options_.timeBase;
  c->framerate = options_.frameRate;
  c->pix_fmt = EncoderPixelFormat(encoder, options_.inputFormat);
  c->sample_aspect_ratio = AVRational{1, 1};
  if (options_.bitRate > 0) c->bit_rate = options_.bitRate;
  if (options_.maxBitRate > 0) c->rc_max_rate = options_.maxBitRate;
  if (options_.bufSize > 0) c->rc_buffer_size = int(std::min<int64_t>(options_.bufSize, INT32_MAX));
  if (options_.gopSize >= 0) c->gop_size = options_.gopSize;
  if (options_.maxBFrames >= 0) c->max_b_frames = options_.maxBFrames;
  c->thread_count = options_.threads;
  if (globalHeader) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;

  Dictionary codecOptions(options_.codecOptions);
  if (!options_.preset.empty()) codecOptions.Set("preset", options_.preset);
  if (!options_.tune.empty()) codecOptions.Set("tune", options_.tune);
  if (options_.crf >= 0) codecOptions.Set("crf", std::to_string(options_.crf));
  int ret = avcodec_open2(c, encoder, codecOptions.get());
  if (ret < 0) {
    Failure failure = Failure::FromAv(ret, "Cannot open the " + options_.codec + " encoder for " + label_);
    // Encoders differ on odd sizes with subsampled chroma (mpeg4 takes 853x479 in yuv420p,
    // libx264 refuses it with a generic error): when the size is the likely cause, say so.
    std::string misfit = ChromaMisfit(c->width, c->height, c->pix_fmt);
    if (!misfit.empty()) throw Failure("ERR_DIMENSIONS", failure.message() + "; " + misfit, failure.averror());
    throw failure;
  }
  codecOptions.RejectUnused("the " + options_.codec + " encoder");

  frame_.reset(av_frame_alloc());
  packet_.reset(av_packet_alloc());
  if (!frame_ || !packet_) throw Failure("ERR_NO_MEMORY", "Cannot allocate frames");
  frame_->format = c->pix_fmt;
  frame_->width = c->width;
  frame_->height = c->height;
  Check(av_frame_get_buffer(frame_.get(), 0), "Cannot allocate a frame");
  scaler_ = std::make_unique<Scaler>(c->width, c->height, c->pix_fmt);
  declared_ = PictureLayout{options_.width, options_.height, options_.inputFormat};
  frameBytes_ = Scaler::PackedSize(c->width, c->height, options_.inputFormat);
}

// libsvtav1 (SVT-AV1 1.4, FFmpeg 5.1) waits forever, when it is flushed and again when it is
// freed, for a packet it cannot make if it never got a frame: closing an unused encoder, or one
// whose output failed to open, hung the process. Such an encoder gets one blank frame, whose
// packets are thrown away, before it is freed.
VideoEncoder::~VideoEncoder() {
  AVCodecContext* c = codec_.get();
  if (c != nullptr && !sent_ && avcodec_is_open(c) && std::strcmp(c->codec->name, "libsvtav1") == 0) {
    FramePtr blank(av_frame_alloc());
    PacketPtr packet(av_packet_alloc());
    if (blank && packet) {
      blank->format = c->pix_fmt;
      blank->width = c->width;
      blank->height = c->height;
      blank->pts = 0;
      int ret = av_frame_get_buffer(blank.get(), 0);
      if (ret >= 0) {
        const ptrdiff_t linesizes[4] = {blank->linesize[0], blank->linesize[1], blank->linesize[2], blank->linesize[3]};
        ret = av_image_fill_black(blank->data, linesizes, c->pix_fmt, AVCOL_RANGE_MPEG, c->width, c->height);
      }
      if (ret >= 0 && avcodec_send_frame(c, blank.get()) >= 0 && avcodec_send_frame(c, nullptr) >= 0) {
        while (avcodec_receive_packet(c, packet.get()) >= 0) av_packet_unref(packet.get());
      }
    }
  }
}

PictureLayout VideoEncoder::LayoutOf(int width, int height, AVPixelFormat format) const {
  return PictureLayout{width == 0 ? declared_.width : width, height == 0 ? declared_.height : height,
                       format == AV_PIX_FMT_NONE ? declared_.format : format};
}

void VideoEncoder::CheckPicture(size_t size, const PictureLayout& layout) const {
  size_t expected = frameBytes_;
  if (!(layout == declared_)) {
    // Bounded before any size arithmetic, so the byte count below cannot overflow.
    CheckDimensions(layout.width, layout.height, "The frame");
    if (!IsPackedInputFormat(layout.format)) {
      const char* name = av_get_pix_fmt_name(layout.format);
      throw Failure("ERR_PIXEL_FORMAT", std::string("Expected a frame in rgb24, bgr24, rgba, bgra, gray or yuv420p but received ") +
                                            (name != nullptr ? name : "an unknown pixel format"));
    }
    expected = Scaler::PackedSize(layout.width, layout.height, layout.format);
  }
  if (size == expected) return;
  throw Failure("ERR_BUFFER_SIZE", "Expected a frame of " + std::to_string(expected) + " bytes (" +
                                       std::to_string(layout.width) + "x" + std::to_string(layout.height) + " " +
                                       av_get_pix_fmt_name(layout.format) + ") but got " + std::to_string(size));
}

void VideoEncoder::Convert(const uint8_t* data, size_t size, const PictureLayout& layout) {
  // Checked here too, right before the bytes are read: nothing reads past `size`.
  CheckPicture(size, layout);
  // The encoder may still hold the last picture (a reference): then this makes a new buffer.
  Check(av_frame_make_writable(frame_.get()), "Cannot prepare a frame");
  // A picture of the encoder's size and format is copied as before; any other goes through
  // swscale (bicubic, see scaler.cc), on this thread: the one that encodes, the libuv pool's for
  // the async calls. The Scaler keeps the SwsContext of the last input layout, so a rendition
  // ladder's steady stream builds it once, and a size change mid-stream just builds another.
  scaler_->PackedToFrame(data, layout.width, layout.height, layout.format, frame_.get());
}

void VideoEncoder::ConvertFrame(const AVFrame* frame) {
  CheckDimensions(frame->width, frame->height, "The frame");
  if (frame->format == codec_->pix_fmt && frame->width == codec_->width && frame->height == codec_->height) {
    av_frame_unref(frame_.get());
    Check(av_frame_ref(frame_.get(), frame), "Cannot reference a frame");
    return;
  }
  // After a reference, this gives frame_ a buffer of its own again.
  Check(av_frame_make_writable(frame_.get()), "Cannot prepare a frame");
  scaler_->FrameToFrame(frame, frame_.get());
}

void VideoEncoder::SetBitRate(int64_t bitRate) {
  codec_->bit_rate = bitRate;
  codec_->rc_max_rate = bitRate;
  codec_->rc_buffer_size = int(std::min<int64_t>(AdaptiveBufferSize(bitRate), INT32_MAX));
}

void VideoEncoder::Send(int64_t pts, const PacketSink& sink) {
  frame_->pts = pts;
  frame_->pict_type = forceKey_ ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
  forceKey_ = false;
  int ret = avcodec_send_frame(codec_.get(), frame_.get());
  if (ret < 0) throw Failure::FromAv(ret, "Cannot encode a frame for " + label_);
  sent_ = true;
  Drain(sink);
}

void VideoEncoder::Flush(const PacketSink& sink) {
  // An encoder that never got a frame has nothing to flush, and libsvtav1 (SVT-AV1 1.4,
  // FFmpeg 5.1) never returns from a flush without one.
  if (!sent_) return;
  Check(avcodec_send_frame(codec_.get(), nullptr), "Cannot flush the encoder");
  Drain(sink);
}

void VideoEncoder::Drain(const PacketSink& sink) {
  for (;;) {
    int ret = avcodec_receive_packet(codec_.get(), packet_.get());
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
    if (ret < 0) throw Failure::FromAv(ret, "Cannot encode a frame for " + label_);
    sink(packet_.get());
    av_packet_unref(packet_.get());
  }
}

}  // namespace streamcoder
