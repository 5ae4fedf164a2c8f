import type { Readable } from 'node:stream';
import type { Descriptor } from './manifest.js';

/**
 * Where an image's documents and blobs come from: an OCI layout directory, an archive, or a registry.
 * The puller (pull.ts) checks every byte it gets against the digest that named it; a source only finds
 * and delivers.
 */
export interface ImageSource {
  /** The reference as the user wrote it, for messages. */
  readonly name: string;
  /**
   * The document the reference names (an index or a manifest), with the digest that names it when the
   * source knows one (it is then checked), and the media type the transport gave.
   */
  top(): Promise<{ bytes: Uint8Array; digest?: string; mediaType?: string }>;
  /** A manifest an index points to (registries serve these apart from blobs). */
  manifest(desc: Descriptor): Promise<Uint8Array>;
  /** A blob (config or layer) by its descriptor. */
  blob(desc: Descriptor): Promise<Readable>;
  /** Removes anything the source unpacked. */
  close(): Promise<void>;
}
