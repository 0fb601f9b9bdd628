// Kept only so that code still including it for CheckDimensions (native/video_writer.cc) builds:
// the reading side is now Input, VideoDecoder, AudioDecoder and MediaReader, and the bounds live
// in bounds.h. Include bounds.h instead; delete this file once nothing includes it.
#pragma once

#include "bounds.h"
