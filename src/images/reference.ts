import { ImageError } from './image-error.js';
import { parseDigest } from './digest.js';

/**
 * Image references as containers/image (skopeo, podman) spells them:
 *   oci:DIR[:TAG]               an OCI image layout directory (TAG: its org.opencontainers.image.ref.name)
 *   oci-archive:FILE[:TAG]      the same, as a tar file
 *   docker-archive:FILE[:NAME:TAG]  `docker save` output (NAME:TAG picks one of several images)
 *   [docker://]HOST[:PORT]/NAME[:TAG|@DIGEST]   a registry, over the OCI distribution API
 * A registry reference without a host (`debian:trixie`, `library/debian`) is Docker Hub's, as Docker
 * reads it. Paths end at the first ':' after the transport, as in containers/image.
 */
export type ImageReference =
  | { transport: 'oci'; path: string; tag?: string }
  | { transport: 'oci-archive'; path: string; tag?: string }
  | { transport: 'docker-archive'; path: string; name?: string }
  | { transport: 'registry'; registry: string; repository: string; tag?: string; digest?: string };

export const DOCKER_HUB = 'registry-1.docker.io';

const TAG = /^[\w][\w.-]{0,127}$/;
// distribution/reference: path components of lower-case alphanumerics joined by separators.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?$/;

function splitPath(rest: string): [string, string | undefined] {
  const i = rest.indexOf(':');
  return i < 0 ? [rest, undefined] : [rest.slice(0, i), rest.slice(i + 1)];
}

export function parseReference(text: string): ImageReference {
  const bad = (why: string): never => {
    throw new ImageError('bad-reference', `Invalid image reference "${text}": ${why}`);
  };
  for (const transport of ['oci', 'oci-archive', 'docker-archive'] as const) {
    if (!text.startsWith(`${transport}:`)) continue;
    const [path, extra] = splitPath(text.slice(transport.length + 1));
    if (!path) bad(`${transport}: needs a path`);
    if (transport === 'docker-archive') {
      if (extra !== undefined && !/^[^:]+:[^:]+$/.test(extra) && !/^[^:@]+$/.test(extra)) bad('the image in a docker archive is NAME:TAG');
      return { transport, path, name: extra || undefined };
    }
    if (extra !== undefined && !TAG.test(extra)) bad(`"${extra}" is not a valid tag`);
    return { transport, path, tag: extra || undefined };
  }
  let rest = text.startsWith('docker://') ? text.slice('docker://'.length) : text;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(rest)) {
    bad('unknown transport (use oci:, oci-archive:, docker-archive: or a registry reference)');
  }
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    try {
      parseDigest(digest);
    } catch (e) {
      bad((e as Error).message);
    }
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) bad(`"${tag}" is not a valid tag`);
  }
  const parts = rest.split('/');
  let registry: string;
  const first = parts[0];
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))) {
    registry = first;
    parts.shift();
    if (!HOST.test(registry)) bad(`"${registry}" is not a host name`);
  } else {
    registry = DOCKER_HUB;
    if (parts.length === 1) parts.unshift('library');
  }
  if (parts.length === 0 || parts.some((p) => !COMPONENT.test(p))) bad('repository names are lower-case letters, digits and separators (. _ -) between "/"');
  const repository = parts.join('/');
  if (repository.length > 255) bad('the repository name is longer than 255 characters');
  if (tag === undefined && digest === undefined) tag = 'latest';
  return { transport: 'registry', registry, repository, tag, digest };
}

/** The reference written back in its canonical form (for messages and cache records). */
export function formatReference(r: ImageReference): string {
  switch (r.transport) {
    case 'oci':
    case 'oci-archive':
      return `${r.transport}:${r.path}${r.tag ? `:${r.tag}` : ''}`;
    case 'docker-archive':
      return `docker-archive:${r.path}${r.name ? `:${r.name}` : ''}`;
    case 'registry':
      return `${r.registry}/${r.repository}${r.tag ? `:${r.tag}` : ''}${r.digest ? `@${r.digest}` : ''}`;
  }
}
