/**
 * The names Kubernetes accepts, as its API server validates them (apimachinery's validation):
 * a namespace is a DNS label, a Secret or deployment name a DNS subdomain, a Secret key
 * letters, digits, `-`, `_` and `.`.
 *
 *   isDnsLabel('recipe-database')        // true
 *   isDnsSubdomain('recipedb-user-alice') // true
 *   isSecretKey('API_PASSWORD')           // true
 */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

export function isDnsLabel(name: string): boolean {
  return name.length <= 63 && DNS_LABEL.test(name);
}

export function isDnsSubdomain(name: string): boolean {
  return name.length <= 253 && DNS_SUBDOMAIN.test(name);
}

export function isSecretKey(key: string): boolean {
  return key.length <= 253 && SECRET_KEY.test(key) && key !== '.' && key !== '..';
}
