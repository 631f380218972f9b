import type { LegacyImport, LegacyRoute, NameClaim, NameHolder, ProjectMethods } from "../domain/ports";
import { hasOwnTables, migrate, StorageTooNew, type TableSet } from "../storage/migrations";
import type { ObjectStorage } from "../storage/object-storage";
import { DELETIONS_TABLES, Deletions } from "./deletions";
import { ImportConflict, LEGACY_TABLES, LegacyReceivers } from "./legacy-receivers";
import { NAMES_TABLES, NameClaims } from "./name-claims";

/** Every table an environment's object keeps, in the order they are built (docs/storage.md). */
export const PROJECT_TABLES: readonly TableSet[] = [NAMES_TABLES, LEGACY_TABLES, DELETIONS_TABLES];

/** The parts of an environment's object that exist once its storage does. */
interface Loaded {
  names: NameClaims;
  legacy: LegacyReceivers;
  deletions: Deletions;
}

/**
 * One per environment, whatever runs it: the receiver names, claimed one at a time, and the
 * receivers imported from webhook-service with the original URLs that still trigger them, and the
 * ids of receivers deleted here (which a restore does not bring back).
 *
 * An object gets storage on its first write (a name claimed, an import kept, a deletion recorded),
 * never before: anyone may name an environment in a URL, so reads, and writes that would change
 * nothing (a release, a retire, a forget), answer empty over an object that has none and leave it
 * so (docs/storage.md).
 */
export class ProjectCore implements ProjectMethods {
  readonly #storage: Pick<ObjectStorage, "sql" | "transactionSync">;
  #loaded: Loaded | undefined;
  /** Set when the storage is newer than this code can run over: every call is refused. */
  #refusal: StorageTooNew | undefined;

  /** Storage calls are synchronous: an object that has storage is migrated before any call. */
  constructor(storage: Pick<ObjectStorage, "sql" | "transactionSync">) {
    this.#storage = storage;
    if (hasOwnTables(storage.sql)) this.#load();
  }

  #load(): Loaded | undefined {
    try {
      migrate(this.#storage, PROJECT_TABLES);
    } catch (error) {
      if (!(error instanceof StorageTooNew)) throw error;
      // Logged once, when the object starts; every call after it is refused without another line.
      error.log();
      this.#refusal = error;
      return undefined;
    }
    const { sql } = this.#storage;
    this.#loaded = {
      names: new NameClaims(sql),
      legacy: new LegacyReceivers(sql),
      deletions: new Deletions(sql),
    };
    return this.#loaded;
  }

  /** The loaded object, creating its storage if it has none: for a call that writes. */
  #ready(): Loaded {
    const loaded = this.#existing() ?? this.#load();
    if (!loaded) throw this.#refusal;
    return loaded;
  }

  /** The loaded object if it has storage; undefined for one never written. */
  #existing(): Loaded | undefined {
    if (this.#refusal) throw this.#refusal;
    return this.#loaded;
  }

  claimName(name: string, receiverId: string, claim?: NameClaim): boolean {
    return this.#ready().names.claimName(name, receiverId, claim);
  }

  nameHolder(name: string): NameHolder | null {
    return this.#existing()?.names.holderOf(name) ?? null;
  }

  takeOverName(name: string, fromId: string, toId: string, claim: NameClaim): boolean {
    return this.#existing()?.names.takeOverName(name, fromId, toId, claim) ?? false;
  }

  releaseName(name: string, receiverId: string): void {
    this.#existing()?.names.releaseName(name, receiverId);
  }

  importedAs(genericObjectId: string, keyDigest: string): string | null {
    return this.#existing()?.legacy.importedAs(genericObjectId, keyDigest) ?? null;
  }

  /** Records imports in one transaction unless another receiver holds one of them (see `LegacyReceivers.claim`). */
  claimImports(entries: readonly LegacyImport[], route: LegacyRoute): string | null {
    if (entries.length === 0) return null;
    const { legacy } = this.#ready();
    try {
      return this.#storage.transactionSync(() => legacy.claim(entries, route));
    } catch (error) {
      if (error instanceof ImportConflict) return error.message;
      throw error;
    }
  }

  legacyRoute(keyDigest: string): LegacyRoute | null {
    return this.#existing()?.legacy.route(keyDigest) ?? null;
  }

  retireLegacyKey(receiverId: string): void {
    this.#existing()?.legacy.retire(receiverId);
  }

  forgetImport(receiverId: string): void {
    this.#existing()?.legacy.forget(receiverId);
  }

  importsOf(receiverIds: readonly string[]): Record<string, LegacyImport[]> {
    return this.#existing()?.legacy.importsOf(receiverIds) ?? {};
  }

  recordDeletion(receiverId: string): void {
    this.#ready().deletions.record(receiverId);
  }

  wasDeleted(receiverId: string): boolean {
    return this.#existing()?.deletions.has(receiverId) ?? false;
  }
}
