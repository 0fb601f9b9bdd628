#include "media/media_reader.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <utility>

#include "base/failure.h"
#include "container/codec_parameters.h"

namespace streamcoder {

namespace {

// What one stream's queue of demuxed packets may hold while the other stream is waited for. A
// sanely muxed file interleaves its streams within a second or two (about 50 AAC packets per
// second); these bounds only matter for crafted or badly muxed files.
constexpr size_t kMaxQueuedPackets = 4096;
constexpr size_t kMaxQueuedBytes = size_t(64) << 20;

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

// Where a queued packet sits in time for the merge: its decoding time (the order a muxer wants
// a copied stream in), else its presentation time.
double PacketTime(const AVPacket* packet, AVRational base) {
  return Seconds(packet->dts != AV_NOPTS_VALUE ? packet->dts : packet->pts, base);
}

}  // namespace

MediaReader::MediaReader(ReaderOptions options)
    : options_(std::move(options)),
      input_(options_.source, options_.formatOptions, options_.timeoutMs, options_.confineTo),
      label_(input_.label()) {}

MediaReader::~MediaReader() = default;

void MediaReader::Open() {
  input_.Open(options_.inputFormat, options_.formatOptions, options_.maxPixels);

  const AVCodec* videoCodec = nullptr;
  videoLane_.stream = input_.SelectVideo(options_.videoCopy ? nullptr : &videoCodec);
  const AVCodecParameters* par = videoLane_.stream->codecpar;
  CheckDimensions(par->width, par->height, "The video of " + label_);
  // maxPixels bounds what is decoded: a copied stream is not.
  if (!options_.videoCopy) CheckPixelBound(par->width, par->height, "The video of " + label_);

  AVStream* audio = nullptr;
  const AVCodec* audioCodec = nullptr;
  if (options_.audio.enabled) {
    audio = input_.SelectAudio(options_.audio.stream, videoLane_.stream, options_.audio.copy ? nullptr : &audioCodec);
  }
  audioLane_.stream = audio;
  input_.Keep({videoLane_.stream, audio});

  if (!options_.videoCopy) OpenVideo(videoCodec);
  if (audio != nullptr && !options_.audio.copy) OpenAudio(audio, audioCodec);
  frame_.reset(av_frame_alloc());
  if (!frame_) throw Failure("ERR_NO_MEMORY", "Cannot allocate frames for " + label_);
  BuildInfo();
  opened_ = true;

  if (video_) {
    // Index 0 is the first frame the stream really decodes to: containers' start times are not
    // always that frame's (AVI with B-frames starts at pts 1). Decoding it now also proves the
    // stream is readable before open() reports success. It stays pending for the first read;
    // audio demuxed on the way stays queued for the first items.
    bool any = false;
    try {
      for (Head head = VideoHead(); head != Head::kEnded; head = VideoHead()) {
        if (head == Head::kReady) {
          any = true;
          break;
        }
        Demux(/*dropAudio=*/false);
        // Audio muxed far ahead of the first picture: the oldest goes (counted), not the memory.
        while (QueueFull(audioLane_)) {
          audioLane_.bytes -= size_t(audioLane_.packets.front()->size);
          audioLane_.packets.pop_front();
          ++audioSkipped_;
          audioGap_ = true;
        }
      }
      if (!any) ThrowDeferredFailure();
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
                                            std::to_string(corruptPackets()) + " corrupt)");
    }
  }
  if (options_.startTime > 0) Seek(options_.startTime);
}

void MediaReader::OpenVideo(const AVCodec* decoder) {
  const AVCodecParameters* par = videoLane_.stream->codecpar;
  VideoDecoderOptions options;
  options.threads = options_.threads;
  options.maxPixels = options_.maxPixels;
  options.codecOptions = options_.codecOptions;
  options.pixelFormat = options_.pixelFormat;
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
  options.width = width;
  options.height = height;
  video_ = std::make_unique<VideoDecoder>(videoLane_.stream, decoder, options, label_);
}

