/** Moved to util (the file-opening helper words its errors the same way); kept so imports stay short. */
export { osErrorText } from '../util/os-error.js';
