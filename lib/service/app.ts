// The HTTP API (fastify): routes, the bearer-token check, the request schemas and how their
// faults are told (one message per fault), the publish-token endpoints, /metrics, the status page.
import fs from 'node:fs';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { tokenFault, tokenMatches } from './auth';
import { createMetrics } from './metrics';
import { STATUS_PAGE_HTML, STATUS_PAGE_SCRIPT } from './status-page';
import type { PublishTokens } from './publish-tokens';
import type { ClusterService } from './cluster/cluster-service';
import { ServiceError } from './service';
import { createStreamSchema, filePathOf, ID_PATTERN, specFaults, type InputPolicy, type StreamSpec } from './spec';
import type { Streams } from './streams';

export interface AppOptions {
  service: Streams;
  /** In a cluster: the node's membership, for GET /v1/nodes and the peers' etcd question. */
  cluster?: ClusterService;
  token: string;
  inputPolicy: InputPolicy;
  publishTokens: PublishTokens;
  /** rtmp://host:port of the nginx-rtmp server publish URLs point at. */
  rtmpUrl: string;
  /** Longest request body, bytes. */
  bodyLimit?: number;
  /** Longest a request may take to arrive whole, headers and body, ms (default 10 s). */
  requestTimeoutMs?: number;
}

/**
 * The API takes small JSON bodies: a request that has not arrived whole in 10 s is a slow client
 * holding a connection (Node's own default waits 300 s), answered 408 and closed.
 */
const REQUEST_TIMEOUT_MS = 10_000;

/** nginx-rtmp's on_publish fields: strings only (each given once), the ones it sends. */
const onPublishSchema = {
  type: 'object',
  additionalProperties: { type: 'string', maxLength: 1024 },
} as const;

/** What a field must look like, for the faults whose schema words ("must match pattern ...") say nothing useful. */
const FIELD_HINTS: Record<string, string> = {
  id: "must be 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit",
  size: 'must be WIDTHxHEIGHT, such as 1280x720',
  bitrate: "must be bits per second: an integer from 10000 to 200000000, or a string such as '2500k' or '2.5M'",
  app: "must be 1 to 64 letters, digits, '_' or '-'",
  stream: "must be 1 to 64 letters, digits, '_' or '-'",
  url: 'must hold no white space or control characters (a newline, a tab)',
  input: 'must hold no white space or control characters (a newline, a tab)',
};

interface AjvFault {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** '/outputs/0/url' -> 'outputs[0].url'. */
function fieldName(instancePath: string): string {
  if (!instancePath) return 'body';
  return instancePath.slice(1).split('/').map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : i ? `.${part}` : part)).join('');
}

/** One message per fault: the branches of an anyOf collapse into the anyOf's own message. */
export function faultMessages(faults: AjvFault[]): string[] {
  const anyOfPaths = new Set(faults.filter((f) => f.keyword === 'anyOf').map((f) => f.instancePath));
  const messages = new Set<string>();
  for (const fault of faults) {
    if (anyOfPaths.has(fault.instancePath) && fault.keyword !== 'anyOf') continue;
    const field = fieldName(fault.instancePath);
    const last = fault.instancePath.split('/').at(-1) ?? '';
    switch (fault.keyword) {
      case 'required':
        messages.add(`${field}: '${String(fault.params.missingProperty)}' is required`);
        break;
      case 'additionalProperties':
        messages.add(`${field}: unknown property '${String(fault.params.additionalProperty)}'`);
        break;
      case 'enum':
        messages.add(`${field}: must be one of ${(fault.params.allowedValues as unknown[]).join(', ')}`);
        break;
      case 'pattern':
      case 'anyOf':
        messages.add(`${field}: ${FIELD_HINTS[last] ?? fault.message}`);
        break;
      default:
        messages.add(`${field}: ${fault.message}`);
    }
  }
  return [...messages];
}

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: ID_PATTERN } },
} as const;

const NAME = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } as const;
const publishUrlSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['app', 'stream'],
  properties: { app: NAME, stream: NAME, ttlSeconds: { type: 'integer', minimum: 1, maximum: 86400 } },
} as const;

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Answered without the bearer token. */
    public?: boolean;
  }
}

