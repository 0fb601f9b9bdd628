#include "base/bounds.h"

#include "base/failure.h"

namespace streamcoder {

void CheckDimensions(int width, int height, const std::string& what) {
  if (width <= 0 || height <= 0 || width > kMaxDimension || height > kMaxDimension ||
      int64_t(width) * height > kMaxPixels) {
    throw Failure("ERR_DIMENSIONS", what + " has unsupported dimensions " + std::to_string(width) +
                                        "x" + std::to_string(height) + " (at most " +
                                        std::to_string(kMaxDimension) + " per side and " +
                                        std::to_string(kMaxPixels) + " pixels)");
  }
}

}  // namespace streamcoder
