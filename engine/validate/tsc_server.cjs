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
//
// A request may narrow what is checked (see engine/validate/tsc_scope.py for the contract):
//   "changed":   absolute paths that differ from the before-picture the answer is judged
//                against; then only the affected files are checked semantically: the changed
//                ones in the program and every file that imports them, transitively (the rule
//                of tsc's own incremental builder), unless a change can reach further (a file
//                that declares globals or augments a module, a deleted file, a package.json
//                or tsconfig that configures the program), which checks everything;
//   "folder":    the answer carries the program's structure (see `structure`), its files keyed
//                relative to this folder;
//   "structure": a before-picture's structure: the check is narrowed only when this program's
//                structure is the same, the changed files' own entries aside.
//   "only":      absolute paths: check semantically only these files of the program (the
//                files another program's narrowed check checked, at their place here);
//   "check":     false: build the program and answer its structure, check nothing.
//   "keep":      true (with "check": false): keep the program (a before-picture's) for a later
//                "sameAs" request. Unless it preserves symlinks, it is built shallow: the files
//                in node_modules are read as empty, since only the folder's own files, their
//                imports and the configs tell whether the project is the same elsewhere (a
//                package's files are the same real files from anywhere). Its structure then
//                says "shallow"; a "sameAs" request that needs the whole one builds it then;
//   "sameAs":    {"config", "folder"}: a kept program of the same project where the folder
//                stood (with "changed" and "folder"). When no changed file is one of its
//                files or configures it, and the project here would be built the same way
//                (same options and configs, same root files, each import and type reference
//                of the folder's files resolving to the same place, the same automatic
//                types), the program here holds the same files with the same texts, so no
//                file can be affected: the answer checks nothing without building it.
// The answer says "scope": "affected" (with "checked", the number of files checked, and
// "checkedFiles", their names), "all" (with "why"), or "none" (nothing was checked).

const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const readline = require("readline");

const ts = require(process.argv[2]);
// ts.sys remembers the first working directory it sees; every request runs in its own.
ts.sys.getCurrentDirectory = () => process.cwd();

// The cache keeps the most recently used SourceFiles up to this much source text (a parsed
// and bound file takes many times its text in memory): past it, the least recently used go.
// Without a bound a 37-folder run grew the process past 4 GB and slowed down in GC.
const CACHE_CHARS = Number(process.env.VIBEHQ_TSC_SERVER_CACHE_MB || 48) * 1024 * 1024;

// Programs kept by "keep" for a "sameAs" request, the most recent last.
const KEPT = 6;
const kept = new Map();

function keepProgram(configFileName, program, folder, shallow) {
  const name = ts.normalizePath(configFileName);
  kept.delete(name);
  const cwd = process.cwd();
  kept.set(name, { program, configFileName: name, folder: ts.normalizePath(folder), shallow, cwd });
  while (kept.size > KEPT) kept.delete(kept.keys().next().value);
}

// The kept program's whole structure: built again, every file read, where it was built.
function wholeStructure(held) {
  const here = process.cwd();
  process.chdir(held.cwd);
  try {
    const options = held.program.getCompilerOptions();
    const program = ts.createProgram({
      rootNames: held.program.getRootFileNames(),
      options,
      projectReferences: held.program.getProjectReferences(),
      host: sharedHost(options),
    });
    return programStructure(program, held.configFileName, held.folder);
  } finally {
    process.chdir(here);
  }
}

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

