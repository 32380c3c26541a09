#!/usr/bin/env node
// Validates multi-document Kubernetes YAML (stdin) against the API schemas, offline.
//
//   node validate.mjs < rendered.yaml
//
// Prints one line per error, `Kind/name: path: message`, then `objects: N, errors: M`.
// Exit 0 every object is valid, 1 some object is not (or the input holds none), 2 usage or a broken install.
//
// Two checks per object, both driven by the kubernetes-models packages (generated from the Kubernetes OpenAPI spec
// and from the cert-manager and prometheus-operator CRDs):
// - the packages' JSON schema validators: types, required fields, enums, formats;
// - unknown fields, which those schemas allow (the upstream spec has no additionalProperties: false), checked
//   against the packages' TypeScript declarations through the TypeScript type checker. The API server drops or
//   rejects unknown fields (kubectl's strict field validation), so a misspelt field is a bug we want to see here.
// Only the group/versions a default Kubernetes 1.30 API server serves are accepted: the packages also carry
// versions removed long ago (extensions/v1beta1, policy/v1beta1), which a 1.30 cluster refuses.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const USAGE = "usage: node validate.mjs < manifests.yaml   (multi-document YAML on stdin)";
const here = dirname(fileURLToPath(import.meta.url));

// apiVersion -> [package, module path]. Core: what `kubectl api-versions` lists on a default 1.30 cluster.
const GROUP_VERSIONS = new Map([
  ["v1", ["kubernetes-models", "v1"]],
  ["admissionregistration.k8s.io/v1", ["kubernetes-models", "admissionregistration.k8s.io/v1"]],
  ["apiextensions.k8s.io/v1", ["kubernetes-models", "apiextensions.k8s.io/v1"]],
  ["apiregistration.k8s.io/v1", ["kubernetes-models", "apiregistration.k8s.io/v1"]],
  ["apps/v1", ["kubernetes-models", "apps/v1"]],
  ["authentication.k8s.io/v1", ["kubernetes-models", "authentication.k8s.io/v1"]],
  ["authorization.k8s.io/v1", ["kubernetes-models", "authorization.k8s.io/v1"]],
  ["autoscaling/v1", ["kubernetes-models", "autoscaling/v1"]],
  ["autoscaling/v2", ["kubernetes-models", "autoscaling/v2"]],
  ["batch/v1", ["kubernetes-models", "batch/v1"]],
  ["certificates.k8s.io/v1", ["kubernetes-models", "certificates.k8s.io/v1"]],
  ["coordination.k8s.io/v1", ["kubernetes-models", "coordination.k8s.io/v1"]],
  ["discovery.k8s.io/v1", ["kubernetes-models", "discovery.k8s.io/v1"]],
  ["events.k8s.io/v1", ["kubernetes-models", "events.k8s.io/v1"]],
  ["flowcontrol.apiserver.k8s.io/v1", ["kubernetes-models", "flowcontrol.apiserver.k8s.io/v1"]],
  ["flowcontrol.apiserver.k8s.io/v1beta3", ["kubernetes-models", "flowcontrol.apiserver.k8s.io/v1beta3"]],
  ["networking.k8s.io/v1", ["kubernetes-models", "networking.k8s.io/v1"]],
  ["node.k8s.io/v1", ["kubernetes-models", "node.k8s.io/v1"]],
  ["policy/v1", ["kubernetes-models", "policy/v1"]],
  ["rbac.authorization.k8s.io/v1", ["kubernetes-models", "rbac.authorization.k8s.io/v1"]],
  ["scheduling.k8s.io/v1", ["kubernetes-models", "scheduling.k8s.io/v1"]],
  ["storage.k8s.io/v1", ["kubernetes-models", "storage.k8s.io/v1"]],
  // The CRDs the chart may render.
  ["cert-manager.io/v1", ["@kubernetes-models/cert-manager", "cert-manager.io/v1"]],
  ["monitoring.coreos.com/v1", ["@kubernetes-models/prometheus-operator", "monitoring.coreos.com/v1"]],
]);

