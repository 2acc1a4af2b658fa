import type { LabelingConfigEvent } from '@refinery/events';
import { DomainError } from '../errors.ts';
import { requireLabel, requireTask, type LabelingConfig, type TaskKind } from './config.ts';

export interface AttributeInfo {
  name: string;
  type: 'text' | 'category' | 'integer' | 'float' | 'boolean';
}

export type LabelingConfigCommand =
  | { type: 'AddLabelingTask'; projectId: string; taskId: string; name: string; kind: TaskKind; attribute: string | null; allowOverlap: boolean; attributes: AttributeInfo[] }
  | { type: 'RenameLabelingTask'; projectId: string; taskId: string; name: string }
  | { type: 'RemoveLabelingTask'; projectId: string; taskId: string }
  | { type: 'AddLabel'; projectId: string; taskId: string; labelId: string; name: string; color?: string; hotkey?: string | null; description?: string }
  | { type: 'ChangeLabel'; projectId: string; taskId: string; labelId: string; name?: string; color?: string; hotkey?: string | null; description?: string }
  | { type: 'MergeLabels'; projectId: string; taskId: string; sourceLabelIds: string[]; targetLabelId: string }
  | { type: 'RemoveLabel'; projectId: string; taskId: string; labelId: string }
  | { type: 'ChangeLabelingSettings'; projectId: string; blindLabeling: boolean };

/** A palette readable on white; labels without a color take the next one. */
export const LABEL_COLORS = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#db2777', '#0891b2', '#4d7c0f', '#9333ea', '#ea580c'];

function conflict(code: string, message: string, details: Record<string, unknown>): never {
  throw new DomainError('conflict', code, message, details);
}

export function decideLabelingConfig(command: LabelingConfigCommand, config: LabelingConfig): LabelingConfigEvent[] {
  const { projectId } = command;
  switch (command.type) {
    case 'AddLabelingTask': {
      const name = command.name.trim();
      if (config.tasks.has(command.taskId)) conflict('task_exists', `task ${command.taskId} already exists`, { taskId: command.taskId });
      if ([...config.tasks.values()].some((t) => t.name.toLowerCase() === name.toLowerCase())) {
        conflict('task_name_taken', `a task named "${name}" already exists in this project`, { name });
      }
      if (command.kind === 'span' && !command.attribute) {
        throw new DomainError('invalid', 'attribute_required', 'a span task labels a text attribute: name it in "attribute"', {
          allowed: command.attributes.filter((a) => a.type === 'text' || a.type === 'category').map((a) => a.name),
        });
      }
      if (command.attribute) {
        const attr = command.attributes.find((a) => a.name === command.attribute);
        // Both are strings; small imports infer short distinct texts as categories.
        const allowedTypes = ['text', 'category'];
        if (!attr || !allowedTypes.includes(attr.type)) {
          throw new DomainError('invalid', 'invalid_attribute', `"${command.attribute}" is not a text attribute of this project`, {
            attribute: command.attribute,
            allowed: command.attributes.filter((a) => allowedTypes.includes(a.type)).map((a) => a.name),
          });
        }
      }
      return [
        {
          type: 'LabelingTaskAdded',
          data: { projectId, taskId: command.taskId, name, kind: command.kind, attribute: command.attribute, allowOverlap: command.kind === 'span' && command.allowOverlap },
        },
      ];
    }
    case 'RenameLabelingTask': {
      const task = requireTask(config, projectId, command.taskId);
      const name = command.name.trim();
      if (task.name === name) return [];
      if ([...config.tasks.values()].some((t) => t.id !== task.id && t.name.toLowerCase() === name.toLowerCase())) {
        conflict('task_name_taken', `a task named "${name}" already exists in this project`, { name });
      }
      return [{ type: 'LabelingTaskRenamed', data: { projectId, taskId: task.id, name } }];
    }
    case 'RemoveLabelingTask':
      requireTask(config, projectId, command.taskId);
      return [{ type: 'LabelingTaskRemoved', data: { projectId, taskId: command.taskId } }];
    case 'AddLabel': {
      const task = requireTask(config, projectId, command.taskId);
      if (task.labels.has(command.labelId)) conflict('label_exists', `label ${command.labelId} already exists`, { labelId: command.labelId });
      const label = {
        name: command.name.trim(),
        color: command.color ?? LABEL_COLORS[task.labels.size % LABEL_COLORS.length]!,
        hotkey: command.hotkey ?? null,
        description: command.description ?? '',
      };
      checkUnique(task.labels.values(), command.labelId, label);
      return [{ type: 'LabelAdded', data: { projectId, taskId: task.id, labelId: command.labelId, ...label } }];
    }
    case 'ChangeLabel': {
      const task = requireTask(config, projectId, command.taskId);
      const current = requireLabel(task, command.labelId);
      const next = {
        name: command.name?.trim() ?? current.name,
        color: command.color ?? current.color,
        hotkey: command.hotkey === undefined ? current.hotkey : command.hotkey,
        description: command.description ?? current.description,
      };
      if (next.name === current.name && next.color === current.color && next.hotkey === current.hotkey && next.description === current.description) return [];
      checkUnique(task.labels.values(), current.id, next);
      return [{ type: 'LabelChanged', data: { projectId, taskId: task.id, labelId: current.id, ...next } }];
    }
    case 'MergeLabels': {
      const task = requireTask(config, projectId, command.taskId);
      requireLabel(task, command.targetLabelId);
      const sources = [...new Set(command.sourceLabelIds)];
      for (const id of sources) requireLabel(task, id);
      if (sources.length === 0 || sources.includes(command.targetLabelId)) {
        throw new DomainError('invalid', 'invalid_merge', 'merge one or more other labels into the target label', {
          sourceLabelIds: command.sourceLabelIds,
          targetLabelId: command.targetLabelId,
        });
      }
      return [{ type: 'LabelsMerged', data: { projectId, taskId: task.id, sourceLabelIds: sources, targetLabelId: command.targetLabelId } }];
    }
    case 'RemoveLabel': {
      const task = requireTask(config, projectId, command.taskId);
      requireLabel(task, command.labelId);
      return [{ type: 'LabelRemoved', data: { projectId, taskId: task.id, labelId: command.labelId } }];
    }
    case 'ChangeLabelingSettings':
      if (config.blindLabeling === command.blindLabeling) return [];
      return [{ type: 'LabelingSettingsChanged', data: { projectId, blindLabeling: command.blindLabeling } }];
    default: {
      const unhandled: never = command;
      throw new Error(`unhandled command ${JSON.stringify(unhandled)}`);
    }
  }
}

function checkUnique(labels: Iterable<{ id: string; name: string; hotkey: string | null }>, selfId: string, next: { name: string; hotkey: string | null }): void {
  for (const other of labels) {
    if (other.id === selfId) continue;
    if (other.name.toLowerCase() === next.name.toLowerCase()) conflict('label_name_taken', `this task already has a label "${next.name}"`, { name: next.name });
    if (next.hotkey && other.hotkey === next.hotkey) {
      conflict('hotkey_taken', `hotkey "${next.hotkey}" is already used by label "${other.name}"`, { hotkey: next.hotkey, labelId: other.id });
    }
  }
}
