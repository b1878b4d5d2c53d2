// Request bodies the load sends: valid by the store's contract, and different from one request to the next.

export type Body = 'none' | 'book' | 'cart-item';

/** The n-th body of a kind; `items` are the catalog items a cart may hold (for `cart-item`). */
export function bodyFor(kind: Body, n: number, items?: { type: string; id: number }[]): string | undefined {
  switch (kind) {
    case 'none':
      return undefined;
    case 'book':
      return JSON.stringify({
        title: `Benchmark volume ${n}`,
        author: 'A. Bench',
        year: 1950 + (n % 150),
        price: (n % 10_000) / 100,
        pages: 1 + (n % 999),
      });
    case 'cart-item': {
      const item = items?.[n % items.length] ?? { type: 'book', id: 1 };
      return JSON.stringify({ type: item.type, id: item.id, quantity: 1 });
    }
  }
}
