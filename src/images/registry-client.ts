import { Readable } from 'node:stream';
import { ImageError } from './image-error.js';
import { MANIFEST_ACCEPT, type Descriptor } from './manifest.js';
import type { ImageSource } from './image-source.js';

/**
 * A client of the OCI distribution API (distribution-spec spec.md "Pull"): manifests by tag or digest,
 * blobs by digest, following redirects (blobs often live on another host). Authentication follows the
 * registry's challenge: on a 401 with `WWW-Authenticate: Bearer realm=…,service=…,scope=…` a token is
 * fetched from the realm (anonymously, or with basic credentials when given) and the request retried;
 * a `Basic` challenge is answered with the credentials.
 *
 * HTTPS always, except for registries on the loopback interface: as Docker does for localhost, an
 * HTTPS attempt that fails to connect or handshake falls back to plain HTTP there.
 */

export interface RegistryCredentials {
  username: string;
  password: string;
}

export interface RegistryOptions {
  credentials?: RegistryCredentials;
  /** Per-request timeout for headers (ms); default 30 s. */
  timeoutMs?: number;
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/;

export function isLoopbackRegistry(host: string): boolean {
  return LOOPBACK.test(host);
}

/** `Bearer realm="…",service="…"` → { scheme, params }. Quoted values may hold commas. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const m = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (!m) return { scheme: '', params: {} };
  const params: Record<string, string> = {};
  for (const p of m[2].matchAll(/(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
  return { scheme: m[1].toLowerCase(), params };
}

export class RegistryClient {
  private scheme: 'https' | 'http' | undefined;
  private token: string | undefined;

  constructor(readonly registry: string, readonly repository: string, private readonly opts: RegistryOptions = {}) {}

  private get what(): string {
    return `${this.registry}/${this.repository}`;
  }

  /** Decides HTTPS or (loopback only) HTTP with one GET /v2/. */
  private async base(): Promise<string> {
    if (this.scheme) return `${this.scheme}://${this.registry}`;
    try {
      await this.raw('https', '/v2/', {});
      this.scheme = 'https';
    } catch (e) {
      if (!isLoopbackRegistry(this.registry)) throw this.unreachable(e);
      try {
        await this.raw('http', '/v2/', {});
      } catch (e2) {
        throw this.unreachable(e2);
      }
      this.scheme = 'http';
    }
    return `${this.scheme}://${this.registry}`;
  }

  private unreachable(e: unknown): ImageError {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (e as Error).message;
    return new ImageError('unreachable', `Cannot reach the registry ${this.registry}: ${why}`, { cause: e });
  }

