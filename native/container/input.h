// Input: one demuxer (AVFormatContext) opened on a file or URL, FFmpeg's "input file". It opens
// with the interrupt callback (timeouts, Abort from another thread) and the caller's options,
// probes with every probing decoder held to maxPixels, selects the streams to read (the best
// video, the audio stream asked for) and discards the rest, reads packets and seeks. Pure C++
// (no V8); any thread, one at a time, except Abort.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/dictionary.h"
#include "base/failure.h"
#include "base/handles.h"
#include "base/interrupter.h"
#include "container/confinement.h"

namespace streamcoder {

class Input {
 public:
  // `confineTo`: "" or a directory everything the input opens must lie in (see Confinement).
  Input(const std::string& source, const OptionList& formatOptions, int64_t timeoutMs, const std::string& confineTo = "");
  Input(const Input&) = delete;
  Input& operator=(const Input&) = delete;

  // Opens and probes. Blocking, bounded by timeoutMs. `inputFormat` "" probes.
  void Open(const std::string& inputFormat, const OptionList& formatOptions, int64_t maxPixels);

  // The best video stream (av_find_best_stream). With `decoder`, also its decoder (a stream
  // without one is ERR_CODEC_NOT_FOUND); without, any video stream will do (stream copy).
  // ERR_NO_VIDEO_STREAM when there is none.
  AVStream* SelectVideo(const AVCodec** decoder);
  // Audio stream `nth` (0-based among the audio streams), or the best one related to `video`
  // when nth < 0; nullptr when nth < 0 and there is none. nth out of range is
  // ERR_INVALID_ARGUMENT naming the choices. `decoder` as for SelectVideo.
  AVStream* SelectAudio(int nth, const AVStream* video, const AVCodec** decoder);
  // Streams not in `kept` are not even demuxed: less work, and no memory spent on them.
  void Keep(const std::vector<const AVStream*>& kept);

  // The next packet of a kept stream; false at the end of the input. Other failures throw
  // (ThrowIo's codes).
  bool Read(AVPacket* packet);
  // To the keyframe at or before `target` (in `stream`'s time base).
  void Seek(const AVStream* stream, int64_t target, double seconds);

  // Thread-safe: makes any blocking call in progress give up (close() from another thread).
  void Abort() { interrupter_.Abort(); }
  bool aborted() const { return interrupter_.aborted(); }
  // ERR_CLOSED after Abort, ERR_TIMEOUT after a timeout, else FFmpeg's code for `averror`.
  [[noreturn]] void ThrowIo(int averror, const std::string& what) const;

  AVFormatContext* context() const { return format_.get(); }
  // Whether the input is a seekable byte stream (a file, an HTTP resource with ranges): reading
  // it on never waits for a live source to send more.
  bool seekable() const { return format_ && format_->pb && (format_->pb->seekable & AVIO_SEEKABLE_NORMAL); }
  // The source as it may appear in messages (quoted, secrets masked).
  const std::string& label() const { return label_; }
  // Bytes of the kept streams' packets read so far (any thread).
  int64_t bytesRead() const { return bytesRead_.load(std::memory_order_relaxed); }

 private:
  void OpenOnce(const std::string& inputFormat, const OptionList& formatOptions, int64_t maxPixels);
  int FindStreamInfo(int64_t maxPixels);
  // No video stream was found, and the demuxer learns streams from the packets (more may come).
  bool AnnouncesMissingVideo() const;

  std::string source_;
  // While the input lives, its URL's secrets are masked in every message and log line (FFmpeg
  // logs an RTMP stream name on its own).
  SecretScope secrets_;
  std::string label_;
  Interrupter interrupter_;
  // Before format_: the context points to it until it is freed.
  std::unique_ptr<Confinement> confinement_;
  InputContextPtr format_;
  std::atomic<int64_t> bytesRead_{0};
};

}  // namespace streamcoder
