#include "container/output.h"

#include <algorithm>
#include <optional>

#include "base/failure.h"
#include "base/log.h"

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

}  // namespace

Output::Output(std::string url, std::string format, int64_t timeoutMs, OptionList formatOptions)
    : url_(std::move(url)),
      format_(std::move(format)),
      formatOptions_(std::move(formatOptions)),
      secrets_(url_, formatOptions_),
      label_("'" + RedactUrl(url_) + "'"),
      interrupter_(timeoutMs) {}

Output::~Output() {
  if (ownsIo_ && context_) avio_closep(&context_->pb);
}

void Output::Allocate() {
  ClearLastLogLine();
  const AVOutputFormat* muxer = MuxerFor(url_, format_, label_);
  AVFormatContext* raw = nullptr;
  Check(avformat_alloc_output_context2(&raw, muxer, nullptr, url_.c_str()), "Cannot create the output " + label_);
  context_.reset(raw);
  context_->interrupt_callback = interrupter_.callback();
}

bool Output::globalHeader() const { return (context_->oformat->flags & AVFMT_GLOBALHEADER) != 0; }

std::string Output::muxerName() const { return context_->oformat->name; }

bool Output::variableFrameRate() const {
  // FFmpeg's CLI makes every container without AVFMT_VARIABLE_FPS constant-rate, MP4 included;
  // but MP4, MOV and RTP keep each sample's own time, and a variable-rate MP4 kept as it is is
  // the point. Only AVI keeps no time per frame (a frame's place is its index).
  return muxerName() != "avi";
}

bool Output::Takes(AVCodecID codec) const {
  // 1: it does, 0: it does not, < 0: the muxer keeps no list (then it judges at the header).
  return avformat_query_codec(context_->oformat, codec, FF_COMPLIANCE_NORMAL) != 0;
}

AVCodecID Output::DefaultAudioCodec() const {
  return av_guess_codec(context_->oformat, nullptr, url_.c_str(), nullptr, AVMEDIA_TYPE_AUDIO);
}

AVStream* Output::AddStream() {
  AVStream* stream = avformat_new_stream(context_.get(), nullptr);
  if (stream == nullptr) throw Failure("ERR_NO_MEMORY", "Cannot add a stream to " + label_);
  return stream;
}

std::unique_ptr<Output> Output::Clone() const {
  auto session = std::make_unique<Output>(url_, format_, interrupter_.timeoutMs(), formatOptions_);
  session->Allocate();
  for (unsigned i = 0; i < context_->nb_streams; ++i) {
    const AVStream* from = context_->streams[i];
    AVStream* to = session->AddStream();
    Check(avcodec_parameters_copy(to->codecpar, from->codecpar), "Cannot describe the stream");
    to->time_base = from->time_base;
    to->avg_frame_rate = from->avg_frame_rate;
  }
  return session;
}

void Output::ThrowIo(int averror, const std::string& what) {
  if (interrupter_.aborted()) throw Failure("ERR_CLOSED", what + ": closed while in progress", averror);
  if (interrupter_.timedOut()) {
    throw Failure("ERR_TIMEOUT", what + ": no answer within " + std::to_string(interrupter_.timeoutMs()) + " ms", averror);
  }
  throw Failure::FromAv(averror, what);
}

void Output::ThrowOpen(int averror) {
  const std::string scheme = SchemeOf(url_);
  if (!interrupter_.aborted() && !interrupter_.timedOut() && scheme.rfind("rtmp", 0) == 0) {
    // FFmpeg's RTMP client reports the server's _error answer ("Server error: Already publishing")
    // as EPERM, and a server that hangs up in the middle of connect/publish (nginx-rtmp for an
    // application it does not serve, or when on_publish refuses) as EIO: refusals, not outages.
    if (averror == AVERROR(EPERM)) {
      throw Failure::FromAv(averror, "The server refused to publish to " + label_).As("ERR_PUBLISH_REFUSED");
    }
    if (averror == AVERROR(EIO)) {
      throw Failure("ERR_PUBLISH_REFUSED", "The server at " + label_ + " closed the connection when asked to publish there "
                                           "(an application it does not serve, or a publish it does not allow)", averror);
    }
  }
  ThrowIo(averror, "Cannot open " + label_);
}

void Output::Open() {
  Dictionary formatOptions(formatOptions_);
  // Muxers that do their own networking (RTSP) connect in write_header, not through avio.
  if (!(context_->oformat->flags & AVFMT_NOFILE)) {
    interrupter_.Arm();
    int ret = avio_open2(&context_->pb, url_.c_str(), AVIO_FLAG_WRITE, &context_->interrupt_callback,
                         formatOptions.get());
    if (ret < 0) ThrowOpen(ret);
    ownsIo_ = true;
  }
  interrupter_.Arm();
  int ret = avformat_write_header(context_.get(), formatOptions.get());
  if (ret < 0) {
    // RTSP's ANNOUNCE/SETUP/RECORD answered with a 4xx status (FFmpeg's HTTP error codes).
    const bool refused = ret == AVERROR_HTTP_UNAUTHORIZED || ret == AVERROR_HTTP_FORBIDDEN || ret == AVERROR_HTTP_NOT_FOUND ||
                         ret == AVERROR_HTTP_BAD_REQUEST || ret == AVERROR_HTTP_OTHER_4XX;
    if (refused && !interrupter_.aborted() && !interrupter_.timedOut()) {
      throw Failure::FromAv(ret, "The server refused to publish to " + label_).As("ERR_PUBLISH_REFUSED");
    }
    ThrowIo(ret, "Cannot start the stream to " + label_);
  }
  header_ = true;
  formatOptions.RejectUnused("output " + label_);
}

void Output::CheckWritable() const {
  if (!header_) throw Failure("ERR_NOT_OPEN", "The output " + label_ + " is not open");
  if (failed_) throw Failure("ERR_CONNECTION_LOST", "The output " + label_ + " failed earlier: " + failure_);
  if (closed_) throw Failure("ERR_CLOSED", "The output " + label_ + " is closed");
}

void Output::Write(AVPacket* packet, AVRational timeBase, int index) {
  CheckWritable();
  const AVStream* stream = context_->streams[index];
  av_packet_rescale_ts(packet, timeBase, stream->time_base);
  packet->stream_index = index;
  interrupter_.Arm();
  int ret = av_interleaved_write_frame(context_.get(), packet);  // takes the packet's data
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

void Output::Close() {
  if (closed_) return;
  closed_ = true;
  std::optional<Failure> failure;
  if (header_) {
    interrupter_.Arm();
    int ret = av_write_trailer(context_.get());
    if (ret < 0 && !failed_) {
      try {
        ThrowIo(ret, "Cannot finish " + label_);
      } catch (const Failure& error) {
        failure = error;
      }
    }
  }
  if (ownsIo_ && context_) {
    int ret = avio_closep(&context_->pb);
    if (ret < 0 && !failed_ && !failure) failure = Failure::FromAv(ret, "Cannot close " + label_);
    ownsIo_ = false;
  }
  if (failure) throw *failure;
}

}  // namespace streamcoder
