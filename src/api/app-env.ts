import type { Caller } from "../access/authorize";
import type { Platform } from "../domain/ports";
import type { Settings } from "../domain/settings";

export interface AppEnv {
  Bindings: Settings;
  Variables: { caller: Caller; platform: Platform };
}
