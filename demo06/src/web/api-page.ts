/**
 * The API page: each service with its OpenAPI document, as the gateway serves it from the service, rendered by
 * Swagger UI (served by the web service, so it works offline). Where the documents are comes from /config.json.
 */
import type { ConfigResponse } from './types.js';

interface SwaggerUiOptions {
  url: string;
  domNode: HTMLElement;
  /** 'none': never send the document to an online validator. */
  validatorUrl: string;
  deepLinking: boolean;
  docExpansion: 'list' | 'full' | 'none';
  defaultModelsExpandDepth: number;
  onComplete: () => void;
}

declare const SwaggerUIBundle: ((options: SwaggerUiOptions) => unknown) | undefined;

/** What the page needs of /config.json: the documents' URLs are paths on this origin, e.g. "/openapi/cd-api.json". */
interface PageConfig {
  stage: Pick<ConfigResponse['stage'], 'stage' | 'title'>;
  documents: ConfigResponse['documents'];
}

const TIMEOUT_MS = 8000;

const byTestId = (id: string): HTMLElement => {
  const element = document.querySelector<HTMLElement>(`[data-testid="${id}"]`);
  if (!element) throw new Error(`the page has no ${id}`);
  return element;
};

function say(message: string): void {
  const element = byTestId('api-message');
  element.textContent = message;
  element.hidden = message === '';
}

async function loadPageConfig(): Promise<PageConfig> {
  const res = await fetch('config.json', { cache: 'no-store', signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (!res.ok) throw new Error(`the storefront could not load config.json (HTTP ${res.status})`);
  const config = (await res.json()) as Partial<ConfigResponse>;
  if (!config.documents || typeof config.documents !== 'object') {
    throw new Error('config.json says nothing about the services’ documents');
  }
  return {
    stage: { stage: config.stage?.stage ?? '', title: config.stage?.title ?? '' },
    documents: config.documents,
  };
}

/** Renders one service's document in place of the one shown before. */
function show(service: string, url: string): void {
  for (const button of document.querySelectorAll<HTMLButtonElement>('[data-service]')) {
    button.setAttribute('aria-current', String(button.dataset.service === service));
  }
  say('');
  const old = byTestId('api-doc');
  const container = document.createElement('div');
  container.dataset.testid = 'api-doc';
  container.dataset.service = service;
  old.replaceWith(container);
  if (typeof SwaggerUIBundle !== 'function') {
    say('Swagger UI did not load (vendor/swagger-ui/swagger-ui-bundle.js): run `npm run build`.');
    return;
  }
  SwaggerUIBundle({
    url,
    domNode: container,
    validatorUrl: 'none',
    deepLinking: false,
    docExpansion: 'list',
    defaultModelsExpandDepth: 0,
    onComplete: () => {
      container.dataset.rendered = service;
    },
  });
}

async function start(): Promise<void> {
  let config: PageConfig;
  try {
    config = await loadPageConfig();
  } catch (error) {
    say((error as Error).message);
    return;
  }
  byTestId('stage').textContent = [config.stage.stage, config.stage.title].filter(Boolean).join(' · ');
  const list = byTestId('api-services');
  const services = Object.keys(config.documents);
  for (const service of services) {
    const url = config.documents[service] as string;
    const item = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = service;
    button.dataset.service = service;
    button.dataset.testid = `api-service-${service}`;
    button.addEventListener('click', () => {
      history.replaceState(null, '', `#${service}`);
      show(service, url);
    });
    const raw = document.createElement('a');
    raw.href = url;
    raw.textContent = 'JSON';
    raw.title = `${service}'s document as JSON`;
    item.append(button, raw);
    list.append(item);
  }
  const wanted = decodeURIComponent(location.hash.slice(1));
  const first = services.includes(wanted) ? wanted : services[0];
  if (first !== undefined) show(first, config.documents[first] as string);
}

void start();
