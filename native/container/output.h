// Output: the muxing side of a Server or Encoder (one AVFormatContext). It chooses the muxer
// (servers by URL scheme, files by name, or a forced format), holds the streams the encoders and
// stream copies add, connects (avio, or the muxer's own networking for RTSP), writes the header,
// takes packets of every stream through av_interleaved_write_frame, which orders audio and video
// by timestamp, and writes the trailer. Every blocking call is bounded by the Interrupter
// (timeoutMs; Abort from another thread), and the URL's secrets are masked in every message and
// log line while it lives. Pure C++ (no V8).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/dictionary.h"
#include "base/handles.h"
#include "base/interrupter.h"
#include "base/redact.h"

namespace streamcoder {

class Output {
 public:
  Output(std::string url, std::string format, int64_t timeoutMs, OptionList formatOptions);
  ~Output();  // closes what Close() did not (never throws)
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  // Chooses the muxer and allocates the context; streams may be added from here on.
  void Allocate();
  // Whether encoders must keep their codec headers out of band (FLV, MP4, RTSP's SDP).
  bool globalHeader() const;
  // The muxer's name (`flv`, `mp4`, `rtsp`, ...).
  std::string muxerName() const;
  // Whether the container keeps each frame's own timestamp (MP4, MKV, FLV, MPEG-TS, RTP), or
  // only a constant rate (AVI): then video must be made constant-rate first.
  bool variableFrameRate() const;
  // False when the container cannot hold this codec (FLV and Opus, say); true when it can or
  // the muxer does not say (RTSP takes what RTP has a payload format for).
  bool Takes(AVCodecID codec) const;
  // The container's own audio codec (Opus for WebM), AV_CODEC_ID_NONE if it has none.
  AVCodecID DefaultAudioCodec() const;
  AVStream* AddStream();
  // A new session of this output, not open: the same URL, muxer and options, and the same streams
  // (codec parameters and time bases as set so far). A reconnect's session is one.
  std::unique_ptr<Output> Clone() const;

  // Connects / creates the output and writes the header. Blocking. A server that answers and
  // refuses the publish (RTMP: "Already publishing", an application it does not serve, an
  // on_publish hook saying no) fails with ERR_PUBLISH_REFUSED.
  void Open();
  bool isOpen() const { return header_; }
  // Throws unless packets may be written (open, not failed, not closed).
  void CheckWritable() const;
  // Rescales the packet from `timeBase` to that of stream `index` and writes it, interleaved with
  // the other streams' packets. Takes the packet's data. A failure breaks the output for good.
  void Write(AVPacket* packet, AVRational timeBase, int index);
  // Writes the trailer (even after a failure: it is where the RTSP muxer tears its session down)
  // and closes what was opened. Throws the first failure, unless the output had already failed.
  void Close();

  void Abort() { interrupter_.Abort(); }  // any thread: gives up a blocked connect/write
  bool aborted() const { return interrupter_.aborted(); }
  const std::string& label() const { return label_; }

 private:
  [[noreturn]] void ThrowIo(int averror, const std::string& what);
  [[noreturn]] void ThrowOpen(int averror);

  const std::string url_;
  const std::string format_;
  const OptionList formatOptions_;
  // The URL's secrets (stream name, tokens...) masked in every message and log line (redact.h).
  SecretScope secrets_;
  const std::string label_;
  Interrupter interrupter_;
  OutputContextPtr context_;
  bool ownsIo_ = false;  // opened pb ourselves (not a NOFILE muxer)
  bool header_ = false;
  bool failed_ = false;  // a write failed: the output is broken
  bool closed_ = false;
  std::string failure_;  // why the output broke
};

}  // namespace streamcoder
