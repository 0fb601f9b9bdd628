// An EventEmitter typed by an event map: only the map's names are taken, each listener with its
// arguments. The public emitters (Server, Encoder, Client) are typed by this rather than by
// @types/node's EventEmitter<T>, which accepts any name and has changed shape between versions
// (its 26.x refuses the narrower signatures its 20.x to 24.x took): the published declarations
// must compile against whichever @types/node a user has. At run time it is Node's EventEmitter.
import { EventEmitter } from 'node:events';

/** Each event's listener arguments. */
export type EventMap<E> = { [K in keyof E]: unknown[] };

type Listener<E extends EventMap<E>, K extends keyof E> = (...args: E[K]) => void;

export interface TypedEventEmitter<E extends EventMap<E>> {
  on<K extends keyof E>(eventName: K, listener: Listener<E, K>): this;
  once<K extends keyof E>(eventName: K, listener: Listener<E, K>): this;
  addListener<K extends keyof E>(eventName: K, listener: Listener<E, K>): this;
  prependListener<K extends keyof E>(eventName: K, listener: Listener<E, K>): this;
  prependOnceListener<K extends keyof E>(eventName: K, listener: Listener<E, K>): this;
  off<K extends keyof E>(eventName: K, listener: Listener<E, K>): this;
  removeListener<K extends keyof E>(eventName: K, listener: Listener<E, K>): this;
  removeAllListeners(eventName?: keyof E): this;
  emit<K extends keyof E>(eventName: K, ...args: E[K]): boolean;
  listenerCount(eventName: keyof E): number;
  listeners<K extends keyof E>(eventName: K): Listener<E, K>[];
  rawListeners<K extends keyof E>(eventName: K): Listener<E, K>[];
  eventNames(): (keyof E)[];
  setMaxListeners(n: number): this;
  getMaxListeners(): number;
}

/** Node's EventEmitter, as a base class whose instances are `TypedEventEmitter<E>`. */
export const TypedEventEmitter = EventEmitter as unknown as new <E extends EventMap<E>>() => TypedEventEmitter<E>;
