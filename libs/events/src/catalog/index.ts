import { EventCatalog } from '../catalog.ts';
import { projectEvents } from './projects.ts';
import { recordEvents } from './records.ts';
import { labelingEvents } from './labeling.ts';
import { identityEvents } from './identity.ts';
import { browsingEvents } from './browsing.ts';
import { heuristicEvents } from './heuristics.ts';
import { weakSupervisionEvents } from './weak-supervision.ts';
import { distributionEvents } from './distribution.ts';
import { crowdEvents } from './crowd.ts';

export * from './projects.ts';
export * from './records.ts';
export * from './labeling.ts';
export * from './identity.ts';
export * from './browsing.ts';
export * from './heuristics.ts';
export * from './weak-supervision.ts';
export * from './distribution.ts';
export * from './crowd.ts';

/** Every event type the product writes. Add new definitions here; never remove one. */
export const catalog = new EventCatalog([...projectEvents, ...recordEvents, ...labelingEvents, ...identityEvents, ...browsingEvents, ...heuristicEvents, ...weakSupervisionEvents, ...distributionEvents, ...crowdEvents]);
