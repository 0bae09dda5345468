// Shrinks what wasm-bindgen made of the widget, for scripts/build-widget.sh:
//   node widget/shrink.mjs IN_DIR OUT_DIR
// IN_DIR holds wasm-bindgen's latchkey_widget.js (the glue) and latchkey_widget_bg.wasm; the
// smaller pair, same names and same behaviour, goes to OUT_DIR. wasm-opt, wasm-metadce and
// esbuild must be on PATH (tools/node_modules/.bin).
//
// 1. The glue keeps only what the loader (widget/loader.js) uses: `default` (init) and `mount`.
//    The classes wasm-bindgen exports for dependencies (wasm-streams' IntoUnderlying*, pulled in
//    by Leptos's server_fn and never used by the widget) are dropped, and then so are the WASM
//    exports the glue no longer calls, with everything only they reached (wasm-metadce).
// 2. wasm-opt shrinks the module, and renames its imports, exports and import module to short
//    names: wasm-bindgen's names carry a 16-digit hash each, which gzip cannot shrink, in both
//    files. The glue is rewritten to the new names from wasm-opt's map, and glue for imports the
//    module no longer has is dropped.
// 3. esbuild minifies the glue (an ES module; its exports keep their names).
// Every step checks that glue and module still agree name for name, and fails the build if not.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [inDir, outDir] = process.argv.slice(2);
if (!inDir || !outDir) throw new Error("usage: node shrink.mjs IN_DIR OUT_DIR");
const JS = "latchkey_widget.js";
const WASM = "latchkey_widget_bg.wasm";
// The features rustc's wasm32-unknown-unknown target enables by default.
const FEATURES = [
  "--enable-bulk-memory", "--enable-nontrapping-float-to-int", "--enable-sign-ext",
  "--enable-mutable-globals", "--enable-reference-types", "--enable-multivalue",
];

function fail(message) {
  throw new Error(`shrink.mjs: ${message}`);
}

/** The import and export names of a WASM module. */
function wasmNames(bytes) {
  let at = 8;
  const leb = () => {
    let value = 0, shift = 0, byte;
    do { byte = bytes[at++]; value += (byte & 0x7f) * 2 ** shift; shift += 7; } while (byte & 0x80);
    return value;
  };
  const name = () => { const length = leb(); const s = Buffer.from(bytes.subarray(at, at + length)).toString("utf8"); at += length; return s; };
  const limits = () => { const flags = bytes[at++]; leb(); if (flags & 1) leb(); };
  const imports = [], exports = [];
  while (at < bytes.length) {
    const id = bytes[at++];
    const size = leb();
    const end = at + size;
    if (id === 2) {
      for (let n = leb(); n > 0; n--) {
        const module = name(), field = name(), kind = bytes[at++];
        if (kind === 0) leb();
        else if (kind === 1) { at++; limits(); }
        else if (kind === 2) limits();
        else if (kind === 3) at += 2;
        else if (kind === 4) { at++; leb(); }
        else fail(`unknown import kind ${kind}`);
        imports.push({ module, field });
      }
    } else if (id === 7) {
      for (let n = leb(); n > 0; n--) { exports.push(name()); at++; leb(); }
    }
    at = end;
  }
  return { imports, exports };
}

const escape = (s) => s.replace(/[$]/g, "\\$");
/** The `wasm.NAME` references in the glue. */
const wasmRefs = (js) => new Set([...js.matchAll(/\bwasm\.([\w$]+)/g)].map((m) => m[1]));

/** The import object's body: one entry per import, each `        name: value,` (wasm-bindgen's layout). */
function importEntries(js) {
  const start = js.indexOf("    const import0 = {\n        __proto__: null,\n");
  const end = js.indexOf("\n    };\n", start);
  if (start < 0 || end < 0) fail("cannot find the glue's import object");
  const head = js.indexOf("\n", js.indexOf("__proto__: null,", start)) + 1;
  const body = js.slice(head, end + 1);
  const entries = body.split(/(?=^ {8}[\w$]+: )/m).filter((e) => e.length > 0);
  const named = entries.map((text) => {
    const m = /^ {8}([\w$]+): /.exec(text);
    if (!m) fail(`unexpected line in the import object: ${text.split("\n")[0]}`);
    return { name: m[1], text };
  });
  return { before: js.slice(0, head), entries: named, after: js.slice(end + 1) };
}

