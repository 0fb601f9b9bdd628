// The one place that decides what of a URL is secret, for every message and log line the library
// produces (Failure messages, FFmpeg's log, the labels of readers and writers) and, through the
// binding's `redactUrl`, for what lib/ prints itself (the CLI, validation messages).
//
// Secret in a URL: the userinfo (`user:pass@`, `user@`), every query parameter's value
// (`?token=...&sig=...`, srt's `streamid=`/`passphrase=`), the fragment, and for the RTMP family
// (rtmp, rtmps, rtmpt, rtmpe, rtmpte, rtmpts) every path segment after the application: the
// stream name, which is the stream key on most platforms. The scheme, host, port, the RTMP
// application and other paths stay readable, so a message still says where things went.
#pragma once

#include <string>
#include <vector>

#include "base/dictionary.h"

namespace streamcoder {

// Masks every URL in `text`: "rtmp://bob:pw@host/live/key?token=abc" ->
// "rtmp://***@host/live/***?token=***". A pure function of its argument. A URL ends at
// whitespace, a control character, a quote or angle bracket, so URLs quoted in a sentence
// ("Cannot open 'rtmp://...': ...") keep the words around them.
std::string RedactUrl(const std::string& text);

// RedactUrl, after masking every secret of the URLs currently open (see SecretScope): what
// Failure messages and FFmpeg's log lines go through.
std::string Redact(const std::string& text);

// The substrings of `url` (and of the options given with it) that must never be shown, as they
// may appear without the URL around them: FFmpeg logs an RTMP stream name alone ("Sending
// publish command for 'key'"), an RTSP request carries `user:pass` in base64. Only secrets of at
// least kMinSecretLength characters are kept (see redact.cc).
std::vector<std::string> SecretsOf(const std::string& url, const OptionList& options = {});

// Registers the secrets of a URL that is open, for as long as this object lives: while it does,
// Redact() masks them wherever they appear. Readers and writers own one. Process-wide (FFmpeg's
// log callback is process-wide too, and lines of every thread and worker go through it).
class SecretScope {
 public:
  explicit SecretScope(const std::string& url, const OptionList& options = {});
  ~SecretScope();
  SecretScope(const SecretScope&) = delete;
  SecretScope& operator=(const SecretScope&) = delete;

 private:
  std::vector<std::string> secrets_;
};

}  // namespace streamcoder
