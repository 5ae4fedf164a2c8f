/**
 * Why the controller refused an action (Firecracker's VmmActionError). The message is the user-facing
 * fault_message, worded as Firecracker words it where Firecracker has the same case; api-error.ts
 * turns it into HTTP.
 */
export type VmmActionErrorCode =
  | 'OperationNotSupportedPreBoot'
  | 'OperationNotSupportedPostBoot'
  | 'NotSupported'
  | 'BootSource'
  | 'DriveConfig'
  | 'MachineConfig'
  | 'EntropyDevice'
  | 'NetworkConfig'
  | 'SerialConfig'
  | 'VsockConfig'
  | 'MmdsConfig'
  | 'Mmds'
  /** A data store write past --mmds-size-limit: 413, as Firecracker answers it. */
  | 'MmdsLimitExceeded'
  | 'Logger'
  | 'Metrics'
  | 'StartMicrovm'
  | 'CreateSnapshot'
  | 'LoadSnapshot'
  | 'InternalVmm';

export class VmmActionError extends Error {
  constructor(
    readonly code: VmmActionErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'VmmActionError';
  }

  static preBoot(): VmmActionError {
    return new VmmActionError('OperationNotSupportedPreBoot', 'The requested operation is not supported before starting the microVM.');
  }
  static postBoot(): VmmActionError {
    return new VmmActionError('OperationNotSupportedPostBoot', 'The requested operation is not supported after starting the microVM.');
  }
}
