// A channel that never goes dark: `pipeline()`'s fallbacks and slate (native/media/input_switch.h
// does the switching). What the caller may ask, checked; how the native switch's figures read in
// the caller's terms (inputs named by their masked URLs, the slate as 'slate').
import { DECODER_OPTION_KEYS, LIBAV_OPTIONS_HINT, type DecoderOptions } from '../decoder';
import { redactUrl } from '../redact';
import * as check from '../validate';

/** The failover part of {@link PipelineOptions}. */
export interface FailoverOptions {
  /**
   * Inputs that stand in for `input`, in order. The fallbacks of the input on air stand by: kept
   * open and decoded all along (a decode each), so that when the one on air delivers no picture
   * for `inputTimeoutMs`, fails or ends, a live one takes over at once; with none, the slate
   * goes on air, and the first input (primary first) that delivers steadily again goes on after
   * it. A file that played to its end is not tried again; a live source is, for as long as the
   * pipeline runs. Decoded like `input` (the same `decoder` options), to its size, pixel format
   * and sound format; one at a higher frame rate thinned to the outputs' by time, at a lower one
   * its pictures repeated. Files or URLs.
   */
  fallbacks?: FailoverInput[];
  /**
   * What goes on air while no input delivers: an image (shown still) or a clip (looped, a
   * picture per frame time; its sound is not used), scaled to the output's size. Silence goes
   * out with it, so players keep their audio clock. Default: a black picture.
   */
  slate?: FailoverInput;
  /** No picture from the input on air for this long (100 to 600000 ms): it has failed. Default 2000. */
  inputTimeoutMs?: number;
  /**
   * Back to an earlier input (the primary first) as soon as it delivers steadily: a keyframe,
   * then pictures for a second. Default true. From the slate, any input that delivers goes on.
   */
  switchBack?: boolean;
  /** Called on the event loop after each switch. */
  onInputSwitch?: (event: InputSwitchEvent) => void;
}

/**
 * A fallback or a slate: a file or URL, or one with decoder options of its own over the
 * pipeline's `decoder` (a transport, a timeout, the directory it is confined to).
 */
export type FailoverInput = string | { input: string; decoder?: DecoderOptions };

/** A fallback or the slate, checked. */
export interface FailoverSource {
  input: string;
  decoder: DecoderOptions;
}

export const FAILOVER_OPTION_KEYS = ['fallbacks', 'slate', 'inputTimeoutMs', 'switchBack', 'onInputSwitch'] as const satisfies readonly (keyof FailoverOptions)[];

/**
 * One switch: inputs by their masked URL (with fallbacks, `input <i> (<masked URL>)`, the primary
 * being input 0), the slate as 'slate'.
 */
export interface InputSwitchEvent {
  from: string;
  to: string;
  reason: string;
  /** ms since the epoch. */
  at: number;
}

/** Which input is on air and how long each was. */
export interface FailoverStats {
  /** The input on air (named as in {@link InputSwitchEvent}), or 'slate'. */
  current: string;
  switches: number;
  /** Seconds on air of each input, in the order given (the primary first). */
  inputSeconds: number[];
  slateSeconds: number;
}

/** The switch's settings as the native side takes them (binding.d.ts NativeFailover, the inputs aside). */
interface SwitchSettings {
  inputTimeoutMs: number;
  switchBack: boolean;
  steadyMs: number;
}

/**
 * The native switch's figures (binding.d.ts NativeSwitchStats, said again here: the published
 * declarations do not include the raw binding's).
 */
interface SwitchFigures {
  current: number;
  switches: number;
  secondsOn: number[];
  events: { from: number; to: number; reason: string; at: number }[];
  eventCount: number;
}

/** The checked options, ready for the native switch; null without fallbacks or a slate. */
export interface Failover {
  native: SwitchSettings;
  labels: string[];
  fallbacks: FailoverSource[];
  slate: FailoverSource | null;
  onInputSwitch: ((event: InputSwitchEvent) => void) | null;
}

