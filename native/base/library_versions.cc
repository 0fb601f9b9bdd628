#include "base/library_versions.h"

#include "base/ffmpeg.h"

extern "C" {
#include <libswresample/swresample.h>
}

namespace streamcoder {

std::vector<LibraryVersion> LinkedLibraries() {
  return {
      {"libavformat", LIBAVFORMAT_VERSION_INT, avformat_version()},
      {"libavcodec", LIBAVCODEC_VERSION_INT, avcodec_version()},
      {"libavutil", LIBAVUTIL_VERSION_INT, avutil_version()},
      {"libswscale", LIBSWSCALE_VERSION_INT, swscale_version()},
      {"libswresample", LIBSWRESAMPLE_VERSION_INT, swresample_version()},
  };
}

std::string FormatVersion(unsigned version) {
  return std::to_string(AV_VERSION_MAJOR(version)) + "." + std::to_string(AV_VERSION_MINOR(version)) + "." +
         std::to_string(AV_VERSION_MICRO(version));
}

std::string MajorMismatch(const std::vector<LibraryVersion>& libraries) {
  std::string differing;
  for (const LibraryVersion& library : libraries) {
    if (AV_VERSION_MAJOR(library.built) == AV_VERSION_MAJOR(library.runtime)) continue;
    if (!differing.empty()) differing += ", ";
    differing += std::string(library.name) + " " + FormatVersion(library.built) + " at build time but " +
                 FormatVersion(library.runtime) + " at run time";
  }
  if (differing.empty()) return differing;
  return "streamcoder was built against other FFmpeg libraries than the ones loaded (" + differing +
         "); FFmpeg's ABI changes between major versions, so this build cannot run here. "
         "Rebuild it against the installed FFmpeg: npm rebuild streamcoder --build-from-source";
}

}  // namespace streamcoder
