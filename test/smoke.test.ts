import { expect, test } from 'vitest';
import { Decoder } from '../lib';
import { fixture } from './helpers/fixtures';
import { probeFrameCount } from './helpers/ffmpeg-cli';

test('decodes every frame of an H.264 file with B-frames', () => {
  const file = fixture('h264-bframes.mp4');
  const dec = Decoder.openSync(file);
  let n = 0;
  while (dec.extractFrame()) n++;
  dec.close();
  expect(n).toBe(probeFrameCount(file));
});
