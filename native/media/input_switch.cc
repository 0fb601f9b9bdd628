#include "media/input_switch.h"

#include <algorithm>
#include <cmath>

#include "video/scaler.h"

namespace streamcoder {

namespace {

// Pictures repeated at most between two of an input at a lower frame rate than the outputs'.
constexpr int64_t kMaxRepeats = 8;
// How often an input that would not open (or not steadily) is tried again.
constexpr auto kRetryAfter = std::chrono::milliseconds(1000);

double EpochMs() {
  using namespace std::chrono;
  return double(duration_cast<microseconds>(system_clock::now().time_since_epoch()).count()) / 1000.0;
}

double Seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string InputName(int index) { return index == InputSwitch::kSlate ? "the slate" : "input " + std::to_string(index); }

}  // namespace

InputSwitch::InputSwitch(SwitchOptions options) : options_(std::move(options)) {
  if (options_.inputs.empty()) throw Failure("ERR_INVALID_ARGUMENT", "An input switch needs at least one input");
  for (const ReaderOptions& input : options_.inputs) {
    // Copied video cannot change source mid-stream: a decoder on the other side expects one stream.
    if (input.videoCopy) throw Failure("ERR_INVALID_ARGUMENT", "Fallback inputs and a slate need decoded video, not video: 'copy'");
    if (input.audio.enabled && input.audio.copy) {
      throw Failure("ERR_INVALID_ARGUMENT", "Fallback inputs and a slate need decoded sound (encoded again), not audio: 'copy'");
    }
  }
  stats_.secondsOn.assign(options_.inputs.size() + 1, 0);
  ended_.assign(options_.inputs.size(), false);
  standby_.assign(options_.inputs.size(), Clock::time_point());
}

InputSwitch::~InputSwitch() {
  Abort();
  for (std::thread& prober : probers_) prober.join();
}

ReaderOptions InputSwitch::Conformed(ReaderOptions options) const {
  // Every input and the slate delivered as the first input opened is: the outputs were opened
  // for it.
  options.width = info_.width;
  options.height = info_.height;
  options.pixelFormat = av_get_pix_fmt(info_.pixelFormat.c_str());
  options.startTime = 0;
  if (info_.audio) {
    options.audio.enabled = true;
    options.audio.copy = false;
    options.audio.sampleRate = info_.audio->output.sampleRate;
    options.audio.channels = info_.audio->output.channels;
    options.audio.sampleFormat = info_.audio->output.sampleFormat;
  } else {
    options.audio.enabled = false;
  }
  if (options.timeoutMs <= 0 || options.timeoutMs > options_.inputTimeoutMs) options.timeoutMs = options_.inputTimeoutMs;
  return options;
}

void InputSwitch::Open() {
  std::optional<Failure> first;
  for (size_t i = 0; i < options_.inputs.size() && !aborted_; ++i) {
    ReaderOptions options = options_.inputs[i];
    if (options.timeoutMs <= 0 || options.timeoutMs > options_.inputTimeoutMs) options.timeoutMs = options_.inputTimeoutMs;
    auto source = std::make_unique<ReaderSource>(options, false);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      probing_.push_back(source.get());
    }
    std::optional<Failure> failure = FailureOf([&] { source->Open(); });
    {
      std::lock_guard<std::mutex> lock(mutex_);
      probing_.clear();
    }
    if (failure) {
      if (!first) first = std::move(failure);
      continue;
    }
    info_ = source->info();
    frameBytes_ = source->frameBytes();
    if (info_.frameRate.num > 0 && info_.frameRate.den > 0) frameSeconds_ = av_q2d(av_inv_q(info_.frameRate));
    frameSeconds_ = std::clamp(frameSeconds_, 1.0 / 240, 1.0);
    OpenSlate();
    std::lock_guard<std::mutex> lock(mutex_);
    current_ = std::move(source);
    reading_ = current_.get();
    onAir_ = int(i);
    stats_.current = int(i);
    onAirSince_ = Clock::now();
    lastPictureAt_ = Clock::now();
    return;
  }
  if (aborted_) throw Failure("ERR_ABORTED", "The input switch was stopped while opening");
  StartOnSlate(*first);
}