export function buildApp(options: AppOptions): FastifyInstance {
  const { service } = options;
  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const app = Fastify({
    bodyLimit: options.bodyLimit ?? 64 * 1024,
    requestTimeout,
    // Headers alone within the same bound (Node's default is 60 s), checked every second (Node
    // looks every 30 s by default, so a 10 s bound could wait 40).
    http: { headersTimeout: requestTimeout, connectionsCheckingInterval: 1000 },
    // Every fault of a body at once; nothing coerced or removed: a wrong type or an unknown
    // property is a fault, never silently fixed.
    ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: false } },
    logger: false,
  });

  // An empty body with a JSON content type (what many clients send with a POST that needs none)
  // is no body, not a fault; a route that needs one still refuses it by its schema.
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if ((body as string).trim() === '') return done(null, undefined);
    json(request, body as string, done);
  });

  // JSON bodies only, but for nginx-rtmp's on_publish, which posts form fields.
  app.removeContentTypeParser('text/plain');
  // A field given twice is refused, not decided by order (the last would win).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 8192 }, (_request, body, done) => {
    const fields: Record<string, string> = {};
    for (const [key, value] of new URLSearchParams(body as string)) {
      if (Object.hasOwn(fields, key)) {
        done(Object.assign(new Error(`the field '${key}' is given twice`), { statusCode: 400 }), undefined);
        return;
      }
      fields[key] = value;
    }
    done(null, fields);
  });

  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config?.public) return;
    if (!tokenMatches(request.headers.authorization, options.token)) {
      reply.header('www-authenticate', 'Bearer').code(401);
      return reply.send({ error: 'Unauthorized', messages: [tokenFault(request.headers.authorization)] });
    }
  });

  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error.validation) {
      return reply.code(400).send({ error: 'Bad Request', messages: faultMessages(error.validation as AjvFault[]) });
    }
    if (error instanceof ServiceError) return reply.code(error.statusCode).send({ error: error.message, messages: [error.message] });
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    const message = status === 500 ? 'internal error' : error.message;
    return reply.code(status).send({ error: message, messages: [message] });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: 'Not Found', messages: [`no route ${request.method} ${request.url.split('?')[0]}`] });
  });

  app.get('/healthz', { config: { public: true } }, async () => ({ ok: true, streams: service.size }));

  // The page and its script hold no data: they ask the API with the token the operator gives.
  const pageHeaders = {
    'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data: blob:",
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
  app.get('/', { config: { public: true } }, async (_request, reply) => reply.headers(pageHeaders).type('text/html; charset=utf-8').send(STATUS_PAGE_HTML));
  app.get('/status.js', { config: { public: true } }, async (_request, reply) => reply.headers(pageHeaders).type('text/javascript; charset=utf-8').send(STATUS_PAGE_SCRIPT));

  // Browsers ask for it by themselves; without this they log the 401 of an unknown route.
  app.get('/favicon.ico', { config: { public: true } }, async (_request, reply) => reply.code(204).send());

  // Each node's own streams: a cluster is scraped node by node, as Prometheus does anyway.
  const metrics = createMetrics(() => service.localViews(), options.cluster);
  app.get('/metrics', async (_request, reply) => reply.type(metrics.contentType).send(await metrics.metrics()));

  streamRoutes(app, options);
  if (options.cluster) clusterRoutes(app, options.cluster);
  publishRoutes(app, options);
  return app;
}

