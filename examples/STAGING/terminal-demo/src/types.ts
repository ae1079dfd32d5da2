import type { TerminalSession } from "./session";

export type { PatchEvent } from "@repo/shared/contracts";

export interface Env {
  TERMINAL_SESSIONS: DurableObjectNamespace<TerminalSession>;
}

export type Stream = "stdin" | "stdout" | "stderr";

export interface TerminalLine {
  seq: number;
  stream: Stream;
  text: string;
  at: string;
}
