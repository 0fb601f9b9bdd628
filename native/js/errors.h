// The one place where a Failure becomes a JavaScript error: an instance of the StreamcoderError
// class that lib/ registered, with its stable `code` and FFmpeg's `averror`.
#pragma once

#include <exception>
#include <new>

#include <napi.h>

#include "base/failure.h"

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

// Runs the body of a thread-safe function's JS call (an event for a listener). What the listener
// throws becomes an uncaught exception, as from any event emitter, instead of a C++ exception
// unwinding through libuv (which aborts the process). A worker being torn down runs its queued
// calls with JS already stopped: then there is nobody to tell, and nothing happens.
template <typename Body>
void CallListener(Napi::Env env, Body&& body) {
  try {
    body();
  } catch (const Napi::Error& error) {
    Napi::Value value = error.Value();
    if (!value.IsEmpty() && value.IsObject()) napi_fatal_exception(env, value);
  }
}

}  // namespace streamcoder