function main() {
  const args = process.argv.slice(2);
  if (args.includes("-h") || args.includes("--help")) {
    console.log(USAGE);
    return 0;
  }
  if (args.length > 0 && !(args.length === 1 && args[0] === "-")) {
    console.error(`unexpected argument: ${args[0]}\n${USAGE}`);
    return 2;
  }
  if (process.stdin.isTTY) {
    console.error(USAGE);
    return 2;
  }

  let modules;
  try {
    modules = loadModules();
  } catch (e) {
    console.error(`validate.mjs: cannot load the schema packages (run npm ci in ${here}): ${e.message}`);
    return 2;
  }

  const input = readFileSync(0, "utf8");
  const errors = [];
  const objects = parseObjects(input, modules.YAML, errors);
  for (const o of objects) {
    o.label = labelOf(o);
    o.model = resolveModel(o, modules.require);
  }

  const known = objects.filter((o) => typeof o.model !== "string");
  const checker = known.length > 0 ? new UnknownFieldChecker(modules.ts, known.map((o) => o.model)) : null;
  const seen = new Map();
  for (const o of objects) {
    if (typeof o.model === "string") {
      errors.push(`${o.label}: ${o.model}`);
      continue;
    }

    const meta = o.value.metadata;
    if (!meta || typeof meta !== "object" || (typeof meta.name !== "string" && typeof meta.generateName !== "string")) {
      errors.push(`${o.label}: metadata.name: required field missing`);
    }
    const identity = `${o.value.apiVersion}/${o.value.kind}/${meta?.namespace ?? ""}/${meta?.name ?? ""}`;
    if (typeof meta?.name === "string" && seen.has(identity)) {
      errors.push(`${o.label}: duplicate object (also document ${seen.get(identity)})`);
    }
    seen.set(identity, o.index);

    for (const e of [...schemaErrors(o.model, o.value), ...checker.check(o.model, o.value)]) {
      errors.push(`${o.label}: ${e}`);
    }
  }

  if (objects.length === 0 && errors.length === 0) {
    errors.push("input: no Kubernetes objects");
  }

  const unique = [...new Set(errors)];
  for (const e of unique) {
    console.log(e);
  }
  console.log(`objects: ${objects.length}, errors: ${unique.length}`);
  return unique.length === 0 ? 0 : 1;
}

function loadModules() {
  const require = createRequire(join(here, "package.json"));
  return { require, YAML: require("yaml"), ts: require("typescript") };
}

/** Every non-empty document as { index, value }; YAML errors and non-mapping documents go to errors. */
function parseObjects(input, YAML, errors) {
  const objects = [];
  // YAML 1.1 as the API machinery reads it (sigs.k8s.io/yaml): an unquoted yes/on is a boolean and 0644 an octal
  // number, so a label value `yes` is the error it is on a cluster. Timestamps stay strings, as they do there.
  const docs = YAML.parseAllDocuments(input, {
    version: "1.1",
    prettyErrors: false,
    uniqueKeys: true,
    customTags: (tags) => tags.filter((t) => t.tag !== "tag:yaml.org,2002:timestamp"),
  });
  docs.forEach((doc, i) => {
    const index = i + 1;
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        errors.push(`document ${index}: yaml: ${e.message.split("\n")[0]}`);
      }
      return;
    }
    const value = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) {
      return; // an empty document, as `---` between templates that rendered nothing
    }
    if (typeof value !== "object" || Array.isArray(value)) {
      errors.push(`document ${index}: not a mapping (a Kubernetes object is one)`);
      return;
    }
    objects.push({ index, value });
  });
  return objects;
}

function labelOf(o) {
  const kind = typeof o.value.kind === "string" ? o.value.kind : "<no kind>";
  const name = o.value.metadata?.name ?? o.value.metadata?.generateName;
  return `${kind}/${typeof name === "string" ? name : `<unnamed document ${o.index}>`}`;
}

/** The model class for the object's apiVersion and kind, or a message saying why there is none. */
function resolveModel(o, require) {
  const { apiVersion, kind } = o.value;
  if (typeof apiVersion !== "string" || typeof kind !== "string") {
    return `${typeof apiVersion !== "string" ? "apiVersion" : "kind"}: required field missing`;
  }
  const location = GROUP_VERSIONS.get(apiVersion);
  if (!location) {
    return `apiVersion ${apiVersion}: unknown (not served by Kubernetes 1.30 and not a known CRD; the validator never skips an object)`;
  }
  const [pkg, path] = location;
  const exports = require(`${pkg}/${path}`);
  const model = exports[kind];
  if (typeof model !== "function" || model.kind !== kind || model.apiVersion !== apiVersion) {
    return `kind ${kind}: unknown in ${apiVersion}`;
  }
  return { pkg, path, kind, model };
}

function schemaErrors({ model }, value) {
  try {
    new model(value).validate();
    return [];
  } catch (e) {
    if (!Array.isArray(e.errors)) {
      throw e;
    }
    return e.errors.map(describeAjvError);
  }
}