void MediaReader::OpenAudio(AVStream* stream, const AVCodec* decoder) {
  const AVCodecParameters* par = stream->codecpar;
  AudioFormat output;
  output.sampleRate = options_.audio.sampleRate > 0 ? options_.audio.sampleRate : par->sample_rate;
  output.channels = options_.audio.channels > 0 ? options_.audio.channels : par->ch_layout.nb_channels;
  output.sampleFormat = options_.audio.sampleFormat;
  // The source's own figures when none were asked for: a header may claim anything.
  if (output.sampleRate < kMinSampleRate || output.sampleRate > kMaxSampleRate) {
    throw Failure("ERR_INVALID_DATA", "The audio of " + label_ + " claims " + std::to_string(par->sample_rate) +
                                          " Hz; give audio.sampleRate (" + std::to_string(kMinSampleRate) + " to " +
                                          std::to_string(kMaxSampleRate) + ") to decode it");
  }
  if (output.channels < 1 || output.channels > kMaxChannels) {
    throw Failure("ERR_INVALID_DATA", "The audio of " + label_ + " claims " + std::to_string(par->ch_layout.nb_channels) +
                                          " channels; give audio.channels (1 to " + std::to_string(kMaxChannels) + ") to decode it");
  }
  audioDecoder_ = std::make_unique<AudioDecoder>(stream, decoder, output, label_);
}

void MediaReader::CheckPixelBound(int width, int height, const std::string& what) const {
  if (int64_t(width) * height <= options_.maxPixels) return;
  throw Failure("ERR_LIMIT", what + " is " + std::to_string(width) + "x" + std::to_string(height) + " (" +
                                 std::to_string(int64_t(width) * height) + " pixels), more than maxPixels (" +
                                 std::to_string(options_.maxPixels) + "); raise maxPixels to decode it");
}

void MediaReader::BuildInfo() {
  const AVStream* stream = videoLane_.stream;
  const AVCodecParameters* par = stream->codecpar;
  AVFormatContext* format = input_.context();
  const AVCodecDescriptor* descriptor = avcodec_descriptor_get(par->codec_id);
  info_.codec = video_ ? video_->codec()->name : (descriptor ? descriptor->name : "unknown");
  info_.format = format->iformat->name;
  info_.pixelFormat = av_get_pix_fmt_name(options_.pixelFormat);
  const char* sourceFormat = av_get_pix_fmt_name(static_cast<AVPixelFormat>(par->format));
  info_.sourcePixelFormat = sourceFormat ? sourceFormat : "unknown";
  info_.sourceWidth = par->width;
  info_.sourceHeight = par->height;
  info_.streamIndex = stream->index;

  AVRational rate = stream->avg_frame_rate;
  if (rate.num <= 0 || rate.den <= 0) rate = stream->r_frame_rate;
  if (rate.num <= 0 || rate.den <= 0) rate = av_guess_frame_rate(format, const_cast<AVStream*>(stream), nullptr);
  info_.frameRate = rate.num > 0 && rate.den > 0 ? rate : AVRational{0, 1};
  info_.timeBase = stream->time_base;
  info_.startTime = Seconds(stream->start_time, stream->time_base);

  // A stream's own duration first; the container's when the stream has none (never negative).
  if (stream->duration != AV_NOPTS_VALUE && stream->duration > 0) {
    info_.duration = Seconds(stream->duration, stream->time_base);
  } else if (format->duration != AV_NOPTS_VALUE && format->duration > 0) {
    info_.duration = double(format->duration) / AV_TIME_BASE;
  }
  if (stream->nb_frames > 0) {
    info_.frameCount = stream->nb_frames;
  } else if (!std::isnan(info_.duration) && info_.frameRate.num > 0) {
    const double frames = info_.duration * av_q2d(info_.frameRate);
    if (frames < 9e15) info_.frameCount = std::llround(frames);  // else unknown: a crafted duration
  }
  info_.bitRate = par->bit_rate > 0 ? par->bit_rate : (format->bit_rate > 0 ? format->bit_rate : 0);
  info_.width = video_ ? video_->scaler().width() : par->width;
  info_.height = video_ ? video_->scaler().height() : par->height;
  info_.videoParameters = ShareCodecParameters(par);

  if (audioLane_.stream == nullptr) return;
  const AVStream* audio = audioLane_.stream;
  const AVCodecParameters* apar = audio->codecpar;
  AudioStreamInfo a;
  const AVCodecDescriptor* audioDescriptor = avcodec_descriptor_get(apar->codec_id);
  a.codec = audioDescriptor ? audioDescriptor->name : "unknown";
  a.streamIndex = audio->index;
  a.sampleRate = apar->sample_rate;
  a.channels = apar->ch_layout.nb_channels;
  a.channelLayout = ChannelLayoutName(apar->ch_layout);
  const char* sampleFormat = av_get_sample_fmt_name(AVSampleFormat(apar->format));
  a.sampleFormat = sampleFormat ? sampleFormat : "unknown";
  a.bitRate = apar->bit_rate > 0 ? apar->bit_rate : 0;
  a.timeBase = audio->time_base;
  a.startTime = Seconds(audio->start_time, audio->time_base);
  a.copy = audioDecoder_ == nullptr;
  if (audioDecoder_) a.output = audioDecoder_->output();
  a.parameters = ShareCodecParameters(apar);
  info_.audio = std::move(a);
}

