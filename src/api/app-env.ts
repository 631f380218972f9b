import type { CattleCredentials } from "../cattle/client";
import type { Platform, Settings } from "../platform/types";

/** The caller of a management request, once its key is known to reach the environment. */
export interface Caller {
  credentials: CattleCredentials;
  projectId: string;
  /** Whether the key may change services there (and so receivers); resolved once, then cached. */
  canWrite: () => Promise<boolean>;
}

export interface AppEnv {
  Bindings: Settings;
  Variables: { caller: Caller; platform: Platform };
}
