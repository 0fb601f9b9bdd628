// The bounds every picture and every stretch of sound the library reads or writes is held to,
// in one place.
#pragma once

#include <cstdint>
#include <string>

namespace streamcoder {

// Largest picture the library accepts from a source or as an output size: 16384 on a side and
// 2^27 pixels (8K x 8K is 2^26), so a crafted header cannot make it allocate gigabytes per frame.
constexpr int kMaxDimension = 16384;
constexpr int64_t kMaxPixels = int64_t(1) << 27;
// What a reader decodes unless told otherwise: DCI 8K (8192x4320). A frame at the hard bound
// above makes the decoder hold over 2 GB (a 16384x8192 H.264 file of 400 KB: 2.2 GB resident);
// at this bound a crafted small file costs a quarter of that, and any real camera's video fits.
constexpr int64_t kDefaultMaxPixels = int64_t(8192) * 4320;

// Audio the library takes and makes (lib/ checks the same): 8 to 384 kHz, 1 to 64 channels.
constexpr int kMinSampleRate = 8000;
constexpr int kMaxSampleRate = 384000;
constexpr int kMaxChannels = 64;

// Throws ERR_DIMENSIONS unless width x height is within the bounds above.
void CheckDimensions(int width, int height, const std::string& what);

}  // namespace streamcoder
