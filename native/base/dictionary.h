// Options handed to libav as an AVDictionary. libav removes each option it recognises and leaves
// the rest; RejectUnused turns those leftovers into an error, so a typo never passes silently.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/ffmpeg.h"

namespace streamcoder {

using OptionList = std::vector<std::pair<std::string, std::string>>;

class Dictionary {
 public:
  explicit Dictionary(const OptionList& options);
  ~Dictionary();
  Dictionary(const Dictionary&) = delete;
  Dictionary& operator=(const Dictionary&) = delete;

  void Set(const std::string& key, const std::string& value);
  void SetDefault(const std::string& key, const std::string& value);  // unless the user set it
  AVDictionary** get() { return &dict_; }
  void RejectUnused(const std::string& what) const;

 private:
  AVDictionary* dict_ = nullptr;
};

}  // namespace streamcoder
