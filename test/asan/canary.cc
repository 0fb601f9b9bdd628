// Deliberate memory and undefined-behaviour bugs, built only into the sanitizer build
// (CMakeLists.txt, STREAMCODER_SANITIZE=address) with the addon's own flags, as a module of its
// own: test/asan.test.ts runs each in a child process set up exactly as `npm run test:asan` sets
// up its tests (scripts/test-asan.js), and expects a report and a failed exit. It proves that the
// runtime is preloaded, that its options turn a report into a failure, and which memory the
// sanitizer watches: a bug this cannot catch, the test run would not catch either.
#include <node_api.h>

#include <climits>
#include <cstdint>
#include <cstdlib>
#include <vector>

extern "C" {
#include <libavutil/imgutils.h>
}

namespace {

napi_value Undefined(napi_env env) {
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  return undefined;
}

// Bytes of the typed array argument: where they are and how many.
bool TypedArrayArg(napi_env env, napi_callback_info info, uint8_t** data, size_t* length) {
  size_t argc = 1;
  napi_value arg;
  if (napi_get_cb_info(env, info, &argc, &arg, nullptr, nullptr) != napi_ok || argc < 1) return false;
  napi_typedarray_type type;
  napi_value arrayBuffer;
  size_t offset;
  void* raw;
  if (napi_get_typedarray_info(env, arg, &type, length, &raw, &arrayBuffer, &offset) != napi_ok) return false;
  *data = static_cast<uint8_t*>(raw);
  return true;
}

// One byte written just past the end of the caller's typed array, by instrumented code: the bug
// the scaler once had, minus the uninstrumented library in between.
napi_value WritePastEnd(napi_env env, napi_callback_info info) {
  uint8_t* data;
  size_t length;
  if (!TypedArrayArg(env, info, &data, &length)) return nullptr;
  volatile uint8_t* bytes = data;
  bytes[length] = 1;
  return Undefined(env);
}

// The same by FFmpeg's own code, which is not instrumented: av_image_copy_plane copies rows with
// memcpy, and the runtime's memcpy checks both ranges. (Its loads and stores of its own, such as
// swscale's SIMD writers, are not checked: see the README.)
napi_value CopyPastEnd(napi_env env, napi_callback_info info) {
  uint8_t* data;
  size_t length;
  if (!TypedArrayArg(env, info, &data, &length)) return nullptr;
  std::vector<uint8_t> row(length + 16);
  const int bytes = int(row.size());
  av_image_copy_plane(data, bytes, row.data(), bytes, bytes, 1);  // 16 bytes too many
  return Undefined(env);
}

napi_value UseAfterFree(napi_env env, napi_callback_info info) {
  auto* block = static_cast<volatile int*>(std::malloc(64 * sizeof(int)));
  block[3] = 3;
  std::free(const_cast<int*>(block));
  napi_value result;
  napi_create_int32(env, block[3], &result);
  return result;
}

napi_value SignedOverflow(napi_env env, napi_callback_info info) {
  volatile int big = INT_MAX;
  napi_value result;
  napi_create_int32(env, big + 1, &result);
  return result;
}

// A double out of int's range made an int: what a hostile option value would do unchecked.
napi_value DoubleToInt(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  double value = 0;
  if (napi_get_cb_info(env, info, &argc, &arg, nullptr, nullptr) != napi_ok || argc < 1) return nullptr;
  napi_get_value_double(env, arg, &value);
  napi_value result;
  napi_create_int32(env, static_cast<int>(value), &result);
  return result;
}

// A correct access at the very end, so a clean run has something to pass.
napi_value WriteLast(napi_env env, napi_callback_info info) {
  uint8_t* data;
  size_t length;
  if (!TypedArrayArg(env, info, &data, &length) || length == 0) return nullptr;
  volatile uint8_t* bytes = data;
  bytes[length - 1] = 1;
  return Undefined(env);
}

napi_value Init(napi_env env, napi_value exports) {
  const napi_property_descriptor functions[] = {
      {"writePastEnd", nullptr, WritePastEnd, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"copyPastEnd", nullptr, CopyPastEnd, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"useAfterFree", nullptr, UseAfterFree, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"signedOverflow", nullptr, SignedOverflow, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"doubleToInt", nullptr, DoubleToInt, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"writeLast", nullptr, WriteLast, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(functions) / sizeof(functions[0]), functions);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
