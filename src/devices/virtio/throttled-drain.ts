import type { RateLimiter } from '../../rate-limiter/rate-limiter.js';
import type { DescriptorChain } from './descriptor-chain.js';
import type { Queue } from './queue.js';

/**
 * Serves every available request of a queue, each charged to the rate limiter first. A request the
 * limiter refuses goes back to the avail ring (Firecracker's undo_pop) to be served on a later retry;
 * `cost` < 0 marks a request too malformed to charge (it is answered at once, free). Returns whether a
 * request was held back; the caller notifies the driver as the queue says.
 */
export function drainThrottled(
  q: Queue,
  limiter: RateLimiter | undefined,
  cost: (chain: DescriptorChain) => number,
  serve: (chain: DescriptorChain) => number,
): boolean {
  for (let chain = q.pop(); chain; chain = q.pop()) {
    if (limiter?.enabled) {
      const bytes = cost(chain);
      if (bytes >= 0 && !limiter.admit(bytes)) {
        q.undoPop();
        return true;
      }
    }
    q.addUsed(chain.head, serve(chain));
  }
  return false;
}
