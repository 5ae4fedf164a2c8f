/**
 * Successful VMM answers as HTTP (Firecracker's `convert_to_response`): Empty → 204 without a body,
 * anything with data → 200 and the JSON of firecracker-api.yaml's matching definition.
 */
import type { VmmData } from '../vmm/actions.js';
import type { HttpAnswer } from './api-error.js';

export function dataToHttp(data: VmmData): HttpAnswer {
  switch (data.type) {
    case 'Empty':
      return { status: 204 };
    case 'MachineConfiguration':
      return { status: 200, body: data.config };
    case 'FullVmConfig':
      return { status: 200, body: data.config };
    case 'InstanceInformation':
      return { status: 200, body: data.info };
    case 'VmmVersion':
      return { status: 200, body: { firecracker_version: data.version } };
    case 'MmdsValue':
      return { status: 200, rawJson: data.json };
  }
}
