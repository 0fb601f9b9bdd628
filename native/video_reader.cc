#include "video_reader.h"

#include <utility>
#include <vector>

#include "failure.h"
#include "log.h"

namespace streamcoder {

namespace {

// A corrupt stream may make every packet fail; after this many failures in a row without a single
// good frame, the reader stops trying and reports the data as invalid.
constexpr int kMaxConsecutiveErrors = 64;

double Seconds(int64_t ts, AVRational base) {
  return ts == AV_NOPTS_VALUE ? NAN : double(ts) * base.num / base.den;
}

// The side not given, keeping the aspect ratio, rounded to an even number as ffmpeg's `scale=W:-2`
// does (encoders of yuv420p refuse odd sizes: 1280x720 at width 500 gives 500x282, not 281), and
// at least 2; only a source side of 1 pixel may give 1.
int DerivedSide(int given, int sourceGiven, int sourceOther) {
  double value = std::round(double(given) * sourceOther / (2.0 * sourceGiven)) * 2;
  if (value >= 2) return int(value);
  return sourceOther == 1 ? 1 : 2;
}

}  // namespace

void CheckDimensions(int width, int height, const std::string& what) {
  if (width <= 0 || height <= 0 || width > kMaxDimension || height > kMaxDimension ||
      int64_t(width) * height > kMaxPixels) {
    throw Failure("ERR_DIMENSIONS", what + " has unsupported dimensions " + std::to_string(width) +
                                        "x" + std::to_string(height) + " (at most " +
                                        std::to_string(kMaxDimension) + " per side and " +
                                        std::to_string(kMaxPixels) + " pixels)");
  }
}

VideoReader::VideoReader(ReaderOptions options)
    : options_(std::move(options)),
      secrets_(options_.source, options_.formatOptions),
      label_("'" + RedactUrl(options_.source) + "'"),
      interrupter_(options_.timeoutMs) {}

VideoReader::~VideoReader() = default;

void VideoReader::ThrowIo(int averror, const std::string& what) {
  if (interrupter_.aborted()) throw Failure("ERR_CLOSED", what + ": the decoder was closed", averror);
  if (interrupter_.timedOut()) {
    throw Failure("ERR_TIMEOUT", what + ": no answer within " +
                                     std::to_string(interrupter_.timeoutMs()) + " ms", averror);
  }
  throw Failure::FromAv(averror, what);
}

void VideoReader::Open() {
  ClearLastLogLine();
  AVFormatContext* raw = avformat_alloc_context();
  if (raw == nullptr) throw Failure("ERR_NO_MEMORY", "Cannot allocate a demuxer for " + label_);
  raw->interrupt_callback = interrupter_.callback();

  const AVInputFormat* forced = nullptr;
  if (!options_.inputFormat.empty()) {
    forced = av_find_input_format(options_.inputFormat.c_str());
    if (forced == nullptr) {
      throw Failure("ERR_FORMAT_NOT_FOUND", "Unknown input format '" + options_.inputFormat + "'");
    }
  }
  Dictionary formatOptions(options_.formatOptions);
  interrupter_.Arm();
  int ret = avformat_open_input(&raw, options_.source.c_str(), forced, formatOptions.get());
  // A header cut short is damaged data, whatever errno FFmpeg chose for it.
  if (ret == AVERROR_EOF) throw Failure("ERR_INVALID_DATA", "Cannot open " + label_ + ": the data ends inside its header", ret);
  if (ret < 0) ThrowIo(ret, "Cannot open " + label_);  // avformat_open_input freed raw
  format_.reset(raw);
  formatOptions.RejectUnused("input " + label_);

  interrupter_.Arm();
  ret = FindStreamInfo();
  if (ret == AVERROR_EOF || ret == AVERROR(EINVAL)) {
    // Options are applied before this: here EOF and EINVAL come from the data (a header cut
    // short, a field out of range).
    throw Failure::FromAv(ret, "Cannot read stream information of " + label_).As("ERR_INVALID_DATA");
  }
  if (ret < 0) ThrowIo(ret, "Cannot read stream information of " + label_);

  const AVCodec* decoder = nullptr;
  ret = av_find_best_stream(format_.get(), AVMEDIA_TYPE_VIDEO, -1, -1, &decoder, 0);
  if (ret == AVERROR_STREAM_NOT_FOUND) {
    throw Failure("ERR_NO_VIDEO_STREAM", label_ + " has no video stream", ret);
  }
  if (ret < 0 || decoder == nullptr) {
    throw Failure("ERR_CODEC_NOT_FOUND", "No decoder for the video of " + label_, ret);
  }
  stream_ = format_->streams[ret];
  for (unsigned i = 0; i < format_->nb_streams; ++i) {
    // Other streams are not even demuxed: less work, and no memory spent on them.
    if (format_->streams[i] != stream_) format_->streams[i]->discard = AVDISCARD_ALL;
  }
  const AVCodecParameters* par = stream_->codecpar;
  CheckDimensions(par->width, par->height, "The video of " + label_);
  CheckPixelBound(par->width, par->height, "The video of " + label_);

  codec_.reset(avcodec_alloc_context3(decoder));
  if (!codec_) throw Failure("ERR_NO_MEMORY", "Cannot allocate a decoder for " + label_);
  Check(avcodec_parameters_to_context(codec_.get(), par), "Cannot configure the decoder of " + label_);
  codec_->pkt_timebase = stream_->time_base;
  codec_->thread_count = options_.threads;
  // Bounds what a damaged or hostile stream can make the decoder allocate mid-stream: a larger
  // picture fails to decode and is counted as corrupt.
  codec_->max_pixels = options_.maxPixels;
  Dictionary codecOptions(options_.codecOptions);
  ret = avcodec_open2(codec_.get(), decoder, codecOptions.get());
  if (ret < 0) {
    codec_.reset();
    throw Failure::FromAv(ret, "Cannot open the " + std::string(decoder->name) + " decoder for " + label_);
  }
  codecOptions.RejectUnused("the " + std::string(decoder->name) + " decoder");

  int width = options_.width, height = options_.height;
  if (width == 0 && height == 0) {
    width = par->width;
    height = par->height;
  } else if (height == 0) {
    height = DerivedSide(width, par->width, par->height);
  } else if (width == 0) {
    width = DerivedSide(height, par->height, par->width);
  }
  CheckDimensions(width, height, "The requested output size");
  CheckPixelBound(width, height, "The requested output size");
  scaler_ = std::make_unique<Scaler>(width, height, options_.pixelFormat);
  frame_.reset(av_frame_alloc());
  packet_.reset(av_packet_alloc());
  if (!frame_ || !packet_) throw Failure("ERR_NO_MEMORY", "Cannot allocate frames for " + label_);

  BuildInfo(decoder);
  // Index 0 is the first frame the stream really decodes to: containers' start times are not
  // always that frame's (AVI with B-frames starts at pts 1). Decoding it now also proves the
  // stream is readable before open() reports success. It stays pending for the first read.
  bool any;
  try {
    any = Peek();
  } catch (const Failure& failure) {
    // The first frame of a file that opened: a decoder's EINVAL, EPERM (-1) or an early EOF
    // here means damaged data.
    const std::string& code = failure.code();
    if (code != "ERR_END_OF_STREAM" && code != "ERR_INVALID_ARGUMENT" && code != "ERR_FFMPEG") throw;
    throw Failure(failure).As("ERR_INVALID_DATA");
  }
  if (any) {
    firstPts_ = frame_->best_effort_timestamp;
  } else if (info_.frameCount > 0) {
    // Not one frame out of a stream that declares some: say so, rather than look like an
    // empty file (an MP4 whose sample table claims a 1.2 GB sample did).
    throw Failure("ERR_INVALID_DATA", label_ + " declares " + std::to_string(info_.frameCount) +
                                          " frames but none could be read or decoded (" +
                                          std::to_string(corruptPackets_) + " corrupt)");
  }
  if (options_.startTime > 0) Seek(options_.startTime);
}

int VideoReader::FindStreamInfo() {
  // Probing decodes a few frames with decoders of its own: they get the same bound, or a header
  // that claims a huge picture would make them allocate it before any check of ours could run.
  const unsigned count = format_->nb_streams;
  std::vector<AVDictionary*> perStream(count, nullptr);
  const std::string bound = std::to_string(options_.maxPixels);
  for (unsigned i = 0; i < count; ++i) av_dict_set(&perStream[i], "max_pixels", bound.c_str(), 0);
  int ret = avformat_find_stream_info(format_.get(), count > 0 ? perStream.data() : nullptr);
  for (AVDictionary*& dict : perStream) av_dict_free(&dict);
  return ret;
}

void VideoReader::CheckPixelBound(int width, int height, const std::string& what) const {
  if (int64_t(width) * height <= options_.maxPixels) return;
  throw Failure("ERR_LIMIT", what + " is " + std::to_string(width) + "x" + std::to_string(height) + " (" +
                                 std::to_string(int64_t(width) * height) + " pixels), more than maxPixels (" +
                                 std::to_string(options_.maxPixels) + "); raise maxPixels to decode it");
}

void VideoReader::BuildInfo(const AVCodec* decoder) {
  const AVCodecParameters* par = stream_->codecpar;
  info_.codec = decoder->name;
  info_.format = format_->iformat->name;
  info_.pixelFormat = av_get_pix_fmt_name(options_.pixelFormat);
  const char* sourceFormat = av_get_pix_fmt_name(static_cast<AVPixelFormat>(par->format));
  info_.sourcePixelFormat = sourceFormat ? sourceFormat : "unknown";
  info_.sourceWidth = par->width;
  info_.sourceHeight = par->height;
  info_.streamIndex = stream_->index;

  AVRational rate = stream_->avg_frame_rate;
  if (rate.num <= 0 || rate.den <= 0) rate = stream_->r_frame_rate;
  if (rate.num <= 0 || rate.den <= 0) rate = av_guess_frame_rate(format_.get(), stream_, nullptr);
  info_.frameRate = rate.num > 0 && rate.den > 0 ? rate : AVRational{0, 1};
  info_.timeBase = stream_->time_base;
  info_.startTime = Seconds(stream_->start_time, stream_->time_base);

  // A stream's own duration first; the container's when the stream has none (never negative).
  if (stream_->duration != AV_NOPTS_VALUE && stream_->duration > 0) {
    info_.duration = Seconds(stream_->duration, stream_->time_base);
  } else if (format_->duration != AV_NOPTS_VALUE && format_->duration > 0) {
    info_.duration = double(format_->duration) / AV_TIME_BASE;
  }
  if (stream_->nb_frames > 0) {
    info_.frameCount = stream_->nb_frames;
  } else if (!std::isnan(info_.duration) && info_.frameRate.num > 0) {
    const double frames = info_.duration * av_q2d(info_.frameRate);
    if (frames < 9e15) info_.frameCount = std::llround(frames);  // else unknown: a crafted duration
  }
  info_.bitRate = par->bit_rate > 0 ? par->bit_rate : (format_->bit_rate > 0 ? format_->bit_rate : 0);
  info_.width = scaler_->width();
  info_.height = scaler_->height();
}

bool VideoReader::Peek() {
  if (pending_) return true;
  if (!codec_) throw Failure("ERR_NOT_OPEN", "The decoder of " + label_ + " is not open");
  for (;;) {
    int ret = avcodec_receive_frame(codec_.get(), frame_.get());
    if (ret >= 0) {
      consecutiveErrors_ = 0;
      int64_t pts = frame_->best_effort_timestamp;
      // After a seek, a frame without a timestamp cannot be shown to be at or after the target.
      if (seekTarget_ != AV_NOPTS_VALUE && (pts == AV_NOPTS_VALUE || pts < seekTarget_)) {
        av_frame_unref(frame_.get());
        continue;
      }
      seekTarget_ = AV_NOPTS_VALUE;
      pending_ = true;
      return true;
    }
    if (ret == AVERROR_EOF) {
      if (deferredFailure_) {
        Failure failure = *deferredFailure_;
        deferredFailure_.reset();
        throw failure;
      }
      return false;
    }
    if (ret != AVERROR(EAGAIN)) {
      // A frame the decoder could not rebuild: counted, skipped, decoding goes on.
      ++corruptPackets_;
      if (++consecutiveErrors_ > kMaxConsecutiveErrors) {
        throw Failure::FromAv(ret, "Cannot decode the video of " + label_);
      }
      continue;
    }
    FeedPacket();
  }
}

void VideoReader::FeedPacket() {
  for (;;) {
    interrupter_.Arm();
    int ret = av_read_frame(format_.get(), packet_.get());
    if (ret == AVERROR_EOF) {
      if (!draining_) {
        draining_ = true;
        avcodec_send_packet(codec_.get(), nullptr);  // enter draining mode
      }
      return;
    }
    if (ret < 0) {
      // A live source that stalls or drops sends no EOF: the frames the decoder still holds
      // (frame threading, B-frames) are drained and delivered first, then the failure.
      try {
        ThrowIo(ret, "Cannot read from " + label_);
      } catch (const Failure& failure) {
        if (interrupter_.aborted() || draining_) throw;
        deferredFailure_.emplace(failure);
        draining_ = true;
        avcodec_send_packet(codec_.get(), nullptr);
        return;
      }
    }
    if (packet_->stream_index != stream_->index) {
      av_packet_unref(packet_.get());
      continue;
    }
    bytesRead_.fetch_add(packet_->size, std::memory_order_relaxed);
    ret = avcodec_send_packet(codec_.get(), packet_.get());
    av_packet_unref(packet_.get());
    if (ret < 0 && ret != AVERROR(EAGAIN)) {
      ++corruptPackets_;
      if (++consecutiveErrors_ > kMaxConsecutiveErrors) {
        throw Failure::FromAv(ret, "Cannot decode the video of " + label_);
      }
      continue;
    }
    return;
  }
}

bool VideoReader::PendingIsKey() const { return pending_ && SC_FRAME_IS_KEY(frame_.get()); }

double VideoReader::PendingTime() const {
  return pending_ ? Seconds(frame_->best_effort_timestamp, stream_->time_base) : NAN;
}

void VideoReader::FillMeta(FrameMeta* meta) {
  const AVFrame* frame = frame_.get();
  int64_t pts = frame->best_effort_timestamp;
  if (pts == AV_NOPTS_VALUE && lastPts_ != AV_NOPTS_VALUE) {
    int64_t step = SC_FRAME_DURATION(frame) > 0 ? SC_FRAME_DURATION(frame) : 1;
    // A crafted stream may put lastPts_ at the edge of int64: no overflow, just no timestamp.
    pts = lastPts_ <= INT64_MAX - step ? lastPts_ + step : AV_NOPTS_VALUE;
  }
  if (firstPts_ == AV_NOPTS_VALUE) firstPts_ = pts;
  // The index is the frame's position on the timeline, so it stays right after a seek; a frame
  // that would land on an index already given (variable frame rate) takes the next one.
  int64_t index = lastIndex_ + 1;
  if (pts != AV_NOPTS_VALUE && firstPts_ != AV_NOPTS_VALUE && info_.frameRate.num > 0) {
    // In double: crafted timestamps far apart would overflow int64 arithmetic, and a position
    // past 2^53 frames is no position at all (then the index just counts on).
    double position = (double(pts) - double(firstPts_)) * av_q2d(stream_->time_base) * av_q2d(info_.frameRate);
    if (std::fabs(position) < 9e15) {
      int64_t fromTime = std::llround(position);
      if (fromTime > lastIndex_) index = fromTime;
    }
  }
  meta->width = info_.width;
  meta->height = info_.height;
  meta->pts = pts;
  meta->time = Seconds(pts, stream_->time_base);
  meta->index = index;
  meta->keyFrame = SC_FRAME_IS_KEY(frame);
  meta->pictType = av_get_picture_type_char(frame->pict_type);
  lastIndex_ = index;
  lastPts_ = pts;
}

void VideoReader::Take(uint8_t* dst, FrameMeta* meta) {
  if (!pending_ && !Peek()) throw Failure("ERR_END_OF_STREAM", "No frame left in " + label_);
  scaler_->FrameToPacked(frame_.get(), dst);
  FillMeta(meta);
  av_frame_unref(frame_.get());
  pending_ = false;
}

void VideoReader::Drop(FrameMeta* meta) {
  if (!pending_ && !Peek()) throw Failure("ERR_END_OF_STREAM", "No frame left in " + label_);
  FillMeta(meta);
  av_frame_unref(frame_.get());
  pending_ = false;
}

void VideoReader::Seek(double seconds) {
  if (!codec_) throw Failure("ERR_NOT_OPEN", "The decoder of " + label_ + " is not open");
  if (!(seconds >= 0) || !std::isfinite(seconds)) {
    throw Failure("ERR_INVALID_ARGUMENT", "Cannot seek to " + std::to_string(seconds) + " s");
  }
  AVRational base = stream_->time_base;
  const double ticks = seconds * base.den / base.num;
  if (!(ticks < 9e18)) {
    throw Failure("ERR_INVALID_ARGUMENT", "Cannot seek to " + std::to_string(seconds) + " s: beyond any timestamp of " + label_);
  }
  int64_t target = std::llround(ticks);
  interrupter_.Arm();
  int ret = av_seek_frame(format_.get(), stream_->index, target, AVSEEK_FLAG_BACKWARD);
  if (ret < 0) {
    interrupter_.Arm();
    ret = avformat_seek_file(format_.get(), stream_->index, INT64_MIN, target, target, 0);
  }
  if (ret < 0) {
    if (interrupter_.aborted() || interrupter_.timedOut()) ThrowIo(ret, "Cannot seek in " + label_);
    throw Failure("ERR_SEEK", "Cannot seek to " + std::to_string(seconds) + " s in " + label_, ret);
  }
  avcodec_flush_buffers(codec_.get());
  av_frame_unref(frame_.get());
  pending_ = false;
  draining_ = false;
  deferredFailure_.reset();
  seekTarget_ = target;
  lastIndex_ = -1;
  lastPts_ = AV_NOPTS_VALUE;
}

}  // namespace streamcoder
