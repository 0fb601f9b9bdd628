#include "video/video_decoder.h"

#include "base/failure.h"

namespace streamcoder {

namespace {

// A corrupt stream may make every packet fail; after this many failures in a row without a single
// good frame, the reader stops trying and reports the data as invalid.
constexpr int kMaxConsecutiveErrors = 64;

}  // namespace

VideoDecoder::VideoDecoder(const AVStream* stream, const AVCodec* decoder, const VideoDecoderOptions& options,
                           const std::string& label)
    : label_(label) {
  context_.reset(avcodec_alloc_context3(decoder));
  if (!context_) throw Failure("ERR_NO_MEMORY", "Cannot allocate a decoder for " + label_);
  Check(avcodec_parameters_to_context(context_.get(), stream->codecpar), "Cannot configure the decoder of " + label_);
  context_->pkt_timebase = stream->time_base;
  context_->thread_count = options.threads;
  // Bounds what a damaged or hostile stream can make the decoder allocate mid-stream: a larger
  // picture fails to decode and is counted as corrupt.
  context_->max_pixels = options.maxPixels;
  Dictionary codecOptions(options.codecOptions);
  int ret = avcodec_open2(context_.get(), decoder, codecOptions.get());
  if (ret < 0) throw Failure::FromAv(ret, "Cannot open the " + std::string(decoder->name) + " decoder for " + label_);
  codecOptions.RejectUnused("the " + std::string(decoder->name) + " decoder");
  scaler_ = std::make_unique<Scaler>(options.width, options.height, options.pixelFormat);
}

void VideoDecoder::CountCorrupt(int averror) {
  ++corrupt_;
  if (++consecutiveErrors_ > kMaxConsecutiveErrors) throw Failure::FromAv(averror, "Cannot decode the video of " + label_);
}

bool VideoDecoder::Send(const AVPacket* packet) {
  if (packet == nullptr) {
    if (!draining_) avcodec_send_packet(context_.get(), nullptr);
    draining_ = true;
    return true;
  }
  int ret = avcodec_send_packet(context_.get(), packet);
  if (ret == AVERROR(EAGAIN)) return false;
  if (ret < 0) CountCorrupt(ret);  // the packet is gone either way: decoding goes on without it
  return true;
}

VideoDecoder::Result VideoDecoder::Receive(AVFrame* frame) {
  for (;;) {
    int ret = avcodec_receive_frame(context_.get(), frame);
    if (ret >= 0) {
      consecutiveErrors_ = 0;
      return Result::kFrame;
    }
    if (ret == AVERROR(EAGAIN)) return Result::kNeedInput;
    if (ret == AVERROR_EOF) return Result::kEnd;
    // A frame the decoder could not rebuild: counted, skipped, decoding goes on.
    CountCorrupt(ret);
  }
}

void VideoDecoder::Flush() {
  avcodec_flush_buffers(context_.get());
  draining_ = false;
}

}  // namespace streamcoder
