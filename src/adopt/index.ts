// Taking over what another tool deployed: a live Helm release becomes a Capstan environment.
export { adoptHelmRelease, releaseFromHelm } from './adopt.js';
export type { AdoptHelmOptions, AdoptHelmResult } from './adopt.js';
export { adoptionRefusal, decodeHelmRelease, helmStorageSelector, latestRevision } from './helm-release.js';
export type { HelmHook, HelmRelease } from './helm-release.js';
export { fileNameOf, manifestObjects, planAdoption } from './plan-adoption.js';
export type { AdoptionPlan } from './plan-adoption.js';