void InputSwitch::StartOnSlate(const Failure& why) {
  // No input opened: the channel starts on its slate, in a format of its own, when it knows its
  // size (given, or the slate's); the inputs are conformed to it once one delivers.
  const ReaderOptions& primary = options_.inputs.front();
  int width = options_.startWidth;
  int height = options_.startHeight;
  if (width <= 0 || height <= 0) {
    if (!options_.slate) throw why;
    ReaderOptions slate = *options_.slate;
    slate.audio.enabled = false;
    ReaderSource probe(slate, false);
    if (std::optional<Failure> failure = FailureOf([&] { probe.Open(); })) {
      throw Failure(failure->code(), "The slate " + slate.source + " cannot be opened: " + failure->message(), failure->averror());
    }
    // Even sides, as 4:2:0 encoders want.
    width = std::max(2, probe.info().width & ~1);
    height = std::max(2, probe.info().height & ~1);
  }
  info_ = StreamInfo{};
  info_.codec = "none";
  info_.pixelFormat = av_get_pix_fmt_name(primary.pixelFormat);
  info_.sourcePixelFormat = info_.pixelFormat;
  info_.width = info_.sourceWidth = width;
  info_.height = info_.sourceHeight = height;
  info_.frameRate = options_.startFrameRate;
  info_.timeBase = av_inv_q(options_.startFrameRate);
  CodecParametersPtr parameters(avcodec_parameters_alloc());
  if (!parameters) throw Failure("ERR_NO_MEMORY", "Out of memory");
  parameters->codec_type = AVMEDIA_TYPE_VIDEO;
  parameters->width = width;
  parameters->height = height;
  parameters->format = primary.pixelFormat;
  info_.videoParameters = std::shared_ptr<const AVCodecParameters>(parameters.release(), [](const AVCodecParameters* p) {
    auto* owned = const_cast<AVCodecParameters*>(p);
    avcodec_parameters_free(&owned);
  });
  if (primary.audio.enabled) {
    AudioStreamInfo audio;
    audio.codec = "none";
    audio.sampleRate = primary.audio.sampleRate > 0 ? primary.audio.sampleRate : 48000;
    audio.channels = primary.audio.channels > 0 ? primary.audio.channels : 2;
    audio.channelLayout = audio.channels == 1 ? "mono" : audio.channels == 2 ? "stereo" : "";
    audio.sampleFormat = av_get_sample_fmt_name(primary.audio.sampleFormat);
    audio.timeBase = AVRational{1, audio.sampleRate};
    audio.output = AudioFormat{audio.sampleRate, audio.channels, primary.audio.sampleFormat};
    info_.audio = std::move(audio);
  }
  frameBytes_ = Scaler::PackedSize(width, height, primary.pixelFormat);
  frameSeconds_ = std::clamp(av_q2d(av_inv_q(options_.startFrameRate)), 1.0 / 240, 1.0);
  OpenSlate();
  std::lock_guard<std::mutex> lock(mutex_);
  onAir_ = kSlate;
  stats_.current = kSlate;
  onAirSince_ = Clock::now();
  slateBase_ = 0;
  slateStartedAt_ = Clock::now();
  stats_.events.push_back(SwitchEvent{0, kSlate, "input 0 did not open: " + why.message(), EpochMs()});
  ++stats_.eventCount;
  ++stats_.switches;
}

void InputSwitch::OpenSlate() {
  if (!options_.slate) {
    // A black card of the outputs' size and format.
    FramePtr card(av_frame_alloc());
    if (!card) throw Failure("ERR_NO_MEMORY", "Out of memory");
    card->width = info_.width;
    card->height = info_.height;
    card->format = av_get_pix_fmt(info_.pixelFormat.c_str());
    Check(av_frame_get_buffer(card.get(), 0), "Cannot allocate the slate");
    ptrdiff_t linesizes[4];
    for (int p = 0; p < 4; ++p) linesizes[p] = card->linesize[p];
    Check(av_image_fill_black(card->data, linesizes, AVPixelFormat(card->format), AVCOL_RANGE_MPEG, card->width, card->height),
          "Cannot paint the slate");
    auto item = std::make_shared<RelayItem>();
    item->frame = std::move(card);
    item->input.kind = MediaInput::Kind::kVideo;
    item->input.frame = item->frame.get();
    item->input.width = info_.width;
    item->input.height = info_.height;
    item->input.pixelFormat = AVPixelFormat(item->frame->format);
    still_ = std::move(item);
    return;
  }
  ReaderOptions options = Conformed(*options_.slate);
  options.audio.enabled = false;  // a slate's own sound is not used: silence goes out with it
  auto source = std::make_unique<ReaderSource>(options, false);
  if (std::optional<Failure> failure = FailureOf([&] { source->Open(); })) {
    throw Failure(failure->code(), "The slate " + options.source + " cannot be opened: " + failure->message(), failure->averror());
  }
  std::shared_ptr<RelayItem> picture;
  while (std::shared_ptr<RelayItem> item = source->Next()) {
    if (item->isPicture()) {
      picture = std::move(item);
      break;
    }
  }
  if (!picture) throw Failure("ERR_INVALID_ARGUMENT", "The slate " + options.source + " has no picture");
  // Kept for a clip too: what stays on air if the clip stops giving pictures.
  still_ = std::move(picture);
  // A second picture makes it a clip: played over and over from its start.
  while (std::shared_ptr<RelayItem> item = source->Next()) {
    if (!item->isPicture()) continue;
    slateClip_ = std::make_unique<ReaderSource>(options, true);
    slateClip_->Open();
    return;
  }
}

