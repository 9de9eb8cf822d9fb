/** `analyze [<table>…]`: fresh planner statistics, one table at a time (table-maintenance.ts). */
import { defineHandler } from './handler.js';
import { runTableMaintenance, tableNamesArgs, type MaintenanceResult } from './table-maintenance.js';

export const analyzeHandler = defineHandler({
  name: 'analyze',
  usage: 'analyze [<table>…]',
  summary: 'ANALYZE the named tables, or every table one at a time, with progress and a Cancel button',
  args: tableNamesArgs,
  run: ({ names }, ctx): Promise<MaintenanceResult> => runTableMaintenance('analyze', names, ctx),
});
