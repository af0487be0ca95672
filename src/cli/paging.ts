import type { Page } from "../client/client.js";

/**
 * One page of a cursor-paginated listing, or with `all` every page from `after` on, merged into
 * one list object (`has_more: false`).
 */
export async function fetchPages<T>(
  fetchPage: (after: string | undefined) => Promise<Page<T>>,
  options: { all: boolean; after?: string | undefined },
): Promise<Page<T>> {
  let page = await fetchPage(options.after);
  if (!options.all) return page;
  const data = [...page.data];
  while (page.has_more && page.next_cursor) {
    page = await fetchPage(page.next_cursor);
    data.push(...page.data);
  }
  return { object: "list", data, has_more: false, next_cursor: null };
}

/** The hint printed under a human listing when more pages exist. */
export function moreHint<T>(page: Page<T>): string {
  return page.has_more && page.next_cursor
    ? `\n(more: add --after ${page.next_cursor}, or --all for everything)`
    : "";
}
