// The ES module entry: the names of the CommonJS build (dist/index.js), so `import { Decoder }`
// and `require('streamcoder')` share one copy of the library and one loaded addon. Listed by
// name because `export *` would also pass on the CommonJS marker `__esModule`;
// test/package.test.ts checks that this list and the CommonJS exports are the same.
export {
  AudioEncoder,
  Client,
  DEFAULT_MAX_PIXELS,
  Decoder,
  Encoder,
  FrameRing,
  LOG_LEVELS,
  MAX_CHANNELS,
  MAX_FRAME_RATE,
  MAX_PIXELS,
  MAX_SAMPLE_RATE,
  MAX_SLOTS,
  MAX_SLOT_BYTES,
  MAX_ENTRIES,
  MAX_TIMELINE_SECONDS,
  MIN_FRAME_RATE,
  MIN_SAMPLE_RATE,
  PIXEL_FORMATS,
  RECONNECT_DEFAULTS,
  SAMPLE_FORMATS,
  Server,
  StreamcoderError,
  ffmpegVersions,
  frameBytes,
  onLog,
  pipeline,
  redactUrl,
  setLogLevel,
} from './dist/index.js';
