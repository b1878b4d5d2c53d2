import { defaultPorts, type ServiceName, serviceNames } from '../lib/config.js';
import { freePort } from './ports.js';

/**
 * `npm start -- --scale number-api=3`: how many instances of each service to run locally. The first instance
 * of a service has its usual port; the others get ports the OS hands out, and callers find them in the registry.
 */

export interface LocalInstance {
  service: ServiceName;
  /** `number-api`, then `number-api#2`, `number-api#3`, ... */
  label: string;
  port: number;
}

export class ScaleError extends Error {}

export function parseScale(args: string[]): Map<ServiceName, number> {
  const scale = new Map<ServiceName, number>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const value = arg === '--scale' ? args[++i] : arg.startsWith('--scale=') ? arg.slice(8) : undefined;
    if (value === undefined)
      throw new ScaleError(`unknown argument "${arg}" (expected --scale <service>=<count>)`);
    const [name, count] = value.split('=');
    if (!serviceNames.includes(name as ServiceName) || !/^[1-9]$/.test(count ?? '')) {
      throw new ScaleError(
        `--scale needs <service>=<1-9> with a service of ${serviceNames.join(', ')}, got "${value}"`,
      );
    }
    scale.set(name as ServiceName, Number(count));
  }
  return scale;
}

export async function localInstances(scale: Map<ServiceName, number>): Promise<LocalInstance[]> {
  const instances: LocalInstance[] = [];
  for (const service of serviceNames) {
    const count = scale.get(service) ?? 1;
    for (let n = 1; n <= count; n++) {
      const port = n === 1 ? defaultPorts[service] : await freePort();
      instances.push({ service, label: n === 1 ? service : `${service}#${n}`, port });
    }
  }
  return instances;
}
