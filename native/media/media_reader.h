// MediaReader: what the Decoder and Client bindings read through. It composes FFmpeg's pieces: an
// Input (the demuxer), a VideoDecoder for the best video stream (or stream copy of it), and
// optionally an AudioDecoder for one audio stream (or stream copy of it). Pure C++ (no V8): the
// Decoder binding runs it on the main thread and on the libuv pool, the Client on its own thread.
//
// Two ways to read:
// - Items (PeekItem/TakeVideo/TakeAudio/TakePacket): video frames, audio chunks and copied
//   packets, merged into one time order. Each selected stream keeps a queue of demuxed packets
//   not yet decoded (or delivered); the earliest head across streams goes first. The queues are
//   bounded: when one outgrows kMaxQueuedPackets/kMaxQueuedBytes (a file whose streams are
//   interleaved minutes apart), the earliest head that is ready goes out without waiting for the
//   other stream, so memory stays bounded and order is kept for every sanely muxed source.
// - Video only (Peek/Take/Drop, the existing Decoder methods): only video frames. Audio packets
//   demuxed meanwhile, and any audio already queued, are dropped and counted (audioSkipped):
//   never an audio backlog behind video-only reads.
//
// Video frames come out in presentation order, each exactly once: after every packet the decoder
// is drained until EAGAIN, and at the end of input it is flushed and drained until EOF, so the
// frames that B-frames and frame threading hold back are never lost.
#pragma once

#include <cmath>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "audio/audio_decoder.h"
#include "base/bounds.h"
#include "base/dictionary.h"
#include "base/failure.h"
#include "base/handles.h"
#include "container/input.h"
#include "video/video_decoder.h"

namespace streamcoder {

struct AudioRequest {
  bool enabled = false;
  bool copy = false;   // deliver the compressed packets (no decoder)
  int stream = -1;     // the nth audio stream; -1: FFmpeg's best
  int sampleRate = 0;  // 0: the source's
  int channels = 0;    // 0: the source's
  AVSampleFormat sampleFormat = AV_SAMPLE_FMT_FLT;  // FLT or S16 (packed)
};

struct ReaderOptions {
  std::string source;
  AVPixelFormat pixelFormat = AV_PIX_FMT_RGB24;
  int width = 0;   // 0: the source's, or derived from height keeping the aspect ratio
  int height = 0;  // 0: the source's, or derived from width
  double startTime = 0;
  int threads = 0;  // 0: as many as FFmpeg thinks useful
  int64_t timeoutMs = 0;  // bounds each blocking open/read; 0: no bound
  int64_t maxPixels = kDefaultMaxPixels;  // the largest picture decoded or delivered
  std::string inputFormat;  // force a demuxer ("" = probe)
  std::string confineTo;    // "" or the directory everything the input opens must lie in
  OptionList formatOptions;
  OptionList codecOptions;
  bool videoCopy = false;  // deliver the video's compressed packets (no decoder)
  AudioRequest audio;
};

struct AudioStreamInfo {
  std::string codec;
  int streamIndex = -1;
  int sampleRate = 0;
  int channels = 0;
  std::string channelLayout;
  std::string sampleFormat;
  int64_t bitRate = 0;
  AVRational timeBase{0, 1};
  double startTime = NAN;
  bool copy = false;
  AudioFormat output;  // what AudioChunks carry (unused with copy)
  std::shared_ptr<const AVCodecParameters> parameters;
};

struct StreamInfo {
  std::string codec;
  std::string format;
  std::string pixelFormat;
  std::string sourcePixelFormat;
  int width = 0;
  int height = 0;
  int sourceWidth = 0;
  int sourceHeight = 0;
  int streamIndex = -1;
  AVRational frameRate{0, 1};
  AVRational timeBase{0, 1};
  double startTime = NAN;  // seconds, NAN when unknown
  double duration = NAN;   // seconds, NAN when unknown
  int64_t frameCount = -1;  // -1 when unknown
  int64_t bitRate = 0;      // 0 when unknown
  std::shared_ptr<const AVCodecParameters> videoParameters;
  std::optional<AudioStreamInfo> audio;
};

struct FrameMeta {
  int width = 0;
  int height = 0;
  int64_t pts = AV_NOPTS_VALUE;
  double time = NAN;
  int64_t index = 0;
  bool keyFrame = false;
  char pictType = '?';
};

// An audio chunk ready for JS: the samples and where they are.
struct AudioItem {
  AudioChunk chunk;
  double time = NAN;  // seconds on the source's timeline
};

// A copied packet ready for JS.
struct PacketItem {
  PacketPtr packet;
  bool video = false;
  AVRational timeBase{0, 1};
  double time = NAN;  // presentation time in seconds
};

enum class ItemKind { kNone, kVideo, kAudio, kVideoPacket, kAudioPacket };

class MediaReader {
 public:
  explicit MediaReader(ReaderOptions options);
  ~MediaReader();
  MediaReader(const MediaReader&) = delete;
  MediaReader& operator=(const MediaReader&) = delete;