  private raw(scheme: string, path: string, headers: Record<string, string>): Promise<Response> {
    return fetch(`${scheme}://${this.registry}${path}`, { headers, redirect: 'follow', signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000) });
  }

  /** One GET with the current token; a 401 leads to one authentication round and a retry. */
  private async get(path: string, accept?: string): Promise<Response> {
    const base = await this.base();
    const send = async (): Promise<Response> => {
      const headers: Record<string, string> = {};
      if (accept) headers.accept = accept;
      if (this.token) headers.authorization = this.token;
      try {
        return await fetch(base + path, { headers, redirect: 'follow' });
      } catch (e) {
        throw this.unreachable(e);
      }
    };
    let res = await send();
    if (res.status === 401) {
      await res.body?.cancel();
      await this.authenticate(res.headers.get('www-authenticate') ?? '');
      res = await send();
      if (res.status === 401) {
        await res.body?.cancel();
        throw new ImageError('auth-failed', `The registry ${this.registry} refused access to ${this.repository} (401 after authenticating)`);
      }
    }
    return res;
  }

  private async authenticate(header: string): Promise<void> {
    const { scheme, params } = parseChallenge(header);
    const creds = this.opts.credentials;
    const basic = creds ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` : undefined;
    if (scheme === 'basic') {
      if (!basic) throw new ImageError('auth-failed', `The registry ${this.registry} wants a user name and password for ${this.repository}`);
      this.token = basic;
      return;
    }
    if (scheme !== 'bearer' || !params.realm) throw new ImageError('auth-failed', `The registry ${this.registry} asked for an authentication wisp does not know ("${header}")`);
    let url: URL;
    try {
      url = new URL(params.realm);
    } catch {
      throw new ImageError('auth-failed', `The registry ${this.registry} named an invalid token realm "${params.realm}"`);
    }
    if (params.service) url.searchParams.set('service', params.service);
    url.searchParams.set('scope', params.scope ?? `repository:${this.repository}:pull`);
    let res: Response;
    try {
      res = await fetch(url, { headers: basic ? { authorization: basic } : {}, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000) });
    } catch (e) {
      throw new ImageError('auth-failed', `Cannot get a token for ${this.what} from ${url.origin}: ${(e as Error).message}`, { cause: e });
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new ImageError('auth-failed', `The token service ${url.origin} refused ${this.what} (HTTP ${res.status})`);
    }
    let body: { token?: string; access_token?: string };
    try {
      body = (await res.json()) as typeof body;
    } catch (e) {
      throw new ImageError('auth-failed', `The token service ${url.origin} answered with invalid JSON`, { cause: e });
    }
    const token = body.token ?? body.access_token;
    if (typeof token !== 'string' || !token) throw new ImageError('auth-failed', `The token service ${url.origin} gave no token for ${this.what}`);
    this.token = `Bearer ${token}`;
  }

  private async failure(res: Response, what: string): Promise<ImageError> {
    let detail = '';
    try {
      const body = (await res.json()) as { errors?: { code?: string; message?: string }[] };
      const e = body.errors?.[0];
      if (e) detail = `: ${e.code ?? ''}${e.message ? ` (${e.message})` : ''}`;
    } catch {
      // Not a distribution-spec error body.
    }
    if (res.status === 404) return new ImageError('not-found', `${what} not found in ${this.what}${detail}`);
    if (res.status === 401 || res.status === 403) return new ImageError('auth-failed', `${this.registry} refused ${what} of ${this.repository} (HTTP ${res.status})${detail}`);
    return new ImageError('unreachable', `${this.registry} answered HTTP ${res.status} for ${what} of ${this.repository}${detail}`);
  }

  /** The manifest or index for a tag or digest, with the digest the registry says it has. */
  async manifest(reference: string): Promise<{ bytes: Uint8Array; mediaType?: string; digest?: string }> {
    const res = await this.get(`/v2/${this.repository}/manifests/${reference}`, MANIFEST_ACCEPT.join(', '));
    if (!res.ok) throw await this.failure(res, `manifest "${reference}"`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const mediaType = res.headers.get('content-type')?.split(';')[0].trim() || undefined;
    return { bytes, mediaType, digest: res.headers.get('docker-content-digest') ?? undefined };
  }

  async blob(digest: string): Promise<Readable> {
    const res = await this.get(`/v2/${this.repository}/blobs/${digest}`);
    if (!res.ok || !res.body) throw await this.failure(res, `blob ${digest}`);
    return Readable.fromWeb(res.body as import('node:stream/web').ReadableStream);
  }
}

export class RegistrySource implements ImageSource {
  private readonly client: RegistryClient;

  constructor(readonly name: string, registry: string, repository: string, private readonly tag: string | undefined, private readonly digest: string | undefined, opts?: RegistryOptions) {
    this.client = new RegistryClient(registry, repository, opts);
  }

  async top(): Promise<{ bytes: Uint8Array; digest?: string; mediaType?: string }> {
    const r = await this.client.manifest(this.digest ?? this.tag ?? 'latest');
    // Pulled by digest, that digest is what the bytes must match; by tag, the registry's header (if any).
    return { bytes: r.bytes, mediaType: r.mediaType, digest: this.digest ?? r.digest };
  }

  async manifest(desc: Descriptor): Promise<Uint8Array> {
    return (await this.client.manifest(desc.digest)).bytes;
  }

  blob(desc: Descriptor): Promise<Readable> {
    return this.client.blob(desc.digest);
  }

  async close(): Promise<void> {}
}
