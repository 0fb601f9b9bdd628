// Conversions of a Server's (and a relay output's) native options and counters between JS and
// the media core: lib/ normalises the options (binding.d.ts NativeWriterOptions), these only
// guard the raw binding, a wrong type becoming ERR_INVALID_ARGUMENT, never a crash.
#pragma once

#include <napi.h>

#include "media/media_writer.h"
#include "media/writer_options.h"

namespace streamcoder {

WriterOptions GetWriterOptions(const Napi::Object& options);
AVRational GetRational(const Napi::Object& object, const char* key);
Napi::Object StatsToJs(Napi::Env env, const WriterStats& stats);

}  // namespace streamcoder
