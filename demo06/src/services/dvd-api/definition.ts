import type { CatalogDefinition } from '../../catalog/definition.js';
import { price } from '../../lib/money.js';
import { intRange, text } from '../../lib/validation.js';

const fields = {
  title: text(),
  director: text(),
  year: intRange(1900, 2100),
  price,
  durationMinutes: intRange(1, 1000).optional(),
};

export const dvds: CatalogDefinition<typeof fields> = {
  type: 'dvd',
  collection: 'dvds',
  numberField: 'ean',
  fields,
  fixtures: [
    { title: 'Casablanca', director: 'Michael Curtiz', year: 1942, price: 9.99, durationMinutes: 102 },
    {
      title: 'The Matrix',
      director: 'Lana and Lilly Wachowski',
      year: 1999,
      price: 12.99,
      durationMinutes: 136,
    },
    { title: 'Spirited Away', director: 'Hayao Miyazaki', year: 2001, price: 14.99, durationMinutes: 125 },
    {
      title: 'Back to the Future',
      director: 'Robert Zemeckis',
      year: 1985,
      price: 11.5,
      durationMinutes: 116,
    },
    { title: 'Alien', director: 'Ridley Scott', year: 1979, price: 10.99, durationMinutes: 117 },
    { title: 'Amélie', director: 'Jean-Pierre Jeunet', year: 2001, price: 8.99, durationMinutes: 122 },
    { title: 'The Princess Bride', director: 'Rob Reiner', year: 1987, price: 9.5, durationMinutes: 98 },
    { title: 'Jurassic Park', director: 'Steven Spielberg', year: 1993, price: 11.99, durationMinutes: 127 },
    { title: 'WarGames', director: 'John Badham', year: 1983, price: 7.99, durationMinutes: 114 },
  ],
};
