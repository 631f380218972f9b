import type { Execution } from "./execution";
import { isoDate } from "./ids";

/**
 * An execution as the API answers it (docs/api.md), and as a webhook notification carries it: its
 * times as ISO 8601 with the epoch milliseconds beside them, its upgrade steps likewise.
 */
export function executionResource(execution: Execution) {
  const { finished, upgrades, ...rest } = execution;
  return {
    type: "execution",
    ...rest,
    at: isoDate(execution.at),
    atTS: execution.at,
    ...(finished === undefined ? {} : { finished: isoDate(finished), finishedTS: finished }),
    ...(upgrades === undefined
      ? {}
      : {
          upgrades: upgrades.map((upgrade) => ({
            type: "upgradeProgress",
            ...upgrade,
            steps: upgrade.steps.map(({ step, at }) => ({
              type: "upgradeStep",
              step,
              at: isoDate(at),
              atTS: at,
            })),
          })),
        }),
  };
}
