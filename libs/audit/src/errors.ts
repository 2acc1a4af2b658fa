import { DomainError } from '@refinery/domain';

/**
 * Refusals of the audit features. They are DomainErrors, so the API maps them to 4xx with its one
 * error shape (`invalid` → 422, `not_found` → 404) and nothing is written.
 */
export class AuditError extends DomainError {}

/** The as-of point is malformed: neither or both of time and position, an unparsable time or position. */
export class InvalidAsOfPointError extends AuditError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('invalid', 'invalid_as_of_point', message, details);
    this.name = 'InvalidAsOfPointError';
  }
}

export class ProjectNotInLogError extends AuditError {
  constructor(projectId: string) {
    super('not_found', 'project_not_found', `project ${projectId} does not exist in the log`, { projectId });
    this.name = 'ProjectNotInLogError';
  }
}

/** The point lies before the project's first event. */
export class BeforeProjectError extends AuditError {
  constructor(projectId: string, point: { time?: string; position?: string }, created: { time: string; position: string }) {
    super(
      'invalid',
      'before_project',
      `project ${projectId} was created at ${created.time} (position ${created.position}); ${point.time ? `time ${point.time}` : `position ${point.position}`} lies before it`,
      { projectId, ...point, createdAt: created.time, createdPosition: created.position },
    );
    this.name = 'BeforeProjectError';
  }
}

/** The position lies beyond the newest committed event. */
export class PositionBeyondEndError extends AuditError {
  constructor(position: string, head: string) {
    super('invalid', 'position_beyond_end', `position ${position} lies beyond the end of the log (${head})`, { position, head });
    this.name = 'PositionBeyondEndError';
  }
}
