/**
 * The events of the fake Kubernetes API, served as core/v1 Events (`/api/v1/namespaces/NS/events`)
 * with the API server's field selectors. Two writers exist in a real cluster and both are modelled:
 * the kubelet and most controllers still write the old way (`count`, `firstTimestamp`,
 * `lastTimestamp`), the scheduler writes through events.k8s.io (`eventTime`, `series`, and the old
 * fields left empty), and core/v1 shows both.
 *
 *   events.add({ namespace: 'db', involvedObject: { kind: 'Pod', name: 'db-7d9f8b-x2k4q' }, type: 'Warning',
 *                reason: 'BackOff', message: 'Back-off restarting failed container db in pod …', count: 4 });
 *   events.list('db', 'type=Warning') // [{ kind: 'Event', … }]
 */
import { randomBytes, randomUUID } from 'node:crypto';

type Json = Record<string, unknown>;

export interface FakeEvent {
  namespace: string;
  involvedObject: { kind: string; name: string; uid?: string; apiVersion?: string; fieldPath?: string };
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /** How many times it happened (default 1). */
  count?: number;
  firstTimestamp?: Date;
  /** Default: now. */
  lastTimestamp?: Date;
  /** The writer: the old core recorder (kubelet, controllers; the default) or events.k8s.io (the scheduler). */
  api?: 'core' | 'events.k8s.io';
  /** Default: kubelet for pods, the controller for the others. */
  component?: string;
  host?: string;
}

interface StoredEvent extends FakeEvent {
  name: string;
  uid: string;
  resourceVersion: string;
}

export class FieldSelectorError extends Error {}

// The fields core/v1 events can be selected on (pkg/registry/core/event/strategy.go's ToSelectableFields).
const SELECTABLE = [
  'involvedObject.kind',
  'involvedObject.namespace',
  'involvedObject.name',
  'involvedObject.uid',
  'involvedObject.apiVersion',
  'involvedObject.resourceVersion',
  'involvedObject.fieldPath',
  'reason',
  'reportingComponent',
  'source',
  'type',
  'metadata.name',
  'metadata.namespace',
] as const;

const DEFAULT_COMPONENT: Record<string, string> = {
  Pod: 'kubelet',
  Deployment: 'deployment-controller',
  ReplicaSet: 'replicaset-controller',
  PersistentVolumeClaim: 'persistentvolume-controller',
};

const seconds = (d: Date): string => d.toISOString().replace(/\.\d+Z$/, 'Z');
const micros = (d: Date): string => d.toISOString().replace(/Z$/, '000Z');

export class FakeEvents {
  private readonly events: StoredEvent[] = [];

  constructor(private readonly nextResourceVersion: () => string) {}

  add(event: FakeEvent): string {
    const name = `${event.involvedObject.name}.${randomBytes(8).toString('hex')}`;
    this.events.push({ ...event, name, uid: randomUUID(), resourceVersion: this.nextResourceVersion() });
    return name;
  }

  /** core/v1 Events of a namespace (or all), filtered by a field selector such as `type=Warning,involvedObject.kind=Pod`. */
  list(namespace: string | undefined, fieldSelector: string | undefined): Json[] {
    const terms = parseFieldSelector(fieldSelector);
    return this.events
      .filter((e) => namespace === undefined || e.namespace === namespace)
      .filter((e) => terms.every(({ field, value, equal }) => (fieldValue(e, field) === value) === equal))
      .map(eventJson);
  }
}

function parseFieldSelector(selector: string | undefined): { field: string; value: string; equal: boolean }[] {
  if (selector === undefined || selector.trim() === '') return [];
  return selector.split(',').map((term) => {
    const match = /^\s*([^!=\s]+)\s*(!=|==|=)\s*(.*?)\s*$/.exec(term);
    if (match === null) throw new FieldSelectorError(`invalid field selector: "${term}"`);
    const [, field = '', op, value = ''] = match;
    if (!(SELECTABLE as readonly string[]).includes(field)) {
      throw new FieldSelectorError(`"${field}" is not a known field selector: only "${SELECTABLE.join('", "')}"`);
    }
    return { field, value, equal: op !== '!=' };
  });
}

function component(e: FakeEvent): string {
  return e.component ?? (e.api === 'events.k8s.io' ? 'default-scheduler' : (DEFAULT_COMPONENT[e.involvedObject.kind] ?? 'kube-controller-manager'));
}

function fieldValue(e: StoredEvent, field: string): string {
  switch (field) {
    case 'involvedObject.kind':
      return e.involvedObject.kind;
    case 'involvedObject.name':
      return e.involvedObject.name;
    case 'involvedObject.namespace':
    case 'metadata.namespace':
      return e.namespace;
    case 'involvedObject.uid':
      return e.involvedObject.uid ?? '';
    case 'involvedObject.apiVersion':
      return e.involvedObject.apiVersion ?? '';
    case 'involvedObject.fieldPath':
      return e.involvedObject.fieldPath ?? '';
    case 'reason':
      return e.reason;
    case 'type':
      return e.type;
    case 'metadata.name':
      return e.name;
    case 'source':
    case 'reportingComponent':
      return component(e);
    default:
      return '';
  }
}

function eventJson(e: StoredEvent): Json {
  const last = e.lastTimestamp ?? new Date();
  const first = e.firstTimestamp ?? last;
  const count = e.count ?? 1;
  const involvedObject: Json = {
    kind: e.involvedObject.kind,
    namespace: e.namespace,
    name: e.involvedObject.name,
    apiVersion: e.involvedObject.apiVersion ?? (['Deployment', 'ReplicaSet'].includes(e.involvedObject.kind) ? 'apps/v1' : 'v1'),
  };
  if (e.involvedObject.uid !== undefined) involvedObject.uid = e.involvedObject.uid;
  if (e.involvedObject.fieldPath !== undefined) involvedObject.fieldPath = e.involvedObject.fieldPath;
  const base: Json = {
    kind: 'Event',
    apiVersion: 'v1',
    metadata: { name: e.name, namespace: e.namespace, uid: e.uid, resourceVersion: e.resourceVersion, creationTimestamp: seconds(first) },
    involvedObject,
    reason: e.reason,
    message: e.message,
    type: e.type,
  };
  if (e.api === 'events.k8s.io') {
    // What core/v1 shows of an events.k8s.io Event: the old fields are null, the times are in eventTime and series.
    const json: Json = {
      ...base,
      source: {},
      firstTimestamp: null,
      lastTimestamp: null,
      eventTime: micros(first),
      reportingComponent: component(e),
      reportingInstance: `${component(e)}-${e.host ?? 'control-plane'}`,
      action: 'Scheduling',
    };
    if (count > 1) json.series = { count, lastObservedTime: micros(last) };
    return json;
  }
  const source: Json = { component: component(e) };
  if (e.host !== undefined) source.host = e.host;
  return {
    ...base,
    source,
    firstTimestamp: seconds(first),
    lastTimestamp: seconds(last),
    count,
    eventTime: null,
    reportingComponent: component(e),
    reportingInstance: e.host ?? '',
  };
}
