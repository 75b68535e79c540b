export { buildApp, type AppDeps } from './app.js';
export { CACHE_POLICY, cacheControl, type CacheKind } from './cache-policy.js';
export { playbackUrls } from './routes/playback.js';
