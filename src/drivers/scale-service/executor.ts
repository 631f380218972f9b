import type { Delivery } from "../../domain/delivery";
import type { LiveReceiverOf } from "../../domain/receiver";
import type { Executor, ExecutorContext } from "../definition";
import { ScaleWriter } from "./scale-writer";

/** A service's scale, changed by every trigger of its receivers through one exact write protocol. */
export class ScaleServiceExecutor implements Executor<"scaleService"> {
  readonly #writer: ScaleWriter;

  constructor(context: ExecutorContext) {
    this.#writer = new ScaleWriter(context);
  }

  decide(receiver: LiveReceiverOf<"scaleService">, delivery: Delivery) {
    return this.#writer.decide(receiver, delivery);
  }

  alarm() {
    return this.#writer.alarm();
  }

  fence(receiverId: string, change: "deleted" | "regenerated") {
    this.#writer.fence(receiverId, change);
  }
}