  // Connects/opens, probes, selects the streams and opens their decoders. Blocking; bounded by
  // timeoutMs.
  void Open();
  bool isOpen() const { return opened_; }
  const StreamInfo& info() const { return info_; }
  // Bytes of one packed picture (0 with video copy: no pictures).
  size_t frameBytes() const { return video_ ? video_->scaler().packedSize() : 0; }
  // Slack past a frame's memory that lets Take convert in place (Scaler::inPlaceSlack).
  size_t inPlaceSlack() const { return video_ ? video_->scaler().inPlaceSlack() : 0; }
  bool videoCopy() const { return options_.videoCopy; }
  // Whether reading ahead never waits on a live source (see Input::seekable).
  bool seekableInput() const { return input_.seekable(); }

  // --- Items in time order.
  // The kind of the next item (decoding and demuxing as needed); kNone once everything has
  // ended and been drained (or the end's deferred failure is thrown).
  ItemKind PeekItem();
  // Take the pending item of that kind (PeekItem returned it). TakeVideo: as Take.
  void TakeAudio(AudioItem* item);
  void TakePacket(ItemKind kind, PacketItem* item);

  // --- Video frames only (audio skipped, see above).
  // Decodes until a frame is pending; false once the stream has ended and been drained.
  bool Peek();
  // Whether the pending frame (Peek() returned true) is a keyframe.
  bool PendingIsKey() const;
  // Time in seconds of the pending frame (NAN without a timestamp).
  double PendingTime() const;
  // Converts the pending frame into dst (frameBytes() long, followed by dstSlack bytes that may
  // be overwritten: see inPlaceSlack) and moves past it.
  void Take(uint8_t* dst, FrameMeta* meta, size_t dstSlack = 0);
  // The pending frame itself, moved into `dst` without a copy, when it already has the delivered
  // size and pixel format; false (nothing taken) when it needs converting: then Take.
  bool TakeFrame(AVFrame* dst, FrameMeta* meta);
  // Moves past the pending frame without converting it (decimation).
  void Drop(FrameMeta* meta);

  // The next video frame (and audio chunk) returned is the first at or after `seconds`; with
  // stream copy, packets resume at the video keyframe at or before it.
  void Seek(double seconds);

  // Thread-safe: makes any blocking call in progress give up (close() from another thread).
  void Abort() { input_.Abort(); }

  // Video frames or packets the decoder rejected as corrupt and skipped so far.
  int64_t corruptPackets() const { return video_ ? video_->corrupt() : 0; }
  // Audio packets or frames the audio decoder rejected (or could not convert) so far.
  int64_t audioCorruptPackets() const { return audioDecoder_ ? audioDecoder_->corrupt() : 0; }
  // Audio packets and chunks dropped unread: passed over by video-only reads, or by a queue
  // that outgrew its bound before the first video frame.
  int64_t audioSkipped() const { return audioSkipped_; }
  // Bytes of the selected streams' packets read so far (any thread).
  int64_t bytesRead() const { return input_.bytesRead(); }

 private:
  // One selected stream: its packets demuxed and not yet decoded (or delivered, with copy).
  struct Lane {
    AVStream* stream = nullptr;
    std::deque<PacketPtr> packets;
    size_t bytes = 0;
    int64_t lastDts = AV_NOPTS_VALUE;  // of the last packet taken (stream copy)
  };
  enum class Head { kReady, kNeedInput, kEnded };

  void OpenVideo(const AVCodec* decoder);
  void OpenAudio(AVStream* stream, const AVCodec* decoder);
  void CheckPixelBound(int width, int height, const std::string& what) const;
  void BuildInfo();

  // Make a lane's next item pending without demuxing.
  Head VideoHead();
  Head AudioHead();
  // Reads one packet into its lane; at the end (or a deferred failure) marks the input ended.
  // `dropAudio`: audio packets are dropped (counted) instead of queued.
  void Demux(bool dropAudio);
  bool QueueFull(const Lane& lane) const;
  void DropAudioQueue();
  void ThrowDeferredFailure();
  double HeadTime(ItemKind kind) const;

  void FillMeta(FrameMeta* meta);
  static void FillDecodingTime(Lane& lane, AVPacket* packet);

  ReaderOptions options_;
  Input input_;
  std::string label_;
  bool opened_ = false;
  StreamInfo info_;

  Lane videoLane_;
  std::unique_ptr<VideoDecoder> video_;  // null with video copy
  FramePtr frame_;
  bool videoPending_ = false;
  bool videoEnded_ = false;

  Lane audioLane_;  // stream null when audio is off or the source has none
  std::unique_ptr<AudioDecoder> audioDecoder_;  // null with audio copy
  std::optional<AudioItem> audioPending_;
  bool audioEnded_ = false;
  // Audio packets were dropped since the audio decoder last ran: it starts afresh (flushed).
  bool audioGap_ = false;
  int64_t audioSkipped_ = 0;

  bool inputEnded_ = false;
  // A read failure waiting for the decoders to give up what they still hold.
  std::optional<Failure> deferredFailure_;

  int64_t seekTarget_ = AV_NOPTS_VALUE;  // video frames before this pts are decoded and discarded
  double audioSeekSeconds_ = NAN;        // audio before this time is dropped (a chunk is cut)
  int64_t firstPts_ = AV_NOPTS_VALUE;    // pts of frame index 0
  int64_t lastIndex_ = -1;
  int64_t lastPts_ = AV_NOPTS_VALUE;
};

}  // namespace streamcoder
