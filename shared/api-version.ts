// The header every answer under /v2/ carries: clients check it on the /v2/ ping to know they are
// talking to a Distribution API registry.
export const API_VERSION_HEADER = 'Docker-Distribution-API-Version';
export const API_VERSION = 'registry/2.0';
