/**
 * Errors of the metadata store (Firecracker's MmdsDatastoreError and MmdsTokenError). The messages
 * are Firecracker's, since API clients and guests see them.
 */
export type MmdsErrorCode = 'limit-exceeded' | 'not-found' | 'not-initialized' | 'unsupported-value-type' | 'invalid-ttl';

const MESSAGES: Record<Exclude<MmdsErrorCode, 'invalid-ttl'>, string> = {
  'limit-exceeded': "The MMDS patch request doesn't fit.",
  'not-found': 'The MMDS resource does not exist.',
  'not-initialized': 'The MMDS data store is not initialized.',
  'unsupported-value-type': 'Cannot retrieve value. The value has an unsupported type.',
};

export class MmdsError extends Error {
  constructor(
    readonly code: MmdsErrorCode,
    message?: string,
  ) {
    super(message ?? MESSAGES[code as keyof typeof MESSAGES] ?? code);
    this.name = 'MmdsError';
  }
}
