import { catalogApp } from '../../catalog/app.js';
import { cds } from './definition.js';

export const buildApp = catalogApp(cds);
