/**
 * The kinds of receiver. Each driver's folder adds its config type to `DriverConfigs` (declaration
 * merging, as hono's `ContextVariableMap`), so this module knows no driver and a new kind is a
 * folder of its own plus one line in the registry (src/drivers/index.ts).
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by each driver's config module.
export interface DriverConfigs {}

export type Driver = keyof DriverConfigs & string;

export type ConfigOf<D extends Driver> = DriverConfigs[D];

/** A receiver's driver with its config: the one shape everything downstream switches on. */
export type DriverConfig = { [D in Driver]: { driver: D; config: DriverConfigs[D] } }[Driver];

/** Settings every config may carry, whatever its kind. */
export interface CommonConfig {
  /** Deliveries a minute a receiver takes before the rest are answered `ignored`. */
  maxTriggersPerMinute?: number;
}
