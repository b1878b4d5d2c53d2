import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isValidEan13 } from '../../src/lib/check-digit.js';
import { isProblem, request } from '../support/http.js';
import { startStage, type TestStage } from '../support/stage.js';

let stage: TestStage;
beforeAll(async () => {
  stage = await startStage();
});
afterAll(() => stage.stop());

const catalogs = [
  {
    service: 'book-api',
    collection: 'books',
    number: 'isbn',
    valid: { title: 'Snow Crash', author: 'Neal Stephenson', year: 1992, price: 13.99, pages: 480 },
    person: 'author',
    years: [1450, 2100],
    optional: ['pages', 1, 10000],
  },
  {
    service: 'cd-api',
    collection: 'cds',
    number: 'ean',
    valid: { title: 'Homework', artist: 'Daft Punk', year: 1997, price: 11.5, tracks: 16 },
    person: 'artist',
    years: [1950, 2100],
    optional: ['tracks', 1, 200],
  },
  {
    service: 'dvd-api',
    collection: 'dvds',
    number: 'ean',
    valid: { title: 'Metropolis', director: 'Fritz Lang', year: 1927, price: 8, durationMinutes: 153 },
    person: 'director',
    years: [1900, 2100],
    optional: ['durationMinutes', 1, 1000],
  },
] as const;

