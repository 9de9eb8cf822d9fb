/**
 * The three PATCH formats the API server accepts, applied to plain JSON objects the way it applies
 * them, for the fake Kubernetes API:
 *
 *   mergePatch(obj, { spec: { replicas: 3 } })                          // RFC 7386: lists replaced, null deletes
 *   strategicMergePatch(obj, { spec: { template: { spec: { containers: [{ name: 'db', image: 'postgres:15.8' }] } } } })
 *                                                                        // lists of named things merged by name
 *   jsonPatch(obj, [{ op: 'replace', path: '/spec/replicas', value: 3 }]) // RFC 6902
 *
 * Strategic merge follows the patchMergeKey of the core types this fake serves (containers, env,
 * ports, volumes, volumeMounts by `name`; everything else is replaced) and honours `$patch: delete`
 * in a list element; other directives (`$setElementOrder/…`, `$retainKeys`) are accepted and ignored.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
type JsonObject = { [key: string]: JsonValue };

export class PatchError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const MERGE_BY_NAME = new Set(['containers', 'initContainers', 'env', 'ports', 'volumes', 'volumeMounts']);

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

export function mergePatch(target: JsonValue, patch: JsonValue): JsonValue {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key] ?? null, value);
  }
  return result;
}

export function strategicMergePatch(target: JsonValue, patch: JsonValue, field = ''): JsonValue {
  if (Array.isArray(patch)) {
    if (!MERGE_BY_NAME.has(field) || !Array.isArray(target)) return clone(patch.filter((e) => !(isObject(e) && e.$patch === 'delete')));
    const result = clone(target);
    for (const element of patch) {
      if (!isObject(element) || typeof element.name !== 'string') throw new PatchError(400, `${field}: every element needs its merge key "name"`);
      const at = result.findIndex((e) => isObject(e) && e.name === element.name);
      if (element.$patch === 'delete') {
        if (at >= 0) result.splice(at, 1);
      } else if (at >= 0) {
        result[at] = strategicMergePatch(result[at] ?? null, element);
      } else {
        result.push(strategicMergePatch(null, element));
      }
    }
    return result;
  }
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) continue;
    if (value === null) delete result[key];
    else result[key] = strategicMergePatch(result[key] ?? null, value, key);
  }
  return result;
}

/** RFC 6901 pointer segments. */
function pointer(path: unknown): string[] {
  if (typeof path !== 'string' || (path !== '' && !path.startsWith('/'))) throw new PatchError(400, `json patch: invalid path ${JSON.stringify(path)}`);
  return path === '' ? [] : path.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function jsonPatch(target: JsonValue, operations: unknown): JsonValue {
  if (!Array.isArray(operations)) throw new PatchError(400, 'json patch must be an array of operations');
  let document = clone(target);
  for (const operation of operations) {
    if (!isObject(operation)) throw new PatchError(400, `json patch: not an operation: ${JSON.stringify(operation)}`);
    const path = pointer(operation.path);
    const parentPath = path.slice(0, -1);
    const last = path[path.length - 1];
    const parent = parentPath.reduce<JsonValue | undefined>((node, key) => (Array.isArray(node) ? node[Number(key)] : isObject(node) ? node[key] : undefined), document);
    const current = last === undefined ? document : Array.isArray(parent) ? parent[Number(last)] : isObject(parent) ? parent[last] : undefined;
    const missing = (): never => {
      throw new PatchError(422, `the server rejected our request due to an error in our request: ${String(operation.op)} operation does not apply: doc is missing path: "${String(operation.path)}"`);
    };
    switch (operation.op) {
      case 'test':
        if (JSON.stringify(current) !== JSON.stringify(operation.value)) {
          throw new PatchError(422, `the server rejected our request due to an error in our request: testing value ${String(operation.path)} failed`);
        }
        break;
      case 'add':
      case 'replace': {
        const value = (operation.value ?? null) as JsonValue;
        if (last === undefined) {
          document = clone(value);
        } else if (Array.isArray(parent)) {
          const index = last === '-' ? parent.length : Number(last);
          if (operation.op === 'add') parent.splice(index, 0, clone(value));
          else if (current === undefined) missing();
          else parent[index] = clone(value);
        } else if (isObject(parent)) {
          if (operation.op === 'replace' && current === undefined) missing();
          parent[last] = clone(value);
        } else {
          missing();
        }
        break;
      }
      case 'remove':
        if (current === undefined || last === undefined) missing();
        else if (Array.isArray(parent)) parent.splice(Number(last), 1);
        else if (isObject(parent)) delete parent[last];
        break;
      default:
        throw new PatchError(422, `json patch: unsupported operation ${JSON.stringify(operation.op)}`);
    }
  }
  return document;
}

export const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'] as const;

/** The patched object, by the request's Content-Type; 415 for any other, as the API server answers. */
export function applyPatch(target: JsonValue, contentType: string, body: unknown, options: { strategic?: boolean } = {}): JsonValue {
  if (contentType === 'application/json-patch+json') return jsonPatch(target, body);
  if (contentType === 'application/merge-patch+json' || (contentType === 'application/strategic-merge-patch+json' && options.strategic !== false)) {
    if (!isObject(body)) throw new PatchError(400, 'the patch body must be a JSON object');
    return contentType === 'application/merge-patch+json' ? mergePatch(target, body) : strategicMergePatch(target, body);
  }
  throw new PatchError(
    415,
    `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}, application/apply-patch+yaml`,
  );
}
