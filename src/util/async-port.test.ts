import { describe, expect, it } from "vitest";
import { asyncPort } from "./async-port";

class Counter {
  #count = 0;
  readonly label = "counter";

  add(by: number): number {
    this.#count += by;
    return this.#count;
  }

  fail(): never {
    throw new Error("refused");
  }

  get current(): number {
    return this.#count;
  }
}

class NamedCounter extends Counter {
  name(): string {
    return `${this.label} at ${this.current}`;
  }

  override add(by: number): number {
    return super.add(by * 10);
  }
}

describe("asyncPort", () => {
  it("answers each method of the class and those it extends with a promise, on the object itself", async () => {
    const local = new NamedCounter();
    const port = asyncPort(local);
    const answer = port.add(2);
    expect(answer).toBeInstanceOf(Promise);
    expect(await answer).toBe(20);
    expect(await port.name()).toBe("counter at 20");
    expect(local.current).toBe(20);
    expect(Object.keys(port).sort()).toEqual(["add", "fail", "name"]);
  });

  it("turns what a method throws into a rejection, as an RPC call does", async () => {
    const port = asyncPort(new Counter());
    let answer: Promise<never> | undefined;
    expect(() => {
      answer = port.fail();
    }).not.toThrow();
    await expect(answer).rejects.toThrow("refused");
  });
});
