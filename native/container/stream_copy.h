// StreamCopy: an output stream that carries a source's compressed packets unchanged (no decoder,
// no encoder), described by the source's codec parameters, through the bitstream filter the
// container needs: ADTS AAC (MPEG-TS, .aac) into FLV, MP4 or Matroska loses its ADTS headers to
// aac_adtstoasc and gets its AudioSpecificConfig as extradata. Pure C++ (no V8).
#pragma once

#include <string>

#include "base/handles.h"
#include "base/packet_sink.h"
#include "container/output.h"

namespace streamcoder {

class StreamCopy {
 public:
  // Adds the stream to `output` (allocated, not open yet). Refuses (ERR_UNSUPPORTED) a codec the
  // container cannot hold, naming both and `suggestion` (what to ask for instead).
  // `timeBase` is the time base of the packets' timestamps.
  StreamCopy(Output& output, const AVCodecParameters& parameters, AVRational timeBase, AVRational frameRate,
             const std::string& suggestion);
  StreamCopy(const StreamCopy&) = delete;
  StreamCopy& operator=(const StreamCopy&) = delete;

  // The output stream's index (the same in every session of a reconnecting output).
  int streamIndex() const { return index_; }
  AVRational timeBase() const { return timeBase_; }
  AVMediaType mediaType() const { return mediaType_; }
  // Writes a packet whose timestamps are in timeBase() (through the filter, if there is one).
  void Write(AVPacket* packet, const PacketSink& sink);
  // What the filter still holds.
  void Flush(const PacketSink& sink);

 private:
  void Drain(const PacketSink& sink);

  int index_ = -1;
  AVMediaType mediaType_ = AVMEDIA_TYPE_UNKNOWN;
  AVRational timeBase_;
  BsfContextPtr bsf_;
  PacketPtr filtered_;
  bool flushed_ = false;
};

}  // namespace streamcoder