describe.each(catalogs)('$service', ({ service, collection, number, valid, person, years, optional }) => {
  const url = (path = '') => `${stage.url[service as 'book-api']}/api/${collection}${path}`;
  const count = async () => (await request('GET', url())).body.length as number;

  it('lists at least 8 seeded items, ordered by id, each with a valid number', async () => {
    const { status, body } = await request('GET', url());
    expect(status).toBe(200);
    expect(body.length).toBeGreaterThanOrEqual(8);
    expect(body.map((item: { id: number }) => item.id)).toEqual(
      [...body.map((i: { id: number }) => i.id)].sort((a, b) => a - b),
    );
    for (const item of body) expect(isValidEan13(item[number])).toBe(true);
  });

  it('gets one item, 404 for an unknown id, 400 for an id that is not a positive integer', async () => {
    const item = await request('GET', url('/1'));
    expect(item.status).toBe(200);
    expect(item.body).toMatchObject({ id: 1, [number]: expect.any(String), title: expect.any(String) });
    expect(isProblem(await request('GET', url('/99999')), 404)).toBe(true);
    expect(isProblem(await request('GET', url('/abc')), 400)).toBe(true);
    expect(isProblem(await request('GET', url('/0')), 400)).toBe(true);
  });

  it('creates an item with an id, a fresh number from number-api and a Location header', async () => {
    const first = await request('POST', url(), { json: { ...valid, title: `  ${valid.title}  ` } });
    const second = await request('POST', url(), { json: valid });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ ...valid, id: expect.any(Number) });
    expect(first.body.title).toBe(valid.title); // trimmed
    expect(isValidEan13(first.body[number])).toBe(true);
    expect(second.body[number]).not.toBe(first.body[number]);
    expect(first.headers.get('location')).toBe(`/api/${collection}/${first.body.id}`);
    expect((await request('GET', url(`/${first.body.id}`))).body).toEqual(first.body);
  });

  const [optionalField, optionalMin, optionalMax] = optional;
  const invalidBodies: [string, unknown, string][] = [
    ['a missing field', { ...valid, title: undefined }, 'title'],
    ['a missing person', { ...valid, [person]: undefined }, person],
    ['a wrong type', { ...valid, year: '1999' }, 'year'],
    ['a year below the range', { ...valid, year: years[0] - 1 }, 'year'],
    ['a year above the range', { ...valid, year: years[1] + 1 }, 'year'],
    ['a fractional year', { ...valid, year: 1999.5 }, 'year'],
    ['a negative price', { ...valid, price: -1 }, 'price'],
    ['a price of 100000', { ...valid, price: 100000 }, 'price'],
    ['a price with three decimals', { ...valid, price: 9.999 }, 'price'],
    ['a blank title', { ...valid, title: '   ' }, 'title'],
    ['a title over 200 characters', { ...valid, title: 'x'.repeat(201) }, 'title'],
    [`${optionalField} below its range`, { ...valid, [optionalField]: optionalMin - 1 }, optionalField],
    [`${optionalField} above its range`, { ...valid, [optionalField]: optionalMax + 1 }, optionalField],
    ['an unknown field', { ...valid, color: 'red' }, 'color'],
    ['an id of its own', { ...valid, id: 5 }, 'id'],
    ['an array instead of an object', [valid], '(body)'],
  ];

  it.each(invalidBodies)(
    'refuses %s with a 400 naming the field, and creates nothing',
    async (_, body, path) => {
      const before = await count();
      const response = await request('POST', url(), { json: body });
      expect(isProblem(response, 400)).toBe(true);
      expect(response.body.errors.map((e: { path: string }) => e.path)).toContain(path);
      expect(await count()).toBe(before);
    },
  );

  it('refuses an empty body with a 400', async () => {
    expect(isProblem(await request('POST', url()), 400)).toBe(true);
  });

  it('replaces an item; its id and number stay, and may be echoed back unchanged', async () => {
    const created = (await request('POST', url(), { json: valid })).body;
    const changed = { ...created, title: 'Changed', price: 1.25 };
    const response = await request('PUT', url(`/${created.id}`), { json: changed });
    expect(response.status).toBe(200);
    expect(response.body).toEqual(changed);
    const withoutIds = { ...valid, title: 'Again' };
    const again = await request('PUT', url(`/${created.id}`), { json: withoutIds });
    expect(again.body).toEqual({ ...withoutIds, id: created.id, [number]: created[number] });
  });

  it('refuses to change the id or the number, or an invalid replacement, and keeps the item', async () => {
    const created = (await request('POST', url(), { json: valid })).body;
    const otherNumber = await request('PUT', url(`/${created.id}`), {
      json: { ...created, [number]: '9780306406157' },
    });
    expect(isProblem(otherNumber, 400)).toBe(true);
    expect(otherNumber.body.errors).toEqual([{ path: number, message: 'cannot be changed' }]);
    const otherId = await request('PUT', url(`/${created.id}`), { json: { ...created, id: created.id + 1 } });
    expect(isProblem(otherId, 400)).toBe(true);
    const invalid = await request('PUT', url(`/${created.id}`), { json: { ...valid, price: -5 } });
    expect(isProblem(invalid, 400)).toBe(true);
    expect((await request('GET', url(`/${created.id}`))).body).toEqual(created);
  });

  it('answers 404 for replacing or deleting an unknown item', async () => {
    expect(isProblem(await request('PUT', url('/99999'), { json: valid }), 404)).toBe(true);
    expect(isProblem(await request('DELETE', url('/99999')), 404)).toBe(true);
  });

  it('deletes an item: 204, then it is gone', async () => {
    const created = (await request('POST', url(), { json: valid })).body;
    const response = await fetch(url(`/${created.id}`), { method: 'DELETE' });
    expect(response.status).toBe(204);
    expect(isProblem(await request('GET', url(`/${created.id}`)), 404)).toBe(true);
    expect(isProblem(await request('DELETE', url(`/${created.id}`)), 404)).toBe(true);
  });
});

describe('number-api down', () => {
  it('creating a book gets 503 naming number-api, creates nothing, and book-api is not ready', async () => {
    // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    const isolated = await startStage({ 'number-api': 'http://127.0.0.1:9' });
    try {
      const books = `${isolated.url['book-api']}/api/books`;
      const before = (await request('GET', books)).body.length;
      const response = await request('POST', books, { json: catalogs[0].valid });
      expect(isProblem(response, 503)).toBe(true);
      expect(response.body.detail).toContain('number-api');
      expect((await request('GET', books)).body.length).toBe(before);
      const ready = await request('GET', `${isolated.url['book-api']}/health/ready`);
      expect(ready.status).toBe(503);
      expect(ready.body.reason).toContain('number-api');
    } finally {
      await isolated.stop();
    }
  });
});
