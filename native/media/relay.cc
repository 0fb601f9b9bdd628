#include "media/relay.h"

#include <algorithm>

namespace streamcoder {

namespace {

// How long a 'drop' output may hold the others back before it loses a picture (the ring's too).
constexpr auto kDropAfter = std::chrono::milliseconds(100);
// The producer is woken by every picture an output takes; this bounds a wait regardless.
constexpr auto kRecheck = std::chrono::seconds(1);

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

// Buffers for pictures, reused once every output is done with one: a picture of 1080p is
// megabytes, which a fresh allocation per frame would fault in (and clear) every time.
class Relay::PicturePool : public std::enable_shared_from_this<PicturePool> {
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

Relay::Relay(ReaderOptions reader) : reader_(std::make_unique<MediaReader>(std::move(reader))) {}

Relay::~Relay() {
  Abort();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(outputsMutex_);
  outputs_.clear();  // each output joins its thread
}

void Relay::Open() {
  reader_->Open();
  pool_ = std::make_shared<PicturePool>(std::max<size_t>(1, reader_->frameBytes()));
  pixelFormat_ = av_get_pix_fmt(reader_->info().pixelFormat.c_str());
}

size_t Relay::outputCount() const {
  std::lock_guard<std::mutex> lock(outputsMutex_);
  return outputs_.size();
}

std::shared_ptr<RelayOutput> Relay::MakeOutput(RelayOutputOptions options) {
  return std::make_shared<RelayOutput>(std::move(options), changed_, [this] { Room(); });
}

void Relay::Start(std::vector<RelayOutputOptions> outputs, RelayOptions options, std::function<void()> changed) {
  if (!reader_->isOpen()) throw Failure("ERR_NOT_OPEN", "The relay's input is not open");
  if (thread_.joinable()) throw Failure("ERR_INVALID_STATE", "The relay has started already");
  options_ = options;
  changed_ = std::move(changed);
  Outputs made;
  for (RelayOutputOptions& output : outputs) made.push_back(MakeOutput(std::move(output)));
  {
    std::lock_guard<std::mutex> lock(outputsMutex_);
    outputs_ = made;
    framesBefore_.assign(made.size(), 0);
  }
  holdingBackSince_.assign(made.size(), std::chrono::steady_clock::time_point());
  for (const auto& output : made) output->Start();
  thread_ = std::thread([this] { Run(); });
}

bool Relay::RestartOutput(size_t index) {
  std::shared_ptr<RelayOutput> fresh;
  {
    std::lock_guard<std::mutex> stats(statsMutex_);
    if (stats_.finished || stop_) return false;
    std::lock_guard<std::mutex> lock(outputsMutex_);
    if (index >= outputs_.size() || !outputs_[index]->finished()) return false;
    RelayOutputOptions options = outputs_[index]->options();
    options.rejoining = true;
    fresh = MakeOutput(std::move(options));
    // As far behind the input as the running output furthest behind.
    const RelayOutput* deepest = nullptr;
    for (const auto& output : outputs_) {
      if (output->running() && (deepest == nullptr || output->pictures() > deepest->pictures())) deepest = output.get();
    }
    if (deepest != nullptr) fresh->Seed(*deepest);
    framesBefore_[index] += outputs_[index]->stats().frames;
    outputs_[index] = fresh;
  }
  fresh->Start();
  return true;
}

Relay::Outputs Relay::Snapshot() const {
  std::lock_guard<std::mutex> lock(outputsMutex_);
  return outputs_;
}

void Relay::Room() {
  { std::lock_guard<std::mutex> lock(roomMutex_); }
  room_.notify_all();
}

void Relay::Stop() {
  stop_ = true;
  // A read blocked on a live input gives up: nothing more is read either way.
  reader_->Abort();
  Room();
  for (const auto& output : Snapshot()) output->Stop();
}

void Relay::Abort() {
  Stop();
  for (const auto& output : Snapshot()) output->Abort();
}

RelayStats Relay::stats() const {
  std::lock_guard<std::mutex> lock(statsMutex_);
  RelayStats stats = stats_;
  return stats;
}

std::vector<RelayOutputStats> Relay::outputStats() const {
  int64_t handedOut;
  {
    std::lock_guard<std::mutex> lock(statsMutex_);
    handedOut = stats_.frames;
  }
  std::vector<RelayOutputStats> all;
  std::lock_guard<std::mutex> lock(outputsMutex_);
  for (size_t i = 0; i < outputs_.size(); ++i) {
    RelayOutputStats stats = outputs_[i]->stats();
    stats.frames += framesBefore_[i];
    // Every picture handed out that an output neither wrote nor still holds, it dropped: left
    // out while it held the others back, lost with its failure, handed out while it was down,
    // skipped to a keyframe. (Read in this order, a picture handed out meanwhile can only make
    // this smaller, never count one twice.)
    stats.dropped = std::max<int64_t>(0, handedOut - stats.frames - int64_t(stats.depth));
    all.push_back(std::move(stats));
  }
  return all;
}

SharedItem Relay::Take(ItemKind kind) {
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

void Relay::WaitForRoom() {
  using Clock = std::chrono::steady_clock;
  bool waited = false;
  std::unique_lock<std::mutex> lock(roomMutex_);
  while (!stop_) {
    const Outputs outputs = Snapshot();
    size_t fewest = SIZE_MAX;
    // Outputs still opening take no items yet: the others are measured against the running ones.
    for (const auto& output : outputs) {
      if (output->accepting() && output->running()) fewest = std::min(fewest, output->pictures());
    }
    bool full = false;
    bool dropped = false;
    const Clock::time_point now = Clock::now();
    Clock::time_point recheck = now + kRecheck;
    for (size_t i = 0; i < outputs.size(); ++i) {
      const RelayOutput& output = *outputs[i];
      const size_t pictures = output.pictures();
      // A 'drop' output that alone holds the others back (one output alone never does: it sets
      // the pace) loses its oldest picture once it has done so for a while, and then at once
      // each time it is full again, until it is back within reach of the others.
      const bool holdsBack = outputs.size() > 1 && output.options().dropWhenSlow && output.running() && fewest != SIZE_MAX &&
                             pictures > 2 * fewest;
      if (!holdsBack) holdingBackSince_[i] = Clock::time_point();
      else if (holdingBackSince_[i] == Clock::time_point()) holdingBackSince_[i] = now;
      if (!output.accepting() || pictures < output.options().slots) continue;
      if (output.options().rejoining && !output.running()) {
        // Started again while the others run: it takes the newest pictures once it is open,
        // and holds nobody back while it opens (what it misses counts as dropped).
        outputs[i]->DropOldestPicture();
        dropped = true;
        continue;
      }
      full = true;
      if (!holdsBack) continue;
      if (now - holdingBackSince_[i] >= kDropAfter) {
        outputs[i]->DropOldestPicture();
        dropped = true;
      } else {
        recheck = std::min(recheck, holdingBackSince_[i] + kDropAfter);
      }
    }
    if (!full) return;
    if (dropped) continue;
    if (!waited) {
      waited = true;
      std::lock_guard<std::mutex> statsLock(statsMutex_);
      ++stats_.producerWaits;
    }
    // Woken when an output takes a picture, finishes or the relay stops; or when a 'drop'
    // output's time to be moved on comes.
    room_.wait_until(lock, recheck);
  }
}

void Relay::Run() {
  using Clock = std::chrono::steady_clock;
  std::optional<Failure> failure = FailureOf([&] {
    int64_t thisPass = 0;
    while (!stop_) {
      {
        std::lock_guard<std::mutex> lock(statsMutex_);
        if (options_.maxFrames > 0 && stats_.frames >= options_.maxFrames) break;
      }
      const Clock::time_point started = Clock::now();
      const ItemKind kind = reader_->PeekItem();
      if (kind == ItemKind::kNone) {
        if (!options_.loop || thisPass == 0) break;
        reader_->Seek(0);
        thisPass = 0;
        std::lock_guard<std::mutex> lock(statsMutex_);
        stats_.busySeconds += SecondsSince(started);
        continue;
      }
      SharedItem item = Take(kind);
      {
        std::lock_guard<std::mutex> lock(statsMutex_);
        stats_.busySeconds += SecondsSince(started);
        stats_.corrupt = reader_->corruptPackets();
      }
      const bool picture = item->isPicture();
      if (picture) {
        WaitForRoom();
        if (stop_) break;
        ++thisPass;
      }
      for (const auto& output : Snapshot()) output->Push(item);
      if (picture) {
        // Counted once every output has it (see outputStats).
        std::lock_guard<std::mutex> lock(statsMutex_);
        ++stats_.frames;
      }
    }
  });
  {
    // Finished first: RestartOutput, which checks this under the same lock, starts no output
    // that the End below would miss.
    std::lock_guard<std::mutex> lock(statsMutex_);
    stats_.finished = true;
    stats_.corrupt = reader_->corruptPackets();
    // Once stopped, a read cut short is the stop's doing.
    if (failure && !stop_) stats_.error = std::move(failure);
  }
  for (const auto& output : Snapshot()) output->End();
  if (changed_) changed_();
}

}  // namespace streamcoder
