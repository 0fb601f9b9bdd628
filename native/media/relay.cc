#include "media/relay.h"

#include <algorithm>

#include "video/thumbnailer.h"

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

Relay::Relay(std::unique_ptr<RelaySource> source) : source_(std::move(source)) {}

Relay::~Relay() {
  Abort();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(outputsMutex_);
  outputs_.clear();  // each output joins its thread
}

void Relay::Open() {
  source_->Open();
  opened_ = true;
}

size_t Relay::outputCount() const {
  std::lock_guard<std::mutex> lock(outputsMutex_);
  return outputs_.size();
}

std::shared_ptr<RelayOutput> Relay::MakeOutput(RelayOutputOptions options) {
  return std::make_shared<RelayOutput>(std::move(options), changed_, [this] { Room(); });
}

void Relay::Start(std::vector<RelayOutputOptions> outputs, RelayOptions options, std::function<void()> changed) {
  if (!opened_) throw Failure("ERR_NOT_OPEN", "The relay's input is not open");
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
  source_->Abort();
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

PacketPtr Relay::Thumbnail(int width) const {
  Thumbnailer thumbnailer(width);
  SharedItem picture;
  {
    std::lock_guard<std::mutex> lock(statsMutex_);
    picture = lastPicture_;
  }
  if (!picture) return nullptr;
  const MediaInput& input = picture->input;
  return input.frame ? thumbnailer.Encode(input.frame) : thumbnailer.Encode(input.data, input.width, input.height, input.pixelFormat);
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
    while (!stop_) {
      {
        std::lock_guard<std::mutex> lock(statsMutex_);
        if (options_.maxFrames > 0 && stats_.frames >= options_.maxFrames) break;
      }
      const Clock::time_point started = Clock::now();
      SharedItem item = source_->Next();
      {
        std::lock_guard<std::mutex> lock(statsMutex_);
        stats_.busySeconds += SecondsSince(started);
        stats_.corrupt = source_->corrupt();
      }
      if (!item) break;
      const bool picture = item->isPicture();
      if (picture) {
        WaitForRoom();
        if (stop_) break;
      }
      for (const auto& output : Snapshot()) output->Push(item);
      if (picture) {
        // Counted once every output has it (see outputStats).
        std::lock_guard<std::mutex> lock(statsMutex_);
        ++stats_.frames;
        if (item->input.kind == MediaInput::Kind::kVideo) lastPicture_ = item;
      }
    }
  });
  {
    // Finished first: RestartOutput, which checks this under the same lock, starts no output
    // that the End below would miss.
    std::lock_guard<std::mutex> lock(statsMutex_);
    stats_.finished = true;
    stats_.corrupt = source_->corrupt();
    // Once stopped, a read cut short is the stop's doing.
    if (failure && !stop_) stats_.error = std::move(failure);
  }
  for (const auto& output : Snapshot()) output->End();
  if (changed_) changed_();
}

}  // namespace streamcoder
