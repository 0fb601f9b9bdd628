// The one place that includes FFmpeg and turns its version numbers into feature macros, so the rest
// of the code asks "does this FFmpeg have X" instead of comparing versions (FFmpeg 5.1 to 7.x).
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavformat/avformat.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/avutil.h>
#include <libavutil/channel_layout.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libavutil/samplefmt.h>
#include <libavutil/time.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
}

// FFmpeg 6.1 moved the key-frame bit from AVFrame::key_frame into AVFrame::flags.
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(58, 7, 100)
#define SC_FRAME_IS_KEY(f) (((f)->flags & AV_FRAME_FLAG_KEY) != 0)
#else
#define SC_FRAME_IS_KEY(f) ((f)->key_frame != 0)
#endif

// FFmpeg 6.0 renamed AVFrame::pkt_duration to AVFrame::duration (added in lavu 57.30).
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(57, 30, 100)
#define SC_FRAME_DURATION(f) ((f)->duration)
#else
#define SC_FRAME_DURATION(f) ((f)->pkt_duration)
#endif

// FFmpeg 7.1 replaced AVCodec::pix_fmts with avcodec_get_supported_config().
#if LIBAVCODEC_VERSION_INT >= AV_VERSION_INT(61, 13, 100)
#define SC_HAVE_SUPPORTED_CONFIG 1
#else
#define SC_HAVE_SUPPORTED_CONFIG 0
#endif
