// Global setup of the project that runs on Redis: checks, once per run, that it answers.
import { Redis } from 'ioredis';
import { REDIS_URL } from './registry.ts';

export default async function setup(): Promise<void> {
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(
      `the tests need Redis at ${REDIS_URL} (start it, or run npm run test:all, which does): ${(error as Error).message}`,
    );
  } finally {
    redis.disconnect();
  }
}
