#!/usr/bin/env node
// Validate contracts/asyncapi.yaml with the official AsyncAPI parser (@asyncapi/parser).
//
// - Resolves the $refs to the JSON Schema files (./events/...) and the examples (./examples/...).
// - The parser has no built-in parser for JSON Schema draft 2020-12 payloads (it would only
//   warn "No schema parser registered"), so this script registers one: each payload schema
//   is compiled with Ajv's draft 2020-12 validator (strict), and compile errors are
//   reported as error diagnostics.
// - Every message must have such a payload, and every message example is validated against
//   its payload schema (errors, too).
// - Prints every diagnostic and exits 1 if any has error severity (2 on a crash).
//
// Usage: node contracts/tools/validate-asyncapi.mjs [path/to/asyncapi.yaml]
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { DiagnosticSeverity, Parser, fromFile } from '@asyncapi/parser';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const DRAFT_2020_12 = 'application/schema+json;version=draft-2020-12';
const here = path.dirname(fileURLToPath(import.meta.url));
const documentPath = path.resolve(process.argv[2] ?? path.join(here, '..', 'asyncapi.yaml'));

function newAjv() {
  // strict mode catches unknown keywords and type-less constraints; strictTuples is off because
  // our arrays use prefixItems (["VGCL", ...]) followed by open items, which is intended.
  const ajv = new Ajv2020({
    strict: true,
    strictTuples: false,
    allErrors: true,
    allowUnionTypes: true,
  });
  addFormats(ajv);
  return ajv;
}

// Problems found by this script itself (reported like the parser's error diagnostics).
const extraErrors = [];

/**
 * Schema parser for JSON Schema draft 2020-12 payloads (the schemaFormat above). For
 * AsyncAPI 3 documents the parser only calls parse() (validate() is used for 2.x), so the
 * schema is checked here: Ajv compiles it in strict mode and records any error.
 */
const draft202012SchemaParser = {
  getMimeTypes: () => [DRAFT_2020_12],
  async validate(input) {
    return checkSchema(input.data, input.path);
  },
  async parse(input) {
    // Compile now, before the parser decorates the schema objects (x-parser-schema-id).
    const validate = compileSchema(input.data, input.path, extraErrors);
    if (validate && input.meta?.message) validators.set(input.meta.message, validate);
    return input.data;
  },
};

// Compiled payload validators, keyed by the multi-format payload object {schemaFormat, schema}.
const validators = new WeakMap();

function compileSchema(schema, schemaPath, problems) {
  try {
    return newAjv().compile(schema);
  } catch (err) {
    problems.push({ message: `invalid draft 2020-12 schema: ${err.message}`, path: [...schemaPath] });
    return undefined;
  }
}

function checkSchema(schema, schemaPath) {
  const problems = [];
  compileSchema(schema, schemaPath, problems);
  return problems;
}

/**
 * Every payload of this contract is a draft 2020-12 JSON Schema (a typo in schemaFormat
 * would otherwise go unnoticed), and every message example validates against it.
 */
function checkMessages(document) {
  const problems = [];
  for (const message of document.allMessages()) {
    if (!message.hasPayload() || message.schemaFormat() !== DRAFT_2020_12) {
      problems.push({
        message: `message "${message.id()}" must have a payload with schemaFormat ${DRAFT_2020_12}`,
        path: ['components', 'messages', message.id(), 'payload'],
      });
      continue;
    }
    const validate = validators.get(message.payload().json());
    if (validate === undefined) {
      problems.push({
        message: `no compiled payload schema for message "${message.id()}"; examples unchecked`,
        path: ['components', 'messages', message.id(), 'payload'],
      });
      continue;
    }
    for (const example of message.examples().all()) {
      if (!example.hasPayload()) continue;
      if (!validate(example.payload())) {
        for (const e of validate.errors) {
          problems.push({
            message: `example "${example.name() ?? '?'}" of message "${message.id()}" ` +
              `does not match its payload schema: ${e.instancePath || '/'} ${e.message}`,
            path: ['components', 'messages', message.id(), 'examples'],
          });
        }
      }
    }
  }
  return problems;
}

const severityNames = {
  [DiagnosticSeverity.Error]: 'error',
  [DiagnosticSeverity.Warning]: 'warning',
  [DiagnosticSeverity.Information]: 'info',
  [DiagnosticSeverity.Hint]: 'hint',
};

async function main() {
  const parser = new Parser({ schemaParsers: [draft202012SchemaParser] });
  const { document, diagnostics } = await fromFile(parser, documentPath).parse({
    validateOptions: { allowedSeverity: { error: false, warning: true, info: true, hint: true } },
  });

  const all = [...diagnostics];
  if (document !== undefined) extraErrors.push(...checkMessages(document));
  for (const e of extraErrors) {
    all.push({ ...e, code: 'vgcl-contracts', severity: DiagnosticSeverity.Error });
  }

  let errors = 0;
  for (const d of all) {
    const severity = severityNames[d.severity] ?? String(d.severity);
    if (d.severity === DiagnosticSeverity.Error) errors += 1;
    const where = d.path && d.path.length ? d.path.join('.') : '(document)';
    const line = d.range ? `:${d.range.start.line + 1}` : '';
    console.log(`${severity.padEnd(7)} ${d.code ?? ''} ${where}${line}\n        ${d.message}`);
  }

  if (errors > 0 || document === undefined) {
    console.error(`\n${documentPath}: INVALID (${errors} error(s), ${all.length} diagnostic(s))`);
    process.exit(1);
  }
  const channels = document.channels().length;
  const operations = document.operations().length;
  const messages = document.allMessages().length;
  console.log(
    `${documentPath}: valid AsyncAPI ${document.version()} ` +
      `(${channels} channels, ${operations} operations, ${messages} messages, ` +
      `${all.length} diagnostic(s), none an error)`,
  );
}

main().catch((err) => {
  console.error(err?.stack ?? String(err));
  process.exit(2);
});
