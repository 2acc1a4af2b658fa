import type { Projection } from '@refinery/projector';
import { projectsProjection } from './projects/projection.ts';
import { recordsProjection } from './records/projection.ts';
import { labelingConfigProjection, recordLabelsProjection } from './labeling/index.ts';
import { identityProjection, membershipsProjection } from './identity/index.ts';
import { slicesProjection } from './browser/index.ts';
import { sessionsProjection } from './sessions/index.ts';
import { heuristicsProjection } from './heuristics/index.ts';
import { weakSupervisionProjection } from './weak-supervision/index.ts';
import { metricsProjection } from './metrics/index.ts';
import { crowdLinksProjection } from './crowd/index.ts';

export * from './projects/queries.ts';
export * from './records/queries.ts';
export * from './labeling/index.ts';
export * from './identity/index.ts';
export * from './browser/index.ts';
export * from './sessions/index.ts';
export * from './export/index.ts';
export * from './heuristics/index.ts';
export * from './weak-supervision/index.ts';
export * from './metrics/index.ts';
export * from './crowd/index.ts';
export { projectsProjection, recordsProjection };

/** Every read model of the product, in the order the projector starts them. */
export const allProjections: readonly Projection[] = [projectsProjection, recordsProjection, labelingConfigProjection, recordLabelsProjection, identityProjection, membershipsProjection, slicesProjection, sessionsProjection, heuristicsProjection, metricsProjection, weakSupervisionProjection, crowdLinksProjection];
