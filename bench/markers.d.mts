export interface MarkedPlace {
  file: string;
  start: string;
  end: string;
}
export function fillBetween(text: string, start: string, end: string, content: string): string | undefined;
export const COST_DOCS: MarkedPlace;
export const COST_README: MarkedPlace;
export const KV_COST_DOCS: MarkedPlace;
export const KV_COST_README: MarkedPlace;
export function publishCost(markdown: string, places?: MarkedPlace[]): string[];
