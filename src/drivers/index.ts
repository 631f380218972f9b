import type { Driver } from "../domain/driver";
import type { DriverDefinition } from "./definition";
import { scaleHost } from "./scale-host";
import { scaleService } from "./scale-service";
import { serviceUpgrade } from "./service-upgrade";

/** Every kind of receiver: adding one is a folder beside these and one line here. */
export const DRIVERS = { scaleService, scaleHost, serviceUpgrade } satisfies {
  [D in Driver]: DriverDefinition<D>;
};

/**
 * What the API's schemas and the page's form read of a config field, besides the definitions:
 * with the definitions' types (./definition.ts) the only way into src/drivers/ from outside it
 * (docs/development.md).
 */
export { type ConfigField, rancherField } from "./shared/config-fields";

export const DRIVER_NAMES = Object.keys(DRIVERS) as [Driver, ...Driver[]];

/** The definition of some driver, whichever. */
export type AnyDriverDefinition = (typeof DRIVERS)[Driver];

/** The definition of a driver named by a client or a token; own properties only, so `__proto__` is no driver. */
export const driverNamed = (name: unknown): AnyDriverDefinition | undefined =>
  typeof name === "string" && Object.hasOwn(DRIVERS, name) ? DRIVERS[name as Driver] : undefined;

/** A driver's definition, typed for the driver of the value at hand. */
export const driverOf = <D extends Driver>(value: { driver: D }): DriverDefinition<D> =>
  DRIVERS[value.driver] as unknown as DriverDefinition<D>;