void InputSwitch::Abort() {
  aborted_ = true;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (ReaderSource* candidate : probing_) candidate->Abort();
    if (reading_ != nullptr) reading_->Abort();
    if (ready_) ready_->source->Abort();
  }
  wake_.notify_all();
}

int64_t InputSwitch::corrupt() const { return corruptBefore_ + (current_ ? current_->corrupt() : 0); }

SwitchStats InputSwitch::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  SwitchStats stats = stats_;
  const int onAir = onAir_;
  const size_t at = onAir == kSlate ? stats.secondsOn.size() - 1 : size_t(onAir);
  stats.secondsOn[at] += Seconds(Clock::now() - onAirSince_);
  stats.current = onAir;
  return stats;
}

std::shared_ptr<RelayItem> InputSwitch::Next() {
  if (probers_.empty()) {
    for (int i = 0; i < int(options_.inputs.size()); ++i) probers_.emplace_back([this, i] { Probe(i); });
  }
  while (!aborted_) {
    std::optional<Ready> ready;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ready.swap(ready_);
    }
    if (ready) {
      const int from = onAir_;
      firstItem_ = std::move(ready->first);
      SwitchTo(ready->index, std::move(ready->source),
               InputName(ready->index) + (from == kSlate ? " delivers" : " is back") + " (steady for " +
                   std::to_string(options_.steadyMs) + " ms from a keyframe)");
      wake_.notify_all();
    }
    if (!pending_.empty()) {
      std::shared_ptr<RelayItem> item = std::move(pending_.front());
      pending_.pop_front();
      return item;
    }
    std::shared_ptr<RelayItem> item = onAir_ == kSlate ? NextFromSlate() : NextFromInput();
    if (item) return item;
  }
  return nullptr;
}

std::shared_ptr<RelayItem> InputSwitch::NextFromInput() {
  std::shared_ptr<RelayItem> item = std::move(firstItem_);
  std::string failure;
  std::optional<Failure> thrown;
  if (!item) thrown = FailureOf([&] { item = current_->Next(); });
  if (aborted_) return nullptr;
  const int index = onAir_;
  if (thrown) {
    failure = InputName(index) + " failed: " + thrown->message();
  } else if (!item) {
    failure = InputName(index) + " ended";
    // A file that ended is done; a live source that ended (its publisher stopped) may come back.
    if (current_->seekable()) {
      std::lock_guard<std::mutex> lock(mutex_);
      ended_[size_t(index)] = true;
    }
  }
  const Clock::time_point now = Clock::now();
  if (failure.empty() && !item->isPicture() && now - lastPictureAt_ > std::chrono::milliseconds(options_.inputTimeoutMs)) {
    failure = "no picture from " + InputName(index) + " for " + std::to_string(options_.inputTimeoutMs) + " ms";
  }
  if (!failure.empty()) {
    if (std::optional<Ready> standby = TakeStandby(index)) {
      firstItem_ = std::move(standby->first);
      SwitchTo(standby->index, std::move(standby->source), failure + "; " + InputName(standby->index) + " stood by");
    } else {
      SwitchTo(kSlate, nullptr, failure);
    }
    return nullptr;
  }
  if (item->isPicture()) lastPictureAt_ = now;
  Placed(*item);
  // An input with no sound of its own, where the outputs have sound: silence keeps their clock.
  if (item->isPicture() && info_.audio && !current_->info().audio) {
    if (auto silence = Silence(std::isnan(audioEnd_) ? item->input.time : audioEnd_, item->input.time + frameSeconds_)) {
      pending_.push_back(std::move(silence));
    }
  }
  if (item->isPicture() && conformRate_ && !std::isnan(item->input.time)) {
    // An input at another frame rate than the outputs': a picture per frame time of theirs, as
    // ffmpeg's -r makes it. At a higher rate the pictures between are dropped by time; at a lower
    // one the last is repeated into the slots between (a few at most: a longer gap is a gap).
    const int64_t slot = std::llround(item->input.time / frameSeconds_);
    if (slot <= lastSlot_) return nullptr;
    std::vector<std::shared_ptr<RelayItem>> repeats;
    if (lastShown_ && lastSlot_ != INT64_MIN && slot - lastSlot_ - 1 <= kMaxRepeats) {
      for (int64_t s = lastSlot_ + 1; s < slot; ++s) repeats.push_back(Repeat(*lastShown_, double(s) * frameSeconds_));
    }
    lastSlot_ = slot;
    lastShown_ = item;
    if (!repeats.empty()) {
      // The repeats first, then this picture, then its silence (pending already).
      pending_.push_front(item);
      for (size_t i = repeats.size(); i-- > 1;) pending_.push_front(std::move(repeats[i]));
      return std::move(repeats.front());
    }
  }
  return item;  // a picture before its silence (pending_: the next calls)
}


