// The SDK's release. The bundle is served at /sdk/<SDK_PATH_VERSION>/ with immutable caching, so any change
// to what the bundle does ships under a new path version.
export const SDK_VERSION = '1.0.0';
export const SDK_PATH_VERSION = 'v1';
