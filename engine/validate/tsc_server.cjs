"use strict";
// A long-lived `tsc -p <config> --noEmit --pretty false` for many projects in one process.
//
// Started by engine/validate/tsc_server.py with the path of one installation's
// lib/typescript.js. Reads one JSON request a line on stdin:
//   {"id": 1, "tsconfig": "<the -p argument>", "cwd": "/abs/dir tsc would run in"}
// and writes one JSON answer a line on stdout:
//   {"id": 1, "exit": 1, "output": "<exactly what tsc would print>"}
// or {"id": 1, "error": "..."} when the check itself could not run.
//
// Each request is checked the way tsc's performCompilation checks it (same config parsing,
// same compiler host, same diagnostics in the same order, same formatting), except that
// parsed SourceFiles are shared between requests: the lib.*.d.ts files,
// @cloudflare/workers-types and every other file read again with the same text are parsed
// and bound once. A SourceFile is reused only for the same path, the same text and the same
// parse/bind settings: the options TypeScript's own DocumentRegistry keys its buckets by
// (target, jsx, module detection, alwaysStrict, ...) plus the per-file settings the program
// passes in (language version, implied module format, JSDoc parsing mode). That is the sharing
// rule the language service uses between the projects of one tsserver.

const readline = require("readline");

const ts = require(process.argv[2]);
// ts.sys remembers the first working directory it sees; every request runs in its own.
ts.sys.getCurrentDirectory = () => process.cwd();

// The cache keeps the most recently used SourceFiles up to this much source text (a parsed
// and bound file takes many times its text in memory): past it, the least recently used go.
// Without a bound a 37-folder run grew the process past 4 GB and slowed down in GC.
const CACHE_CHARS = Number(process.env.VIBEHQ_TSC_SERVER_CACHE_MB || 48) * 1024 * 1024;

const registry = ts.createDocumentRegistry(ts.sys.useCaseSensitiveFileNames);
const cache = new Map(); // key -> SourceFile, least recently used first
let cachedChars = 0;

function settingsKey(options, languageVersionOrOptions) {
  const perFile =
    typeof languageVersionOrOptions === "object"
      ? [
          languageVersionOrOptions.languageVersion,
          languageVersionOrOptions.impliedNodeFormat,
          languageVersionOrOptions.jsDocParsingMode,
        ]
      : [languageVersionOrOptions];
  return registry.getKeyForCompilationSettings(options) + "|" + perFile.join(",");
}

function sharedHost(options) {
  const host = ts.createCompilerHost(options);
  // tsc parses JSDoc only as far as type errors need it (TypeScript >= 5.3).
  if (ts.JSDocParsingMode !== undefined) {
    host.jsDocParsingMode = ts.JSDocParsingMode.ParseForTypeErrors;
  }
  const original = host.getSourceFile;
  host.getSourceFile = (fileName, languageVersionOrOptions, onError, shouldCreateNewSourceFile) => {
    if (shouldCreateNewSourceFile) {
      return original.call(host, fileName, languageVersionOrOptions, onError, true);
    }
    let text;
    try {
      text = host.readFile(fileName);
    } catch (error) {
      text = undefined;
    }
    if (text === undefined) {
      // Let the default host report the read error exactly as tsc would.
      return original.call(host, fileName, languageVersionOrOptions, onError, false);
    }
    const key = settingsKey(options, languageVersionOrOptions) + "\0" + fileName;
    const hit = cache.get(key);
    if (hit !== undefined) {
      cache.delete(key);
      cachedChars -= hit.text.length;
    }
    const sourceFile =
      hit !== undefined && hit.text === text
        ? hit
        : ts.createSourceFile(fileName, text, languageVersionOrOptions, undefined);
    cache.set(key, sourceFile);
    cachedChars += text.length;
    return sourceFile;
  };
  return host;
}

function evictLeastRecentlyUsed() {
  for (const [key, sourceFile] of cache) {
    if (cachedChars <= CACHE_CHARS) break;
    cache.delete(key);
    cachedChars -= sourceFile.text.length;
  }
}

function exitStatus(emitSkipped, diagnostics) {
  // tsc's emitFilesAndReportErrorsAndGetExitStatus.
  if (emitSkipped && diagnostics.length > 0) return 1;
  if (diagnostics.length > 0) return 2;
  return 0;
}

