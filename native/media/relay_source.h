// RelaySource: what a Relay reads from. Items (pictures, sound, copied packets) come out in time
// order, each made once and shared by every output. Two kinds: a ReaderSource (one input read
// through a MediaReader) and an InputSwitch (inputs that stand in for each other, and a slate,
// on one timeline). Pure C++ (no V8).
#pragma once

#include <cstdint>
#include <memory>

#include "media/media_reader.h"
#include "media/relay_output.h"

namespace streamcoder {

class RelaySource {
 public:
  virtual ~RelaySource() = default;

  // Opens what is read first (blocking, any thread). info() is valid from then on: the outputs
  // are opened for its size, frame rate and sound.
  virtual void Open() = 0;
  virtual const StreamInfo& info() const = 0;
  // Bytes of one delivered picture (0 with video copy).
  virtual size_t frameBytes() const = 0;
  // The next item, made for this call alone (its time may still be changed); null at the end.
  // Blocking; the relay's reading thread only.
  virtual std::shared_ptr<RelayItem> Next() = 0;
  // Thread-safe: blocking calls give up, and Next() ends.
  virtual void Abort() = 0;
  // Video packets found corrupt and skipped so far (the reading thread, or after it ended).
  virtual int64_t corrupt() const = 0;
};

}  // namespace streamcoder
