/** Wire types of the refinery REST API (see docs in the server app). */

export type AttributeType = 'text' | 'category' | 'integer' | 'float' | 'boolean';

export interface Attribute {
  name: string;
  type: AttributeType;
}

export interface Project {
  id: string;
  name: string;
  /** ISO-8601 timestamp. */
  createdAt: string;
  recordCount: number;
  attributes: Attribute[];
}

export type RecordValue = string | number | boolean | null;

export interface RecordItem {
  id: string;
  seq: number;
  values: Record<string, RecordValue>;
}

export interface RecordsPage {
  records: RecordItem[];
  total: number;
  nextCursor: string | null;
}

/** Returned by every write: the event-log position to pass as `after` for read-your-writes. */
export interface WriteResult {
  revision: string;
  position: string;
}

export interface CreatedProject extends WriteResult {
  id: string;
}

export interface ImportResult {
  importId: string;
  records: number;
  position: string;
}

export type ImportContentType = 'text/csv' | 'application/json' | 'application/x-ndjson';

export interface UploadProgress {
  loaded: number;
  /** Total bytes, or null when the browser cannot compute it. */
  total: number | null;
}

// --- labeling -------------------------------------------------------------------------------

export type TaskKind = 'single_label' | 'multi_label' | 'span';

export interface Label {
  id: string;
  name: string;
  /** `#rrggbb` */
  color: string;
  /** One of a–z, 0–9, or null. */
  hotkey: string | null;
  description: string;
}

export interface LabelingTask {
  id: string;
  name: string;
  kind: TaskKind;
  /** The attribute the task labels (required for span tasks), or null for the whole record. */
  attribute: string | null;
  allowOverlap: boolean;
  labels: Label[];
}

export interface TasksConfig {
  tasks: LabelingTask[];
  blindLabeling: boolean;
}

export interface NewTask {
  name: string;
  kind: TaskKind;
  attribute?: string | null;
  allowOverlap?: boolean;
}

export interface LabelInput {
  name?: string;
  color?: string;
  hotkey?: string | null;
  description?: string;
}

export interface Token {
  index: number;
  /** UTF-16 offsets into `text`, end exclusive. */
  start: number;
  end: number;
  text: string;
}

export interface RecordTokens {
  attribute: string;
  text: string;
  tokens: Token[];
}

export interface SpanInput {
  labelId: string;
  start: number;
  end: number;
}

export interface Span extends SpanInput {
  tokenStart: number;
  /** Exclusive. */
  tokenEnd: number;
}

export type AnswerSource = 'manual' | 'gold' | 'reference';

export interface Answer {
  taskId: string;
  source: AnswerSource;
  annotator: string;
  labelIds: string[];
  spans: Span[];
  labeledAt: string;
}

export interface ReferenceStatus {
  taskId: string;
  basis: string;
  disagreement: boolean;
  annotators: number;
}

export interface RecordComment {
  id: string;
  author: string;
  body: string;
  createdAt: string;
}

export interface RecordLabels {
  /** The record's labeling stream revision (for `expectedRevision`), null before any write. */
  revision: string | null;
  answers: Answer[];
  reference: ReferenceStatus[];
  comments: RecordComment[];
}

/** What PUT .../labels/:taskId sets: labelIds for classification tasks, spans for span tasks. */
export interface AnswerInput {
  labelIds?: string[];
  spans?: SpanInput[];
}

export interface CreatedResult extends WriteResult {
  id: string;
}

// --- data browser (search, slices, sessions) --------------------------------------------------

export type AttributeOp =
  | 'eq'
  | 'neq'
  | 'contains'
  | 'regex'
  | 'gt'
  | 'gte'
  | 'lt'
  | 'lte'
  | 'between'
  | 'in'
  | 'is_null'
  | 'is_not_null';

export type LabelFilterSource = 'manual' | 'gold' | 'reference' | 'heuristic' | 'weak_supervision' | 'any' | 'crowd';

export type Filter =
  | { all: Filter[] }
  | { any: Filter[] }
  | { not: Filter }
  | { attribute: string; op: AttributeOp; value?: unknown }
  | { label: { taskId: string; source: LabelFilterSource; labelId?: string | null; annotator?: string } }
  | { disagreement: { taskId: string } }
  | { confidence: { taskId: string; min?: number; max?: number } }
  | { hasComments: boolean }
  | { recordIds: string[] }
  | { slice: string };

export interface SearchSort {
  by: 'seq' | 'random' | { attribute: string };
  direction?: 'asc' | 'desc';
  seed?: string;
}

export interface SearchRequest {
  filter?: Filter;
  sort?: SearchSort;
  limit?: number;
  cursor?: string | null;
  /** Read-your-writes: answer only once the browser's read models include this log position. */
  after?: string;
}

/** A label on a search result; the server may send answers shaped like {@link Answer}. */
export interface SearchLabel {
  taskId: string;
  source?: string;
  annotator?: string;
  labelIds?: string[];
  labelId?: string | null;
  spans?: SpanInput[];
  /** weak supervision only: the probability of the label (0–1) */
  confidence?: number | null;
}

export interface SearchRecord extends RecordItem {
  labels?: SearchLabel[];
}

export interface SearchPage {
  records: SearchRecord[];
  total: number;
  nextCursor: string | null;
}

export type SliceKind = 'dynamic' | 'static';

export interface Slice {
  id: string;
  name: string;
  kind: SliceKind;
  filter?: Filter | null;
  recordIds?: string[] | null;
  recordCount?: number | null;
  createdAt?: string;
}

