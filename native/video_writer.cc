#include "video_writer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <thread>

#include "failure.h"
#include "log.h"
#include "video_reader.h"

namespace streamcoder {

namespace {

std::string SchemeOf(const std::string& url) {
  auto colon = url.find("://");
  if (colon == std::string::npos) return "";
  std::string scheme = url.substr(0, colon);
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), ::tolower);
  return scheme;
}

// The muxer a URL implies: servers by scheme, files by name.
const AVOutputFormat* MuxerFor(const std::string& url, const std::string& forced, const std::string& label) {
  std::string name = forced;
  if (name.empty()) {
    std::string scheme = SchemeOf(url);
    if (scheme == "rtsp" || scheme == "rtsps") name = "rtsp";
    else if (scheme.rfind("rtmp", 0) == 0) name = "flv";
    else if (scheme == "udp" || scheme == "tcp" || scheme == "srt" || scheme == "rtp") name = "mpegts";
  }
  const AVOutputFormat* format = name.empty() ? av_guess_format(nullptr, url.c_str(), nullptr)
                                              : av_guess_format(name.c_str(), nullptr, nullptr);
  if (format == nullptr && !name.empty()) throw Failure("ERR_FORMAT_NOT_FOUND", "Unknown output format '" + name + "'");
  if (format == nullptr) {
    // Worded for the library and the command line alike: both reach this.
    throw Failure("ERR_FORMAT_NOT_FOUND", "Cannot tell the output format of " + label +
                                              " from its name: name one with the `format` option (--format "
                                              "on the command line), e.g. mp4, mpegts, flv");
  }
  return format;
}

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

Failure OutOfRange(const std::string& name, const std::string& expected, const std::string& received) {
  return Failure("ERR_INVALID_ARGUMENT", "Expected " + expected + " for " + name + " but received " + received);
}

void CheckRange(int64_t value, int64_t min, int64_t max, const char* name) {
  if (value < min || value > max) {
    throw OutOfRange(name, "an integer from " + std::to_string(min) + " to " + std::to_string(max),
                     std::to_string(value));
  }
}

// Every number the writer later does arithmetic with, checked once, before any is used. lib/
// checks the same (with the same messages), so this only guards the raw binding.
WriterOptions Checked(WriterOptions options) {
  const AVRational rate = options.frameRate;
  // In 64 bits, exactly: 60 * num >= den (a frame a minute at least), num <= 1000 * den.
  if (rate.num <= 0 || rate.den <= 0 || int64_t(rate.num) * 60 < int64_t(rate.den) * kMinFramesPerMinute ||
      int64_t(rate.num) > int64_t(rate.den) * kMaxFrameRate) {
    throw OutOfRange("frameRate",
                     "a frame rate from 1/60 (one frame a minute) to " + std::to_string(kMaxFrameRate) + " frames per second",
                     std::to_string(rate.num) + "/" + std::to_string(rate.den));
  }
  CheckRange(options.bitRate, 0, kMaxBitRate, "bitRate");
  CheckRange(options.maxBitRate, 0, kMaxBitRate, "maxBitRate");
  CheckRange(options.bufSize, 0, kMaxBitRate, "bufSize");
  CheckRange(options.gopSize, -1, 100000, "gopSize");
  CheckRange(options.maxBFrames, -1, 16, "maxBFrames");
  CheckRange(options.threads, 0, 64, "threads");
  CheckRange(options.timeoutMs, 0, kMaxTimeoutMs, "timeoutMs");
  if (!std::isfinite(options.crf) || options.crf > 63) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.17g", options.crf);
    throw OutOfRange("crf", "a number from 0 to 63", text);
  }
  if (options.crf == 0) options.crf = 0;  // -0 would reach the encoder as "-0.000000"
  return options;
}

}  // namespace

VideoWriter::VideoWriter(WriterOptions options)
    : options_(Checked(std::move(options))),
      secrets_(options_.url, options_.formatOptions),
      label_("'" + RedactUrl(options_.url) + "'"),
      // Rounded down: a pts at maxPts_ is at most kMaxTimelineSeconds into the stream.
      maxPts_(av_rescale_rnd(kMaxTimelineSeconds, options_.frameRate.num, options_.frameRate.den, AV_ROUND_DOWN)),
      interrupter_(options_.timeoutMs) {}