function sharedHost(options, shallow = false) {
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
    if (shallow && fileName.includes("/node_modules/")) {
      return ts.createSourceFile(fileName, "", languageVersionOrOptions, undefined);
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
  if (request.sameAs && Array.isArray(request.changed) && request.folder) {
    const held = kept.get(ts.normalizePath(request.sameAs.config));
    if (held !== undefined && held.folder === ts.normalizePath(request.sameAs.folder)) {
      kept.delete(held.configFileName);
      const differs = movedDifference(held, config, configFileName, request);
      if (differs === null) {
        return { exit: 0, output: "", scope: "affected", checked: 0, checkedFiles: [], same: true };
      }
      if (held.shallow && request.structure) request.structure = wholeStructure(held);
    }
  }
  const shallow = Boolean(request.keep && request.check === false && !options.preserveSymlinks);
  const program = ts.createProgram({
    rootNames: config.fileNames,
    options,
    projectReferences: config.projectReferences,
    host: sharedHost(options, shallow),
    configFileParsingDiagnostics: ts.getConfigFileParsingDiagnostics(config),
  });
  const answer = {};
  // TypeScript before 5.3 cannot list a program's resolutions: such a check is never narrowed.
  const listsImports =
    typeof program.forEachResolvedModule === "function" &&
    typeof program.forEachResolvedTypeReferenceDirective === "function";
  if (request.folder && listsImports) {
    answer.structure = programStructure(program, configFileName, ts.normalizePath(request.folder));
    if (shallow) answer.structure.shallow = "node_modules read as empty";
    if (request.keep) keepProgram(configFileName, program, request.folder, shallow);
  }
  if (request.check === false) {
    return { exit: 0, output: "", scope: "none", ...answer };
  }
  let scope = { why: "no change list was given" };
  if (Array.isArray(request.only)) {
    const only = new Set(request.only.map((file) => ts.normalizePath(file)));
    scope = { files: program.getSourceFiles().filter((f) => only.has(ts.normalizePath(f.fileName))) };
  } else if (Array.isArray(request.changed)) {
    scope = listsImports
      ? affectedFiles(program, configFileName, request, answer.structure)
      : { why: `TypeScript ${ts.version} cannot list the program's imports` };
  }
  // Each file's semantic (and declaration) diagnostics; `undefined`: every file's.
  const each = (get) => {
    if (!scope.files) return get(undefined);
    const out = [];
    for (const sourceFile of scope.files) out.push(...get(sourceFile));
    return out;
  };
  // tsc's emitFilesAndReportErrors, diagnostic for diagnostic.
  const all = program.getConfigFileParsingDiagnostics().slice();
  const configCount = all.length;
  all.push(...program.getSyntacticDiagnostics());
  if (all.length === configCount) {
    all.push(...program.getOptionsDiagnostics());
    if (!options.listFilesOnly) {
      all.push(...program.getGlobalDiagnostics());
      if (all.length === configCount) {
        all.push(...each((file) => program.getSemanticDiagnostics(file)));
      }
      const declarations = Boolean(options.declaration || options.composite);
      if (options.noEmit && declarations && all.length === configCount) {
        all.push(...each((file) => program.getDeclarationDiagnostics(file)));
      }
    }
  }
  const emitted = program.emit();
  all.push(...emitted.diagnostics);
  const diagnostics = ts.sortAndDeduplicateDiagnostics(all);
  if (scope.files) {
    answer.scope = "affected";
    answer.checked = scope.files.length;
    answer.checkedFiles = scope.files.map((f) => f.fileName);
  } else {
    answer.scope = "all";
    answer.why = scope.why;
  }
  return {
    exit: exitStatus(emitted.emitSkipped, diagnostics),
    output: ts.formatDiagnostics(diagnostics, formatHost),
    ...answer,
  };
}

function digest(text) {
  return crypto.createHash("sha1").update(text).digest("hex");
}

// A cached SourceFile's text never changes: its digest is taken once.
const textDigests = new WeakMap();

function textDigest(sourceFile) {
  let out = textDigests.get(sourceFile);
  if (out === undefined) {
    out = digest(sourceFile.text);
    textDigests.set(sourceFile, out);
  }
  return out;
}

function inside(file, folder) {
  return file === folder || file.startsWith(folder + "/");
}

// A program's structure, the same wherever the folder stands: per file the program holds
// (keyed relative to `folder`, except in node_modules, where TypeScript's real paths are the
// same from STAGING and from the destination), a digest of its text and of where each of its
// imports and type references resolved; the config files read; the compiler options.
// With `preserveSymlinks` TypeScript names a package's files by the links it found them
// through (the destination's are links to the STAGING folder's nested node_modules and the
// workspace's): those are keyed by their real paths too, and two names of one real file in
// one program keep their own names, so such a program never looks like one that has one.
function programStructure(program, configFileName, folder) {
  const linked = Boolean(program.getCompilerOptions().preserveSymlinks);
  const realpaths = new Map();
  const key = (file) => {
    let name = ts.normalizePath(file);
    if (linked && name.includes("/node_modules/")) {
      if (!realpaths.has(name)) realpaths.set(name, ts.normalizePath(realpath(name)));
      name = realpaths.get(name);
    }
    if (name.includes("/node_modules/") || !inside(name, folder)) return name;
    return "<folder>" + name.slice(folder.length);
  };
  const entries = new Map();
  const keys = new Set();
  for (const sourceFile of program.getSourceFiles()) {
    let name = key(sourceFile.fileName);
    if (keys.has(name)) name = "another name " + ts.normalizePath(sourceFile.fileName);
    keys.add(name);
    entries.set(sourceFile.path, [name, "text " + textDigest(sourceFile)]);
  }
  const resolved = (kind) => (resolution, name, mode, filePath) => {
    const entry = entries.get(filePath);
    if (entry === undefined) return;
    const target = resolution && (resolution.resolvedModule || resolution.resolvedTypeReferenceDirective);
    const where = target && target.resolvedFileName ? key(target.resolvedFileName) : "-";
    entry.push(`${kind} ${name} ${mode === undefined ? "" : mode} ${where}`);
  };
  program.forEachResolvedModule(resolved("import"));
  program.forEachResolvedTypeReferenceDirective(resolved("types"));
  const structure = {};
  for (const [name, ...lines] of entries.values()) {
    structure[name] = digest(lines.sort().join("\n"));
  }
  const options = program.getCompilerOptions();
  const configs = [configFileName, ...((options.configFile && options.configFile.extendedSourceFiles) || [])];
  for (const config of configs) {
    // A config extended from a package is named through the node_modules link it was found by.
    structure["config " + key(realpath(config))] = digest(ts.sys.readFile(config) || "");
  }
  // Paths in the options (outDir, tsBuildInfoFile, typeRoots, ...) are spelled, not resolved.
  const spelled = (file) => {
    const name = ts.normalizePath(file);
    return inside(name, folder) ? "<folder>" + name.slice(folder.length) : name;
  };
  structure["options"] = digest(JSON.stringify(stableOptions(options, spelled)));
  return structure;
}

function realpath(file) {
  try {
    return fs.realpathSync(file);
  } catch (error) {
    return file;
  }
}

function stableOptions(value, key) {
  if (typeof value === "string") return value.startsWith("/") ? key(value) : value;
  if (Array.isArray(value)) return value.map((item) => stableOptions(item, key));
  if (value === null || typeof value !== "object") return value;
  const out = {};
  for (const name of Object.keys(value).sort()) {
    // The config file objects themselves are compared by their text, above.
    if (name === "configFile" || name === "configFilePath" || name === "project") continue;
    out[name] = stableOptions(value[name], key);
  }
  return out;
}

// Why the project of `configFileName` (its parsed `config`), in `request.folder`, would not be
// built as the kept program was where the folder stood; null when it would be, file for file
// (the files in the folder at their place here, every other file the same one).
function movedDifference(held, config, configFileName, request) {
  const program = held.program;
  const from = held.folder;
  const to = ts.normalizePath(request.folder);
  const before = program.getCompilerOptions();
  const options = config.options;
  if (typeof ts.getImpliedNodeFormatForFile !== "function") return `TypeScript ${ts.version}`;
  // Nested packages are named by the links they are found through: not the same names.
  if (before.preserveSymlinks || options.preserveSymlinks) return "preserveSymlinks";
  if ((config.projectReferences || []).length > 0 || (program.getProjectReferences() || []).length > 0) {
    return "project references";
  }
  if (ts.getConfigFileParsingDiagnostics(config).length > 0) return "the config has errors";
  const spell = (folder) => (file) => {
    const name = ts.normalizePath(file);
    return inside(name, folder) ? "<folder>" + name.slice(folder.length) : name;
  };
  // Files in node_modules keep their real paths, the same from here and from there.
  const key = (folder) => (file) => (file.includes("/node_modules/") ? ts.normalizePath(file) : spell(folder)(file));
  const there = key(from);
  const here = key(to);
  if (JSON.stringify(stableOptions(before, spell(from))) !== JSON.stringify(stableOptions(options, spell(to)))) {
    return "other compiler options";
  }
  const configs = (name, opts, key) =>
    [name, ...((opts.configFile && opts.configFile.extendedSourceFiles) || [])]
      .map((file) => key(realpath(file)) + " " + digest(ts.sys.readFile(file) || ""))
      .join("\n");
  if (configs(held.configFileName, before, there) !== configs(configFileName, options, here)) {
    return "other configs";
  }
  const roots = (names, key) => names.map(key).sort().join("\n");
  if (roots(program.getRootFileNames(), there) !== roots(config.fileNames, here)) {
    return "other root files";
  }
  const moved = (file) => from + file.slice(to.length);
  for (const file of request.changed.map((name) => ts.normalizePath(name))) {
    if (!inside(file, to)) return `${file} is outside the folder`;
    const base = path.posix.basename(file);
    if (TS_LIKE.test(base) || CONFIG_LIKE.test(base) || program.getSourceFile(moved(file))) {
      return `${file} changed`;
    }
  }
  const resolvedTo = (key) => (resolution) => {
    const target = resolution && (resolution.resolvedModule || resolution.resolvedTypeReferenceDirective);
    return target && target.resolvedFileName ? key(target.resolvedFileName) : "-";
  };
  // The folder's own files (not the nested packages: their real paths are the same here).
  const own = (file) => {
    const name = ts.normalizePath(file);
    return inside(name, from) && !name.includes("/node_modules/") ? to + name.slice(from.length) : null;
  };
  let differs = null;
  const compare = (resolve) => (resolution, name, mode, filePath) => {
    if (differs !== null) return;
    const sourceFile = program.getSourceFileByPath(filePath);
    const placed = sourceFile && own(sourceFile.fileName);
    if (!placed) return;
    if (resolvedTo(there)(resolution) !== resolvedTo(here)(resolve(name, placed, mode))) {
      differs = `${name} from ${placed} resolves elsewhere`;
    }
  };
  program.forEachResolvedModule(
    compare((name, file, mode) => ts.resolveModuleName(name, file, options, ts.sys, undefined, undefined, mode)),
  );
  program.forEachResolvedTypeReferenceDirective(
    compare((name, file, mode) =>
      ts.resolveTypeReferenceDirective(name, file, options, ts.sys, undefined, undefined, mode),
    ),
  );
  if (differs !== null) return differs;
  for (const sourceFile of program.getSourceFiles()) {
    const placed = own(sourceFile.fileName);
    if (!placed) continue;
    for (const reference of sourceFile.referencedFiles) {
      const was = path.posix.resolve(path.posix.dirname(ts.normalizePath(sourceFile.fileName)), reference.fileName);
      const is = path.posix.resolve(path.posix.dirname(placed), reference.fileName);
      if (there(was) !== here(is)) return `${reference.fileName} from ${placed} is another file`;
    }
    if (ts.getImpliedNodeFormatForFile(placed, undefined, ts.sys, options) !== sourceFile.impliedNodeFormat) {
      return `${placed} is another module format`;
    }
  }
  const names = ts.getAutomaticTypeDirectiveNames(options, ts.sys);
  if (names.join("\n") !== program.getAutomaticTypeDirectiveNames().join("\n")) {
    return "other automatic types";
  }
  const inferred = ts.inferredTypesContainingFile || "__inferred type names__.ts";
  const containing = ts.combinePaths(path.posix.dirname(ts.normalizePath(configFileName)), inferred);
  program.getAutomaticTypeDirectiveResolutions().forEach((resolution, name, mode) => {
    if (differs !== null) return;
    const again = ts.resolveTypeReferenceDirective(name, containing, options, ts.sys, undefined, undefined, mode);
    if (resolvedTo(there)(resolution) !== resolvedTo(here)(again)) differs = `types ${name} resolve elsewhere`;
  });
  return differs;
}

const TS_LIKE = /\.(d\.[cm]?ts|[cm]?tsx?|[cm]?jsx?)$/;
const CONFIG_LIKE = /^(package\.json|[jt]sconfig(\..*)?\.json)$/;

// The files whose semantic diagnostics can differ from the before-picture's, or `why` not.
function affectedFiles(program, configFileName, request, structure) {
  const changed = new Set(request.changed.map((file) => ts.normalizePath(file)));
  const byName = new Map(program.getSourceFiles().map((f) => [ts.normalizePath(f.fileName), f]));
  if (request.structure) {
    const differs = structureDifference(request.structure, structure || {}, changed, request.folder);
    if (differs) return { why: differs };
  }
  const configs = new Set([ts.normalizePath(configFileName)]);
  const options = program.getCompilerOptions();
  for (const extended of (options.configFile && options.configFile.extendedSourceFiles) || []) {
    configs.add(ts.normalizePath(extended));
  }
  const folders = new Set([...byName.keys()].map((file) => path.posix.dirname(file)));
  const seeds = [];
  for (const file of changed) {
    const sourceFile = byName.get(file);
    if (sourceFile !== undefined) {
      seeds.push(sourceFile);
      continue;
    }
    if (configs.has(file)) return { why: `${file} configures the program` };
    const folder = path.posix.dirname(file);
    if (CONFIG_LIKE.test(path.posix.basename(file)) && [...folders].some((f) => inside(f, folder))) {
      return { why: `${file} may configure the program's files` };
    }
    // With a before-picture's structure a deleted file of the program already showed there.
    const importable = TS_LIKE.test(file) || (options.resolveJsonModule && file.endsWith(".json"));
    if (!request.structure && importable && !fs.existsSync(file)) {
      return { why: `${file} was deleted` };
    }
  }
  for (const sourceFile of seeds) {
    if (affectsGlobalScope(sourceFile)) {
      return { why: `${sourceFile.fileName} declares globals or augments a module` };
    }
  }
  const importers = new Map();
  const edge = (resolution, name, mode, filePath) => {
    const target = resolution && (resolution.resolvedModule || resolution.resolvedTypeReferenceDirective);
    const imported = target && target.resolvedFileName && program.getSourceFile(target.resolvedFileName);
    const importer = program.getSourceFileByPath(filePath);
    if (!imported || !importer) return;
    if (!importers.has(imported)) importers.set(imported, new Set());
    importers.get(imported).add(importer);
  };
  program.forEachResolvedModule(edge);
  program.forEachResolvedTypeReferenceDirective(edge);
  for (const sourceFile of program.getSourceFiles()) {
    for (const reference of sourceFile.referencedFiles) {
      const target = program.getSourceFile(
        ts.normalizePath(path.posix.resolve(path.posix.dirname(sourceFile.fileName), reference.fileName)),
      );
      if (!target) continue;
      if (!importers.has(target)) importers.set(target, new Set());
      importers.get(target).add(sourceFile);
    }
  }
  const affected = new Set(seeds);
  const queue = [...seeds];
  while (queue.length > 0) {
    for (const importer of importers.get(queue.pop()) || []) {
      if (!affected.has(importer)) {
        affected.add(importer);
        queue.push(importer);
      }
    }
  }
  // In the program's own order: tsc checks files in that order.
  return { files: program.getSourceFiles().filter((f) => affected.has(f)) };
}

// tsc's own rule (BuilderState.isFileAffectingGlobalScope), kept conservative: a file that is
// not a module, or that augments one, can change what every file sees.
function affectsGlobalScope(sourceFile) {
  if (typeof ts.isExternalOrCommonJsModule !== "function") return true;
  if (sourceFile.moduleAugmentations && sourceFile.moduleAugmentations.length > 0) return true;
  if (typeof ts.isJsonSourceFile === "function" && ts.isJsonSourceFile(sourceFile)) return false;
  return !ts.isExternalOrCommonJsModule(sourceFile);
}

function structureDifference(before, after, changed, folder) {
  if (before.shallow && !after.shallow) return "the baseline's program was built shallow and is no longer held";
  const skip = new Set();
  if (folder) {
    const root = ts.normalizePath(folder);
    for (const file of changed) {
      if (!file.includes("/node_modules/") && inside(file, root)) {
        skip.add("<folder>" + file.slice(root.length));
      }
    }
  }
  for (const name of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (!(name in before)) return `the program now holds ${name}`;
    if (!(name in after)) return `the program no longer holds ${name}`;
    if (before[name] !== after[name] && !skip.has(name)) return `${name} differs from the baseline's`;
  }
  return null;
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
