/**
 * The RBAC of deploy/, enforced as the API server enforces it for the bot's ServiceAccount: the fake
 * Kubernetes API asks `authorize()` before it answers, so a passing test suite proves that deploy/'s
 * Roles grant what the bot calls, and a call outside them gets the API server's own 403.
 *
 *   const rbac = loadDeployRbac();                          // deploy/kustomization.yaml's resources
 *   rbac.authorize({ verb: 'get', apiGroup: '', resource: 'pods', subresource: 'log',
 *                    namespace: 'recipe-database', name: 'recipe-database-7d9f8b-x2k4q' }); // true
 *   rbac.authorize({ verb: 'list', apiGroup: '', resource: 'secrets', namespace: 'recipe-database' }); // false
 *
 * Semantics follow Kubernetes' RBAC authorizer (pkg/apis/rbac/v1/evaluation_helpers.go): a rule
 * matches a verb, an API group, `resource` or `resource/subresource`, and — when it has
 * resourceNames — the object's name, which a list or a create never has. A Role grants only in its
 * own namespace; cluster-scoped requests need a ClusterRole bound by a ClusterRoleBinding.
 */
import { z } from 'zod';
import { kustomizationFiles, readManifestFile, DEPLOY_DIR, type Manifest } from './manifests.js';

export interface ServiceAccountRef {
  namespace: string;
  name: string;
}

/** The bot's ServiceAccount (deploy/serviceaccount.yaml). */
export const BOT_ACCOUNT: ServiceAccountRef = { namespace: 'recipedb-ops', name: 'recipedb-ops' };

/** What the API server authorizes for a request on a resource (its RequestInfo). */
export interface ResourceAttributes {
  verb: string;
  /** "" for the core group (pods, nodes), "apps", "metrics.k8s.io" … */
  apiGroup: string;
  resource: string;
  subresource?: string;
  /** Absent for a cluster-scoped request (nodes, or pods across all namespaces). */
  namespace?: string;
  /** Absent for a list or a create. */
  name?: string;
}

/** A request outside /api and /apis resources: /version, discovery (/api, /apis/apps/v1) … */
export interface NonResourceAttributes {
  verb: string;
  path: string;
}

export type RequestAttributes = ({ kind: 'resource' } & ResourceAttributes) | ({ kind: 'nonResource' } & NonResourceAttributes);

export interface Rbac {
  /** The user name the API server sees: `system:serviceaccount:NS:NAME`. */
  user: string;
  authorize(request: ResourceAttributes): boolean;
  authorizePath(request: NonResourceAttributes): boolean;
  /** Either kind of request, as requestAttributes() gives it. */
  allows(request: RequestAttributes): boolean;
}

const RBAC_API_VERSION = 'rbac.authorization.k8s.io/v1';

const policyRule = z.object({
  apiGroups: z.array(z.string()).default([]),
  resources: z.array(z.string()).default([]),
  verbs: z.array(z.string()).min(1),
  resourceNames: z.array(z.string()).default([]),
  nonResourceURLs: z.array(z.string()).default([]),
});
type PolicyRule = z.infer<typeof policyRule>;

const metadata = z.object({ name: z.string().min(1), namespace: z.string().min(1).optional() });

const role = z.object({
  apiVersion: z.literal(RBAC_API_VERSION),
  kind: z.enum(['Role', 'ClusterRole']),
  metadata,
  rules: z.array(policyRule).default([]),
});
type Role = z.infer<typeof role>;

const binding = z.object({
  apiVersion: z.literal(RBAC_API_VERSION),
  kind: z.enum(['RoleBinding', 'ClusterRoleBinding']),
  metadata,
  roleRef: z.object({ apiGroup: z.literal('rbac.authorization.k8s.io'), kind: z.enum(['Role', 'ClusterRole']), name: z.string().min(1) }),
  subjects: z
    .array(z.object({ kind: z.enum(['ServiceAccount', 'User', 'Group']), name: z.string().min(1), namespace: z.string().optional() }))
    .default([]),
});
type Binding = z.infer<typeof binding>;

// What every authenticated account may read, through the built-in system:discovery,
// system:basic-user and system:public-info-viewer ClusterRoles.
const BUILT_IN_PATHS = ['/api', '/api/*', '/apis', '/apis/*', '/version', '/version/', '/healthz', '/livez', '/readyz', '/openapi', '/openapi/*'];

// What system:basic-user grants every authenticated account: asking what it may do itself.
const BUILT_IN_RULES: PolicyRule[] = [
  { apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], verbs: ['create'], resourceNames: [], nonResourceURLs: [] },
];

