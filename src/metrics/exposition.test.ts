import { describe, expect, it } from "vitest";
import { escapeLabelValue, exposition } from "./exposition";

describe("the Prometheus text exposition", () => {
  it("writes HELP and TYPE once per family, then its series, labels quoted and escaped", () => {
    const text = exposition([
      {
        name: "demo_total",
        help: 'Counted things\\ with a "quote"\nand a line',
        type: "counter",
        samples: [
          { labels: { name: 'a "b"\\c\nd', kind: "x" }, value: 3 },
          { labels: { name: "plain", kind: "x" }, value: 0 },
        ],
      },
      { name: "demo_up", help: "Up.", type: "gauge", samples: [{ value: 1 }] },
      { name: "demo_empty", help: "None yet.", type: "gauge", samples: [] },
    ]);
    expect(text).toBe(
      [
        '# HELP demo_total Counted things\\\\ with a "quote"\\nand a line',
        "# TYPE demo_total counter",
        'demo_total{name="a \\"b\\"\\\\c\\nd",kind="x"} 3',
        'demo_total{name="plain",kind="x"} 0',
        "# HELP demo_up Up.",
        "# TYPE demo_up gauge",
        "demo_up 1",
        "# HELP demo_empty None yet.",
        "# TYPE demo_empty gauge",
        "",
      ].join("\n"),
    );
  });

  it("refuses to write a series twice", () => {
    expect(() =>
      exposition([
        {
          name: "demo",
          help: "h",
          type: "gauge",
          samples: [
            { labels: { a: "1" }, value: 1 },
            { labels: { a: "1" }, value: 2 },
          ],
        },
      ]),
    ).toThrow(/duplicate series demo\{a="1"\}/);
  });

  it("escapes backslash before quote, so an escape is never escaped twice", () => {
    expect(escapeLabelValue('\\"')).toBe('\\\\\\"');
  });
});
