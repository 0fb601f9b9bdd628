#include "container/stream_copy.h"

#include <cstring>

#include "base/failure.h"

namespace streamcoder {

namespace {

// MPEG-4 AudioSpecificConfig (ISO 14496-3 1.6.2.1) for AAC of this profile, rate and channel
// count: what FLV, MP4 and Matroska carry as extradata, where ADTS repeats it in every packet.
// Two bytes: object type (5 bits), sampling frequency index (4), channel configuration (4).
bool AudioSpecificConfig(const AVCodecParameters& par, uint8_t out[2]) {
  static const int kRates[] = {96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350};
  int index = -1;
  for (int i = 0; i < 13; ++i) {
    if (kRates[i] == par.sample_rate) index = i;
  }
  const int channels = par.ch_layout.nb_channels;
  if (index < 0 || channels < 1 || channels > 7) return false;
  // FFmpeg's AAC profiles are the object type minus one (FF_PROFILE_AAC_LOW is 1: AAC LC is 2).
  const int objectType = par.profile >= 0 && par.profile < 4 ? par.profile + 1 : 2;
  out[0] = uint8_t((objectType << 3) | (index >> 1));
  out[1] = uint8_t(((index & 1) << 7) | (channels << 3));
  return true;
}

}  // namespace

StreamCopy::StreamCopy(Output& output, const AVCodecParameters& parameters, AVRational timeBase, AVRational frameRate,
                       const std::string& suggestion)
    : timeBase_(timeBase) {
  const char* codec = avcodec_get_name(parameters.codec_id);
  if (parameters.codec_id == AV_CODEC_ID_NONE) {
    throw Failure("ERR_INVALID_ARGUMENT", "Cannot copy a stream whose codec is unknown");
  }
  if (!output.Takes(parameters.codec_id)) {
    throw Failure("ERR_UNSUPPORTED", std::string("Cannot copy ") + codec + " into " + output.muxerName() +
                                         " (" + output.label() + "): the container does not take it; " + suggestion);
  }
  filtered_.reset(av_packet_alloc());
  if (!filtered_) throw Failure("ERR_NO_MEMORY", "Cannot allocate a packet");
  AVStream* stream = output.AddStream();
  index_ = stream->index;
  mediaType_ = parameters.codec_type;
  Check(avcodec_parameters_copy(stream->codecpar, &parameters), "Cannot describe the copied stream");
  // The source container's tag may mean nothing in this one (or another codec): the muxer chooses.
  stream->codecpar->codec_tag = 0;
  stream->time_base = timeBase;
  if (parameters.codec_type == AVMEDIA_TYPE_VIDEO && frameRate.num > 0) stream->avg_frame_rate = frameRate;

  // AAC without an AudioSpecificConfig is ADTS (MPEG-TS, .aac files): every container but
  // MPEG-TS and ADTS wants raw AAC with the config as extradata.
  const std::string muxer = output.muxerName();
  if (parameters.codec_id == AV_CODEC_ID_AAC && parameters.extradata_size == 0 && muxer != "mpegts" && muxer != "adts") {
    const AVBitStreamFilter* filter = av_bsf_get_by_name("aac_adtstoasc");
    if (filter == nullptr) throw Failure("ERR_UNSUPPORTED", "This FFmpeg has no aac_adtstoasc filter to copy ADTS AAC");
    AVBSFContext* raw = nullptr;
    Check(av_bsf_alloc(filter, &raw), "Cannot set up aac_adtstoasc");
    bsf_.reset(raw);
    Check(avcodec_parameters_copy(bsf_->par_in, &parameters), "Cannot set up aac_adtstoasc");
    bsf_->time_base_in = timeBase;
    Check(av_bsf_init(bsf_.get()), "Cannot set up aac_adtstoasc");
    // The filter learns the config from the first packet; the header (FLV's sequence header,
    // MP4's esds) is written before that, so it is made here from the parameters.
    uint8_t config[2];
    if (AudioSpecificConfig(parameters, config)) {
      AVCodecParameters* par = stream->codecpar;
      par->extradata = static_cast<uint8_t*>(av_mallocz(2 + AV_INPUT_BUFFER_PADDING_SIZE));
      if (par->extradata == nullptr) throw Failure("ERR_NO_MEMORY", "Cannot allocate extradata");
      std::memcpy(par->extradata, config, 2);
      par->extradata_size = 2;
    }
  }
}

void StreamCopy::Write(AVPacket* packet, const PacketSink& sink) {
  if (!bsf_) {
    sink(packet);
    return;
  }
  Check(av_bsf_send_packet(bsf_.get(), packet), "Cannot filter a copied packet");  // takes the packet's data
  Drain(sink);
}

void StreamCopy::Flush(const PacketSink& sink) {
  if (!bsf_ || flushed_) return;
  flushed_ = true;
  Check(av_bsf_send_packet(bsf_.get(), nullptr), "Cannot flush the bitstream filter");
  Drain(sink);
}

void StreamCopy::Drain(const PacketSink& sink) {
  for (;;) {
    int ret = av_bsf_receive_packet(bsf_.get(), filtered_.get());
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
    if (ret < 0) throw Failure::FromAv(ret, "Cannot filter a copied packet");
    sink(filtered_.get());
    av_packet_unref(filtered_.get());
  }
}

}  // namespace streamcoder