// Path segments after namespaces/NAME that are subresources of the namespace, not resources in it.
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/**
 * The RBAC objects of deploy/kustomization.yaml's resources (what `kubectl apply -k deploy/` creates)
 * plus `extraFiles` (paths from the repository root, e.g. the optional deploy/optional/node-read.yaml).
 */
export function loadDeployRbac(options: { extraFiles?: string[]; account?: ServiceAccountRef } = {}): Rbac {
  const files = [...kustomizationFiles(DEPLOY_DIR), ...(options.extraFiles ?? [])];
  return rbacFrom(files.flatMap(readManifestFile), options.account ?? BOT_ACCOUNT);
}

/** The authorizer for `account` over these objects; objects other than Roles and bindings are ignored. */
export function rbacFrom(objects: Manifest[], account: ServiceAccountRef = BOT_ACCOUNT): Rbac {
  const roles: Role[] = [];
  const bindings: Binding[] = [];
  for (const object of objects) {
    const where = `${object.kind} ${object.metadata?.name ?? '(unnamed)'}`;
    if (object.kind === 'Role' || object.kind === 'ClusterRole') roles.push(parse(role, object, where));
    if (object.kind === 'RoleBinding' || object.kind === 'ClusterRoleBinding') bindings.push(parse(binding, object, where));
  }
  for (const r of roles) {
    if (r.kind === 'Role' && r.metadata.namespace === undefined) throw new Error(`Role ${r.metadata.name} has no namespace: it would land in kubectl's current one`);
    if (r.kind === 'ClusterRole' && r.metadata.namespace !== undefined) throw new Error(`ClusterRole ${r.metadata.name} has a namespace, which means nothing`);
  }

  const user = `system:serviceaccount:${account.namespace}:${account.name}`;
  const groups = ['system:serviceaccounts', `system:serviceaccounts:${account.namespace}`, 'system:authenticated'];
  const boundToAccount = (b: Binding): boolean =>
    b.subjects.some((s) => {
      if (s.kind === 'User') return s.name === user;
      if (s.kind === 'Group') return groups.includes(s.name);
      // In a RoleBinding a ServiceAccount without a namespace is the binding's namespace's.
      return s.name === account.name && (s.namespace ?? b.metadata.namespace) === account.namespace;
    });

  const rulesOf = (b: Binding): PolicyRule[] => {
    const namespace = b.roleRef.kind === 'Role' ? b.metadata.namespace : undefined;
    const found = roles.find((r) => r.kind === b.roleRef.kind && r.metadata.name === b.roleRef.name && r.metadata.namespace === namespace);
    if (found === undefined) throw new Error(`${b.kind} ${b.metadata.name} refers to ${b.roleRef.kind} ${b.roleRef.name}, which is not in the manifests`);
    return found.rules;
  };
  const clusterRules = bindings.filter((b) => b.kind === 'ClusterRoleBinding' && boundToAccount(b)).flatMap(rulesOf);
  const namespacedRules = new Map<string, PolicyRule[]>();
  for (const b of bindings.filter((x) => x.kind === 'RoleBinding' && boundToAccount(x))) {
    const namespace = b.metadata.namespace;
    if (namespace === undefined) throw new Error(`RoleBinding ${b.metadata.name} has no namespace`);
    namespacedRules.set(namespace, [...(namespacedRules.get(namespace) ?? []), ...rulesOf(b)]);
  }

  const authorize = (request: ResourceAttributes): boolean => {
    const cluster = [...BUILT_IN_RULES, ...clusterRules];
    const rules = request.namespace === undefined ? cluster : [...cluster, ...(namespacedRules.get(request.namespace) ?? [])];
    return rules.some((rule) => ruleAllows(rule, request));
  };
  const authorizePath = (request: NonResourceAttributes): boolean =>
    (['get', 'head'].includes(request.verb) && BUILT_IN_PATHS.some((p) => pathMatches(p, request.path))) ||
    clusterRules.some((rule) => verbMatches(rule, request.verb) && rule.nonResourceURLs.some((p) => pathMatches(p, request.path)));
  return {
    user,
    authorize,
    authorizePath,
    allows: (request) => (request.kind === 'resource' ? authorize(request) : authorizePath(request)),
  };
}

function parse<T>(schema: z.ZodType<T>, object: Manifest, where: string): T {
  const result = schema.safeParse(object);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new Error(`${where}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'is invalid'}`);
  }
  return result.data;
}

function ruleAllows(rule: PolicyRule, request: ResourceAttributes): boolean {
  return verbMatches(rule, request.verb) && groupMatches(rule, request.apiGroup) && resourceMatches(rule, request) && nameMatches(rule, request.name);
}

function verbMatches(rule: PolicyRule, verb: string): boolean {
  return rule.verbs.includes('*') || rule.verbs.includes(verb);
}

