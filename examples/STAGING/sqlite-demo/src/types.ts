export * from "./contracts/notes";
export type { PatchEvent } from "@repo/shared/contracts";

export type RouteParams = Record<string, string>;

export type RouteHandler = (request: Request, params: RouteParams) => Response | Promise<Response>;