function check(request) {
  process.chdir(request.cwd);
  const formatHost = {
    getCurrentDirectory: () => ts.sys.getCurrentDirectory(),
    getNewLine: () => ts.sys.newLine,
    getCanonicalFileName: ts.sys.useCaseSensitiveFileNames ? (f) => f : (f) => f.toLowerCase(),
  };
  const unrecoverable = [];
  const parseHost = {
    useCaseSensitiveFileNames: ts.sys.useCaseSensitiveFileNames,
    readDirectory: (...args) => ts.sys.readDirectory(...args),
    fileExists: (f) => ts.sys.fileExists(f),
    readFile: (f) => ts.sys.readFile(f),
    getCurrentDirectory: () => ts.sys.getCurrentDirectory(),
    onUnRecoverableConfigFileDiagnostic: (d) => unrecoverable.push(d),
  };
  // tsc's executeCommandLineWorker: `-p` names a folder (its tsconfig.json) or a file.
  const project = request.tsconfig;
  const fileOrDirectory = ts.normalizePath(project);
  let configFileName = fileOrDirectory;
  let missing;
  if (!fileOrDirectory || ts.sys.directoryExists(fileOrDirectory)) {
    configFileName = ts.combinePaths(fileOrDirectory, "tsconfig.json");
    missing = [5057, `Cannot find a tsconfig.json file at the specified directory: '${project}'.`];
  } else {
    missing = [5058, `The specified path does not exist: '${project}'.`];
  }
  if (!ts.sys.fileExists(configFileName)) {
    const [code, messageText] = missing;
    const diagnostic = {
      file: undefined,
      start: undefined,
      length: undefined,
      category: ts.DiagnosticCategory.Error,
      code,
      messageText,
    };
    return { exit: 1, output: ts.formatDiagnostics([diagnostic], formatHost) };
  }
  // The options tsc's own command line gives: `-p <config> --noEmit --pretty false`.
  const fromCommandLine = { project, noEmit: true, pretty: false };
  const config = ts.getParsedCommandLineOfConfigFile(
    configFileName,
    fromCommandLine,
    parseHost,
    new Map(),
  );
  if (config === undefined) {
    return { exit: 1, output: ts.formatDiagnostics(unrecoverable, formatHost) };
  }
  const options = config.options;
  const program = ts.createProgram({
    rootNames: config.fileNames,
    options,
    projectReferences: config.projectReferences,
    host: sharedHost(options),
    configFileParsingDiagnostics: ts.getConfigFileParsingDiagnostics(config),
  });
  // tsc's emitFilesAndReportErrors, diagnostic for diagnostic.
  const all = program.getConfigFileParsingDiagnostics().slice();
  const configCount = all.length;
  all.push(...program.getSyntacticDiagnostics());
  if (all.length === configCount) {
    all.push(...program.getOptionsDiagnostics());
    if (!options.listFilesOnly) {
      all.push(...program.getGlobalDiagnostics());
      if (all.length === configCount) {
        all.push(...program.getSemanticDiagnostics());
      }
      const declarations = Boolean(options.declaration || options.composite);
      if (options.noEmit && declarations && all.length === configCount) {
        all.push(...program.getDeclarationDiagnostics());
      }
    }
  }
  const emitted = program.emit();
  all.push(...emitted.diagnostics);
  const diagnostics = ts.sortAndDeduplicateDiagnostics(all);
  return {
    exit: exitStatus(emitted.emitSkipped, diagnostics),
    output: ts.formatDiagnostics(diagnostics, formatHost),
  };
}

function answer(message) {
  process.stdout.write(JSON.stringify(message) + "\n");
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
  if (!line.trim()) return;
  let request;
  try {
    request = JSON.parse(line);
  } catch (error) {
    answer({ id: null, error: "not JSON: " + String(error) });
    return;
  }
  const started = Date.now();
  try {
    const result = check(request);
    evictLeastRecentlyUsed();
    const stats = {
      ms: Date.now() - started,
      cachedFiles: cache.size,
      cachedMB: Math.round(cachedChars / 1048576),
      heapMB: Math.round(process.memoryUsage().heapUsed / 1048576),
    };
    answer({ id: request.id, ...result, ...stats });
  } catch (error) {
    answer({ id: request.id, error: String((error && error.stack) || error) });
  }
});
lines.on("close", () => process.exit(0));
answer({ id: 0, ready: true, version: ts.version });
