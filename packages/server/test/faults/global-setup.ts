import type { TestProject } from 'vitest/node';
import {
  createThrowawayServices,
  removeThrowawayServices,
  type ThrowawayServices,
} from '../helpers/services.js';

/**
 * The fault pass's global setup: its own PostgreSQL and Redis (helpers/services.ts), made once for
 * the pass and removed after it. The shared helpers and the nodes they start find them through
 * NATTER_TEST_POSTGRES_URL and NATTER_TEST_REDIS_URL (the test workers inherit this environment);
 * the tests that restart them get them from `inject('faultServices')`. Without PostgreSQL's server
 * binaries or redis-server the pass is skipped with a loud warning, and fails under CI=true.
 */
export default async function throwawayServicesForTheFaultPass(project: TestProject) {
  let services: ThrowawayServices;
  try {
    services = await createThrowawayServices();
  } catch (error) {
    const why = `the fault pass cannot make its own PostgreSQL and Redis: ${(error as Error).message}`;
    if (process.env.CI === 'true') throw new Error(`${why}. CI must not skip it.`, { cause: error });
    project.provide('faultServices', { unavailable: why });
    return;
  }
  process.env.NATTER_TEST_POSTGRES_URL = services.postgres.url;
  process.env.NATTER_TEST_REDIS_URL = services.redis.url;
  project.provide('faultServices', services);
  return () => removeThrowawayServices(services);
}
