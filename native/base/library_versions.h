// The FFmpeg libraries the addon links: the version each header declared when the addon was
// built, and the version the dynamic loader actually gave us. FFmpeg keeps its ABI within a major
// version only, so a different major at run time (an addon built on one distribution, loaded on
// another; an LD_LIBRARY_PATH pointing elsewhere) would crash at the first call that touches a
// changed struct. The addon refuses to load instead (Addon's constructor).
#pragma once

#include <string>
#include <vector>

namespace streamcoder {

struct LibraryVersion {
  const char* name;   // "libavcodec"
  unsigned built;     // AV_VERSION_INT packing: major << 16 | minor << 8 | micro
  unsigned runtime;
};

std::vector<LibraryVersion> LinkedLibraries();

// "59.37.100"
std::string FormatVersion(unsigned version);

// Empty when every library's runtime major equals its built major; otherwise one sentence that
// names each library that differs.
std::string MajorMismatch(const std::vector<LibraryVersion>& libraries);

}  // namespace streamcoder
