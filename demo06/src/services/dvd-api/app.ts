import { catalogApp } from '../../catalog/app.js';
import { dvds } from './definition.js';

export const buildApp = catalogApp(dvds);
