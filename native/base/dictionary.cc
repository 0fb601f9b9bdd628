#include "base/dictionary.h"

#include "base/failure.h"

namespace streamcoder {

Dictionary::Dictionary(const OptionList& options) {
  for (const auto& [key, value] : options) Set(key, value);
}

Dictionary::~Dictionary() { av_dict_free(&dict_); }

void Dictionary::Set(const std::string& key, const std::string& value) {
  Check(av_dict_set(&dict_, key.c_str(), value.c_str(), 0), "Cannot set option '" + key + "'");
}

void Dictionary::SetDefault(const std::string& key, const std::string& value) {
  Check(av_dict_set(&dict_, key.c_str(), value.c_str(), AV_DICT_DONT_OVERWRITE),
        "Cannot set option '" + key + "'");
}

void Dictionary::RejectUnused(const std::string& what) const {
  const AVDictionaryEntry* entry = av_dict_get(dict_, "", nullptr, AV_DICT_IGNORE_SUFFIX);
  if (entry == nullptr) return;
  throw Failure("ERR_INVALID_OPTION", std::string("Unknown option '") + entry->key + "' for " + what);
}

}  // namespace streamcoder
