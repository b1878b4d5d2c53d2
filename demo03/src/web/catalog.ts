/** Catalog loading: the three item types flattened into one display shape, and stock by item. */
import type { Api } from './api.js';
import type { CatalogItem, CatalogResponse, ItemType, StockRecord } from './types.js';

export const TYPE_LABELS: Record<ItemType, { one: string; many: string; by: string }> = {
  book: { one: 'Book', many: 'Books', by: 'by' },
  cd: { one: 'CD', many: 'CDs', by: 'by' },
  dvd: { one: 'DVD', many: 'DVDs', by: 'directed by' },
};

export async function loadCatalog(api: Api, type: ItemType): Promise<CatalogItem[]> {
  switch (type) {
    case 'book':
      return (await api.listItems('book')).map(fromBook);
    case 'cd':
      return (await api.listItems('cd')).map(fromCd);
    case 'dvd':
      return (await api.listItems('dvd')).map(fromDvd);
  }
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

export async function loadStock(api: Api): Promise<StockMap> {
  const records: StockRecord[] = await api.listInventory();
  return new Map(records.map((r) => [stockKey(r.type, r.id), r.quantity]));
}
