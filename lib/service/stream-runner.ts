// A stream's own process (child_process.fork of dist/service/stream-runner.js): runs one
// pipeline and reports over IPC. A crash here, native code included, ends this process only;
// the service sees the exit and restarts the stream. Nothing here outlives the service: when the
// IPC channel goes (the service died, even by SIGKILL), the run is aborted and the process leaves.
import { StreamcoderError } from '../errors';
import { redactUrl } from '../redact';
import { runPipeline } from './run-pipeline';
import { DEADLINE_EXIT_CODE, type FromRunner, type ToRunner } from './runner-messages';

export type { FromRunner, ToRunner } from './runner-messages';

/** How long an aborted pipeline gets to close its output before this process leaves anyway. */
const EXIT_GRACE_MS = 4000;

function send(message: FromRunner): void {
  if (process.connected) process.send!(message);
}

function main(): void {
  const controller = new AbortController();
  let started = false;
  const leave = (code: number) => {
    // Let the last IPC message flush before the exit.
    setImmediate(() => process.exit(code));
  };
  const abort = () => {
    if (!controller.signal.aborted) controller.abort();
    setTimeout(() => process.exit(0), EXIT_GRACE_MS).unref();
    if (!started) process.exit(0);
  };
  process.on('disconnect', abort);
  process.on('SIGTERM', abort);
  process.on('SIGINT', abort);
  // In a cluster the service says by when this run must be off the air unless told later (its
  // lease's deadline): past it the process leaves at once, its connections closed by the kernel,
  // even if the service cannot tell it to (stopped, stalled, cut off from etcd).
  let deadline: NodeJS.Timeout | undefined;
  process.on('message', (message: ToRunner) => {
    if (message.type === 'deadline') {
      clearTimeout(deadline);
      deadline = setTimeout(() => process.exit(DEADLINE_EXIT_CODE), Math.max(0, message.until - Date.now()));
      return;
    }
    if (message.type === 'stop') {
      abort();
      return;
    }
    if (message.type !== 'start' || started) return;
    started = true;
    const thumbnail = (jpeg: Uint8Array) => send({ type: 'thumbnail', jpeg: Buffer.from(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength).toString('base64') });
    runPipeline(message.spec, { retry: message.retry, bounds: message.bounds, threads: message.threads ?? 0 }, (progress) => send({ type: 'progress', progress }), controller.signal, thumbnail).then(
      (stats) => {
        send({ type: 'done', frames: stats.frames });
        leave(0);
      },
      (error: unknown) => {
        if (controller.signal.aborted) {
          send({ type: 'stopped', frames: (error as { stats?: { frames: number } }).stats?.frames ?? 0 });
          leave(0);
          return;
        }
        const message = redactUrl(error instanceof Error ? error.message : String(error));
        send({ type: 'error', message, code: error instanceof StreamcoderError ? error.code : 'ERR_INTERNAL' });
        leave(1);
      },
    );
  });
}

main();
