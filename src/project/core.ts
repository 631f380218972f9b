import type { LegacyImport, LegacyRoute, ProjectMethods } from "../domain/ports";
import { migrate, StorageTooNew, type TableSet } from "../storage/migrations";
import type { ObjectStorage } from "../storage/object-storage";
import { DELETIONS_TABLES, Deletions } from "./deletions";
import { ImportConflict, LEGACY_TABLES, LegacyReceivers } from "./legacy-receivers";
import { NAMES_TABLES, NameClaims } from "./name-claims";

/** Every table an environment's object keeps, in the order they are built (docs/storage.md). */
export const PROJECT_TABLES: readonly TableSet[] = [NAMES_TABLES, LEGACY_TABLES, DELETIONS_TABLES];

/**
 * One per environment, whatever runs it: the receiver names, claimed one at a time, and the
 * receivers imported from webhook-service with the original URLs that still trigger them, and the
 * ids of receivers deleted here (which a restore does not bring back).
 */
export class ProjectCore implements ProjectMethods {
  readonly #names: NameClaims;
  readonly #legacyReceivers: LegacyReceivers;
  readonly #deletionsKept: Deletions;
  readonly #storage: Pick<ObjectStorage, "transactionSync">;
  /** Set when the storage is newer than this code can run over: every call is refused. */
  readonly #refusal: StorageTooNew | undefined;

  constructor(storage: Pick<ObjectStorage, "sql" | "transactionSync">) {
    this.#storage = storage;
    try {
      migrate(storage, PROJECT_TABLES);
    } catch (error) {
      if (!(error instanceof StorageTooNew)) throw error;
      // Logged once, when the object starts; every call after it is refused without another line.
      error.log();
      this.#refusal = error;
    }
    this.#names = new NameClaims(storage.sql);
    this.#legacyReceivers = new LegacyReceivers(storage.sql);
    this.#deletionsKept = new Deletions(storage.sql);
  }

  get #legacy(): LegacyReceivers {
    if (this.#refusal) throw this.#refusal;
    return this.#legacyReceivers;
  }

  get #deletions(): Deletions {
    if (this.#refusal) throw this.#refusal;
    return this.#deletionsKept;
  }

  claimName(name: string, receiverId: string): boolean {
    if (this.#refusal) throw this.#refusal;
    return this.#names.claimName(name, receiverId);
  }

  releaseName(name: string, receiverId: string): void {
    if (this.#refusal) throw this.#refusal;
    this.#names.releaseName(name, receiverId);
  }

  importedAs(genericObjectId: string, keyDigest: string): string | null {
    return this.#legacy.importedAs(genericObjectId, keyDigest);
  }

  /** Records imports in one transaction unless another receiver holds one of them (see `LegacyReceivers.claim`). */
  claimImports(entries: readonly LegacyImport[], route: LegacyRoute): string | null {
    const legacy = this.#legacy;
    try {
      return this.#storage.transactionSync(() => legacy.claim(entries, route));
    } catch (error) {
      if (error instanceof ImportConflict) return error.message;
      throw error;
    }
  }

  legacyRoute(keyDigest: string): LegacyRoute | null {
    return this.#legacy.route(keyDigest);
  }

  retireLegacyKey(receiverId: string): void {
    this.#legacy.retire(receiverId);
  }

  forgetImport(receiverId: string): void {
    this.#legacy.forget(receiverId);
  }

  importsOf(receiverIds: readonly string[]): Record<string, LegacyImport[]> {
    return this.#legacy.importsOf(receiverIds);
  }

  recordDeletion(receiverId: string): void {
    this.#deletions.record(receiverId);
  }

  wasDeleted(receiverId: string): boolean {
    return this.#deletions.has(receiverId);
  }
}
