export interface Prices {
  source: string;
  sourceUpdated: string;
  seen: string;
  usdPerMillion: {
    workerRequests: number;
    objectRequests: number;
    objectGbSeconds: number;
    rowsRead: number;
    rowsWritten: number;
    kvReads: number;
    kvWrites: number;
    kvDeletes: number;
    kvLists: number;
  };
  objectMemoryGb: number;
}
export interface MeanUsage {
  workerRequests: number;
  objectRpcCalls: number;
  objectAlarms: number;
  objectActiveMs: number;
  rowsRead: number;
  rowsWritten: number;
  kvReads: number;
  kvWrites: number;
  kvDeletes: number;
  kvLists: number;
}
export interface PricePerMillion {
  workerRequests: number;
  objectRequests: number;
  objectDuration: number;
  rowsRead: number;
  rowsWritten: number;
  kv: number;
  total: number;
}
export const PRICES: Prices;
export function priceOf(mean: MeanUsage, prices?: Prices): PricePerMillion;
export interface DenoPrices {
  source: string;
  seen: string;
  usdPerMillion: { requests: number; kvReadUnits: number; kvWriteUnits: number };
  readUnitBytes: number;
  writeUnitBytes: number;
}
export interface DenoMeanUsage {
  requests: number;
  readUnits: number;
  writeUnits: number;
}
export interface DenoPricePerMillion {
  requests: number;
  kvReads: number;
  kvWrites: number;
  total: number;
}
export const DENO_PRICES: DenoPrices;
export function readUnitsOf(bytes: number, prices?: DenoPrices): number;
export function writeUnitsOf(bytes: number, prices?: DenoPrices): number;
export function denoPriceOf(mean: DenoMeanUsage, prices?: DenoPrices): DenoPricePerMillion;