bool MediaReader::QueueFull(const Lane& lane) const {
  return lane.packets.size() > kMaxQueuedPackets || lane.bytes > kMaxQueuedBytes;
}

void MediaReader::Demux(bool dropAudio) {
  PacketPtr packet(av_packet_alloc());
  if (!packet) throw Failure("ERR_NO_MEMORY", "Cannot allocate a packet for " + label_);
  bool got = false;
  try {
    got = input_.Read(packet.get());
  } catch (const Failure& failure) {
    // A live source that stalls or drops sends no EOF: what the decoders still hold (frame
    // threading, B-frames) is drained and delivered first, then the failure.
    if (input_.aborted()) throw;
    deferredFailure_.emplace(failure);
  }
  if (!got) {
    inputEnded_ = true;
    return;
  }
  Lane* lane = nullptr;
  if (packet->stream_index == videoLane_.stream->index) lane = &videoLane_;
  if (audioLane_.stream != nullptr && packet->stream_index == audioLane_.stream->index) lane = &audioLane_;
  if (lane == nullptr) return;
  if (lane == &audioLane_ && dropAudio) {
    ++audioSkipped_;
    audioGap_ = true;
    return;
  }
  lane->bytes += size_t(packet->size);
  lane->packets.push_back(std::move(packet));
}

void MediaReader::DropAudioQueue() {
  audioSkipped_ += int64_t(audioLane_.packets.size()) + (audioPending_ ? 1 : 0);
  if (!audioLane_.packets.empty() || audioPending_) audioGap_ = true;
  audioLane_.packets.clear();
  audioLane_.bytes = 0;
  audioLane_.lastDts = AV_NOPTS_VALUE;
  audioPending_.reset();
}

void MediaReader::ThrowDeferredFailure() {
  if (!deferredFailure_) return;
  Failure failure = *deferredFailure_;
  deferredFailure_.reset();
  throw failure;
}

MediaReader::Head MediaReader::VideoHead() {
  if (videoPending_) return Head::kReady;
  if (videoEnded_) return Head::kEnded;
  if (!video_) {
    if (!videoLane_.packets.empty()) return Head::kReady;
    if (!inputEnded_) return Head::kNeedInput;
    videoEnded_ = true;
    return Head::kEnded;
  }
  for (;;) {
    switch (video_->Receive(frame_.get())) {
      case VideoDecoder::Result::kFrame: {
        int64_t pts = frame_->best_effort_timestamp;
        // After a seek, a frame without a timestamp cannot be shown to be at or after the target.
        if (seekTarget_ != AV_NOPTS_VALUE && (pts == AV_NOPTS_VALUE || pts < seekTarget_)) {
          av_frame_unref(frame_.get());
          continue;
        }
        seekTarget_ = AV_NOPTS_VALUE;
        videoPending_ = true;
        return Head::kReady;
      }
      case VideoDecoder::Result::kEnd:
        videoEnded_ = true;
        return Head::kEnded;
      case VideoDecoder::Result::kNeedInput:
        if (!videoLane_.packets.empty()) {
          if (video_->Send(videoLane_.packets.front().get())) {
            videoLane_.bytes -= size_t(videoLane_.packets.front()->size);
            videoLane_.packets.pop_front();
          }
          continue;
        }
        if (!inputEnded_) return Head::kNeedInput;
        if (video_->draining()) {  // drained and still asking: nothing more will come
          videoEnded_ = true;
          return Head::kEnded;
        }
        video_->Send(nullptr);  // enter draining mode
        continue;
    }
  }
}