std::shared_ptr<RelayItem> InputSwitch::NextFromSlate() {
  const double time = slateBase_ + double(slatePictures_) * frameSeconds_;
  // Paced to real time: nothing else paces a slate.
  const auto due = slateStartedAt_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(time - slateBase_));
  {
    std::unique_lock<std::mutex> lock(mutex_);
    wake_.wait_until(lock, due, [this] { return aborted_.load() || ready_.has_value(); });
    if (aborted_ || ready_) return nullptr;
  }
  std::shared_ptr<RelayItem> picture;
  if (slateClip_) {
    // A clip goes out a picture per frame time of the outputs; its own sound is not used. One
    // that fails (the file changed under it) leaves its first picture on air: a slate never
    // takes the channel down.
    std::optional<Failure> failure = FailureOf([&] {
      while (!picture) {
        std::shared_ptr<RelayItem> item = slateClip_->Next();
        if (!item) throw Failure("ERR_END_OF_STREAM", "The slate clip gave no picture");
        if (item->isPicture()) picture = std::move(item);
      }
    });
    if (failure) slateClip_.reset();
  }
  if (!picture) picture = StillPicture();
  picture->input.time = time;
  ++slatePictures_;
  lastPicture_ = time;
  lastItemAt_ = Clock::now();
  if (info_.audio) {
    if (auto silence = Silence(std::isnan(audioEnd_) ? time : audioEnd_, time + frameSeconds_)) pending_.push_back(std::move(silence));
  }
  return picture;
}

std::shared_ptr<RelayItem> InputSwitch::StillPicture() { return Repeat(*still_, NAN); }

std::shared_ptr<RelayItem> InputSwitch::Repeat(const RelayItem& picture, double time) {
  // The same picture again, by reference: a frame's buffers are reference counted.
  auto item = std::make_shared<RelayItem>();
  item->input = picture.input;
  item->input.time = time;
  if (picture.frame) {
    item->frame.reset(av_frame_clone(picture.frame.get()));
    if (!item->frame) throw Failure("ERR_NO_MEMORY", "Out of memory");
    item->input.frame = item->frame.get();
  } else {
    item->picture = picture.picture;
    item->input.data = item->picture.get();
  }
  return item;
}

std::shared_ptr<RelayItem> InputSwitch::Silence(double from, double to) {
  const AudioFormat& format = info_.audio->output;
  const int64_t samples = std::min<int64_t>(int64_t(std::llround((to - from) * format.sampleRate)), format.sampleRate);
  if (samples <= 0) return nullptr;
  auto item = std::make_shared<RelayItem>();
  const size_t bytes = size_t(samples) * size_t(format.channels) * size_t(av_get_bytes_per_sample(format.sampleFormat));
  item->samples.assign(bytes, 0);  // zero is silence in float and in s16 alike
  MediaInput& input = item->input;
  input.kind = MediaInput::Kind::kAudio;
  input.data = item->samples.data();
  input.size = item->samples.size();
  input.time = from;
  input.sampleFormat = format.sampleFormat;
  input.sampleRate = format.sampleRate;
  input.channels = format.channels;
  audioEnd_ = from + double(samples) / format.sampleRate;
  return item;
}

