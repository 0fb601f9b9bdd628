// The one place where a Failure becomes a JavaScript error: an instance of the StreamcoderError
// class that lib/ registered, with its stable `code` and FFmpeg's `averror`.
#pragma once

#include <exception>
#include <new>

#include <napi.h>

#include "failure.h"

namespace streamcoder {

Napi::Error ToJsError(Napi::Env env, const Failure& failure);

// Runs a binding method body, turning any Failure (or allocation failure) into the JS error.
template <typename Body>
auto Guarded(Napi::Env env, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Failure& failure) {
    throw ToJsError(env, failure);
  } catch (const std::bad_alloc&) {
    throw ToJsError(env, Failure("ERR_NO_MEMORY", "Out of memory"));
  }
}

}  // namespace streamcoder
