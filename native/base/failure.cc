#include "base/failure.h"

#include <cerrno>

#include "base/ffmpeg.h"
#include "base/log.h"

namespace streamcoder {

namespace {

struct CodeEntry {
  int averror;
  const char* code;
};

// The table from FFmpeg's error numbers to the stable codes documented in lib/errors.ts.
const CodeEntry kCodes[] = {
    {AVERROR(ENOENT), "ERR_NOT_FOUND"},
    {AVERROR(EACCES), "ERR_ACCESS"},
    {AVERROR(ECONNREFUSED), "ERR_CONNECTION_REFUSED"},
    {AVERROR(ECONNRESET), "ERR_CONNECTION_LOST"},
    {AVERROR(EPIPE), "ERR_CONNECTION_LOST"},
    {AVERROR(ENETUNREACH), "ERR_CONNECTION_REFUSED"},
    {AVERROR(EHOSTUNREACH), "ERR_CONNECTION_REFUSED"},
    {AVERROR(ETIMEDOUT), "ERR_TIMEOUT"},
    {AVERROR(EIO), "ERR_IO"},
    {AVERROR(ENOMEM), "ERR_NO_MEMORY"},
    {AVERROR(EINVAL), "ERR_INVALID_ARGUMENT"},
    {AVERROR(ENOSYS), "ERR_UNSUPPORTED"},
    {AVERROR_INVALIDDATA, "ERR_INVALID_DATA"},
    {AVERROR_EOF, "ERR_END_OF_STREAM"},
    {AVERROR_DECODER_NOT_FOUND, "ERR_CODEC_NOT_FOUND"},
    {AVERROR_ENCODER_NOT_FOUND, "ERR_CODEC_NOT_FOUND"},
    {AVERROR_DEMUXER_NOT_FOUND, "ERR_FORMAT_NOT_FOUND"},
    {AVERROR_MUXER_NOT_FOUND, "ERR_FORMAT_NOT_FOUND"},
    {AVERROR_PROTOCOL_NOT_FOUND, "ERR_PROTOCOL_NOT_FOUND"},
    {AVERROR_STREAM_NOT_FOUND, "ERR_NO_VIDEO_STREAM"},
    {AVERROR_OPTION_NOT_FOUND, "ERR_INVALID_OPTION"},
    {AVERROR_HTTP_NOT_FOUND, "ERR_NOT_FOUND"},
    {AVERROR_HTTP_UNAUTHORIZED, "ERR_ACCESS"},
    {AVERROR_HTTP_FORBIDDEN, "ERR_ACCESS"},
    {AVERROR_EXIT, "ERR_ABORTED"},
};

const char* CodeFor(int averror) {
  for (const CodeEntry& entry : kCodes) {
    if (entry.averror == averror) return entry.code;
  }
  return "ERR_FFMPEG";
}

}  // namespace

Failure::Failure(std::string code, std::string message, int averror)
    : code_(std::move(code)), message_(Redact(message)), averror_(averror) {}

Failure Failure::FromAv(int averror, const std::string& what) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(averror, text, sizeof(text));
  std::string message = what + ": " + text;
  // FFmpeg's own log often says more than its error number ("moov atom not found").
  std::string detail = TakeLastLogLine();
  if (!detail.empty()) message += " (" + detail + ")";
  return Failure(CodeFor(averror), message, averror);
}

}  // namespace streamcoder
