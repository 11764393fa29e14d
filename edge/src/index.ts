// The edge Worker: serves pulls from the regional cache, sends everything else to origin.
// See docs/architecture.md ("The edge") for the design and its bounds.
import { createApp } from './app.ts';
import type { Env } from './config.ts';

export { ChunkLock } from './coalescer.ts';

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
