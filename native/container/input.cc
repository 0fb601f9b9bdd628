#include "container/input.h"

#include <algorithm>

#include "base/log.h"

namespace streamcoder {

Input::Input(const std::string& source, const OptionList& formatOptions, int64_t timeoutMs, const std::string& confineTo)
    : source_(source),
      secrets_(source, formatOptions),
      label_("'" + RedactUrl(source) + "'"),
      interrupter_(timeoutMs),
      confinement_(confineTo.empty() ? nullptr : std::make_unique<Confinement>(confineTo)) {}

void Input::ThrowIo(int averror, const std::string& what) const {
  if (interrupter_.aborted()) throw Failure("ERR_CLOSED", what + ": the decoder was closed", averror);
  if (interrupter_.timedOut()) {
    throw Failure("ERR_TIMEOUT", what + ": no answer within " + std::to_string(interrupter_.timeoutMs()) + " ms", averror);
  }
  throw Failure::FromAv(averror, what);
}

void Input::Open(const std::string& inputFormat, const OptionList& formatOptions, int64_t maxPixels) {
  OpenOnce(inputFormat, formatOptions, maxPixels);
  if (!AnnouncesMissingVideo()) return;
  // A demuxer that learns its streams from the packets (FLV, so RTMP; MPEG-TS) found no video in
  // a live source's short probe: the pictures may start at a keyframe later than the sound
  // (nginx-rtmp sends a new player the sound at once and the pictures from the next keyframe).
  // FFmpeg cannot probe a context twice, so it opens again, once, with a probe as long as a
  // keyframe interval of live video. Once it knows the streams FLV's demuxer ends that probe
  // (MPEG-TS's when the streams it lists have shown up), not at its end.
  constexpr int64_t kLongProbeUs = 10 * int64_t(AV_TIME_BASE);
  if (format_->max_analyze_duration >= kLongProbeUs) return;
  OptionList longer = formatOptions;
  longer.erase(std::remove_if(longer.begin(), longer.end(), [](const auto& option) { return option.first == "analyzeduration"; }), longer.end());
  longer.emplace_back("analyzeduration", std::to_string(kLongProbeUs));
  format_.reset();
  OpenOnce(inputFormat, longer, maxPixels);
}

bool Input::AnnouncesMissingVideo() const {
  for (unsigned i = 0; i < format_->nb_streams; ++i) {
    if (format_->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) return false;
  }
  // Without video the open would fail; only a demuxer that may still learn of streams can do
  // better, on a network source (a file has no keyframe to wait for; a pipe cannot be reopened).
  const size_t scheme = source_.find("://");
  const bool network = scheme != std::string::npos && source_.compare(0, scheme, "file") != 0;
  return network && (format_->ctx_flags & AVFMTCTX_NOHEADER) != 0;
}

void Input::OpenOnce(const std::string& inputFormat, const OptionList& formatOptions, int64_t maxPixels) {
  ClearLastLogLine();
  AVFormatContext* raw = avformat_alloc_context();
  if (raw == nullptr) throw Failure("ERR_NO_MEMORY", "Cannot allocate a demuxer for " + label_);
  raw->interrupt_callback = interrupter_.callback();
  if (confinement_ && !confinement_->Install(raw)) {
    avformat_free_context(raw);
    throw Failure("ERR_NO_MEMORY", "Cannot allocate a demuxer for " + label_);
  }

  const AVInputFormat* forced = nullptr;
  if (!inputFormat.empty()) {
    forced = av_find_input_format(inputFormat.c_str());
    if (forced == nullptr) {
      avformat_free_context(raw);
      throw Failure("ERR_FORMAT_NOT_FOUND", "Unknown input format '" + inputFormat + "'");
    }
  }
  Dictionary options(formatOptions);
  interrupter_.Arm();
  int ret = avformat_open_input(&raw, source_.c_str(), forced, options.get());
  // A header cut short is damaged data, whatever errno FFmpeg chose for it.
  if (ret == AVERROR_EOF) throw Failure("ERR_INVALID_DATA", "Cannot open " + label_ + ": the data ends inside its header", ret);
  if (ret < 0) ThrowIo(ret, "Cannot open " + label_);  // avformat_open_input freed raw
  format_.reset(raw);
  options.RejectUnused("input " + label_);

  interrupter_.Arm();
  ret = FindStreamInfo(maxPixels);
  if (ret == AVERROR_EOF || ret == AVERROR(EINVAL)) {
    // Options are applied before this: here EOF and EINVAL come from the data (a header cut
    // short, a field out of range).
    throw Failure::FromAv(ret, "Cannot read stream information of " + label_).As("ERR_INVALID_DATA");
  }
  if (ret < 0) ThrowIo(ret, "Cannot read stream information of " + label_);
}

int Input::FindStreamInfo(int64_t maxPixels) {
  // Probing decodes a few frames with decoders of its own: they get the same bound, or a header
  // that claims a huge picture would make them allocate it before any check of ours could run.
  const unsigned count = format_->nb_streams;
  std::vector<AVDictionary*> perStream(count, nullptr);
  const std::string bound = std::to_string(maxPixels);
  for (unsigned i = 0; i < count; ++i) av_dict_set(&perStream[i], "max_pixels", bound.c_str(), 0);
  int ret = avformat_find_stream_info(format_.get(), count > 0 ? perStream.data() : nullptr);
  for (AVDictionary*& dict : perStream) av_dict_free(&dict);
  return ret;
}

AVStream* Input::SelectVideo(const AVCodec** decoder) {
  int ret = av_find_best_stream(format_.get(), AVMEDIA_TYPE_VIDEO, -1, -1, decoder, 0);
  if (ret == AVERROR_STREAM_NOT_FOUND) throw Failure("ERR_NO_VIDEO_STREAM", label_ + " has no video stream", ret);
  if (ret < 0 || (decoder != nullptr && *decoder == nullptr)) {
    throw Failure("ERR_CODEC_NOT_FOUND", "No decoder for the video of " + label_, ret < 0 ? ret : AVERROR_DECODER_NOT_FOUND);
  }
  return format_->streams[ret];
}

AVStream* Input::SelectAudio(int nth, const AVStream* video, const AVCodec** decoder) {
  std::vector<AVStream*> audio;
  for (unsigned i = 0; i < format_->nb_streams; ++i) {
    if (format_->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) audio.push_back(format_->streams[i]);
  }
  AVStream* chosen = nullptr;
  if (nth < 0) {
    // FFmpeg's own choice (what ffmpeg -i picks): the "best" audio stream, preferring one
    // related to the video (same program); none at all is no error.
    int ret = av_find_best_stream(format_.get(), AVMEDIA_TYPE_AUDIO, -1, video ? video->index : -1, nullptr, 0);
    if (ret < 0) return nullptr;
    chosen = format_->streams[ret];
  } else if (size_t(nth) < audio.size()) {
    chosen = audio[size_t(nth)];
  } else {
    std::string choices;
    for (size_t i = 0; i < audio.size(); ++i) {
      const AVCodecParameters* par = audio[i]->codecpar;
      const AVCodecDescriptor* descriptor = avcodec_descriptor_get(par->codec_id);
      choices += (i ? ", " : "") + std::to_string(i) + ": " + (descriptor ? descriptor->name : "unknown") + " " +
                 std::to_string(par->sample_rate) + " Hz " + std::to_string(par->ch_layout.nb_channels) + " ch";
    }
    throw Failure("ERR_INVALID_ARGUMENT",
                  "audio.stream " + std::to_string(nth) + " is out of range: " + label_ + " has " +
                      std::to_string(audio.size()) + " audio stream" + (audio.size() == 1 ? "" : "s") +
                      (audio.empty() ? "" : " (" + choices + ")"));
  }
  if (decoder != nullptr) {
    *decoder = avcodec_find_decoder(chosen->codecpar->codec_id);
    if (*decoder == nullptr) {
      const AVCodecDescriptor* descriptor = avcodec_descriptor_get(chosen->codecpar->codec_id);
      throw Failure("ERR_CODEC_NOT_FOUND", "No decoder for the audio (" + std::string(descriptor ? descriptor->name : "unknown codec") +
                                               ") of " + label_ + "; audio: 'copy' passes it on undecoded", AVERROR_DECODER_NOT_FOUND);
    }
  }
  return chosen;
}

void Input::Keep(const std::vector<const AVStream*>& kept) {
  for (unsigned i = 0; i < format_->nb_streams; ++i) {
    AVStream* stream = format_->streams[i];
    bool keep = false;
    for (const AVStream* k : kept) keep = keep || k == stream;
    stream->discard = keep ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
  }
}

bool Input::Read(AVPacket* packet) {
  for (;;) {
    interrupter_.Arm();
    int ret = av_read_frame(format_.get(), packet);
    if (ret == AVERROR_EOF) return false;
    if (ret < 0) ThrowIo(ret, "Cannot read from " + label_);
    // Discarded streams may still deliver a packet now and then (a demuxer that ignores discard).
    if (format_->streams[packet->stream_index]->discard == AVDISCARD_ALL) {
      av_packet_unref(packet);
      continue;
    }
    bytesRead_.fetch_add(packet->size, std::memory_order_relaxed);
    return true;
  }
}

void Input::Seek(const AVStream* stream, int64_t target, double seconds) {
  interrupter_.Arm();
  int ret = av_seek_frame(format_.get(), stream->index, target, AVSEEK_FLAG_BACKWARD);
  if (ret < 0) {
    interrupter_.Arm();
    ret = avformat_seek_file(format_.get(), stream->index, INT64_MIN, target, target, 0);
  }
  if (ret < 0) {
    if (interrupter_.aborted() || interrupter_.timedOut()) ThrowIo(ret, "Cannot seek in " + label_);
    throw Failure("ERR_SEEK", "Cannot seek to " + std::to_string(seconds) + " s in " + label_, ret);
  }
}

}  // namespace streamcoder
