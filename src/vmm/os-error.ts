/** Host I/O failures worded as Firecracker words them (the one implementation lives in util/). */
export { osErrorText } from '../util/os-error.js';
