#include "container/confinement.h"

#include <climits>
#include <cstdlib>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

#include "base/failure.h"

namespace streamcoder {

namespace {

bool StartsWith(const std::string& text, const char* prefix) { return text.rfind(prefix, 0) == 0; }

// "/a/./b/../c" -> "/a/c", on the spelling alone ("/.." stays "/").
std::string Normalise(const std::string& absolute) {
  std::vector<std::string> parts;
  size_t begin = 1;
  while (begin <= absolute.size()) {
    size_t end = absolute.find('/', begin);
    if (end == std::string::npos) end = absolute.size();
    std::string part = absolute.substr(begin, end - begin);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    begin = end + 1;
  }
  std::string out;
  for (const std::string& part : parts) out += "/" + part;
  return out.empty() ? "/" : out;
}

std::string RealPath(const std::string& path) {
  char resolved[PATH_MAX];
  return realpath(path.c_str(), resolved) == nullptr ? std::string() : std::string(resolved);
}

}  // namespace

Confinement::Confinement(const std::string& root) : root_(RealPath(root)) {
  struct stat info{};
  if (root_.empty() || stat(root_.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    throw Failure("ERR_NOT_FOUND", "The directory inputs are confined to does not exist");
  }
}

bool Confinement::Install(AVFormatContext* context) {
  next_ = context->io_open;
  context->opaque = this;
  context->io_open = &Confinement::Open;
  std::string allowed;
  void* iterator = nullptr;
  while (const AVInputFormat* format = av_demuxer_iterate(&iterator)) {
    const std::string name = format->name;
    if (name == "concat" || name == "imf") continue;
    allowed += (allowed.empty() ? "" : ",") + name;
  }
  return av_opt_set(context, "format_whitelist", allowed.c_str(), 0) >= 0;
}

bool Confinement::Inside(const std::string& path) const {
  return path == root_ || (StartsWith(path, root_.c_str()) && (root_ == "/" || path[root_.size()] == '/'));
}

bool Confinement::Allows(const std::string& url) const {
  std::string path = url;
  // crypto: and crypto+file: read a local file too (AES-128 HLS); file: is FFmpeg's file protocol.
  for (const char* prefix : {"crypto+", "crypto:", "file:"}) {
    if (StartsWith(path, prefix)) path.erase(0, std::string(prefix).size());
  }
  if (path.empty()) return false;
  // Any other protocol ("http:", "pipe:", "subfile,...:") before the first slash.
  size_t colon = path.find(':');
  if (colon != std::string::npos && colon < path.find('/')) return false;
  if (path[0] != '/') {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof(cwd)) == nullptr) return false;
    path = std::string(cwd) + "/" + path;
  }
  path = Normalise(path);
  if (!Inside(path)) return false;
  // Through the links: a link inside that points outside is outside.
  std::string real = RealPath(path);
  return real.empty() || Inside(real);
}

int Confinement::Open(AVFormatContext* s, AVIOContext** pb, const char* url, int flags, AVDictionary** options) {
  const auto* self = static_cast<const Confinement*>(s->opaque);
  if (self == nullptr || self->next_ == nullptr || url == nullptr || !self->Allows(url)) {
    av_log(s, AV_LOG_ERROR, "Refused to open a file outside the allowed directory\n");
    return AVERROR(EACCES);
  }
  return self->next_(s, pb, url, flags, options);
}

}  // namespace streamcoder
