// RAII owners for every libav handle the addon holds. Each owner frees with the libav function that
// matches how the handle was made, so no code path can leak one or free it twice.
#pragma once

#include <memory>

#include "base/ffmpeg.h"

namespace streamcoder {

struct InputContextFree {
  void operator()(AVFormatContext* ctx) const { avformat_close_input(&ctx); }
};
struct OutputContextFree {
  // The caller closes the AVIOContext (if it opened one) before this runs; see Output.
  void operator()(AVFormatContext* ctx) const { avformat_free_context(ctx); }
};
struct CodecContextFree {
  void operator()(AVCodecContext* ctx) const { avcodec_free_context(&ctx); }
};
struct FrameFree {
  void operator()(AVFrame* frame) const { av_frame_free(&frame); }
};
struct PacketFree {
  void operator()(AVPacket* packet) const { av_packet_free(&packet); }
};
struct SwsFree {
  void operator()(SwsContext* ctx) const { sws_freeContext(ctx); }
};
struct SwrFree {
  void operator()(SwrContext* ctx) const { swr_free(&ctx); }
};
struct AudioFifoFree {
  void operator()(AVAudioFifo* fifo) const { av_audio_fifo_free(fifo); }
};
struct CodecParametersFree {
  void operator()(AVCodecParameters* par) const { avcodec_parameters_free(&par); }
};
struct DictionaryFree {
  void operator()(AVDictionary* dict) const { av_dict_free(&dict); }
};

// Stream copy's bitstream filters (aac_adtstoasc).
struct BsfFree {
  void operator()(AVBSFContext* ctx) const { av_bsf_free(&ctx); }
};

using InputContextPtr = std::unique_ptr<AVFormatContext, InputContextFree>;
using OutputContextPtr = std::unique_ptr<AVFormatContext, OutputContextFree>;
using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextFree>;
using FramePtr = std::unique_ptr<AVFrame, FrameFree>;
using PacketPtr = std::unique_ptr<AVPacket, PacketFree>;
using SwsContextPtr = std::unique_ptr<SwsContext, SwsFree>;
using SwrContextPtr = std::unique_ptr<SwrContext, SwrFree>;
using AudioFifoPtr = std::unique_ptr<AVAudioFifo, AudioFifoFree>;
using BsfContextPtr = std::unique_ptr<AVBSFContext, BsfFree>;
using CodecParametersPtr = std::unique_ptr<AVCodecParameters, CodecParametersFree>;

}  // namespace streamcoder
