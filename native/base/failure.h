// Failure is the one exception type the media core throws. It carries a stable string code for
// JavaScript (see lib/errors.ts), the FFmpeg error number when there is one, and a message that
// names the source with its secrets masked (redact.h). It never touches V8, so worker threads and the
// client's reading thread can create it freely; errors.cc turns it into a JS error.
#pragma once

#include <exception>
#include <new>
#include <optional>
#include <string>

#include "base/redact.h"

namespace streamcoder {

class Failure : public std::exception {
 public:
  Failure(std::string code, std::string message, int averror = 0);

  // Maps an AVERROR to a code and builds "<what>: <FFmpeg's text> (<last FFmpeg log line>)".
  static Failure FromAv(int averror, const std::string& what);

  // The same failure under another code (the message and averror kept).
  Failure As(std::string code) const {
    Failure copy(*this);
    copy.code_ = std::move(code);
    return copy;
  }

  const char* what() const noexcept override { return message_.c_str(); }
  const std::string& code() const { return code_; }
  const std::string& message() const { return message_; }
  int averror() const { return averror_; }

 private:
  std::string code_;
  std::string message_;
  int averror_;
};

// Runs `work` where nothing may propagate (a pool thread, a queue's drain): what it throws,
// as the Failure it is or becomes (out of memory, another std::exception), or nothing.
template <typename Work>
std::optional<Failure> FailureOf(Work&& work) {
  try {
    work();
  } catch (const Failure& failure) {
    return failure;
  } catch (const std::bad_alloc&) {
    return Failure("ERR_NO_MEMORY", "Out of memory");
  } catch (const std::exception& error) {
    return Failure("ERR_INTERNAL", error.what());
  }
  return std::nullopt;
}

// Throws Failure::FromAv when an FFmpeg call returned an error.
inline void Check(int ret, const std::string& what) {
  if (ret < 0) throw Failure::FromAv(ret, what);
}

}  // namespace streamcoder
