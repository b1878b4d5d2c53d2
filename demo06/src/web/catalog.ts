/** Catalog loading: the three item types flattened into one display shape, and stock by item. */
import type { Api, Page } from './api.js';
import type { CatalogItem, CatalogResponse, ItemType, StockRecord } from './types.js';

export const TYPE_LABELS: Record<ItemType, { one: string; many: string; by: string }> = {
  book: { one: 'Book', many: 'Books', by: 'by' },
  cd: { one: 'CD', many: 'CDs', by: 'by' },
  dvd: { one: 'DVD', many: 'DVDs', by: 'directed by' },
};

/** A page of a catalog (the first, or the one at `next`), flattened for display. */
export async function loadCatalogPage(api: Api, type: ItemType, next?: string): Promise<Page<CatalogItem>> {
  const flatten = async <T>(page: Promise<Page<T>>, from: (item: T) => CatalogItem) => {
    const { items, next } = await page;
    return { items: items.map(from), next };
  };
  switch (type) {
    case 'book':
      return flatten(api.listItems('book', next), fromBook);
    case 'cd':
      return flatten(api.listItems('cd', next), fromCd);
    case 'dvd':
      return flatten(api.listItems('dvd', next), fromDvd);
  }
}

const FLATTEN: { [T in ItemType]: (item: CatalogResponse[T]) => CatalogItem } = {
  book: fromBook,
  cd: fromCd,
  dvd: fromDvd,
};

/** One item as a catalog answered it (a page, or a create), flattened for display. */
export function toCatalogItem<T extends ItemType>(type: T, item: CatalogResponse[T]): CatalogItem {
  return FLATTEN[type](item);
}

function fromBook(b: CatalogResponse['book']): CatalogItem {
  return {
    type: 'book',
    id: b.id,
    title: b.title,
    by: b.author,
    year: b.year,
    price: b.price,
    codeLabel: 'ISBN',
    code: b.isbn,
    extra: b.pages ? `${b.pages} pages` : undefined,
  };
}

function fromCd(c: CatalogResponse['cd']): CatalogItem {
  return {
    type: 'cd',
    id: c.id,
    title: c.title,
    by: c.artist,
    year: c.year,
    price: c.price,
    codeLabel: 'EAN',
    code: c.ean,
    extra: c.tracks ? `${c.tracks} tracks` : undefined,
  };
}

function fromDvd(d: CatalogResponse['dvd']): CatalogItem {
  return {
    type: 'dvd',
    id: d.id,
    title: d.title,
    by: d.director,
    year: d.year,
    price: d.price,
    codeLabel: 'EAN',
    code: d.ean,
    extra: d.durationMinutes ? `${d.durationMinutes} min` : undefined,
  };
}

/** Stock per item, keyed by `stockKey`. An item without a stock record has none to sell. */
export type StockMap = Map<string, number>;

export function stockKey(type: ItemType, id: number): string {
  return `${type}:${id}`;
}

/**
 * Stock for the items on the page: per type, the stock pages from just before the smallest id shown to the
 * largest (stock is listed in type-then-id order), never the whole inventory.
 */
export async function loadStock(api: Api, items: CatalogItem[]): Promise<StockMap> {
  // An item without a stock record has none to sell.
  const stock: StockMap = new Map(items.map((item) => [stockKey(item.type, item.id), 0]));
  const types = [...new Set(items.map((item) => item.type))];
  await Promise.all(
    types.map(async (type) => {
      const ids = items.filter((item) => item.type === type).map((item) => item.id);
      const [first, last] = [Math.min(...ids), Math.max(...ids)];
      let page = await api.listInventory({ after: `${type}:${first - 1}` });
      for (;;) {
        const records: StockRecord[] = page.items.filter((r) => r.type === type && r.id <= last);
        for (const r of records) stock.set(stockKey(r.type, r.id), r.quantity);
        if (records.length < page.items.length || page.next === null) return;
        page = await api.listInventory({ next: page.next });
      }
    }),
  );
  return stock;
}
