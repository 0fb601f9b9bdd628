// Timeline: the one timeline every stream of an output is placed on, in seconds from its origin,
// which is the source time of the first item written, whichever stream it belongs to. Items keep
// their source times relative to it, so variable frame rates, gaps and the offset between sound
// and pictures survive. A source that goes back in time (a file looped with seek(0), a live
// source reconnecting at 0) is refused in `strict` mode; in `continue` mode the timeline is
// shifted so that the item follows the latest one written, in every stream. Pure arithmetic.
#pragma once

#include <cmath>

namespace streamcoder {

class Timeline {
 public:
  enum class Mode { kStrict, kContinue };
  enum Stream { kVideo = 0, kAudio = 1 };

  struct Placement {
    double position = 0;  // where the item starts, in seconds on the output timeline
    double order = 0;     // where its ordering time (a packet's decoding time) lands
    double origin = 0;    // the timeline's origin and shift after this item
    double offset = 0;
    bool backwards = false;  // strict mode: the item goes back in time (refuse it)
    double previous = 0;     // then: the source time it went back from
  };

  explicit Timeline(Mode mode) : mode_(mode) {}

  Mode mode() const { return mode_; }

  // Where an item of `stream` at source time `time` goes, its source ordering time being `order`
  // (the same for frames; a packet's dts). It goes back when its ordering time is not after the
  // stream's last one (`strictlyAfter`: pictures and packets), or starts more than `tolerance`
  // seconds before the stream's last item ended (sound), or before the origin (`notBeforeOrigin`).
  // Nothing changes until Commit.
  Placement Place(Stream stream, double time, double order, bool strictlyAfter, double tolerance,
                  bool notBeforeOrigin) const {
    Placement p;
    p.origin = hasOrigin_ ? origin_ : time;
    p.offset = offset_;
    p.position = time - p.origin + p.offset;
    p.order = order - p.origin + p.offset;
    const Track& track = tracks_[stream];
    bool back = notBeforeOrigin && p.position < 0;
    if (track.started) back = back || (strictlyAfter ? p.order <= track.order : p.order < track.end - tolerance);
    if (!back) return p;
    if (mode_ == Mode::kStrict) {
      p.backwards = true;
      p.previous = track.order - p.offset + p.origin;
      return p;
    }
    // Continue: this item follows the latest end of any stream (a loop restarts both).
    const double end = std::fmax(tracks_[kVideo].end, tracks_[kAudio].end);
    p.offset += end - p.order;
    p.position += end - p.order;
    p.order = end;
    return p;
  }

  // An item placed on the output timeline directly (a frame slot, not a source time).
  Placement PlaceAt(Stream stream, double position) const {
    Placement p;
    p.origin = origin_;
    p.offset = offset_;
    p.position = p.order = position;
    const Track& track = tracks_[stream];
    if (track.started && position <= track.order) {
      p.backwards = true;
      p.previous = track.order;
    }
    return p;
  }

  // The item is written: it ends at `end` (seconds on the output timeline).
  void Commit(Stream stream, const Placement& p, double end, bool setsOrigin = true) {
    if (setsOrigin && !hasOrigin_) {
      hasOrigin_ = true;
      origin_ = p.origin;
    }
    offset_ = p.offset;
    Track& track = tracks_[stream];
    track.end = track.started ? std::fmax(track.end, end) : end;
    track.started = true;
    track.order = p.order;
  }

  bool started(Stream stream) const { return tracks_[stream].started; }
  double end(Stream stream) const { return tracks_[stream].end; }

 private:
  struct Track {
    bool started = false;
    double order = 0;  // the last item's ordering time
    double end = 0;    // where the stream's latest item ends
  };

  const Mode mode_;
  bool hasOrigin_ = false;
  double origin_ = 0;
  double offset_ = 0;
  Track tracks_[2];
};

}  // namespace streamcoder
