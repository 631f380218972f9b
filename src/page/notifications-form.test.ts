import { describe, expect, it } from "vitest";
import { ApiError } from "../api/errors";
import { validationErrors } from "../api/validation";
import type { ReceiverRecord } from "../domain/receiver";
import { setNotificationsSchema } from "../notifications/destinations";
import {
  destinationRows,
  notificationErrors,
  notificationsBody,
  notificationValues,
  postedValues,
} from "./notifications-form";

const SLACK = "d01aaaaaaaaaaaaaaaaaaaaaaaa";
const HOOK = "d01bbbbbbbbbbbbbbbbbbbbbbbb";

const record = {
  id: "r01cccccccccccccccccccccccc",
  name: "scale-web",
  notifications: [
    { id: SLACK, kind: "slack", urlHint: "hooks.slack.com ...abcd", on: ["applied", "failed"] },
    { id: HOOK, kind: "webhook", urlHint: "example.com ...hook", on: ["rolledBack"] },
  ],
  notifyWindowSeconds: 30,
} as unknown as ReceiverRecord;

describe("the Notifications form", () => {
  it("opens on the receiver's destinations and a blank one to add with the default outcomes", () => {
    const values = notificationValues(record);
    expect(destinationRows(values)).toEqual(["destinations.0", "destinations.1"]);
    expect(values).toMatchObject({
      "destinations.0.id": SLACK,
      "destinations.0.kind": "slack",
      "destinations.0.url": "",
      "destinations.0.on.applied": "on",
      "destinations.0.on.failed": "on",
      "destinations.1.on.rolledBack": "on",
      "new.kind": "slack",
      "new.url": "",
      "new.on.applied": "on",
      "new.on.failed": "on",
      "new.on.rolledBack": "on",
      notifyWindowSeconds: "30",
      openedOn: `${SLACK} ${HOOK}`,
    });
    expect(values["destinations.0.on.rolledBack"]).toBeUndefined();
    expect(values["new.on.noop"]).toBeUndefined();
    // The form it opens on saves the receiver's notifications as they are.
    expect(notificationsBody(values).body).toEqual({
      notifications: [
        { id: SLACK, kind: "slack", on: ["applied", "failed"] },
        { id: HOOK, kind: "webhook", on: ["rolledBack"] },
      ],
      notifyWindowSeconds: 30,
    });
  });

  it("reads a post: kept ones by id with a URL only if typed, removed ones left out, a new one only with a URL", () => {
    const values = postedValues({
      "destinations.0.id": SLACK,
      "destinations.0.kind": "slack",
      "destinations.0.url": "",
      "destinations.0.on.noop": "on",
      "destinations.1.id": HOOK,
      "destinations.1.kind": "webhook",
      "destinations.1.url": "  https://example.com/new-hook  ",
      "destinations.1.on.failed": "on",
      "destinations.1.remove": "on",
      "new.kind": "discord",
      "new.url": "https://discord.com/api/webhooks/1/x",
      "new.on.applied": "on",
      notifyWindowSeconds: " 0 ",
      openedOn: `${SLACK} ${HOOK}`,
      unrelated: "ignored",
    });
    expect(values.unrelated).toBeUndefined();
    expect(values.openedOn).toBe(`${SLACK} ${HOOK}`);
    const { body, rows } = notificationsBody(values);
    expect(body).toEqual({
      notifications: [
        { id: SLACK, kind: "slack", on: ["noop"] },
        { kind: "discord", url: "https://discord.com/api/webhooks/1/x", on: ["applied"] },
      ],
      notifyWindowSeconds: 0,
    });
    expect(rows).toEqual(["destinations.0", "new"]);
    // No URL for the new one: nothing added; an empty window: the receiver keeps the one it has.
    const none = notificationsBody(
      postedValues({ "new.kind": "slack", "new.url": " ", notifyWindowSeconds: "" }),
    );
    expect(none.body).toEqual({ notifications: [] });
  });

  it("reads rows while they are numbered without a gap, and at most one more than a receiver may have", () => {
    const row = (index: number) => ({
      [`destinations.${index}.id`]: SLACK,
      [`destinations.${index}.kind`]: "slack",
    });
    expect(destinationRows(postedValues({ ...row(0), ...row(2) }))).toEqual(["destinations.0"]);
    const many = postedValues(Object.assign({}, ...Array.from({ length: 9 }, (_, index) => row(index))));
    expect(destinationRows(many)).toHaveLength(6);
    // Refused by the API's own rule, as a problem of the whole form.
    const checked = validationErrors(setNotificationsSchema(), notificationsBody(many).body);
    expect(checked.ok).toBe(false);
    const errors = checked.ok ? [] : checked.errors;
    expect(notificationErrors(errors, notificationsBody(many).rows).problem).toBe(
      "A receiver has at most 5 destinations: remove one to add another",
    );
  });

  it("places each error in its row, named by its label, and the rest on the form", () => {
    const rows = ["destinations.0", "new"];
    const { fields, problem } = notificationErrors(
      [
        new ApiError(422, "InvalidFormat", "must be an https: URL", "notifications.1.url"),
        new ApiError(422, "MinLimitExceeded", "notifications.1.on must be at least 1", "notifications.1.on"),
        new ApiError(
          422,
          "InvalidReference",
          "notifications.0.id is not one of this receiver's destinations",
          "notifications.0.id",
        ),
        new ApiError(
          422,
          "MaxLimitExceeded",
          "notifyWindowSeconds must be at most 300",
          "notifyWindowSeconds",
        ),
        new ApiError(422, "InvalidFormat", "the request body is not valid JSON"),
      ],
      rows,
    );
    expect(fields).toEqual({
      "new.url": "URL must be an https: URL",
      "new.on": "Choose at least one outcome",
      "destinations.0": "This destination is not one of this receiver's destinations",
      notifyWindowSeconds: "Window must be at most 300",
    });
    expect(problem).toBe("The request body is not valid JSON");
  });
});
