// Confinement: keeps everything an input opens under one directory: the input itself and every
// resource its demuxer names (an HLS playlist's segments and keys, a DASH manifest's pieces). It
// stands in for the demuxer's io_open, through which FFmpeg opens each of them. Anything else is
// refused with EACCES, whether it exists or not, so the error never tells what lies outside.
// Demuxers that open whole inputs of their own (concat, imf) would open them with FFmpeg's own
// io_open, past this one: under a confinement they are not on the context's format whitelist.
#pragma once

#include <string>

#include "base/ffmpeg.h"

namespace streamcoder {

class Confinement {
 public:
  // `root` must be an existing directory (ERR_NOT_FOUND otherwise); its real path is kept.
  explicit Confinement(const std::string& root);
  Confinement(const Confinement&) = delete;
  Confinement& operator=(const Confinement&) = delete;

  // Before avformat_open_input: every open of `context` goes through Allows, and the demuxers
  // that open inputs of their own are refused. The context keeps a pointer to this object, which
  // must outlive it. False when out of memory.
  bool Install(AVFormatContext* context);

  // True when `url` is a local file (a plain path, file:, crypto: or crypto+file: of one) whose
  // path, resolved against the working directory and through symbolic links, lies under the root.
  // A path that does not exist is judged by its spelling alone.
  bool Allows(const std::string& url) const;

 private:
  using IoOpen = int (*)(AVFormatContext*, AVIOContext**, const char*, int, AVDictionary**);
  static int Open(AVFormatContext* s, AVIOContext** pb, const char* url, int flags, AVDictionary** options);
  bool Inside(const std::string& path) const;

  std::string root_;
  IoOpen next_ = nullptr;
};

}  // namespace streamcoder