function streamRoutes(app: FastifyInstance, options: AppOptions): void {
  const { service } = options;
  app.get('/v1/streams', async () => {
    const streams = await service.views();
    return streams.some((s) => s.stale) ? { streams, stale: true } : { streams };
  });
  app.post<{ Body: Omit<StreamSpec, 'id'> & { id?: string } }>('/v1/streams', { schema: { body: createStreamSchema } }, async (request, reply) => {
    const faults = specFaults(request.body, options.inputPolicy);
    if (faults.length) return reply.code(400).send({ error: 'Bad Request', messages: faults });
    // A file (input, fallback, slate) is kept by its real path, the one checked: a link changed
    // later cannot lead the stream out of the allowed directory.
    const real = (url: string) => {
      const file = filePathOf(url);
      return file === null ? url : fs.realpathSync(file);
    };
    const { input, fallbacks, slate } = request.body;
    return reply.code(201).send(await service.create({
      ...request.body,
      input: real(input),
      ...(fallbacks ? { fallbacks: fallbacks.map(real) } : {}),
      ...(slate !== undefined ? { slate: real(slate) } : {}),
    }));
  });
  type ById = { Params: { id: string } };
  app.get<ById>('/v1/streams/:id', { schema: { params: idParams } }, async (request) => service.view(request.params.id));
  app.get<ById>('/v1/streams/:id/thumbnail', { schema: { params: idParams } }, async (request, reply) => {
    const jpeg = service.thumbnail(request.params.id);
    // No picture (not running, none yet, or run by another node): nothing to show, not a fault.
    if (jpeg === null) return reply.code(204).send();
    return reply.headers({ 'cache-control': 'no-store' }).type('image/jpeg').send(jpeg);
  });
  app.post<ById>('/v1/streams/:id/stop', { schema: { params: idParams } }, async (request) => service.stop(request.params.id));
  app.post<ById>('/v1/streams/:id/start', { schema: { params: idParams } }, async (request) => service.start(request.params.id));
  app.post<ById>('/v1/streams/:id/restart', { schema: { params: idParams } }, async (request) => service.restart(request.params.id));
  app.delete<ById>('/v1/streams/:id', { schema: { params: idParams } }, async (request, reply) => {
    await service.remove(request.params.id);
    return reply.code(204).send();
  });
}

function clusterRoutes(app: FastifyInstance, cluster: ClusterService): void {
  app.get('/v1/nodes', async () => ({ nodes: cluster.nodes(), node: cluster.name, leader: cluster.cache.leader?.value ?? null, stale: !cluster.cache.connected || !cluster.membership.reachable }));
  // A peer that cannot reach etcd asks whether this node can (see membership.ts): whether it may
  // push on, or must stop before its lease can expire here.
  app.get('/v1/cluster/etcd', async () => ({ node: cluster.name, reachable: cluster.membership.reachable }));
}

function publishRoutes(app: FastifyInstance, options: AppOptions): void {
  app.post<{ Body: { app: string; stream: string; ttlSeconds?: number } }>('/v1/publish-urls', { schema: { body: publishUrlSchema } }, async (request, reply) => {
    const { app: application, stream, ttlSeconds = 3600 } = request.body;
    const expiresAt = Math.floor(Date.now() / 1000) + ttlSeconds;
    const token = options.publishTokens.sign(application, stream, expiresAt);
    return reply.code(201).send({
      url: `${options.rtmpUrl.replace(/\/+$/, '')}/${application}/${stream}?token=${token}`,
      expiresAt: new Date(expiresAt * 1000).toISOString(),
    });
  });

  // nginx-rtmp's on_publish: `call=publish&app=...&name=...&token=...` (the publish URL's query
  // arguments come as fields of their own). A 2xx admits the publish, anything else refuses it.
  // No bearer token (nginx cannot send one): the signed token is the credential, and only a
  // caller on this machine is answered.
  app.post<{ Body: Record<string, string> }>('/v1/rtmp/on-publish', { config: { public: true }, schema: { body: onPublishSchema } }, async (request: FastifyRequest<{ Body: Record<string, string> }>, reply) => {
    if (!LOOPBACK.has(request.ip)) return reply.code(403).send('forbidden');
    const body = request.body ?? {};
    const why = body.call !== undefined && body.call !== 'publish'
      ? 'not a publish'
      : options.publishTokens.check(body.app ?? '', body.name ?? '', body.token);
    if (why) {
      request.log.warn({ app: body.app, why }, 'publish refused');
      return reply.code(403).type('text/plain').send(`refused: ${why}`);
    }
    return reply.code(200).type('text/plain').send('ok');
  });
}
