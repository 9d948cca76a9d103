// `capstan init`: the deploy tree of a new application, planned (pure) then written without overwriting.
export { parseCommand, planScaffold, validateScaffoldOptions } from './plan-scaffold.js';
export type { ScaffoldOptions, ScaffoldPlan } from './plan-scaffold.js';
export { writeScaffold } from './write-scaffold.js';
export type { WriteScaffoldOptions, WriteScaffoldResult } from './write-scaffold.js';