VideoWriter::~VideoWriter() {
  try {
    Finish();
  } catch (...) {
    // Nobody left to tell; Finish() has freed what it could.
  }
  ReleaseEncoder();
}

// libsvtav1 (SVT-AV1 1.4, FFmpeg 5.1) waits forever, when it is flushed and again when it is
// freed, for a packet it cannot make if it never got a frame: closing an unused encoder, or one
// whose output failed to open, hung the process. Such an encoder gets one blank frame, whose
// packets are thrown away, before it is freed.
void VideoWriter::ReleaseEncoder() {
  AVCodecContext* c = codec_.get();
  if (c != nullptr && !AnyFrameSent() && avcodec_is_open(c) && std::strcmp(c->codec->name, "libsvtav1") == 0) {
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
  codec_.reset();
}

void VideoWriter::ThrowIo(int averror, const std::string& what) {
  if (interrupter_.aborted()) throw Failure("ERR_CLOSED", what + ": closed while in progress", averror);
  if (interrupter_.timedOut()) {
    throw Failure("ERR_TIMEOUT", what + ": no answer within " + std::to_string(interrupter_.timeoutMs()) + " ms", averror);
  }
  throw Failure::FromAv(averror, what);
}

void VideoWriter::Open() {
  ClearLastLogLine();
  CheckDimensions(options_.width, options_.height, "The frame size");
  const AVOutputFormat* muxer = MuxerFor(options_.url, options_.format, label_);
  AVFormatContext* raw = nullptr;
  Check(avformat_alloc_output_context2(&raw, muxer, nullptr, options_.url.c_str()),
        "Cannot create the output " + label_);
  format_.reset(raw);
  format_->interrupt_callback = interrupter_.callback();
  OpenEncoder();
  OpenOutput();
}

void VideoWriter::OpenEncoder() {
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
  c->time_base = av_inv_q(options_.frameRate);
  c->framerate = options_.frameRate;
  c->pix_fmt = EncoderPixelFormat(encoder, options_.inputFormat);
  c->sample_aspect_ratio = AVRational{1, 1};
  if (options_.bitRate > 0) c->bit_rate = options_.bitRate;
  if (options_.maxBitRate > 0) c->rc_max_rate = options_.maxBitRate;
  if (options_.bufSize > 0) c->rc_buffer_size = int(std::min<int64_t>(options_.bufSize, INT32_MAX));
  if (options_.gopSize >= 0) c->gop_size = options_.gopSize;
  if (options_.maxBFrames >= 0) c->max_b_frames = options_.maxBFrames;
  c->thread_count = options_.threads;
  // Muxers that keep codec headers out of band (FLV, MP4, RTSP's SDP) need them as extradata.
  if (format_->oformat->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;

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
  frameBytes_ = Scaler::PackedSize(c->width, c->height, options_.inputFormat);
}

void VideoWriter::OpenOutput() {
  stream_ = avformat_new_stream(format_.get(), nullptr);
  if (stream_ == nullptr) throw Failure("ERR_NO_MEMORY", "Cannot add a stream to " + label_);
  Check(avcodec_parameters_from_context(stream_->codecpar, codec_.get()), "Cannot describe the stream");
  stream_->time_base = codec_->time_base;
  stream_->avg_frame_rate = options_.frameRate;

  Dictionary formatOptions(options_.formatOptions);
  // Muxers that do their own networking (RTSP) connect in write_header, not through avio.
  if (!(format_->oformat->flags & AVFMT_NOFILE)) {
    interrupter_.Arm();
    int ret = avio_open2(&format_->pb, options_.url.c_str(), AVIO_FLAG_WRITE, &format_->interrupt_callback,
                         formatOptions.get());
    if (ret < 0) ThrowIo(ret, "Cannot open " + label_);
    ownsIo_ = true;
  }
  interrupter_.Arm();
  int ret = avformat_write_header(format_.get(), formatOptions.get());
  if (ret < 0) ThrowIo(ret, "Cannot start the stream to " + label_);
  header_ = true;
  formatOptions.RejectUnused("output " + label_);
}

void VideoWriter::CheckPts(int64_t pts) const {
  if (pts < 0 || pts > maxPts_) {
    throw OutOfRange("the pts",
                     "an integer from 0 to " + std::to_string(maxPts_) + " (" + std::to_string(kMaxTimelineSeconds) +
                         " s at " + std::to_string(options_.frameRate.num) + "/" +
                         std::to_string(options_.frameRate.den) + " fps)",
                     std::to_string(pts));
  }
  if (lastPts_ != AV_NOPTS_VALUE && pts <= lastPts_) {
    throw Failure("ERR_INVALID_ARGUMENT", "Frame timestamps must increase: pts " + std::to_string(pts) +
                                              " after " + std::to_string(lastPts_));
  }
}

double VideoWriter::WaitForDeadline(int64_t pts) {
  // Before anything changes: a refused frame is neither waited for nor counted late.
  CheckPts(pts);
  Clock::time_point start;
  int64_t firstPts;
  {
    std::lock_guard<std::mutex> lock(statsMutex_);
    paced_ = true;
    if (firstPts_ == AV_NOPTS_VALUE) return 0;  // the first frame sets the clock: due now
    start = start_;
    firstPts = firstPts_;
  }
  // In integer nanoseconds: 0 <= pts - firstPts <= maxPts_, so the offset is at most
  // kMaxTimelineSeconds * 10^9 = 10^18 ns, within int64 and within steady_clock's range from
  // any moment this century (a double offset cast to the clock's ticks overflowed for pts 1e15).
  const int64_t offsetNs = av_rescale_q(pts - firstPts, av_inv_q(options_.frameRate), AVRational{1, 1000000000});
  const auto due = start + std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(offsetNs));
  // Sleep in slices so that close() from another thread is not kept waiting.
  for (auto now = Clock::now(); now < due; now = Clock::now()) {
    if (interrupter_.aborted() || waitCancelled_.load(std::memory_order_acquire)) {
      throw Failure("ERR_CLOSED", "Closed while waiting to serve a frame");
    }
    std::this_thread::sleep_until(std::min(due, now + std::chrono::milliseconds(50)));
  }
  double late = std::chrono::duration<double>(Clock::now() - due).count();
  // Late means more than half a frame behind: the producer, not the scheduler, is slow.
  if (late > 0.5 * av_q2d(av_inv_q(options_.frameRate))) {
    std::lock_guard<std::mutex> lock(statsMutex_);
    ++stats_.lateFrames;
  }
  return late;
}

void VideoWriter::CheckFrameSize(size_t size) const {
  if (size == frameBytes_) return;
  throw Failure("ERR_BUFFER_SIZE", "Expected a frame of " + std::to_string(frameBytes_) + " bytes (" +
                                       std::to_string(options_.width) + "x" + std::to_string(options_.height) +
                                       " " + av_get_pix_fmt_name(options_.inputFormat) + ") but got " +
                                       std::to_string(size));
}

void VideoWriter::Write(const uint8_t* data, size_t size, int64_t pts) {
  if (!header_) throw Failure("ERR_NOT_OPEN", "The output " + label_ + " is not open");
  if (failed_) throw Failure("ERR_CONNECTION_LOST", "The output " + label_ + " failed earlier: " + failure_);
  if (finished_) throw Failure("ERR_CLOSED", "The output " + label_ + " is closed");
  CheckFrameSize(size);
  CheckPts(pts);
  Check(av_frame_make_writable(frame_.get()), "Cannot prepare a frame");
  scaler_->PackedToFrame(data, options_.width, options_.height, options_.inputFormat, frame_.get());
  frame_->pts = pts;
  frame_->pict_type = AV_PICTURE_TYPE_NONE;
  int ret = avcodec_send_frame(codec_.get(), frame_.get());
  if (ret < 0) throw Failure::FromAv(ret, "Cannot encode a frame for " + label_);
  lastPts_ = pts;
  {
    std::lock_guard<std::mutex> lock(statsMutex_);
    if (firstPts_ == AV_NOPTS_VALUE) {
      firstPts_ = pts;
      start_ = Clock::now();
    }
    ++stats_.frames;
    lastServedPts_ = pts;
  }
  Drain();
}

double VideoWriter::FlushSpacing() const {
  // A frame time, but at most a second: at one frame a minute, spacing the lookahead's packets
  // (tens of frames) a frame apart would make close() take most of an hour.
  return std::min(1.0, av_q2d(av_inv_q(options_.frameRate)));
}

void VideoWriter::SleepFor(double seconds) {
  auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  while (Clock::now() < until && !interrupter_.aborted()) {
    std::this_thread::sleep_until(std::min(until, Clock::now() + std::chrono::milliseconds(50)));
  }
}

void VideoWriter::Drain(bool paced) {
  for (bool first = true;; first = false) {
    int ret = avcodec_receive_packet(codec_.get(), packet_.get());
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
    if (ret < 0) throw Failure::FromAv(ret, "Cannot encode a frame for " + label_);
    if (paced && !first) SleepFor(FlushSpacing());
    {
      std::lock_guard<std::mutex> lock(statsMutex_);
      ++stats_.packets;
      stats_.bytes += packet_->size;
      if (packet_->flags & AV_PKT_FLAG_KEY) ++stats_.keyFrames;
    }
    av_packet_rescale_ts(packet_.get(), codec_->time_base, stream_->time_base);
    packet_->stream_index = stream_->index;
    interrupter_.Arm();
    ret = av_interleaved_write_frame(format_.get(), packet_.get());  // takes the packet's data
    if (ret < 0) {
      failed_ = true;
      try {
        ThrowIo(ret, "Cannot send to " + label_);
      } catch (const Failure& failure) {
        failure_ = failure.message();
        throw;
      }
    }
  }
}

void VideoWriter::Finish() {
  if (finished_) return;
  finished_ = true;
  std::optional<Failure> failure;
  if (header_) {
    try {
      // An encoder that never got a frame has nothing to flush, and libsvtav1 (SVT-AV1 1.4,
      // FFmpeg 5.1) never returns from a flush without one.
      if (!failed_ && AnyFrameSent()) {
        Check(avcodec_send_frame(codec_.get(), nullptr), "Cannot flush the encoder");
        Drain(paced_);
        // A paced stream ends as it went: the last frame gets its frame time before the
        // session is torn down (over UDP, datagrams still queued at the receiver are dropped).
        if (paced_) SleepFor(FlushSpacing());
      }
    } catch (const Failure& error) {
      failure = error;
    }
    // Even after a failure: the trailer is where the RTSP muxer tears its session down.
    interrupter_.Arm();
    int ret = av_write_trailer(format_.get());
    if (ret < 0 && !failed_ && !failure) {
      try {
        ThrowIo(ret, "Cannot finish " + label_);
      } catch (const Failure& error) {
        failure = error;
      }
    }
  }
  if (ownsIo_ && format_) {
    int ret = avio_closep(&format_->pb);
    if (ret < 0 && !failed_ && !failure) failure = Failure::FromAv(ret, "Cannot close " + label_);
    ownsIo_ = false;
  }
  if (failure) throw *failure;
}

bool VideoWriter::AnyFrameSent() const {
  std::lock_guard<std::mutex> lock(statsMutex_);
  return stats_.frames > 0;
}

WriterStats VideoWriter::stats() const {
  std::lock_guard<std::mutex> lock(statsMutex_);
  WriterStats stats = stats_;
  if (firstPts_ != AV_NOPTS_VALUE) {
    double frameTime = av_q2d(av_inv_q(options_.frameRate));
    double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    double served = double(lastServedPts_ - firstPts_ + 1) * frameTime;  // media time served
    stats.fps = elapsed > 0 ? double(stats.frames) / elapsed : 0;
    stats.bitRate = served > 0 ? double(stats.bytes) * 8 / served : 0;
    stats.lead = double(lastServedPts_ - firstPts_) * frameTime - elapsed;
  }
  return stats;
}

}  // namespace streamcoder
