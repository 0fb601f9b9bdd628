#include "base/log.h"

#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>

#include "base/failure.h"
#include "base/ffmpeg.h"

namespace streamcoder {

namespace {

std::atomic<int> g_printLevel{AV_LOG_QUIET};
thread_local std::string t_lastError;

// The sinks outlive exit(): a thread of the pool or a writer's reconnect thread may still be
// logging while exit() runs static destructors (process.exit() does not wait for them), and a
// destroyed map there is a free of a freed pointer. So they are allocated once and never freed.
struct Sinks {
  std::mutex mutex;
  std::map<int, LogSink> byId;
  int nextId = 1;
};

Sinks& TheSinks() {
  static Sinks* sinks = new Sinks();
  return *sinks;
}

void OnLog(void* avcl, int level, const char* fmt, va_list args) {
  if (level > AV_LOG_ERROR && level > g_printLevel.load(std::memory_order_relaxed)) return;
  char line[1024];
  int printPrefix = 1;
  av_log_format_line2(avcl, level, fmt, args, line, sizeof(line), &printPrefix);
  std::string text = Redact(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (level <= AV_LOG_ERROR && !text.empty()) t_lastError = text;
  if (level > g_printLevel.load(std::memory_order_relaxed) || text.empty()) return;
  Sinks& sinks = TheSinks();
  std::lock_guard<std::mutex> lock(sinks.mutex);
  if (sinks.byId.empty()) {
    std::fprintf(stderr, "[ffmpeg] %s\n", text.c_str());
    return;
  }
  for (auto& [id, sink] : sinks.byId) sink(level, text);
}

}  // namespace

void InstallLogCallback() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_callback(OnLog); });
}

int AddLogSink(LogSink sink) {
  Sinks& sinks = TheSinks();
  std::lock_guard<std::mutex> lock(sinks.mutex);
  int id = sinks.nextId++;
  sinks.byId.emplace(id, std::move(sink));
  return id;
}

void RemoveLogSink(int id) {
  Sinks& sinks = TheSinks();
  std::lock_guard<std::mutex> lock(sinks.mutex);
  sinks.byId.erase(id);
}

void SetPrintLevel(int level) { g_printLevel.store(level, std::memory_order_relaxed); }
int PrintLevel() { return g_printLevel.load(std::memory_order_relaxed); }

std::string TakeLastLogLine() {
  std::string line;
  line.swap(t_lastError);
  // The prefix "[h264 @ 0x55d...] " carries a pointer that changes each run; keep what follows.
  auto close = line.find("] ");
  if (!line.empty() && line[0] == '[' && close != std::string::npos) line.erase(0, close + 2);
  return line;
}

void ClearLastLogLine() { t_lastError.clear(); }

}  // namespace streamcoder
