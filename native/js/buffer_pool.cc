#include "js/buffer_pool.h"

#include <algorithm>
#include <cstdlib>
#include <new>

#include "base/huge_pages.h"
#include "video/scaler.h"

namespace streamcoder {

namespace {

// Frames are converted in place only into memory aligned as libav's own.
constexpr size_t kAlignment = Scaler::kInPlaceAlignment;

uint8_t* Allocate(size_t size) {
  const size_t rounded = (std::max<size_t>(size, 1) + kAlignment - 1) / kAlignment * kAlignment;
  auto* data = static_cast<uint8_t*>(std::aligned_alloc(kAlignment, rounded));
  if (data == nullptr) throw std::bad_alloc();
  AdviseHugePages(data, size);
  return data;
}

struct Return {
  std::shared_ptr<BufferPool> pool;  // keeps the pool alive for frames that outlive their decoder
  size_t size;
};

}  // namespace

BufferPool::~BufferPool() {
  for (auto& [data, size] : free_) std::free(data);
}

uint8_t* BufferPool::Take(size_t size) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if (it->second == size) {
        uint8_t* data = it->first;
        keptBytes_ -= size;
        free_.erase(it);
        return data;
      }
    }
  }
  return Allocate(size);
}

void BufferPool::Give(uint8_t* data, size_t size) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (keptBytes_ + size <= keepBytes_) {
    free_.emplace_back(data, size);
    keptBytes_ += size;
  } else {
    std::free(data);
  }
}

void BufferPool::Drain() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [data, size] : free_) std::free(data);
  free_.clear();
  keptBytes_ = 0;
  keepBytes_ = 0;
}

Napi::ArrayBuffer BufferPool::Wrap(Napi::Env env, uint8_t* data, size_t length, size_t size) {
  auto back = std::make_unique<Return>(Return{shared_from_this(), size});
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(
      env, data, length,
      [](Napi::Env, void* memory, Return* back) {
        back->pool->Give(static_cast<uint8_t*>(memory), back->size);
        delete back;
      },
      back.get());
  back.release();  // the finaliser owns it now
  return buffer;
}

}  // namespace streamcoder
