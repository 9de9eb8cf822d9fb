/**
 * The Kubernetes manifests of deploy/ as plain objects, read the way `kubectl apply -k deploy/` reads
 * them: the files a kustomization.yaml lists, each possibly holding several `---` documents.
 *
 *   const objects = readKustomization('deploy');            // what `kubectl apply -k deploy/` creates
 *   const [role, binding] = readManifestFile('deploy/rbac-app.yaml');
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DEPLOY_DIR = path.join(REPO_ROOT, 'deploy');

/** A manifest object: only `kind` is required here; callers check the rest of its shape. */
export interface Manifest {
  apiVersion?: unknown;
  kind: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** Every YAML document of the file; throws naming the file and line of a parse error. */
export function readYamlDocuments(file: string): unknown[] {
  const absolute = path.resolve(REPO_ROOT, file);
  const values: unknown[] = [];
  for (const document of parseAllDocuments(readFileSync(absolute, 'utf8'), { prettyErrors: true })) {
    const [error] = document.errors;
    if (error !== undefined) throw new Error(`${path.relative(REPO_ROOT, absolute)}: ${error.message}`);
    const value: unknown = document.toJS();
    // A document of comments only (before or after a `---`) is no object.
    if (value !== null && value !== undefined) values.push(value);
  }
  return values;
}

export function readManifestFile(file: string): Manifest[] {
  return readYamlDocuments(file).map((value, index) => {
    if (!isManifest(value)) throw new Error(`${file}: document ${index + 1} is not a Kubernetes object (no kind)`);
    return value;
  });
}

/** The files that a kustomization.yaml's `resources` name (a directory there is a kustomization too). */
export function kustomizationFiles(dir: string): string[] {
  const absolute = path.resolve(REPO_ROOT, dir);
  const [kustomization] = readYamlDocuments(path.join(absolute, 'kustomization.yaml'));
  const resources = isRecord(kustomization) && Array.isArray(kustomization.resources) ? kustomization.resources : [];
  return resources.flatMap((entry): string[] => {
    if (typeof entry !== 'string') throw new Error(`${dir}/kustomization.yaml: a resource is not a file name: ${JSON.stringify(entry)}`);
    const target = path.join(absolute, entry);
    return statSync(target).isDirectory() ? kustomizationFiles(target) : [target];
  });
}

/** Every object that `kubectl apply -k dir` would create. */
export function readKustomization(dir: string): Manifest[] {
  return kustomizationFiles(dir).flatMap(readManifestFile);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isManifest(value: unknown): value is Manifest {
  return isRecord(value) && typeof value.kind === 'string';
}
