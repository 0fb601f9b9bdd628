// ReaderSource: one input read through a MediaReader as the relay's items. A decoded picture
// that already has the delivered size and format goes out as the decoder's own frame (no copy);
// any other is converted into a buffer of a pool, reused once every output is done with it.
// With `loop`, the input starts over at its end (its times restart at 0: the outputs' timeline
// carries on). Pure C++ (no V8).
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "media/relay_source.h"

namespace streamcoder {

class ReaderSource : public RelaySource {
 public:
  ReaderSource(ReaderOptions options, bool loop);
  ~ReaderSource() override;

  void Open() override;
  const StreamInfo& info() const override { return reader_->info(); }
  size_t frameBytes() const override { return reader_->frameBytes(); }
  std::shared_ptr<RelayItem> Next() override;
  void Abort() override { reader_->Abort(); }
  int64_t corrupt() const override { return reader_->corruptPackets(); }
  // A file, not a live source (see Input::seekable).
  bool seekable() const { return reader_->seekableInput(); }

 private:
  class PicturePool;
  std::shared_ptr<RelayItem> Take(ItemKind kind);

  std::unique_ptr<MediaReader> reader_;
  const bool loop_;
  std::shared_ptr<PicturePool> pool_;
  AVPixelFormat pixelFormat_ = AV_PIX_FMT_NONE;  // of the pictures delivered
  int64_t thisPass_ = 0;  // pictures since the input (re)started
};

}  // namespace streamcoder
