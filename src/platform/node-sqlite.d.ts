// The part of `node:sqlite` the Deno adapter uses. Deno implements the module; the @types/node
// this repository pins (Node 20) predates it.
declare module "node:sqlite" {
  type Value = null | number | bigint | string | Uint8Array;
  export class StatementSync {
    all(...parameters: Value[]): Record<string, Value>[];
    run(...parameters: Value[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  }
  export class DatabaseSync {
    constructor(location: string);
    exec(sql: string): void;
    prepare(sql: string): StatementSync;
    close(): void;
  }
}
