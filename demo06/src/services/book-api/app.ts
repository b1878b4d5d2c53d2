import { catalogApp } from '../../catalog/app.js';
import { books } from './definition.js';

export const buildApp = catalogApp(books);