const work = mkdtempSync(join(tmpdir(), "latchkey-widget-"));
try {
  let js = readFileSync(join(inDir, JS), "utf8");
  const original = wasmNames(readFileSync(join(inDir, WASM)));

  // 1. Only `default` and `mount` are used: drop the exported classes and what only they use.
  const classes = [...js.matchAll(/^export class ([\w$]+) \{$/gm)].map((m) => m[1]);
  for (const name of classes) {
    const n = escape(name);
    js = js.replace(new RegExp(`^export class ${n} \\{\\n[\\s\\S]*?^\\}\\n`, "m"), "");
    js = js.replace(new RegExp(`^if \\(Symbol\\.dispose\\) ${n}\\.prototype\\[Symbol\\.dispose\\] = ${n}\\.prototype\\.free;\\n`, "m"), "");
    js = js.replace(new RegExp(`^const ${n}Finalization = [^;]*;\\n`, "m"), "");
    if (new RegExp(`\\b${n}\\b`).test(js)) fail(`class ${name} is still referenced by the glue`);
  }
  const exportsLeft = [...js.matchAll(/^export (?:function|const|let|class) ([\w$]+)|^export \{([^}]*)\}/gm)]
    .flatMap((m) => (m[1] ? [m[1]] : m[2].split(",").map((s) => s.trim().split(/\s+as\s+/).pop())));
  for (const name of ["default", "mount"]) {
    if (!exportsLeft.includes(name)) fail(`the glue no longer exports ${name}`);
  }

  const used = wasmRefs(js);
  for (const name of used) {
    if (!original.exports.includes(name)) fail(`the glue calls wasm.${name}, which the module does not export`);
  }
  const graph = [
    { name: "glue", root: true, reaches: [...used].map((e) => `export:${e}`) },
    ...original.exports.map((e) => ({ name: `export:${e}`, export: e })),
  ];
  writeFileSync(join(work, "graph.json"), JSON.stringify(graph));
  execFileSync("wasm-metadce", [...FEATURES, join(inDir, WASM), "-f", join(work, "graph.json"), "-o", join(work, "dce.wasm")], { stdio: ["ignore", "ignore", "inherit"] });

  // 2. Optimise for size, then give imports, exports and the import module short names.
  // (Renaming is a run of its own: --converge would rename twice. Its -Oz keeps the binary
  // writer's own size optimisations, which a run without an optimisation level skips.)
  execFileSync("wasm-opt", [
    ...FEATURES, join(work, "dce.wasm"), "-o", join(work, "opt.wasm"),
    // Flattening and re-relooping first lets -Oz find a little more (~400 bytes gzip here).
    // Low memory unused and zero-filled: rustc's data starts at 1 MiB, memory is the module's own.
    "--flatten", "--rereloop", "-Oz", "--converge", "--low-memory-unused", "--zero-filled-memory",
    "--strip-debug", "--strip-producers", "--strip-target-features",
  ], { stdio: ["ignore", "ignore", "inherit"] });
  const map = JSON.parse(execFileSync("wasm-opt", [
    ...FEATURES, join(work, "opt.wasm"), "-o", join(outDir, WASM),
    "-Oz", "--minify-imports-and-exports-and-modules",
  ], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }));
  const final = wasmNames(readFileSync(join(outDir, WASM)));

  const modules = new Set(original.imports.map((i) => i.module));
  const newModules = new Set(final.imports.map((i) => i.module));
  if (modules.size !== 1 || newModules.size !== 1) fail("expected one import module before and after");
  const [module] = modules, [newModule] = newModules;
  const moduleKey = `        ${JSON.stringify(module)}: import0,`;
  if (!js.includes(moduleKey)) fail(`cannot find the import module ${module} in the glue`);
  js = js.replace(moduleKey, `        ${JSON.stringify(newModule)}: import0,`);

  const imports = new Map(map.imports.map(([, from, to]) => [from, to]));
  const parts = importEntries(js);
  const kept = parts.entries.filter((e) => imports.has(e.name));
  js = parts.before + kept.map((e) => e.text.replace(/^( {8})[\w$]+: /, `$1${imports.get(e.name)}: `)).join("") + parts.after;
  for (const [from] of imports) {
    if (!kept.some((e) => e.name === from)) fail(`the module imports ${from}, which the glue does not provide`);
  }

  const exports = new Map(map.exports);
  js = js.replace(/\bwasm\.([\w$]+)/g, (ref, name) => (exports.has(name) ? `wasm.${exports.get(name)}` : ref));
  const after = wasmRefs(js);
  for (const name of after) {
    if (!final.exports.includes(name)) fail(`the glue calls wasm.${name}, which the module does not export`);
  }
  const provided = importEntries(js).entries.map((e) => e.name).sort();
  const wanted = final.imports.map((i) => i.field).sort();
  if (JSON.stringify(provided) !== JSON.stringify(wanted)) fail("the glue's imports and the module's differ");

  // 3. Minify the glue.
  writeFileSync(join(work, JS), js);
  execFileSync("esbuild", [join(work, JS), "--minify", "--format=esm", "--log-level=warning", `--outfile=${join(outDir, JS)}`], { stdio: "inherit" });
} finally {
  rmSync(work, { recursive: true, force: true });
}
