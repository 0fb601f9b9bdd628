// FFmpeg's log, routed through the library: nothing is printed unless the user raised the level,
// and the last error line of each thread is kept so a Failure can quote FFmpeg's own explanation.
#pragma once

#include <string>

namespace streamcoder {

// Installs the av_log callback once per process (the callback is process-global in FFmpeg).
void InstallLogCallback();

// An FFmpeg level (AV_LOG_QUIET ... AV_LOG_DEBUG) above which lines are not printed to stderr.
void SetPrintLevel(int level);
int PrintLevel();

// The last error-level line FFmpeg logged on this thread, then forgotten.
std::string TakeLastLogLine();
void ClearLastLogLine();

}  // namespace streamcoder
