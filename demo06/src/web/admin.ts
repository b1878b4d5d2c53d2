/**
 * The admin form: adds a book, CD or DVD to its catalog (POST), and its stock when one is given (PUT). The
 * form's own constraints (required, ranges, lengths: docs/API.md) stop most mistakes before a request; the
 * service's 400 names any other. The page shows the form to admins only; the gateway refuses anyone else (403).
 */
import type { Api } from './api.js';
import { byTestId } from './dom.js';
import type { CatalogCreate, CatalogResponse, ItemType } from './types.js';
import { ITEM_TYPES } from './types.js';

/** The earliest year each catalog accepts (docs/API.md). */
const MIN_YEAR: Record<ItemType, number> = { book: 1450, cd: 1950, dvd: 1900 };

export interface Created {
  type: ItemType;
  item: CatalogResponse[ItemType];
  /** Why the stock could not be set, when it could not (the item exists either way). */
  stockError?: unknown;
}

export function adminForm(): HTMLFormElement {
  return byTestId<HTMLFormElement>('admin-form');
}

/** Shows the fields of the chosen type (the others are disabled, so neither checked nor sent). */
export function setUpAdminForm(): void {
  const form = adminForm();
  const type = byTestId<HTMLSelectElement>('admin-type', form);
  const year = byTestId<HTMLInputElement>('admin-year', form);
  const show = () => {
    const chosen = type.value as ItemType;
    for (const fieldset of form.querySelectorAll<HTMLFieldSetElement>('fieldset[data-for]')) {
      const on = fieldset.dataset.for === chosen;
      fieldset.hidden = !on;
      fieldset.disabled = !on;
    }
    year.min = String(MIN_YEAR[chosen]);
  };
  type.addEventListener('change', show);
  show();
}

/** The form's values as the chosen catalog's create body. */
function readForm(form: HTMLFormElement): { type: ItemType; body: CatalogCreate[ItemType]; stock: number } {
  const data = new FormData(form);
  const text = (name: string) => String(data.get(name) ?? '').trim();
  /** An optional number: absent when the field is empty. */
  const optional = (name: string) => (text(name) === '' ? undefined : Number(text(name)));
  const type = text('type') as ItemType;
  if (!ITEM_TYPES.includes(type)) throw new Error(`no such type: ${type}`);
  const common = { title: text('title'), year: Number(text('year')), price: Number(text('price')) };
  const stock = optional('stock') ?? 0;
  switch (type) {
    case 'book': {
      const description = text('description');
      return {
        type,
        stock,
        body: {
          ...common,
          author: text('author'),
          pages: optional('pages'),
          description: description === '' ? undefined : description,
        },
      };
    }
    case 'cd':
      return { type, stock, body: { ...common, artist: text('artist'), tracks: optional('tracks') } };
    case 'dvd':
      return {
        type,
        stock,
        body: { ...common, director: text('director'), durationMinutes: optional('durationMinutes') },
      };
  }
}

/** Creates the item the form describes, then its stock; throws when the item could not be created. */
export async function submitAdminForm(api: Api, form: HTMLFormElement): Promise<Created> {
  const { type, body, stock } = readForm(form);
  // JSON.stringify leaves out the optional fields that are undefined, so they are not sent.
  const item = await api.createItem(type, body);
  const created: Created = { type, item };
  if (stock > 0) {
    try {
      await api.setStock(type, item.id, stock);
    } catch (error) {
      created.stockError = error;
    }
  }
  // Ready for the next item of the same type.
  form.reset();
  byTestId<HTMLSelectElement>('admin-type', form).value = type;
  return created;
}
