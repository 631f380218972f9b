import { describe, expect, it } from "vitest";
import { BoundedMap } from "./bounded-map";

describe("a bounded map", () => {
  it("forgets the oldest entry when a new key would pass its limit", () => {
    const map = new BoundedMap<string, number>(2);
    map.set("a", 1).set("b", 2).set("c", 3);
    expect([...map.keys()]).toEqual(["b", "c"]);
  });

  it("replaces a key it holds without forgetting another", () => {
    const map = new BoundedMap<string, number>(2);
    map.set("a", 1).set("b", 2).set("a", 3);
    expect([...map]).toEqual([
      ["a", 3],
      ["b", 2],
    ]);
  });
});
