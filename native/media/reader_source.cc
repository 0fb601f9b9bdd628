#include "media/reader_source.h"

#include <algorithm>

namespace streamcoder {

// Buffers for pictures, reused once every output is done with one: a picture of 1080p is
// megabytes, which a fresh allocation per frame would fault in (and clear) every time.
class ReaderSource::PicturePool : public std::enable_shared_from_this<PicturePool> {
 public:
  explicit PicturePool(size_t bytes) : bytes_(bytes) {}

  std::shared_ptr<uint8_t> Get() {
    uint8_t* buffer = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!free_.empty()) {
        buffer = free_.back().release();
        free_.pop_back();
      }
    }
    if (buffer == nullptr) buffer = new uint8_t[bytes_];
    std::weak_ptr<PicturePool> pool = weak_from_this();
    return std::shared_ptr<uint8_t>(buffer, [pool](uint8_t* p) {
      std::unique_ptr<uint8_t[]> owned(p);
      if (std::shared_ptr<PicturePool> alive = pool.lock()) alive->Put(std::move(owned));
    });
  }

 private:
  // Kept: as many as were ever in use at once, which the queues bound.
  void Put(std::unique_ptr<uint8_t[]> buffer) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(std::move(buffer));
  }

  const size_t bytes_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<uint8_t[]>> free_;
};

ReaderSource::ReaderSource(ReaderOptions options, bool loop)
    : reader_(std::make_unique<MediaReader>(std::move(options))), loop_(loop) {}

// The pool outlives the source while pictures from it are still queued somewhere (weak_ptr).
ReaderSource::~ReaderSource() = default;

void ReaderSource::Open() {
  reader_->Open();
  pool_ = std::make_shared<PicturePool>(std::max<size_t>(1, reader_->frameBytes()));
  pixelFormat_ = av_get_pix_fmt(reader_->info().pixelFormat.c_str());
}

std::shared_ptr<RelayItem> ReaderSource::Next() {
  for (;;) {
    const ItemKind kind = reader_->PeekItem();
    if (kind != ItemKind::kNone) {
      std::shared_ptr<RelayItem> item = Take(kind);
      if (item->isPicture()) ++thisPass_;
      return item;
    }
    // At the end: over again, unless nothing was read since the last start (an input with no
    // picture would loop forever).
    if (!loop_ || thisPass_ == 0) return nullptr;
    reader_->Seek(0);
    thisPass_ = 0;
  }
}

std::shared_ptr<RelayItem> ReaderSource::Take(ItemKind kind) {
  auto item = std::make_shared<RelayItem>();
  MediaInput& input = item->input;
  if (kind == ItemKind::kVideo) {
    FrameMeta meta;
    FramePtr frame(av_frame_alloc());
    if (!frame) throw Failure("ERR_NO_MEMORY", "Out of memory");
    if (reader_->TakeFrame(frame.get(), &meta)) {
      // Already as delivered: the decoder's picture itself goes to every output, no copy.
      item->frame = std::move(frame);
      input.frame = item->frame.get();
    } else {
      item->picture = pool_->Get();
      reader_->Take(item->picture.get(), &meta);
      input.data = item->picture.get();
      input.size = reader_->frameBytes();
    }
    input.kind = MediaInput::Kind::kVideo;
    input.keyFrame = meta.keyFrame;
    input.time = meta.time;
    input.width = meta.width;
    input.height = meta.height;
    input.pixelFormat = pixelFormat_;
  } else if (kind == ItemKind::kAudio) {
    AudioItem audio;
    reader_->TakeAudio(&audio);
    const AudioFormat& format = reader_->info().audio->output;
    item->samples = std::move(audio.chunk.data);
    input.kind = MediaInput::Kind::kAudio;
    input.data = item->samples.data();
    input.size = item->samples.size();
    input.time = audio.time;
    input.sampleFormat = format.sampleFormat;
    input.sampleRate = format.sampleRate;
    input.channels = format.channels;
  } else {
    PacketItem packet;
    reader_->TakePacket(kind, &packet);
    item->packet = std::move(packet.packet);
    const AVPacket* p = item->packet.get();
    input.kind = MediaInput::Kind::kPacket;
    input.packetType = packet.video ? AVMEDIA_TYPE_VIDEO : AVMEDIA_TYPE_AUDIO;
    input.data = p->data;
    input.size = size_t(p->size);
    input.pts = p->pts;
    input.dts = p->dts;
    input.duration = p->duration > 0 ? p->duration : 0;
    input.timeBase = packet.timeBase;
    input.keyFrame = (p->flags & AV_PKT_FLAG_KEY) != 0;
    input.time = packet.time;
  }
  return item;
}

}  // namespace streamcoder
