// The etcd client as the cluster uses it: every call bounded in time, so that an API request
// answers within 2 s whatever etcd does (the client's defaults wait 30 s to connect and retry
// three times), and a dead endpoint skipped quickly in favour of the others.
import { ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleWhen, retry, type IBackoff } from 'cockatiel';
import { Etcd3, isRecoverableError } from 'etcd3';

/** The longest one unary call to etcd may take. */
export const CALL_TIMEOUT_MS = 1200;

export function connectEtcd(hosts: string[]): Etcd3 {
  return new Etcd3({
    hosts,
    dialTimeout: CALL_TIMEOUT_MS,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + CALL_TIMEOUT_MS }),
    faultHandling: {
      // A failed call is tried once more, on another endpoint where there is one.
      global: retry(handleWhen(isRecoverableError), { maxAttempts: hosts.length > 1 ? 1 : 0 }),
      // An endpoint that failed twice in a row is skipped for a second.
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(2) }),
      // A lost watch reconnects within a second, not the default 30 s at worst. The client calls
      // next() on what it is given, as on its own default (this same factory); its type names
      // the backoff that next() returns.
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1000 }) as unknown as IBackoff<unknown>,
    },
  });
}

/** `work` within `ms`, or an error saying the cluster's state cannot be reached. */
export async function withinTime<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: etcd did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
