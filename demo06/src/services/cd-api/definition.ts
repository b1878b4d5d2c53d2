import type { CatalogDefinition } from '../../catalog/definition.js';
import { price } from '../../lib/money.js';
import { intRange, text } from '../../lib/validation.js';

const fields = {
  title: text(),
  artist: text(),
  year: intRange(1950, 2100),
  price,
  tracks: intRange(1, 200).optional(),
};

export const cds: CatalogDefinition<typeof fields> = {
  type: 'cd',
  collection: 'cds',
  numberField: 'ean',
  fields,
  fixtures: [
    { title: 'Abbey Road', artist: 'The Beatles', year: 1969, price: 15.99, tracks: 17 },
    { title: 'Kind of Blue', artist: 'Miles Davis', year: 1959, price: 12.99, tracks: 5 },
    { title: 'The Dark Side of the Moon', artist: 'Pink Floyd', year: 1973, price: 16.5, tracks: 10 },
    { title: 'Thriller', artist: 'Michael Jackson', year: 1982, price: 11.99, tracks: 9 },
    { title: 'Rumours', artist: 'Fleetwood Mac', year: 1977, price: 13.25, tracks: 11 },
    { title: 'OK Computer', artist: 'Radiohead', year: 1997, price: 14.99, tracks: 12 },
    { title: 'Back in Black', artist: 'AC/DC', year: 1980, price: 12.5, tracks: 10 },
    { title: 'Random Access Memories', artist: 'Daft Punk', year: 2013, price: 17.99, tracks: 13 },
    { title: 'Blue', artist: 'Joni Mitchell', year: 1971, price: 10.99, tracks: 10 },
  ],
};