MediaReader::Head MediaReader::AudioHead() {
  if (audioPending_) return Head::kReady;
  if (audioLane_.stream == nullptr || audioEnded_) return Head::kEnded;
  if (!audioDecoder_) {
    // Stream copy: after a seek, packets that end before the target are not wanted.
    while (!std::isnan(audioSeekSeconds_) && !audioLane_.packets.empty()) {
      const AVPacket* front = audioLane_.packets.front().get();
      const double end = Seconds(front->pts, audioLane_.stream->time_base) +
                         double(front->duration) * av_q2d(audioLane_.stream->time_base);
      if (!(end <= audioSeekSeconds_)) {
        audioSeekSeconds_ = NAN;
        break;
      }
      audioLane_.bytes -= size_t(front->size);
      audioLane_.packets.pop_front();
    }
    if (!audioLane_.packets.empty()) return Head::kReady;
    if (!inputEnded_) return Head::kNeedInput;
    audioEnded_ = true;
    return Head::kEnded;
  }
  if (audioGap_) {
    // Packets were dropped: the decoder and the resampler start afresh at the next one.
    audioDecoder_->Flush();
    audioGap_ = false;
  }
  const int rate = audioDecoder_->output().sampleRate;
  for (;;) {
    AudioItem item;
    switch (audioDecoder_->Receive(&item.chunk)) {
      case AudioDecoder::Result::kChunk: {
        AudioChunk& chunk = item.chunk;
        if (!std::isnan(audioSeekSeconds_)) {
          // After a seek: what lies wholly before the target goes, a chunk across it is cut.
          const int64_t target = std::llround(audioSeekSeconds_ * rate);
          if (chunk.pts + chunk.samples <= target) continue;
          if (chunk.pts < target) {
            const int64_t cut = target - chunk.pts;
            chunk.data.erase(chunk.data.begin(), chunk.data.begin() + cut * audioDecoder_->bytesPerSample());
            chunk.samples -= int(cut);
            chunk.pts = target;
          }
          audioSeekSeconds_ = NAN;
        }
        item.time = double(chunk.pts) / rate;
        audioPending_ = std::move(item);
        return Head::kReady;
      }
      case AudioDecoder::Result::kEnd:
        audioEnded_ = true;
        return Head::kEnded;
      case AudioDecoder::Result::kNeedInput:
        if (!audioLane_.packets.empty()) {
          if (audioDecoder_->Send(audioLane_.packets.front().get())) {
            audioLane_.bytes -= size_t(audioLane_.packets.front()->size);
            audioLane_.packets.pop_front();
          }
          continue;
        }
        if (!inputEnded_) return Head::kNeedInput;
        if (audioDecoder_->draining()) {
          audioEnded_ = true;
          return Head::kEnded;
        }
        audioDecoder_->Send(nullptr);
        continue;
    }
  }
}

double MediaReader::HeadTime(ItemKind kind) const {
  double time = NAN;
  switch (kind) {
    case ItemKind::kVideo:
      time = Seconds(frame_->best_effort_timestamp, videoLane_.stream->time_base);
      break;
    case ItemKind::kVideoPacket:
      time = PacketTime(videoLane_.packets.front().get(), videoLane_.stream->time_base);
      break;
    case ItemKind::kAudio:
      time = audioPending_->time;
      break;
    case ItemKind::kAudioPacket:
      time = PacketTime(audioLane_.packets.front().get(), audioLane_.stream->time_base);
      break;
    case ItemKind::kNone:
      break;
  }
  // An item without a time cannot be placed: it goes as soon as it is ready.
  return std::isnan(time) ? -std::numeric_limits<double>::infinity() : time;
}

