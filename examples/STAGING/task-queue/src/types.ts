import type { TaskQueue } from "./queue";

export interface Env {
  TASK_QUEUES: DurableObjectNamespace<TaskQueue>;
}

export type TaskStatus = "queued" | "running" | "done" | "failed";

export interface Task {
  id: number;
  kind: string;
  payload: unknown;
  priority: number;
  status: TaskStatus;
  worker: string | null;
  result: string | null;
}

export type QueueStats = Record<TaskStatus, number>;
