/**
 * A value for a server setting, checked the way PostgreSQL will check it, from pg_settings alone
 * (type, unit, min/max, enum values), so a bad value gets its sentence before any approval is
 * asked. Units are accepted in any case and written the way PostgreSQL wants them.
 *
 *   validateSettingValue(workMem, '8mb')   // { ok: true, value: '8MB', base: 8192 }
 *   validateSettingValue(workMem, '10TB')  // { ok: false, reason: '10TB is outside the range of work_mem: 64kB to 2TB' }
 */
import type { SettingDefinition } from '../ops/postgres/setting-change.js';

export type SettingValue = { ok: true; value: string; base: number | null } | { ok: false; reason: string };

const MEMORY_UNITS: Record<string, number> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };
const TIME_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1_000, min: 60_000, h: 3_600_000, d: 86_400_000 };
const BOOLEANS: Record<string, 'on' | 'off'> = { on: 'on', off: 'off', true: 'on', false: 'off', yes: 'on', no: 'off', '1': 'on', '0': 'off' };
const MAX_STRING = 1_000;

/** The unit family of a setting's base unit (`8kB` → memory, 8192 bytes each). */
function baseUnit(unit: string | null): { family: 'memory' | 'time'; size: number } | null {
  const match = /^(\d*)(B|kB|MB|GB|TB|us|ms|s|min|h|d)$/.exec(unit ?? '');
  if (!match) return null;
  const factor = Number(match[1] || '1');
  const name = match[2] as string;
  if (name in MEMORY_UNITS) return { family: 'memory', size: factor * (MEMORY_UNITS[name] as number) };
  return { family: 'time', size: factor * (TIME_UNITS[name] as number) };
}

/** `8kb` → `kB`, `MIN` → `min`: the unit as PostgreSQL spells it, if it is one. */
function canonicalUnit(text: string, family: 'memory' | 'time'): string | undefined {
  const units = Object.keys(family === 'memory' ? MEMORY_UNITS : TIME_UNITS);
  return units.find((u) => u === text) ?? units.find((u) => u.toLowerCase() === text.toLowerCase());
}

/** A value in base units as PostgreSQL shows it: the largest unit that divides it (`8192` kB → `8MB`). */
export function formatSettingValue(base: number, unit: string | null): string {
  const info = baseUnit(unit);
  // -1 and 0 usually mean "off" or "automatic", which PostgreSQL shows without a unit.
  if (!info || base <= 0) return String(base);
  const amount = base * info.size;
  const units = Object.entries(info.family === 'memory' ? MEMORY_UNITS : TIME_UNITS).sort(([, a], [, b]) => b - a);
  for (const [name, size] of units) {
    if (amount % size === 0 && Math.abs(amount) >= size) return `${amount / size}${name}`;
  }
  return `${amount}${info.family === 'memory' ? 'B' : 'ms'}`;
}

export function validateSettingValue(setting: SettingDefinition, text: string): SettingValue {
  const input = text.trim();
  if (input === '') return { ok: false, reason: `\`${setting.name}\` needs a value` };
  switch (setting.vartype) {
    case 'bool': {
      const value = BOOLEANS[input.toLowerCase()];
      return value ? { ok: true, value, base: null } : { ok: false, reason: `\`${setting.name}\` is on or off, not "${clip(input)}"` };
    }
    case 'enum': {
      const value = setting.enumValues.find((v) => v.toLowerCase() === input.toLowerCase());
      return value !== undefined
        ? { ok: true, value, base: null }
        : { ok: false, reason: `\`${setting.name}\` must be one of ${setting.enumValues.join(', ')}, not "${clip(input)}"` };
    }
    case 'integer':
    case 'real':
      return validateNumber(setting, input);
    case 'string':
      if (input.length > MAX_STRING) return { ok: false, reason: `that value is longer than ${MAX_STRING} characters` };
      // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
      if (/[\u0000-\u001f\u007f]/.test(input)) return { ok: false, reason: 'the value must not contain control characters (newlines, tabs…)' };
      return { ok: true, value: input, base: null };
  }
}

function validateNumber(setting: SettingDefinition, input: string): SettingValue {
  const match = /^([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z]+)?$/.exec(input);
  if (!match) return { ok: false, reason: `\`${setting.name}\` takes a number${setting.unit ? ` (in ${setting.unit}, or with a unit like ${exampleUnit(setting)})` : ''}, not "${clip(input)}"` };
  const number = Number(match[1]);
  const unitText = match[2];
  const info = baseUnit(setting.unit);
  let base = number;
  let value = input;
  if (unitText !== undefined) {
    const unit = info ? canonicalUnit(unitText, info.family) : undefined;
    if (!info || unit === undefined) {
      return {
        ok: false,
        reason: info
          ? `"${clip(unitText)}" is not a unit of \`${setting.name}\`: use ${Object.keys(info.family === 'memory' ? MEMORY_UNITS : TIME_UNITS).join(', ')}`
          : `\`${setting.name}\` takes a plain number, without a unit`,
      };
    }
    const size = (info.family === 'memory' ? MEMORY_UNITS : TIME_UNITS)[unit] as number;
    base = (number * size) / info.size;
    value = `${match[1]}${unit}`;
  }
  if (setting.vartype === 'integer') {
    base = Math.round(base);
    if (!Number.isSafeInteger(base)) return { ok: false, reason: `"${clip(input)}" is too large for \`${setting.name}\`` };
  }
  if ((setting.min !== null && base < setting.min) || (setting.max !== null && base > setting.max)) {
    const range = `${setting.min === null ? '…' : formatSettingValue(setting.min, setting.unit)} to ${setting.max === null ? '…' : formatSettingValue(setting.max, setting.unit)}`;
    return { ok: false, reason: `${clip(input)} is outside the range of \`${setting.name}\`: ${range}` };
  }
  return { ok: true, value, base };
}

function exampleUnit(setting: SettingDefinition): string {
  const info = baseUnit(setting.unit);
  if (!info) return '';
  return info.family === 'memory' ? '64MB' : '30s';
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
