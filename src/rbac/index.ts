// The least privilege a deploy identity needs for one environment: Roles computed from the rendered kinds plus what Capstan calls.
export { computeEnvironmentRbac, formatRbacYaml } from './environment-rbac.js';
export type { EnvironmentRbac, EnvironmentRbacOptions } from './environment-rbac.js';
export { mergeRules, parseSubject, planRbac, planWatchRbac, rbacObjects } from './plan-rbac.js';
export type { RbacPlan, RbacPlanInput, RbacResource, RbacRule, RbacSubject } from './plan-rbac.js';