double InputSwitch::NextBase() const {
  if (std::isnan(lastPicture_) && std::isnan(audioEnd_)) return 0;
  double end = std::isnan(lastPicture_) ? audioEnd_ : lastPicture_ + frameSeconds_;
  if (!std::isnan(audioEnd_)) end = std::max(end, audioEnd_);
  // The time the switch took (the input's silence before it was given up) passes on the
  // outputs' timeline too, so that their pacing carries on where the clock is.
  return end + std::max(0.0, Seconds(Clock::now() - lastItemAt_) - frameSeconds_);
}

void InputSwitch::Placed(RelayItem& item) {
  if (std::isnan(item.input.time)) {
    // No time of its own: the outputs place it after what they have; the stretch is placed by
    // the first item that has one.
    lastItemAt_ = Clock::now();
    return;
  }
  if (rebase_) {
    offset_ = NextBase() - item.input.time;
    rebase_ = false;
  }
  item.input.time += offset_;
  if (item.isPicture()) {
    lastPicture_ = item.input.time;
  } else if (item.input.kind == MediaInput::Kind::kAudio && item.input.sampleRate > 0 && item.input.channels > 0) {
    const size_t frameBytes = size_t(item.input.channels) * size_t(av_get_bytes_per_sample(item.input.sampleFormat));
    if (frameBytes > 0) audioEnd_ = item.input.time + double(item.input.size / frameBytes) / item.input.sampleRate;
  }
  lastItemAt_ = Clock::now();
}

void InputSwitch::SwitchTo(int index, std::unique_ptr<ReaderSource> source, const std::string& reason) {
  const int from = onAir_;
  std::unique_ptr<ReaderSource> old = std::move(current_);
  if (old) corruptBefore_ += old->corrupt();
  current_ = std::move(source);
  pending_.clear();
  if (index == kSlate) {
    slateBase_ = NextBase();
    slateStartedAt_ = Clock::now();
    slatePictures_ = 0;
  } else {
    rebase_ = true;
    lastPictureAt_ = Clock::now();
    const AVRational rate = current_->info().frameRate;
    const double ratio = rate.num > 0 && rate.den > 0 ? av_q2d(rate) * frameSeconds_ : 1;
    conformRate_ = ratio > 1.1 || ratio < 0.9;
    lastSlot_ = INT64_MIN;
    lastShown_.reset();
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    reading_ = current_.get();
    const Clock::time_point now = Clock::now();
    const size_t at = from == kSlate ? stats_.secondsOn.size() - 1 : size_t(from);
    stats_.secondsOn[at] += Seconds(now - onAirSince_);
    onAirSince_ = now;
    onAir_ = index;
    stats_.current = index;
    ++stats_.switches;
    stats_.events.push_back(SwitchEvent{from, index, reason, EpochMs()});
    if (stats_.events.size() > kMaxEvents) stats_.events.erase(stats_.events.begin());
    ++stats_.eventCount;
  }
  // A live input given up may still be blocked in a read: it gives up at once.
  if (old) old->Abort();
  old.reset();
  wake_.notify_all();
  if (changed_) changed_();
}

bool InputSwitch::SleepFor(std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mutex_);
  return !wake_.wait_for(lock, wait, [this] { return aborted_.load(); });
}

bool InputSwitch::Steady(ReaderSource& candidate, std::shared_ptr<RelayItem>* last) {
  const Clock::time_point giveUp = Clock::now() + std::chrono::milliseconds(options_.steadyMs + 2 * options_.inputTimeoutMs);
  double keyAt = NAN;
  Clock::time_point lastPicture = Clock::now();
  while (!aborted_ && Clock::now() < giveUp) {
    std::shared_ptr<RelayItem> item = candidate.Next();
    if (!item) return false;
    const Clock::time_point now = Clock::now();
    if (!item->isPicture()) {
      if (now - lastPicture > std::chrono::milliseconds(options_.inputTimeoutMs)) return false;
      continue;
    }
    lastPicture = now;
    if (std::isnan(keyAt)) {
      if (item->input.keyFrame) keyAt = item->input.time;
      continue;
    }
    if ((item->input.time - keyAt) * 1000 >= double(options_.steadyMs)) {
      // This picture goes on air first: the sound read after it belongs with it (a flash read
      // here and dropped would leave its beep on air alone).
      *last = std::move(item);
      return true;
    }
  }
  return false;
}