export interface NewSlice {
  name: string;
  kind: SliceKind;
  filter?: Filter;
  recordIds?: string[];
  after?: string;
}

export interface NewSession {
  name?: string;
  sliceId?: string;
  filter?: Filter;
  order: 'ordered' | 'shuffled';
  seed?: string;
  /** Read-your-writes: the session's records are chosen after this log position. */
  after?: string;
}

export interface LabelingSession {
  id: string;
  name: string | null;
  /** The annotator id of the session's owner (the caller). */
  owner: string | null;
  total: number;
  labeled: number;
  startedAt?: string;
}

export interface SessionRecordsPage {
  recordIds: string[];
  nextCursor: string | null;
  prevCursor: string | null;
}

export type ExportFormat = 'json' | 'jsonl' | 'csv';

// --- heuristics (docs/heuristics.md) --------------------------------------------------------

export type HeuristicType = 'labeling_function' | 'lookup_list' | 'external' | 'crowd';
export type HeuristicLanguage = 'javascript' | 'typescript' | 'python';
export type HeuristicRunStatus = 'requested' | 'running' | 'completed' | 'failed' | 'cancelled';
export type HeuristicErrorKind = 'syntax' | 'runtime' | 'timeout' | 'memory' | 'invalid_output' | 'configuration' | 'internal';

export interface HeuristicRunError {
  kind: HeuristicErrorKind;
  message: string;
  recordId?: string;
  line?: number;
  column?: number;
}

export interface HeuristicRun {
  runId: string;
  heuristicId: string;
  codeHash: string;
  sample: number | null;
  status: HeuristicRunStatus;
  done: number;
  total: number | null;
  requestedAt: string;
  requestedBy: string;
  finishedAt: string | null;
  durationMs: number | null;
  counts: { records: number; votes: number; byLabel: Record<string, number> } | null;
  votesArtifact: string | null;
  error: HeuristicRunError | null;
}

export interface HeuristicLabelStats {
  hits: number;
  checked: number;
  correct: number;
  referenceCount: number;
  precision: number | null;
  recall: number | null;
}

export interface HeuristicStats {
  coverage: number;
  hits: number;
  overlaps: number;
  conflicts: number;
  checked: number;
  correct: number;
  precision: number | null;
  recall: number | null;
  byLabel: Record<string, HeuristicLabelStats>;
}

export interface Heuristic {
  id: string;
  taskId: string;
  name: string;
  description: string;
  type: HeuristicType;
  language: HeuristicLanguage | null;
  code: string | null;
  codeHash: string | null;
  lookupListId: string | null;
  labelId: string | null;
  attribute: string | null;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  currentRunId: string | null;
  latestRun: HeuristicRun | null;
  stats: HeuristicStats | null;
}

export interface HeuristicDetail extends Heuristic {
  runs: HeuristicRun[];
}

export interface NewHeuristic {
  name: string;
  description?: string;
  taskId: string;
  type: HeuristicType;
  language?: HeuristicLanguage;
  code?: string;
  lookupListId?: string;
  labelId?: string;
  attribute?: string;
}

export interface HeuristicChanges {
  name?: string;
  description?: string;
  code?: string;
  expectedRevision?: string;
}

export interface RunRequested extends WriteResult {
  runId: string;
}

export interface LookupList {
  id: string;
  name: string;
  terms: string[];
  caseInsensitive: boolean;
  wholeWord: boolean;
  updatedAt: string;
}

export interface LookupListInput {
  name: string;
  terms: string[];
  caseInsensitive?: boolean;
  wholeWord?: boolean;
}

// --- weak supervision (docs/weak-supervision.md) ---

export type WsModel = 'ours' | 'mv' | 'refinery' | 'ds';
export type WsRunStatus = 'requested' | 'completed' | 'failed' | 'superseded';

export interface WsConfig {
  taskId: string;
  heuristicIds: string[];
  model: WsModel;
  autoRerun: boolean;
  minConfidence: number;
  /** null: never configured (the defaults) */
  updatedAt: string | null;
  updatedBy: string | null;
}

export type WsConfigChanges = Partial<Pick<WsConfig, 'heuristicIds' | 'model' | 'autoRerun' | 'minConfidence'>>;

export interface WsRun {
  runId: string;
  taskId: string;
  model: WsModel;
  heuristicIds: string[];
  parameters: Record<string, unknown>;
  trigger: 'manual' | 'auto';
  status: WsRunStatus;
  requestedAt: string;
  requestedBy: string;
  finishedAt: string | null;
  durationMs: number | null;
  heuristics: Array<{ heuristicId: string; runId: string | null; votesArtifact: string | null; votes: number }> | null;
  counts: { records: number; covered: number; labeled: number; manual: number; byLabel: Record<string, number> } | null;
  resultArtifact: string | null;
  meanConfidence: number | null;
  agreement: Record<string, number | null> | null;
  error: { kind: string; message: string } | null;
  supersededBy: string | null;
  current: boolean;
}

export interface WsConfusion {
  taskId: string;
  kind: TaskKind;
  labelIds: string[];
  compared: number;
  withWeakLabel: number;
  /** single label: reference (rows) × weak label (columns), last column = no weak label */
  matrix: number[][] | null;
  accuracy: number | null;
  perLabel: Array<{ labelId: string; tp: number; fp: number; fn: number; precision: number | null; recall: number | null }>;
}

export interface WeakLabel {
  taskId: string;
  runId: string;
  labelId: string;
  confidence: number;
  span: { start: number; end: number; tokenStart: number; tokenEnd: number } | null;
}
