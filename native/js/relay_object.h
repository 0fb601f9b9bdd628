// RelayObject: the JS binding of Relay, what `pipeline()` runs on when no JavaScript needs the
// frames. open() reads the input's description on the libuv pool; start() hands the relay its
// outputs, and from then on everything runs on the relay's own threads. JS hears of changes (an
// output opened, failed or finished, the input ended) through a thread-safe function that does
// not keep the process alive, and reads the figures when it wants them (`stats`).
#pragma once

#include <memory>

#include <napi.h>

#include "js/addon.h"
#include "media/input_switch.h"
#include "media/relay.h"

namespace streamcoder {

class RelayObject : public Napi::ObjectWrap<RelayObject>, public Closable {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit RelayObject(const Napi::CallbackInfo& info);
  ~RelayObject() override;
  RelayObject(const RelayObject&) = delete;
  RelayObject& operator=(const RelayObject&) = delete;

  // Aborts every thread and waits for them (each has been told to give up what blocks it).
  void Close() override;

 private:
  Napi::Value OpenAsync(const Napi::CallbackInfo& info);
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value RestartOutput(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Abort(const Napi::CallbackInfo& info);
  Napi::Value GetStats(const Napi::CallbackInfo& info);
  Napi::Value Thumbnail(const Napi::CallbackInfo& info);
  Napi::Value CloseMethod(const Napi::CallbackInfo& info);

  Relay& Ready(const char* what);  // open, not opening, not closed

  // Shared with an open() in flight, which may outlive a close(): the last holder frees it.
  std::shared_ptr<Relay> relay_;
  InputSwitch* switch_ = nullptr;  // the relay's source, when it has fallbacks or a slate
  bool opening_ = false;
  bool opened_ = false;
  bool started_ = false;
  Napi::ThreadSafeFunction changed_;
  std::shared_ptr<OpenObjects> registry_;
};

}  // namespace streamcoder
