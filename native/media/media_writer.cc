#include "media/media_writer.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <thread>

#include "base/failure.h"
#include "base/log.h"

namespace streamcoder {

namespace {

// A constant-rate output fills a gap in the pictures with copies of the last one, up to this many
// (40 s at 25 fps); a longer gap stays a gap (its timestamps say so) rather than thousands of copies.
constexpr int64_t kMaxDuplicates = 1000;
// Sound: a chunk within 20 ms of where the last one ended continues it (timestamps rounded to
// milliseconds jitter that much); a later one leaves a gap, filled with silence up to 10 s (beyond,
// the timestamps jump); an earlier one overlaps, and the overlap is cut, up to 100 ms: more is a
// step back in time.
constexpr double kAudioJitter = 0.02;
constexpr double kMaxSilence = 10;
constexpr double kAudioOverlap = 0.1;

// "Frame timestamps must increase: time 0 s after 1.96 s ...": what a looping script meets first,
// so it names the option that carries the timeline on.
Failure Backwards(const std::string& what, const std::string& now, const std::string& before) {
  return Failure("ERR_INVALID_ARGUMENT", what + " timestamps must increase: " + now + " after " + before +
                                             ". A source that loops or restarts (seek(0), a reconnect) goes back in "
                                             "time: open the writer with timeline: 'continue' to carry its timeline on");
}

int BytesPerSample(AVSampleFormat format) { return av_get_bytes_per_sample(format); }

}  // namespace

struct MediaWriter::Plan {
  Timeline::Stream stream = Timeline::kVideo;
  Timeline::Placement placement;
  bool setsOrigin = true;
  double deadline = 0;  // when it is due, in seconds on the output timeline
  double end = 0;       // where it ends
  bool skip = false;    // nothing to encode: a picture a constant rate drops, sound before the origin
  // Pictures.
  int64_t pts = 0;  // in the encoder's time base
  int64_t slot = -1;
  int64_t duplicates = 0;
  // Sound.
  int samples = 0;
  int64_t trim = 0;  // input samples cut from the start
  int64_t startPts = 0;
  int64_t silence = 0;
  int64_t jumpTo = -1;
  // Packets.
  int64_t shift = 0;  // added to pts and dts, in the packet's time base
  StreamCopy* copy = nullptr;
};

MediaWriter::MediaWriter(WriterOptions options)
    : options_(Checked(std::move(options))),
      link_(std::make_unique<Output>(options_.url, options_.format, options_.timeoutMs, options_.formatOptions),
            options_.reconnect),
      timeline_(options_.timeline) {}

MediaWriter::~MediaWriter() {
  try {
    Finish();
  } catch (...) {
    // Nobody left to tell; Finish() has freed what it could.
  }
}

double MediaWriter::FrameTime() const { return av_q2d(av_inv_q(options_.encoder.frameRate)); }

void MediaWriter::Open() {
  ClearLastLogLine();
  if (options_.video == StreamMode::kEncode) {
    CheckDimensions(options_.encoder.width, options_.encoder.height, "The frame size");
  }
  link_.output().Allocate();
  OpenVideo();
  OpenAudio();
  link_.Open();
  opened_ = true;
  if (options_.adaptive.enabled) {
    bitrate_ = std::make_unique<BitrateController>(options_.adaptive);
    std::lock_guard<std::mutex> lock(statsMutex_);
    stats_.targetBitRate = options_.adaptive.start;
  }
}

void MediaWriter::OpenVideo() {
  Output& output = link_.output();
  const AVRational rate = options_.encoder.frameRate;
  if (options_.video == StreamMode::kCopy) {
    const CopySource& source = *options_.videoCopy;
    videoCopy_ = std::make_unique<StreamCopy>(output, *source.parameters, source.timeBase, rate,
                                              "re-encode it instead (leave out video: 'copy')");
    videoIndex_ = videoCopy_->streamIndex();
    return;
  }
  // Containers that keep only a rate (AVI) and codecs that code the rate itself get a
  // constant-rate stream, as ffmpeg makes them; the others keep every picture's own time.
  if (options_.videoSync == VideoSync::kPassthrough &&
      (!output.variableFrameRate() || !VideoEncoder::TakesFineTimeBase(options_.encoder.codec))) {
    options_.videoSync = VideoSync::kConstant;
  }
  // 90 kHz: RTP's and MPEG-TS's clock, fine enough for any source's times to the microsecond's
  // order, and what FLV's milliseconds and MP4's timescales take without loss that matters.
  videoTimeBase_ = options_.videoSync == VideoSync::kPassthrough ? AVRational{1, 90000} : av_inv_q(rate);
  options_.encoder.timeBase = videoTimeBase_;
  videoEncoder_ = std::make_unique<VideoEncoder>(options_.encoder, output.globalHeader(), output.label());
  AVStream* stream = output.AddStream();
  Check(avcodec_parameters_from_context(stream->codecpar, videoEncoder_->context()), "Cannot describe the stream");
  stream->time_base = videoTimeBase_;
  stream->avg_frame_rate = rate;
  videoIndex_ = stream->index;
}

void MediaWriter::OpenAudio() {
  Output& output = link_.output();
  if (options_.audio == StreamMode::kCopy) {
    const CopySource& source = *options_.audioCopy;
    audioCopy_ = std::make_unique<StreamCopy>(output, *source.parameters, source.timeBase, AVRational{0, 1},
                                              "re-encode it with audio: { codec: 'aac' }");
    audioIndex_ = audioCopy_->streamIndex();
    return;
  }
  if (options_.audio != StreamMode::kEncode) return;
  AudioEncoderOptions audio = options_.audioEncoder;
  if (audio.codec.empty()) {
    // AAC where the container takes it (FLV, MP4, RTSP, MPEG-TS, Matroska), else its own (WebM: Opus).
    AVCodecID id = output.Takes(AV_CODEC_ID_AAC) ? AV_CODEC_ID_AAC : output.DefaultAudioCodec();
    const AVCodec* encoder = id == AV_CODEC_ID_NONE ? nullptr : avcodec_find_encoder(id);
    if (encoder == nullptr) throw Failure("ERR_UNSUPPORTED", "The " + output.muxerName() + " container takes no audio this FFmpeg can encode");
    audio.codec = encoder->name;
  }
  const AVCodec* encoder = avcodec_find_encoder_by_name(audio.codec.c_str());
  if (encoder != nullptr && encoder->type == AVMEDIA_TYPE_AUDIO && !output.Takes(encoder->id)) {
    throw Failure("ERR_UNSUPPORTED", "The " + output.muxerName() + " container of " + output.label() + " does not take " +
                                         avcodec_get_name(encoder->id) + " audio (" + audio.codec +
                                         "): choose another codec, e.g. audio: { codec: 'aac' }");
  }
  audioEncoder_ = std::make_unique<AudioEncoder>(audio, output.globalHeader(), output.label());
  AVStream* stream = output.AddStream();
  Check(avcodec_parameters_from_context(stream->codecpar, audioEncoder_->context()), "Cannot describe the audio stream");
  stream->time_base = audioEncoder_->timeBase();
  audioIndex_ = stream->index;
}

void MediaWriter::CheckFrameSize(size_t size) const {
  MediaInput input;
  input.size = size;
  CheckPicture(input);
}

void MediaWriter::CheckPicture(const MediaInput& input) const {
  if (!videoEncoder_) {
    throw Failure("ERR_INVALID_STATE", "The output " + link_.label() +
                                           " copies its video: give it the source's packets (kind 'video-packet'), not pictures");
  }
  if (input.frame != nullptr) {
    CheckDimensions(input.frame->width, input.frame->height, "The frame");
    return;
  }
  videoEncoder_->CheckPicture(input.size, videoEncoder_->LayoutOf(input.width, input.height, input.pixelFormat));
}

double MediaWriter::Write(const MediaInput& input, bool block) {
  link_.CheckWritable();
  // Before anything changes: a refused item is neither waited for nor counted late.
  Plan plan = input.kind == MediaInput::Kind::kVideo   ? PlanVideo(input)
              : input.kind == MediaInput::Kind::kAudio ? PlanAudio(input)
                                                       : PlanPacket(input);
  double late = 0;
  if (block) {
    paced_ = true;
    late = clock_.Wait(plan.deadline, [this] { return link_.aborted(); });
    // Late means more than half a frame behind: the producer, not the scheduler, is slow.
    if (late > 0.5 * FrameTime()) {
      std::lock_guard<std::mutex> lock(statsMutex_);
      ++stats_.lateFrames;
    }
  }
  switch (input.kind) {
    case MediaInput::Kind::kVideo: WriteVideo(input, plan); break;
    case MediaInput::Kind::kAudio: WriteAudio(input, plan); break;
    case MediaInput::Kind::kPacket: WritePacket(input, plan); break;
  }
  clock_.Served(plan.deadline);
  if (bitrate_) AdaptBitRate();
  return late;
}

void MediaWriter::AdaptBitRate() {
  const WriteTally writes = link_.TakeWrites();
  const double now = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  if (!link_.live()) {
    bitrate_->Reset(now);  // an outage says nothing of what the link carries
    return;
  }
  bitrate_->Written(now, writes.bytes, writes.seconds, writes.blockedBytes, writes.blockedSeconds);
  // Behind the wall clock means something only for a paced push.
  const PacingClock::Reading clock = clock_.Read();
  const double lead = paced_ && clock.started ? (clock.last - clock.first) - clock.elapsed : 0;
  const std::optional<BitrateController::Change> change = bitrate_->Evaluate(now, lead);
  if (!change) return;
  videoEncoder_->SetBitRate(change->bitRate);
  {
    std::lock_guard<std::mutex> lock(statsMutex_);
    stats_.targetBitRate = change->bitRate;
  }
  if (listener_) {
    OutputEvent event;
    event.type = OutputEvent::Type::kBitRate;
    event.bitRate = change->bitRate;
    event.throughput = change->throughput;
    event.congestion = change->reason == BitrateController::Reason::kCongestion;
    listener_(event);
  }
}

MediaWriter::Plan MediaWriter::PlanVideo(const MediaInput& input) const {
  CheckPicture(input);
  const AVRational rate = options_.encoder.frameRate;
  const VideoSync sync = options_.videoSync;
  Plan plan;
  plan.stream = Timeline::kVideo;
  double position;
  const bool bySlot = input.slot >= 0 || std::isnan(input.time) || sync == VideoSync::kRetime;
  if (bySlot) {
    const int64_t slot = input.slot >= 0 ? input.slot : lastSlot_ + 1;
    // Rounded down: a slot at maxSlot is at most kMaxTimelineSeconds into the stream.
    const int64_t maxSlot = av_rescale_rnd(kMaxTimelineSeconds, rate.num, rate.den, AV_ROUND_DOWN);
    if (slot > maxSlot) {
      throw OutOfRange("the pts",
                       "an integer from 0 to " + std::to_string(maxSlot) + " (" + std::to_string(kMaxTimelineSeconds) +
                           " s at " + std::to_string(rate.num) + "/" + std::to_string(rate.den) + " fps)",
                       std::to_string(slot));
    }
    position = double(slot) * rate.den / rate.num;
    plan.placement = timeline_.PlaceAt(Timeline::kVideo, position);
    if (plan.placement.backwards) throw Backwards("Frame", "pts " + std::to_string(slot), std::to_string(lastSlot_));
    plan.setsOrigin = false;
    plan.slot = slot;
    plan.pts = sync == VideoSync::kPassthrough ? av_rescale_q(slot, av_inv_q(rate), videoTimeBase_) : slot;
  } else {
    plan.placement = timeline_.Place(Timeline::kVideo, input.time, input.time, true, 0, true);
    if (plan.placement.backwards) {
      throw Backwards("Frame", "time " + ShortNumber(input.time) + " s", ShortNumber(plan.placement.previous) + " s");
    }
    position = plan.placement.position;
    if (position > double(kMaxTimelineSeconds)) {
      throw OutOfRange("frame.time", "a time at most " + std::to_string(kMaxTimelineSeconds) + " s after the first item's",
                       ShortNumber(input.time));
    }
    if (sync == VideoSync::kConstant) {
      plan.slot = std::llround(position * rate.num / rate.den);
      plan.pts = plan.slot;
      // Two pictures in one slot: the later is dropped; a gap: the last picture fills it.
      if (plan.slot <= lastSlot_) plan.skip = true;
      else if (lastSlot_ >= 0) plan.duplicates = std::min(plan.slot - lastSlot_ - 1, kMaxDuplicates);
    } else {
      plan.pts = std::llround(position * videoTimeBase_.den / videoTimeBase_.num);
      plan.slot = std::llround(position * rate.num / rate.den);
    }
  }
  if (sync == VideoSync::kPassthrough && lastVideoPts_ != AV_NOPTS_VALUE && plan.pts <= lastVideoPts_) {
    throw Backwards("Frame", "pts " + std::to_string(plan.pts), std::to_string(lastVideoPts_) + " (in 1/90000 s)");
  }
  plan.deadline = position;
  plan.end = position + FrameTime();
  return plan;
}

MediaWriter::Plan MediaWriter::PlanAudio(const MediaInput& input) const {
  if (options_.audio == StreamMode::kNone) {
    throw Failure("ERR_INVALID_STATE", "Audio given to " + link_.label() +
                                           ", which was opened without audio: open it with the audio option "
                                           "(e.g. audio: { codec: 'aac' }, or audio: 'copy' for the source's packets)");
  }
  if (!audioEncoder_) {
    throw Failure("ERR_INVALID_STATE", "The output " + link_.label() +
                                           " copies its audio: give it the source's packets (kind 'audio-packet'), not AudioFrames");
  }
  if (input.sampleFormat != AV_SAMPLE_FMT_FLT && input.sampleFormat != AV_SAMPLE_FMT_S16) {
    throw Failure("ERR_INVALID_ARGUMENT", "Expected f32 or s16 samples");
  }
  if (input.sampleRate < kMinSampleRate || input.sampleRate > kMaxSampleRate) {
    throw OutOfRange("sampleRate", "a rate from 8000 to 384000", std::to_string(input.sampleRate));
  }
  if (input.channels < 1 || input.channels > kMaxChannels) {
    throw OutOfRange("channels", "a channel count from 1 to 64", std::to_string(input.channels));
  }
  const size_t frameBytes = size_t(input.channels) * size_t(BytesPerSample(input.sampleFormat));
  if (input.size % frameBytes != 0) {
    throw Failure("ERR_BUFFER_SIZE", "Expected whole samples (" + std::to_string(input.channels) + " channels of " +
                                         std::to_string(BytesPerSample(input.sampleFormat)) + " bytes) but got " +
                                         std::to_string(input.size) + " bytes");
  }
  if (input.size / frameBytes > size_t(INT32_MAX)) throw Failure("ERR_BUFFER_SIZE", "Too many samples in one AudioFrame");
  Plan plan;
  plan.stream = Timeline::kAudio;
  plan.samples = int(input.size / frameBytes);
  const double duration = double(plan.samples) / input.sampleRate;
  if (std::isnan(input.time)) {
    // No time: it follows the last chunk.
    plan.placement = timeline_.PlaceAt(Timeline::kAudio, timeline_.end(Timeline::kAudio));
    plan.placement.backwards = false;
    plan.setsOrigin = false;
  } else {
    plan.placement = timeline_.Place(Timeline::kAudio, input.time, input.time, false, kAudioOverlap, false);
    if (plan.placement.backwards) {
      throw Backwards("Audio", "time " + ShortNumber(input.time) + " s", ShortNumber(plan.placement.previous) + " s");
    }
  }
  double position = plan.placement.position;
  if (position + duration > double(kMaxTimelineSeconds)) {
    throw OutOfRange("time", "a time at most " + std::to_string(kMaxTimelineSeconds) + " s after the first item's",
                     ShortNumber(input.time));
  }
  plan.deadline = std::max(0.0, position);
  plan.end = position + duration;
  const int rate = audioEncoder_->sampleRate();
  if (!audioEncoder_->started()) {
    // Sound before the origin (a stream that starts before the other one's first item) is cut.
    if (position < 0) {
      plan.trim = int64_t(std::ceil(-position * input.sampleRate));
      position = 0;
    }
    plan.startPts = std::llround(position * rate);
  } else {
    const int64_t diff = std::llround(position * rate) - audioEncoder_->nextPts();
    if (diff > kAudioJitter * rate) {
      if (diff <= kMaxSilence * rate) plan.silence = diff;
      else plan.jumpTo = std::llround(position * rate);
    } else if (diff < -kAudioJitter * rate) {
      plan.trim = std::llround(double(-diff) * input.sampleRate / rate);
    }
  }
  if (plan.trim >= plan.samples) plan.skip = true;
  return plan;
}

MediaWriter::Plan MediaWriter::PlanPacket(const MediaInput& input) const {
  const bool video = input.packetType == AVMEDIA_TYPE_VIDEO;
  StreamCopy* copy = video ? videoCopy_.get() : audioCopy_.get();
  if (copy == nullptr) {
    const std::string doing = video ? "encodes its video: give it pictures, or open it with video: 'copy'"
                              : options_.audio == StreamMode::kNone ? "was opened without audio: open it with audio: 'copy'"
                                                                     : "encodes its audio: give it AudioFrames, or open it with audio: 'copy'";
    throw Failure("ERR_INVALID_STATE", std::string(video ? "A video" : "An audio") + " packet given to " +
                                           link_.label() + ", which " + doing);
  }
  const AVRational tb = input.timeBase;
  if (tb.num <= 0 || tb.den <= 0) {
    throw OutOfRange("packet.timeBase", "a positive rational", std::to_string(tb.num) + "/" + std::to_string(tb.den));
  }
  if (input.pts == AV_NOPTS_VALUE && input.dts == AV_NOPTS_VALUE) {
    throw Failure("ERR_INVALID_ARGUMENT", "Expected a packet with a pts or a dts: a copy keeps the source's times");
  }
  const double unit = av_q2d(tb);
  const double time = double(input.pts != AV_NOPTS_VALUE ? input.pts : input.dts) * unit;
  const double order = double(input.dts != AV_NOPTS_VALUE ? input.dts : input.pts) * unit;
  const double span = double(input.duration) * unit;
  const double limit = double(kMaxTimelineSeconds);
  if (std::fabs(time) > limit || std::fabs(order) > limit || input.duration < 0 || span > limit) {
    throw OutOfRange("the packet's timestamps", "times within " + std::to_string(kMaxTimelineSeconds) + " s",
                     ShortNumber(time) + " s");
  }
  Plan plan;
  plan.stream = video ? Timeline::kVideo : Timeline::kAudio;
  plan.copy = copy;
  plan.placement = timeline_.Place(plan.stream, time, order, true, 0, false);
  if (plan.placement.backwards) {
    throw Backwards(video ? "Video packet" : "Audio packet", "time " + ShortNumber(order) + " s", ShortNumber(plan.placement.previous) + " s");
  }
  if (plan.placement.position > limit || plan.placement.order > limit) {
    throw OutOfRange("the packet's time", "a time at most " + std::to_string(kMaxTimelineSeconds) + " s after the first item's",
                     ShortNumber(time) + " s");
  }
  plan.shift = std::llround((plan.placement.offset - plan.placement.origin) / unit);
  // Packets go out in decoding order: each is due at its decoding time.
  plan.deadline = plan.placement.order;
  plan.end = plan.placement.position + (span > 0 ? span : video ? FrameTime() : 0);
  return plan;
}

PacketSink MediaWriter::VideoSink(bool paced) {
  return [this, paced, first = true](AVPacket* packet) mutable {
    // A paced flush spaces the held-back packets a frame apart: x264's lookahead would
    // otherwise leave in one burst at the end.
    if (paced && !first) SleepFor(std::min(1.0, FrameTime()));
    first = false;
    {
      std::lock_guard<std::mutex> lock(statsMutex_);
      ++stats_.packets;
      stats_.bytes += packet->size;
      if (packet->flags & AV_PKT_FLAG_KEY) ++stats_.keyFrames;
    }
    link_.Write(packet, videoTimeBase_, videoIndex_, true);
  };
}

PacketSink MediaWriter::AudioSink() {
  return [this](AVPacket* packet) {
    {
      std::lock_guard<std::mutex> lock(statsMutex_);
      ++stats_.audioPackets;
      stats_.audioBytes += packet->size;
    }
    link_.Write(packet, audioEncoder_->timeBase(), audioIndex_, false);
  };
}

void MediaWriter::WriteVideo(const MediaInput& input, const Plan& plan) {
  if (plan.skip) {
    timeline_.Commit(plan.stream, plan.placement, plan.end, plan.setsOrigin);
    std::lock_guard<std::mutex> lock(statsMutex_);
    ++stats_.droppedFrames;
    return;
  }
  const PacketSink sink = VideoSink(false);
  // Copies of the last picture (still in the encoder's frame) fill the slots of a gap.
  for (int64_t i = 1; i <= plan.duplicates; ++i) {
    SendPicture(lastSlot_ + i, sink);
    std::lock_guard<std::mutex> lock(statsMutex_);
    ++stats_.frames;
    ++stats_.duplicatedFrames;
  }
  if (input.frame != nullptr) {
    videoEncoder_->ConvertFrame(input.frame);
  } else {
    videoEncoder_->Convert(input.data, input.size, videoEncoder_->LayoutOf(input.width, input.height, input.pixelFormat));
  }
  SendPicture(plan.pts, sink);
  lastVideoPts_ = plan.pts;
  lastSlot_ = std::max(lastSlot_, plan.slot);
  timeline_.Commit(plan.stream, plan.placement, plan.end, plan.setsOrigin);
  std::lock_guard<std::mutex> lock(statsMutex_);
  ++stats_.frames;
  if (std::isnan(firstVideo_)) firstVideo_ = plan.deadline;
  lastVideo_ = plan.deadline;
}

void MediaWriter::SendPicture(int64_t pts, const PacketSink& sink) {
  // After a drop the pictures start a new GOP: the outage buffer can let the old one go whole.
  if (link_.TakeKeyFrameRequest()) videoEncoder_->ForceKeyFrame();
  videoEncoder_->Send(pts, sink);
}

void MediaWriter::WriteAudio(const MediaInput& input, const Plan& plan) {
  const PacketSink sink = AudioSink();
  if (!plan.skip) {
    if (!audioEncoder_->started()) audioEncoder_->Start(plan.startPts);
    else if (plan.silence > 0) audioEncoder_->AddSilence(plan.silence, sink);
    else if (plan.jumpTo >= 0) audioEncoder_->Jump(plan.jumpTo, sink);
    const size_t frameBytes = size_t(input.channels) * size_t(BytesPerSample(input.sampleFormat));
    audioEncoder_->Add(input.data + size_t(plan.trim) * frameBytes, int(plan.samples - plan.trim), input.sampleFormat,
                       input.sampleRate, input.channels, sink);
  }
  timeline_.Commit(plan.stream, plan.placement, plan.end, plan.setsOrigin);
  std::lock_guard<std::mutex> lock(statsMutex_);
  if (!plan.skip) stats_.audioSamples += plan.samples - plan.trim;
}

void MediaWriter::WritePacket(const MediaInput& input, const Plan& plan) {
  PacketPtr packet(av_packet_alloc());
  if (!packet) throw Failure("ERR_NO_MEMORY", "Cannot allocate a packet");
  Check(av_new_packet(packet.get(), int(std::min<size_t>(input.size, INT32_MAX - AV_INPUT_BUFFER_PADDING_SIZE))),
        "Cannot allocate a packet");
  if (input.size > 0) std::memcpy(packet->data, input.data, size_t(packet->size));
  packet->pts = input.pts == AV_NOPTS_VALUE ? AV_NOPTS_VALUE : input.pts + plan.shift;
  packet->dts = input.dts == AV_NOPTS_VALUE ? AV_NOPTS_VALUE : input.dts + plan.shift;
  packet->duration = input.duration;
  if (input.keyFrame) packet->flags |= AV_PKT_FLAG_KEY;
  StreamCopy* copy = plan.copy;
  av_packet_rescale_ts(packet.get(), input.timeBase, copy->timeBase());
  const bool video = copy == videoCopy_.get();
  copy->Write(packet.get(), [this, copy, video](AVPacket* out) {
    {
      std::lock_guard<std::mutex> lock(statsMutex_);
      if (video) {
        ++stats_.packets;
        stats_.bytes += out->size;
        if (out->flags & AV_PKT_FLAG_KEY) ++stats_.keyFrames;
      } else {
        ++stats_.audioPackets;
        stats_.audioBytes += out->size;
      }
    }
    link_.Write(out, copy->timeBase(), copy->streamIndex(), video);
  });
  timeline_.Commit(plan.stream, plan.placement, plan.end, plan.setsOrigin);
  if (video) {
    std::lock_guard<std::mutex> lock(statsMutex_);
    ++stats_.frames;
    if (std::isnan(firstVideo_)) firstVideo_ = plan.deadline;
    lastVideo_ = plan.deadline;
  }
}

void MediaWriter::SleepFor(double seconds) {
  using Clock = std::chrono::steady_clock;
  auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  while (Clock::now() < until && !link_.aborted()) {
    std::this_thread::sleep_until(std::min(until, Clock::now() + std::chrono::milliseconds(50)));
  }
}

void MediaWriter::Finish() {
  if (finished_) return;
  finished_ = true;
  std::optional<Failure> failure;
  if (link_.isOpen()) {
    try {
      if (videoEncoder_ && videoEncoder_->anySent()) {
        videoEncoder_->Flush(VideoSink(paced_));
        // A paced stream ends as it went: the last frame gets its frame time before the
        // session is torn down (over UDP, datagrams still queued at the receiver are dropped).
        if (paced_) SleepFor(std::min(1.0, FrameTime()));
      }
      if (audioEncoder_) audioEncoder_->Flush(AudioSink());
      for (StreamCopy* copy : {videoCopy_.get(), audioCopy_.get()}) {
        if (copy == nullptr) continue;
        const bool video = copy == videoCopy_.get();
        copy->Flush([this, copy, video](AVPacket* out) { link_.Write(out, copy->timeBase(), copy->streamIndex(), video); });
      }
    } catch (const Failure& error) {
      failure = error;
    }
  }
  try {
    link_.Close();
  } catch (const Failure& error) {
    if (!failure) failure = error;
  }
  if (failure) throw *failure;
}

WriterStats MediaWriter::stats() const {
  WriterStats stats;
  double first;
  double last;
  {
    std::lock_guard<std::mutex> lock(statsMutex_);
    stats = stats_;
    first = firstVideo_;
    last = lastVideo_;
  }
  const LinkStats link = link_.stats();
  stats.state = link.state;
  stats.disconnects = link.disconnects;
  stats.reconnects = link.reconnects;
  stats.downtimeMs = link.downtimeMs;
  stats.outageDroppedFrames = link.droppedFrames;
  stats.droppedFrames += link.droppedFrames;
  stats.droppedAudioPackets = link.droppedAudioPackets;
  const PacingClock::Reading clock = clock_.Read();
  if (clock.started) {
    stats.fps = clock.elapsed > 0 ? double(stats.frames) / clock.elapsed : 0;
    stats.lead = (clock.last - clock.first) - clock.elapsed;
  }
  if (!std::isnan(first)) {
    const double served = last - first + FrameTime();  // media time of the pictures served
    stats.bitRate = served > 0 ? double(stats.bytes) * 8 / served : 0;
  }
  return stats;
}

}  // namespace streamcoder