void InputSwitch::Probe(int index) {
  // Each input is tried on a thread of its own, so that a fallback goes on air as soon as it
  // delivers, not after the inputs before it have each taken their timeout to fail.
  while (!aborted_) {
    {
      // Tried while it would be better than what is on air (or what is about to be), or while
      // it would stand by for it.
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this, index] { return aborted_.load() || Wanted(index) || StandsBy(index); });
      if (aborted_) return;
    }
    auto candidate = std::make_unique<ReaderSource>(Conformed(options_.inputs[size_t(index)]), false);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (aborted_) return;
      probing_.push_back(candidate.get());
    }
    bool steady = false;
    std::shared_ptr<RelayItem> first;
    FailureOf([&] {
      candidate->Open();
      steady = Steady(*candidate, &first);
    });
    if (steady && Offer(index, candidate, std::move(first))) continue;  // handed on to go on air
    {
      std::lock_guard<std::mutex> lock(mutex_);
      probing_.erase(std::find(probing_.begin(), probing_.end(), candidate.get()));
    }
    SleepFor(kRetryAfter);
  }
}

bool InputSwitch::Offer(int index, std::unique_ptr<ReaderSource>& candidate, std::shared_ptr<RelayItem> last) {
  // A steady input goes on air when it is wanted there. While it is a fallback of the input on
  // air it stands by, warm: read on and decoded, its pictures dropped but the latest, so that it
  // takes over at once when that one fails (TakeStandby). True once handed on (`candidate` moved
  // out); false when it is no longer needed or stopped delivering (the caller closes it).
  Clock::time_point lastPicture = Clock::now();
  for (;;) {
    // A worse one found before is let go, closed outside the lock (closing a live input may
    // take a moment).
    std::optional<Ready> letGo;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (aborted_) return false;
      standby_[size_t(index)] = Clock::time_point();
      if (Wanted(index) || handOver_ == index) {
        probing_.erase(std::find(probing_.begin(), probing_.end(), candidate.get()));
        Ready ready{index, std::move(candidate), std::move(last)};
        if (handOver_ == index) {
          handedOver_ = std::move(ready);
        } else {
          letGo.swap(ready_);
          ready_ = std::move(ready);
        }
        wake_.notify_all();  // a slate waiting for its next picture's time, or TakeStandby
      } else if (StandsBy(index)) {
        standby_[size_t(index)] = lastPicture;
      } else {
        return false;
      }
    }
    if (!candidate) {
      if (letGo) letGo->source->Abort();
      return true;
    }
    std::shared_ptr<RelayItem> item;
    if (FailureOf([&] { item = candidate->Next(); }) || !item) break;
    const Clock::time_point now = Clock::now();
    if (item->isPicture()) {
      last = std::move(item);
      lastPicture = now;
    } else if (now - lastPicture > std::chrono::milliseconds(options_.inputTimeoutMs)) {
      break;
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  standby_[size_t(index)] = Clock::time_point();
  return false;
}

std::optional<InputSwitch::Ready> InputSwitch::TakeStandby(int failed) {
  // A standby is fresh when its last picture is a few frame times old at most: one whose source
  // died too would only be found dead after its own timeout, with the channel dark meanwhile.
  const auto fresh = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(std::max(0.25, 4 * frameSeconds_)));
  std::unique_lock<std::mutex> lock(mutex_);
  const Clock::time_point now = Clock::now();
  for (size_t i = 0; i < standby_.size(); ++i) {
    if (int(i) == failed || standby_[i] == Clock::time_point() || now - standby_[i] > fresh) continue;
    handOver_ = int(i);
    handedOver_.reset();
    // Its thread hands it over after the item it is reading: a frame time or so.
    wake_.wait_for(lock, fresh, [this] { return aborted_.load() || handedOver_.has_value(); });
    handOver_ = -1;
    std::optional<Ready> taken;
    taken.swap(handedOver_);
    return taken;
  }
  return std::nullopt;
}

bool InputSwitch::StandsBy(int index) const {
  // Under mutex_. A fallback of the input on air (a later one).
  const int onAir = onAir_;
  return onAir != kSlate && index > onAir && !ended_[size_t(index)];
}

bool InputSwitch::Wanted(int index) const {
  // Under mutex_. Better than the input on air and than one found and about to go on.
  const int onAir = onAir_;
  if (ended_[size_t(index)]) return false;
  const bool better = onAir == kSlate || (options_.switchBack && index < onAir);
  return better && (!ready_ || index < ready_->index);
}

}  // namespace streamcoder
