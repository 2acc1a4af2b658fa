import type { LabelingConfigEvent } from '@refinery/events';
import { DomainError } from '../errors.ts';

export type TaskKind = 'single_label' | 'multi_label' | 'span';

export interface LabelDefinition {
  id: string;
  name: string;
  color: string;
  hotkey: string | null;
  description: string;
}

export interface TaskDefinition {
  id: string;
  name: string;
  kind: TaskKind;
  attribute: string | null;
  allowOverlap: boolean;
  labels: Map<string, LabelDefinition>;
}

export interface LabelingConfig {
  tasks: Map<string, TaskDefinition>;
  blindLabeling: boolean;
}

export const emptyLabelingConfig = (): LabelingConfig => ({ tasks: new Map(), blindLabeling: false });

/** Folds the labeling configuration out of the project stream (other events are ignored). */
export function evolveLabelingConfig(config: LabelingConfig, event: { type: string; data: unknown }): LabelingConfig {
  const e = event as LabelingConfigEvent;
  switch (e.type) {
    case 'LabelingTaskAdded': {
      const { taskId, name, kind, attribute, allowOverlap } = e.data;
      const tasks = new Map(config.tasks);
      tasks.set(taskId, { id: taskId, name, kind, attribute, allowOverlap, labels: new Map() });
      return { ...config, tasks };
    }
    case 'LabelingTaskRenamed':
      return withTask(config, e.data.taskId, (t) => ({ ...t, name: e.data.name }));
    case 'LabelingTaskRemoved': {
      const tasks = new Map(config.tasks);
      tasks.delete(e.data.taskId);
      return { ...config, tasks };
    }
    case 'LabelAdded':
    case 'LabelChanged': {
      const { labelId, name, color, hotkey, description } = e.data;
      return withTask(config, e.data.taskId, (t) => {
        const labels = new Map(t.labels);
        labels.set(labelId, { id: labelId, name, color, hotkey, description });
        return { ...t, labels };
      });
    }
    case 'LabelsMerged':
      return withTask(config, e.data.taskId, (t) => {
        const labels = new Map(t.labels);
        for (const id of e.data.sourceLabelIds) labels.delete(id);
        return { ...t, labels };
      });
    case 'LabelRemoved':
      return withTask(config, e.data.taskId, (t) => {
        const labels = new Map(t.labels);
        labels.delete(e.data.labelId);
        return { ...t, labels };
      });
    case 'LabelingSettingsChanged':
      return { ...config, blindLabeling: e.data.blindLabeling };
    default:
      return config;
  }
}

function withTask(config: LabelingConfig, taskId: string, change: (t: TaskDefinition) => TaskDefinition): LabelingConfig {
  const task = config.tasks.get(taskId);
  if (!task) return config;
  const tasks = new Map(config.tasks);
  tasks.set(taskId, change(task));
  return { ...config, tasks };
}

export function requireTask(config: LabelingConfig, projectId: string, taskId: string): TaskDefinition {
  const task = config.tasks.get(taskId);
  if (!task) throw new DomainError('not_found', 'task_not_found', `labeling task ${taskId} does not exist in project ${projectId}`, { projectId, taskId });
  return task;
}

export function requireLabel(task: TaskDefinition, labelId: string): LabelDefinition {
  const label = task.labels.get(labelId);
  if (!label) {
    throw new DomainError('invalid', 'unknown_label', `label ${labelId} is not a label of task "${task.name}"`, {
      taskId: task.id,
      labelId,
      allowed: [...task.labels.values()].map((l) => ({ id: l.id, name: l.name })),
    });
  }
  return label;
}
