import type { CatalogDefinition } from '../../catalog/definition.js';
import { price } from '../../lib/money.js';
import { intRange, text } from '../../lib/validation.js';

const fields = {
  title: text(),
  author: text(),
  year: intRange(1450, 2100),
  price,
  pages: intRange(1, 10000).optional(),
  description: text(2000).optional(),
};

export const books: CatalogDefinition<typeof fields> = {
  type: 'book',
  collection: 'books',
  numberField: 'isbn',
  fields,
  fixtures: [
    { title: 'The Hobbit', author: 'J. R. R. Tolkien', year: 1937, price: 12.99, pages: 310 },
    { title: 'Dune', author: 'Frank Herbert', year: 1965, price: 14.5, pages: 412 },
    { title: 'Nineteen Eighty-Four', author: 'George Orwell', year: 1949, price: 9.99, pages: 328 },
    { title: 'Pride and Prejudice', author: 'Jane Austen', year: 1813, price: 7.95, pages: 279 },
    {
      title: "The Hitchhiker's Guide to the Galaxy",
      author: 'Douglas Adams',
      year: 1979,
      price: 8.99,
      pages: 224,
    },
    { title: 'Neuromancer', author: 'William Gibson', year: 1984, price: 11.25, pages: 271 },
    {
      title: 'The Pragmatic Programmer',
      author: 'Andrew Hunt, David Thomas',
      year: 1999,
      price: 39.95,
      pages: 352,
    },
    { title: 'Frankenstein', author: 'Mary Shelley', year: 1818, price: 6.5, pages: 280 },
    { title: 'The Left Hand of Darkness', author: 'Ursula K. Le Guin', year: 1969, price: 10.99, pages: 304 },
    {
      title: 'Designing Data-Intensive Applications',
      author: 'Martin Kleppmann',
      year: 2017,
      price: 45,
      pages: 616,
      description: 'Reliable, scalable and maintainable systems: the book behind many of these demos.',
    },
  ],
};
