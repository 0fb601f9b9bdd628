// Backoff: how long a reconnect waits before attempt n. Exponential (backoffMs doubling up to
// maxBackoffMs) with "equal jitter": half the delay fixed, half random, so that many pushes cut
// off by one outage do not all knock on the restarted server at the same instant, and none
// waits less than half its step. Pure arithmetic plus a random source.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>

namespace streamcoder {

class Backoff {
 public:
  Backoff(int64_t firstMs, int64_t maxMs) : firstMs_(firstMs), maxMs_(std::max(firstMs, maxMs)) {}

  // The wait before attempt `attempt` (1 for the first retry), in milliseconds.
  int64_t DelayMs(int attempt) {
    int64_t step = firstMs_;
    for (int i = 1; i < attempt && step < maxMs_; ++i) step *= 2;
    step = std::min(step, maxMs_);
    std::uniform_int_distribution<int64_t> jitter(0, step / 2);
    return step - step / 2 + jitter(random_);
  }

 private:
  int64_t firstMs_;
  int64_t maxMs_;
  std::minstd_rand random_{std::random_device{}()};
};

}  // namespace streamcoder