/**
 * The failover options checked: null when none is set. `refuse` names what cannot go with them
 * (copied video, a looped input, the workers engine), as the caller wrote it.
 */
export function normaliseFailover(options: FailoverOptions & { input: string }, refuse: { option: string; value: unknown; why: string } | null): Failover | null {
  const set = FAILOVER_OPTION_KEYS.filter((key) => options[key] !== undefined);
  if (set.length === 0) return null;
  if (refuse) throw check.invalid(refuse.option, `nothing with ${set.join(', ')} (${refuse.why})`, refuse.value);
  if (options.fallbacks !== undefined && (!Array.isArray(options.fallbacks) || options.fallbacks.length > 16)) {
    throw check.invalid('fallbacks', 'a list of at most 16 files or URLs', options.fallbacks);
  }
  const fallbacks = (options.fallbacks ?? []).map((f, i) => source(f, `fallbacks[${i}]`));
  const slate = options.slate === undefined ? null : source(options.slate, 'slate');
  const inputTimeoutMs = options.inputTimeoutMs === undefined ? 2000 : check.integer(options.inputTimeoutMs, 'inputTimeoutMs', 100, 600_000);
  const switchBack = options.switchBack === undefined ? true : check.boolean(options.switchBack, 'switchBack');
  if (options.onInputSwitch !== undefined && typeof options.onInputSwitch !== 'function') throw check.invalid('onInputSwitch', 'a function', options.onInputSwitch);
  return {
    native: { inputTimeoutMs, switchBack, steadyMs: 1000 },
    // Masked, two inputs of one server could read the same (rtmp://a/live/*** for every key).
    labels: [options.input, ...fallbacks.map((f) => f.input)].map((url, i, all) => (all.length > 1 ? `input ${i} (${redactUrl(url)})` : redactUrl(url))),
    fallbacks,
    slate,
    onInputSwitch: options.onInputSwitch ?? null,
  };
}

function source(value: unknown, name: string): FailoverSource {
  if (typeof value === 'string') return { input: check.string(value, name), decoder: {} };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw check.invalid(name, 'a file or URL, or { input, decoder }', value);
  const o = value as { input?: unknown; decoder?: DecoderOptions };
  check.knownOptions(o, ['input', 'decoder'], `pipeline ${name}`);
  const decoder = check.optionsObject(o.decoder, `${name}.decoder`) as DecoderOptions;
  check.knownOptions(decoder, DECODER_OPTION_KEYS, `pipeline ${name}.decoder`, LIBAV_OPTIONS_HINT);
  for (const stream of ['audio', 'video', 'pixelFormat', 'width', 'height'] as const) {
    if (decoder[stream] !== undefined) throw check.invalid(`${name}.decoder.${stream}`, "nothing (every input is delivered as the pipeline's first)", decoder[stream]);
  }
  return { input: check.string(o.input, `${name}.input`), decoder };
}

/** The native switch's figures in the caller's terms. */
export function failoverStats(stats: SwitchFigures, labels: readonly string[]): FailoverStats {
  return {
    current: nameOf(stats.current, labels),
    switches: stats.switches,
    inputSeconds: stats.secondsOn.slice(0, labels.length),
    slateSeconds: stats.secondsOn[labels.length] ?? 0,
  };
}

/** The events after the first `seen` of all ever made, named. */
export function newSwitchEvents(stats: SwitchFigures, seen: number, labels: readonly string[]): InputSwitchEvent[] {
  const fresh = Math.min(stats.events.length, stats.eventCount - seen);
  return stats.events.slice(stats.events.length - fresh).map((e) => ({ from: nameOf(e.from, labels), to: nameOf(e.to, labels), reason: e.reason, at: e.at }));
}

function nameOf(index: number, labels: readonly string[]): string {
  return index < 0 ? 'slate' : labels[index] ?? `input ${index}`;
}
