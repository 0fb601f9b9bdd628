// FFmpeg's log, routed through the library: nothing is printed unless the user raised the level,
// and the last error line of each thread is kept so a Failure can quote FFmpeg's own explanation.
#pragma once

#include <functional>
#include <string>

namespace streamcoder {

// Installs the av_log callback once per process (the callback is process-global in FFmpeg).
void InstallLogCallback();

// An FFmpeg level (AV_LOG_QUIET ... AV_LOG_DEBUG) above which lines are not printed to stderr.
void SetPrintLevel(int level);
int PrintLevel();

// Where lines go instead of stderr when JS asked for them (onLog). Called on whatever thread
// FFmpeg logs from, so a sink must only hand the line over (a thread-safe function call).
using LogSink = std::function<void(int level, const std::string& line)>;
int AddLogSink(LogSink sink);
void RemoveLogSink(int id);

// The last error-level line FFmpeg logged on this thread, then forgotten.
std::string TakeLastLogLine();
void ClearLastLogLine();

}  // namespace streamcoder