ItemKind MediaReader::PeekItem() {
  if (!opened_) throw Failure("ERR_NOT_OPEN", "The decoder of " + label_ + " is not open");
  for (;;) {
    const Head video = VideoHead();
    const Head audio = AudioHead();
    const bool waiting = video == Head::kNeedInput || audio == Head::kNeedInput;
    if (!waiting || QueueFull(videoLane_) || QueueFull(audioLane_)) {
      ItemKind best = ItemKind::kNone;
      if (video == Head::kReady) best = video_ ? ItemKind::kVideo : ItemKind::kVideoPacket;
      if (audio == Head::kReady) {
        const ItemKind kind = audioDecoder_ ? ItemKind::kAudio : ItemKind::kAudioPacket;
        // Sound first when both are at the same time: a paced writer serves an audio chunk in a
        // fraction of a millisecond but encodes a picture for a few, and the sound due at the
        // picture's instant would wait that long (bench/RESULTS.md, pacing with sound).
        if (best == ItemKind::kNone || HeadTime(kind) <= HeadTime(best)) best = kind;
      }
      if (best != ItemKind::kNone) return best;
      if (!waiting) {
        ThrowDeferredFailure();
        return ItemKind::kNone;
      }
    }
    Demux(/*dropAudio=*/false);
  }
}

void MediaReader::TakeAudio(AudioItem* item) {
  if (!audioPending_) throw Failure("ERR_INVALID_STATE", "No audio pending in " + label_);
  *item = std::move(*audioPending_);
  audioPending_.reset();
}

// A copy is written in decoding order, so every packet needs a dts. The demuxer leaves some
// without one (Matroska's first packets when there are B-frames): they get one as FFmpeg's own
// CLI gives it, the previous dts plus a duration, or for the first, its pts less the reorder
// delay; never after its own pts, never at or before the previous dts.
void MediaReader::FillDecodingTime(Lane& lane, AVPacket* packet) {
  constexpr int64_t kFar = INT64_MAX / 4;  // crafted timestamps near int64's ends: left alone
  if (packet->dts == AV_NOPTS_VALUE && packet->pts != AV_NOPTS_VALUE && std::llabs(packet->pts) < kFar) {
    const AVRational rate = lane.stream->avg_frame_rate;
    int64_t step = packet->duration;
    if (step <= 0 && rate.num > 0 && rate.den > 0) step = av_rescale_q(1, av_inv_q(rate), lane.stream->time_base);
    step = std::clamp<int64_t>(step, 1, kFar / 64);
    const int delay = std::clamp(lane.stream->codecpar->video_delay, 0, 16);
    int64_t dts = lane.lastDts == AV_NOPTS_VALUE ? packet->pts - delay * step : lane.lastDts + step;
    dts = std::min(dts, packet->pts);
    if (lane.lastDts != AV_NOPTS_VALUE && dts <= lane.lastDts) dts = lane.lastDts + 1;
    packet->dts = dts;
  }
  if (packet->dts != AV_NOPTS_VALUE && std::llabs(packet->dts) < kFar) lane.lastDts = packet->dts;
}

void MediaReader::TakePacket(ItemKind kind, PacketItem* item) {
  Lane& lane = kind == ItemKind::kVideoPacket ? videoLane_ : audioLane_;
  if (lane.packets.empty()) throw Failure("ERR_INVALID_STATE", "No packet pending in " + label_);
  item->packet = std::move(lane.packets.front());
  lane.packets.pop_front();
  lane.bytes -= size_t(item->packet->size);
  item->video = kind == ItemKind::kVideoPacket;
  FillDecodingTime(lane, item->packet.get());
  item->timeBase = lane.stream->time_base;
  item->time = Seconds(item->packet->pts, lane.stream->time_base);
}

bool MediaReader::Peek() {
  if (!opened_) throw Failure("ERR_NOT_OPEN", "The decoder of " + label_ + " is not open");
  if (!video_) {
    throw Failure("ERR_INVALID_STATE", "The video of " + label_ + " is copied (video: 'copy'): its packets come from "
                                       "extractItem/readItem, not decoded frames");
  }
  DropAudioQueue();
  for (;;) {
    const Head head = VideoHead();
    if (head == Head::kReady) return true;
    if (head == Head::kEnded) {
      ThrowDeferredFailure();
      return false;
    }
    Demux(/*dropAudio=*/true);
  }
}

