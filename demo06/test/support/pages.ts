import { request } from './http.js';

/** The URL of a response's `Link: <…>; rel="next"`, resolved against the request's URL; null when absent. */
export function nextPage(link: string | null, requestUrl: string): string | null {
  const target = /<([^>]*)>\s*;\s*rel="next"/.exec(link ?? '')?.[1];
  return target === undefined ? null : new URL(target, requestUrl).toString();
}

/** Every item of a paginated list, following `rel="next"` from the first page (at most `maxPages`). */
export async function readAllPages<T = any>(firstUrl: string, maxPages = 1000): Promise<T[]> {
  const items: T[] = [];
  let url: string | null = firstUrl;
  for (let pages = 0; url !== null; pages++) {
    if (pages === maxPages) throw new Error(`more than ${maxPages} pages from ${firstUrl}`);
    const response = await request('GET', url);
    if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}`);
    items.push(...(response.body as T[]));
    url = nextPage(response.headers.get('link'), url);
  }
  return items;
}