function describeAjvError(e) {
  const segments = e.instancePath.split("/").slice(1).map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
  switch (e.keyword) {
    case "required":
      return `${formatPath([...segments, e.params.missingProperty])}: required field missing`;
    case "enum":
      return `${formatPath(segments)}: must be one of ${e.params.allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
    case "type":
      return `${formatPath(segments)}: must be ${e.params.type}`;
    default:
      return `${formatPath(segments)}: ${e.message ?? e.keyword}`;
  }
}

/** spec.template.spec.containers[0].name; keys that are not plain words are quoted. */
function formatPath(segments) {
  let out = "";
  for (const s of segments) {
    if (/^\d+$/.test(s)) {
      out += `[${s}]`;
    } else if (/^[A-Za-z_$][\w$-]*$/.test(s)) {
      out += out.length === 0 ? s : `.${s}`;
    } else {
      out += `[${JSON.stringify(s)}]`;
    }
  }
  return out.length === 0 ? "(object)" : out;
}

/**
 * Reports fields the object's type does not declare. The declarations are read once per run: a small program that
 * imports each group/version module in use, type-checked by the TypeScript compiler (no code is emitted or run).
 */
class UnknownFieldChecker {
  constructor(ts, models) {
    this.ts = ts;
    const modules = [...new Set(models.map((m) => `${m.pkg}/${m.path}`))];
    const entry = join(here, "__peeragent_schema_entry__.ts");
    const source = modules.map((m, i) => `import type * as m${i} from ${JSON.stringify(m)};\nexport { m${i} };`).join("\n");
    const options = {
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      target: ts.ScriptTarget.ES2020,
      lib: ["lib.es2020.d.ts"],
      types: [],
      noEmit: true,
      skipLibCheck: true,
    };
    const host = ts.createCompilerHost(options);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (name, languageVersion, ...rest) =>
      name === entry ? ts.createSourceFile(name, source, languageVersion) : getSourceFile(name, languageVersion, ...rest);
    const fileExists = host.fileExists.bind(host);
    host.fileExists = (name) => name === entry || fileExists(name);
    const program = ts.createProgram([entry], options, host);
    this.checker = program.getTypeChecker();
    this.moduleSymbols = new Map();
    const entryFile = program.getSourceFile(entry);
    for (const statement of entryFile.statements) {
      if (ts.isImportDeclaration(statement)) {
        const symbol = this.checker.getSymbolAtLocation(statement.moduleSpecifier);
        if (!symbol) {
          throw new Error(`cannot resolve type declarations of ${statement.moduleSpecifier.text}`);
        }
        this.moduleSymbols.set(statement.moduleSpecifier.text, symbol);
      }
    }
  }

  check({ pkg, path, kind }, value) {
    const moduleSymbol = this.moduleSymbols.get(`${pkg}/${path}`);
    const exported = this.checker.getExportsOfModule(moduleSymbol).find((s) => s.name === `I${kind}`);
    if (!exported) {
      return [`(object): no type declaration for ${kind} (validator install is broken)`];
    }
    const target = exported.flags & this.ts.SymbolFlags.Alias ? this.checker.getAliasedSymbol(exported) : exported;
    const errors = [];
    this.walk(value, this.checker.getDeclaredTypeOfSymbol(target), [], errors);
    return errors;
  }

  walk(value, type, path, errors) {
    const ts = this.ts;
    const checker = this.checker;
    if (value === null || typeof value !== "object" || type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) {
      return;
    }
    const members = (type.isUnion() ? type.types : [type]).filter((t) => !(t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)));
    if (Array.isArray(value)) {
      const array = members.find((t) => checker.isArrayType(t) || checker.isTupleType(t));
      if (array) {
        const element = checker.getTypeArguments(array)[0];
        value.forEach((item, i) => this.walk(item, element, [...path, String(i)], errors));
      }
      return; // not an array type: the schema check reports the wrong type
    }
    const objects = members.filter((t) => t.flags & ts.TypeFlags.Object && !checker.isArrayType(t) && !checker.isTupleType(t));
    if (objects.length === 0) {
      return;
    }
    const indexType = objects.map((t) => checker.getIndexInfoOfType(t, ts.IndexKind.String)?.type).find((t) => t);
    // An interface with no fields (RawExtension, FieldsV1) holds arbitrary JSON.
    if (!indexType && objects.every((t) => checker.getPropertiesOfType(t).length === 0)) {
      return;
    }
    for (const [key, child] of Object.entries(value)) {
      const property = objects.map((t) => checker.getPropertyOfType(t, key)).find((p) => p);
      if (property) {
        this.walk(child, checker.getNonNullableType(checker.getTypeOfSymbol(property)), [...path, key], errors);
      } else if (indexType) {
        this.walk(child, indexType, [...path, key], errors);
      } else {
        errors.push(`${formatPath([...path, key])}: unknown field "${key}"`);
      }
    }
  }
}

try {
  process.exitCode = main();
} catch (e) {
  // A bug or a broken install, not a verdict on the input: exit 2 so no caller mistakes it for "invalid".
  console.error(`validate.mjs: internal error: ${e.stack ?? e}`);
  process.exitCode = 2;
}
