// Runs blocking work on the libuv thread pool and settles a Promise on the JS thread. The worker
// lambda must not touch V8; it may throw Failure, which becomes the rejection. Values passed as
// keepAlive (the receiver, a destination buffer) stay referenced until the task settles, so the
// garbage collector cannot free what the pool thread is using. `settled` runs on the JS thread
// just before the Promise settles, however it settles (e.g. to clear an object's busy flag there,
// so no JS code can observe the object idle while its result is still on its way).
#pragma once

#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include <napi.h>

#include "js/errors.h"

namespace streamcoder {

template <typename Result>
class AsyncTask : public Napi::AsyncWorker {
 public:
  using Work = std::function<Result()>;
  using Done = std::function<Napi::Value(Napi::Env, Result&)>;
  using Settled = std::function<void()>;

  static Napi::Promise Run(Napi::Env env, Work work, Done done,
                           std::initializer_list<Napi::Value> keepAlive, Settled settled = nullptr) {
    auto* task = new AsyncTask(env, std::move(work), std::move(done));
    task->settled_ = std::move(settled);
    for (const Napi::Value& value : keepAlive) task->keepAlive_.push_back(Napi::Persistent(value));
    Napi::Promise promise = task->deferred_.Promise();
    task->Queue();  // from here on the task owns itself; AsyncWorker deletes it after settling
    return promise;
  }

 private:
  AsyncTask(Napi::Env env, Work work, Done done)
      : Napi::AsyncWorker(env, "streamcoder"),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        done_(std::move(done)) {}

  void Execute() override {
    // Pool thread: no V8 here.
    failure_ = FailureOf([this] { result_.emplace(work_()); });
  }

  void OnOK() override {
    if (settled_) settled_();
    try {
      Napi::HandleScope scope(Env());
      Settle();
    } catch (...) {
      // Only when the environment is going away (a worker being terminated): no JS may run, so
      // the Promise cannot be settled, and nobody is left to await it. Throwing here would
      // abort the whole process.
    }
  }

  void OnError(const Napi::Error& error) override {
    if (settled_) settled_();
    try {
      deferred_.Reject(error.Value());
    } catch (...) {
      // As in OnOK.
    }
  }

  void Settle() {
    Napi::Env env = Env();
    if (failure_) {
      deferred_.Reject(ToJsError(env, *failure_).Value());
      return;
    }
    try {
      deferred_.Resolve(done_(env, *result_));
    } catch (const Napi::Error& error) {
      deferred_.Reject(error.Value());
    } catch (const Failure& failure) {
      deferred_.Reject(ToJsError(env, failure).Value());
    }
  }

  Napi::Promise::Deferred deferred_;
  Work work_;
  Done done_;
  Settled settled_;
  std::optional<Result> result_;
  std::optional<Failure> failure_;
  std::vector<Napi::Reference<Napi::Value>> keepAlive_;
};

}  // namespace streamcoder