bool MediaReader::PendingIsKey() const { return videoPending_ && SC_FRAME_IS_KEY(frame_.get()); }

double MediaReader::PendingTime() const {
  return videoPending_ ? Seconds(frame_->best_effort_timestamp, videoLane_.stream->time_base) : NAN;
}

void MediaReader::FillMeta(FrameMeta* meta) {
  const AVFrame* frame = frame_.get();
  const AVRational base = videoLane_.stream->time_base;
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
    double position = (double(pts) - double(firstPts_)) * av_q2d(base) * av_q2d(info_.frameRate);
    if (std::fabs(position) < 9e15) {
      int64_t fromTime = std::llround(position);
      if (fromTime > lastIndex_) index = fromTime;
    }
  }
  meta->width = info_.width;
  meta->height = info_.height;
  meta->pts = pts;
  meta->time = Seconds(pts, base);
  meta->index = index;
  meta->keyFrame = SC_FRAME_IS_KEY(frame);
  meta->pictType = av_get_picture_type_char(frame->pict_type);
  lastIndex_ = index;
  lastPts_ = pts;
}

bool MediaReader::TakeFrame(AVFrame* dst, FrameMeta* meta) {
  if (!videoPending_ && !Peek()) throw Failure("ERR_END_OF_STREAM", "No frame left in " + label_);
  const AVFrame* frame = frame_.get();
  const Scaler& scaler = video_->scaler();
  if (frame->format != scaler.format() || frame->width != scaler.width() || frame->height != scaler.height()) return false;
  FillMeta(meta);
  av_frame_unref(dst);
  av_frame_move_ref(dst, frame_.get());
  videoPending_ = false;
  return true;
}

void MediaReader::Take(uint8_t* dst, FrameMeta* meta, size_t dstSlack) {
  if (!videoPending_ && !Peek()) throw Failure("ERR_END_OF_STREAM", "No frame left in " + label_);
  video_->scaler().FrameToPacked(frame_.get(), dst, dstSlack);
  FillMeta(meta);
  av_frame_unref(frame_.get());
  videoPending_ = false;
}

void MediaReader::Drop(FrameMeta* meta) {
  if (!videoPending_ && !Peek()) throw Failure("ERR_END_OF_STREAM", "No frame left in " + label_);
  FillMeta(meta);
  av_frame_unref(frame_.get());
  videoPending_ = false;
}

void MediaReader::Seek(double seconds) {
  if (!opened_) throw Failure("ERR_NOT_OPEN", "The decoder of " + label_ + " is not open");
  if (!(seconds >= 0) || !std::isfinite(seconds)) {
    throw Failure("ERR_INVALID_ARGUMENT", "Cannot seek to " + std::to_string(seconds) + " s");
  }
  const AVRational base = videoLane_.stream->time_base;
  const double ticks = seconds * base.den / base.num;
  if (!(ticks < 9e18)) {
    throw Failure("ERR_INVALID_ARGUMENT", "Cannot seek to " + std::to_string(seconds) + " s: beyond any timestamp of " + label_);
  }
  const int64_t target = std::llround(ticks);
  input_.Seek(videoLane_.stream, target, seconds);

  if (video_) video_->Flush();
  av_frame_unref(frame_.get());
  videoPending_ = false;
  videoEnded_ = false;
  videoLane_.packets.clear();
  videoLane_.bytes = 0;
  videoLane_.lastDts = AV_NOPTS_VALUE;
  if (audioDecoder_) audioDecoder_->Flush();
  audioLane_.packets.clear();
  audioLane_.bytes = 0;
  audioLane_.lastDts = AV_NOPTS_VALUE;
  audioPending_.reset();
  audioEnded_ = false;
  audioGap_ = false;
  inputEnded_ = false;
  deferredFailure_.reset();
  // Copied video resumes at the keyframe before the target (a copy cannot start elsewhere).
  seekTarget_ = video_ ? target : AV_NOPTS_VALUE;
  audioSeekSeconds_ = audioLane_.stream != nullptr ? seconds : NAN;
  lastIndex_ = -1;
  lastPts_ = AV_NOPTS_VALUE;
}

}  // namespace streamcoder