function groupMatches(rule: PolicyRule, group: string): boolean {
  return rule.apiGroups.includes('*') || rule.apiGroups.includes(group);
}

// `pods` does not cover `pods/log`: a subresource is granted by its full name, by `*`, or by `*/log`.
function resourceMatches(rule: PolicyRule, request: ResourceAttributes): boolean {
  const combined = request.subresource ? `${request.resource}/${request.subresource}` : request.resource;
  return rule.resources.some((r) => r === '*' || r === combined || (request.subresource !== undefined && r === `*/${request.subresource}`));
}

/** With resourceNames, only requests for a named object match: never a list, a watch or a create. */
function nameMatches(rule: PolicyRule, name: string | undefined): boolean {
  if (rule.resourceNames.length === 0) return true;
  return name !== undefined && name !== '' && rule.resourceNames.includes(name);
}

function pathMatches(pattern: string, path: string): boolean {
  return pattern === '*' || pattern === path || (pattern.endsWith('*') && path.startsWith(pattern.slice(0, -1)));
}

/**
 * What the API server makes of an HTTP request before authorizing it (k8s.io/apiserver's
 * RequestInfoFactory): GET on a collection is `list` (`watch` with ?watch=true), on an object `get`;
 * PUT is `update`, PATCH `patch`, POST `create`, DELETE `delete` or `deletecollection`.
 */
export function requestAttributes(method: string, path: string, query: Record<string, string> = {}): RequestAttributes {
  const upper = method.toUpperCase();
  const verb = ({ GET: 'get', HEAD: 'get', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' } as Record<string, string>)[upper] ?? upper.toLowerCase();
  let parts = path.split('/').filter((s) => s !== '').map(decodeURIComponent);
  const nonResource: RequestAttributes = { kind: 'nonResource', verb: upper === 'HEAD' ? 'head' : verb, path };
  const prefix = parts[0];
  // /api/v1/RESOURCE… or /apis/GROUP/VERSION/RESOURCE…; anything shorter is discovery.
  if (prefix === 'api') {
    if (parts.length < 3) return nonResource;
    parts = parts.slice(2);
  } else if (prefix === 'apis') {
    if (parts.length < 4) return nonResource;
    parts = parts.slice(1);
  } else {
    return nonResource;
  }
  const apiGroup = prefix === 'api' ? '' : (parts[0] ?? '');
  if (prefix === 'apis') parts = parts.slice(2);

  let namespace: string | undefined;
  if (parts[0] === 'namespaces' && parts.length > 1) {
    namespace = parts[1];
    // namespaces/NAME and namespaces/NAME/status are the namespace object itself.
    if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2] ?? '')) parts = parts.slice(2);
  }
  const [resource = '', name, subresource] = parts;
  let resolvedVerb = verb;
  if (name === undefined && verb === 'get') resolvedVerb = query.watch === 'true' || query.watch === '1' ? 'watch' : 'list';
  if (name === undefined && verb === 'delete') resolvedVerb = 'deletecollection';
  const attributes: RequestAttributes = { kind: 'resource', verb: resolvedVerb, apiGroup, resource };
  if (subresource !== undefined) attributes.subresource = subresource;
  // As in the API server, namespaces/NAME itself is "in" NAME: a Role there can grant reading it.
  if (namespace !== undefined) attributes.namespace = namespace;
  if (name !== undefined) attributes.name = name;
  return attributes;
}

/**
 * The Status the API server answers a refused request with (apimachinery's NewForbidden):
 *   pods "x" is forbidden: User "system:serviceaccount:recipedb-ops:recipedb-ops" cannot get resource
 *   "pods/log" in API group "" in the namespace "recipe-database"
 */
export function forbiddenStatus(request: RequestAttributes, user: string): { message: string; details: Record<string, string> } {
  if (request.kind === 'nonResource') {
    return { message: `forbidden: User "${user}" cannot ${request.verb} path "${request.path}"`, details: {} };
  }
  const resource = request.subresource ? `${request.resource}/${request.subresource}` : request.resource;
  const scope = request.namespace !== undefined ? `in the namespace "${request.namespace}"` : 'at the cluster scope';
  const reason = `User "${user}" cannot ${request.verb} resource "${resource}" in API group "${request.apiGroup}" ${scope}`;
  const qualified = request.apiGroup === '' ? request.resource : `${request.resource}.${request.apiGroup}`;
  const message = request.name ? `${qualified} "${request.name}" is forbidden: ${reason}` : `${qualified} is forbidden: ${reason}`;
  // Go's omitempty: an empty name or group is left out.
  const details: Record<string, string> = { kind: request.resource };
  if (request.name) details.name = request.name;
  if (request.apiGroup !== '') details.group = request.apiGroup;
  return { message, details };
}
