// The open()/openSync() pair every binding has: once only, then either on the calling thread or
// on the libuv pool, under the object's OperationGate. `open` runs with the gate's mutex held and
// throws ERR_CLOSED itself if the object was closed meanwhile.
#pragma once

#include <functional>

#include <napi.h>

#include "js/async_task.h"
#include "js/errors.h"
#include "js/operation_gate.h"

namespace streamcoder {

inline Napi::Value OpenOnce(const Napi::CallbackInfo& info, OperationGate& gate, bool& opened, bool async,
                            std::function<void()> open) {
  return Guarded(info.Env(), [&]() -> Napi::Value {
    if (opened) throw Failure("ERR_INVALID_STATE", "Already open");
    if (!async) {
      gate.CheckIdle();
      opened = true;
      std::lock_guard<std::mutex> lock(gate.mutex());
      open();
      return info.Env().Undefined();
    }
    auto settled = gate.BeginAsync();
    opened = true;
    return AsyncTask<bool>::Run(
        info.Env(),
        [&gate, open = std::move(open)] {
          std::lock_guard<std::mutex> lock(gate.mutex());
          open();
          return true;
        },
        [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); }, {info.This()}, settled);
  });
}

}  // namespace streamcoder
