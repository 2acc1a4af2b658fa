import { describe, expect, it } from 'vitest';
import type { WeakSupervisionEvent } from '@refinery/events';
import { DomainError } from '../errors.ts';
import { specFor } from '../testing.ts';
import type { TaskDefinition } from '../labeling/config.ts';
import { emptyWeakSupervision, evolveWeakSupervision, weakSupervisionDecider } from './decider.ts';

const P = '00000000-0000-4000-8000-000000000001';
const RUN = '00000000-0000-4000-8000-0000000000aa';
const RUN2 = '00000000-0000-4000-8000-0000000000bb';
const task: TaskDefinition = {
  id: 't1',
  name: 'Spam',
  kind: 'single_label',
  attribute: null,
  allowOverlap: false,
  labels: new Map([['spam', { id: 'spam', name: 'SPAM', color: '#000000', hotkey: null, description: '' }]]),
};
const heuristics = [
  { id: 'h1', taskId: 't1' },
  { id: 'h2', taskId: 't1' },
  { id: 'hx', taskId: 't2' },
];
const given = specFor(weakSupervisionDecider);
const code = (c: string) => (e: unknown) => e instanceof DomainError && e.code === c;
const configured: WeakSupervisionEvent = {
  type: 'WeakSupervisionConfigured',
  data: { projectId: P, taskId: 't1', heuristicIds: ['h1', 'h2'], model: 'ds', autoRerun: true, minConfidence: 0.8 },
};
const configure = { type: 'ConfigureWeakSupervision', projectId: P, taskId: 't1', task, heuristics } as const;
const request = { type: 'RequestWeakSupervision', projectId: P, taskId: 't1', runId: RUN, task, heuristics, trigger: 'manual', requestedBy: 'u1' } as const;

describe('weak-supervision decider', () => {
  it('configures heuristics, model, auto re-run and minimum confidence; an unchanged configuration is a no-op', () => {
    given([]).when({ ...configure, heuristicIds: ['h1', 'h2'], model: 'ds', autoRerun: true, minConfidence: 0.8 }).then([configured]);
    given([configured]).when({ ...configure, minConfidence: 0.8 }).then([]);
    given([configured])
      .when({ ...configure, autoRerun: false })
      .then([{ type: 'WeakSupervisionConfigured', data: { ...configured.data, autoRerun: false } } as WeakSupervisionEvent]);
    // a first configuration with nothing given still records the defaults
    given([])
      .when(configure)
      .then([{ type: 'WeakSupervisionConfigured', data: { projectId: P, taskId: 't1', heuristicIds: [], model: 'ours', autoRerun: false, minConfidence: 0 } }]);
  });
  it('refuses unknown heuristics, heuristics of another task, duplicates, a bad confidence and a missing task', () => {
    given([]).when({ ...configure, heuristicIds: ['nope'] }).thenThrows(code('unknown_heuristic'));
    given([]).when({ ...configure, heuristicIds: ['hx'] }).thenThrows(code('heuristic_of_other_task'));
    given([]).when({ ...configure, heuristicIds: ['h1', 'h1'] }).thenThrows(code('duplicate_heuristic'));
    given([]).when({ ...configure, minConfidence: 1.5 }).thenThrows(code('invalid_confidence'));
    given([]).when({ ...configure, minConfidence: Number.NaN }).thenThrows(code('invalid_confidence'));
    given([]).when({ ...configure, task: undefined }).thenThrows(code('task_not_found'));
    given([]).when({ ...configure, task: { ...task, labels: new Map() } }).thenThrows(code('task_has_no_labels'));
  });
  it('requests a run with the configured heuristics and model unless the request names others', () => {
    given([configured])
      .when(request)
      .then([
        {
          type: 'WeakSupervisionRequested',
          data: { projectId: P, taskId: 't1', runId: RUN, model: 'ds', heuristicIds: ['h1', 'h2'], parameters: {}, trigger: 'manual', requestedBy: 'u1' },
        },
      ]);
    given([configured])
      .when({ ...request, heuristicIds: ['h2'], model: 'mv', parameters: { threshold: 0.3 } })
      .then([
        {
          type: 'WeakSupervisionRequested',
          data: { projectId: P, taskId: 't1', runId: RUN, model: 'mv', heuristicIds: ['h2'], parameters: { threshold: 0.3 }, trigger: 'manual', requestedBy: 'u1' },
        },
      ]);
  });
  it('refuses a run without heuristics, with unknown ones, and a repeated run id', () => {
    given([]).when(request).thenThrows(code('no_heuristics'));
    given([configured]).when({ ...request, heuristicIds: [] }).thenThrows(code('no_heuristics'));
    given([configured]).when({ ...request, heuristicIds: ['gone'] }).thenThrows(code('unknown_heuristic'));
    const requested = weakSupervisionDecider.decide(request, [configured].reduce(evolveWeakSupervision, emptyWeakSupervision()));
    given([configured, ...requested]).when(request).thenThrows(code('run_exists'));
  });
  it('folds runs: the first outcome wins', () => {
    const events: WeakSupervisionEvent[] = [
      configured,
      { type: 'WeakSupervisionRequested', data: { projectId: P, taskId: 't1', runId: RUN, model: 'ours', heuristicIds: ['h1'], parameters: {}, trigger: 'auto', requestedBy: 'auto' } },
      { type: 'WeakSupervisionRequested', data: { projectId: P, taskId: 't1', runId: RUN2, model: 'ours', heuristicIds: ['h1'], parameters: {}, trigger: 'auto', requestedBy: 'auto' } },
      { type: 'WeakSupervisionSuperseded', data: { projectId: P, taskId: 't1', runId: RUN, by: RUN2 } },
      { type: 'WeakSupervisionFailed', data: { projectId: P, taskId: 't1', runId: RUN, error: { kind: 'internal', message: 'late' }, durationMs: 1 } },
    ];
    const s = events.reduce(evolveWeakSupervision, emptyWeakSupervision());
    expect(s.runs).toEqual({ [RUN]: 'superseded', [RUN2]: 'requested' });
    expect(s.requested).toEqual([RUN, RUN2]);
    expect(s.config?.model).toBe('ds');
  });
});
