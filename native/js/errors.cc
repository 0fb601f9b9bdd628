#include "js/errors.h"

#include "js/addon.h"

namespace streamcoder {

Napi::Error ToJsError(Napi::Env env, const Failure& failure) {
  Napi::String message = Napi::String::New(env, failure.message());
  Napi::String code = Napi::String::New(env, failure.code());
  Napi::Value averror = failure.averror() != 0 ? Napi::Number::New(env, failure.averror()) : env.Undefined();
  Addon& addon = Addon::Of(env);
  if (!addon.errorClass.IsEmpty()) {
    return Napi::Error(env, addon.errorClass.New({message, code, averror}));
  }
  // Only reached if the raw binding is used without lib/: still a coded error.
  Napi::Error error = Napi::Error::New(env, failure.message());
  error.Set("code", code);
  error.Set("averror", averror);
  return error;
}

}  // namespace streamcoder
