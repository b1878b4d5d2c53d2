/**
 * The upstream images a deployment of a stage needs, as the Pis pull them from Docker Hub and quay.io: the
 * cluster's own (its registry, its etcd) and those the stage's stack runs beside the stage's image (Prometheus,
 * Grafana). Here they are stand-ins where they cannot be pulled (tools/containers/standins.ts); a stack service
 * whose image has none is left out of the deployment (`pie_left_out`), loudly.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ensureImage } from '../containers/standins.ts';

/** The images deployment/pi.yml runs itself (deployment/group_vars/all.yml). */
export const clusterImages = ['quay.io/coreos/etcd:v3.5.21', 'registry:2'];

/** Each upstream image of a stack file, with the services that run it (not the stage's own image). */
export function stackUpstreamImages(stackFile: string): Map<string, string[]> {
  const stack = parseYaml(readFileSync(stackFile, 'utf8')) as { services: Record<string, { image: string }> };
  const images = new Map<string, string[]>();
  for (const [name, service] of Object.entries(stack.services)) {
    if (service.image.includes('${PIE_REGISTRY}')) continue;
    images.set(service.image, [...(images.get(service.image) ?? []), name]);
  }
  return images;
}

export type Upstream = { ok: true; images: string[]; leftOut: string[] } | { ok: false; reason: string };

/** Makes sure this machine's daemon has every image the deployment needs; says which services are left out. */
export async function provideUpstreamImages(
  stackFile: string,
  log: (line: string) => void,
): Promise<Upstream> {
  const images: string[] = [];
  const leftOut: string[] = [];
  const byStack = stackUpstreamImages(stackFile);
  for (const image of new Set([...clusterImages, ...byStack.keys()])) {
    const services = byStack.get(image) ?? [];
    const outcome = await ensureImage(image, {
      usedBy: services.length > 0 ? services : ['deployment/pi.yml'],
      log,
    });
    if (outcome.kind !== 'missing') {
      images.push(image);
      continue;
    }
    if (services.length === 0) return { ok: false, reason: `${image}: ${outcome.reason}` };
    console.warn(
      `\n*** LEFT OUT of the deployment: ${services.join(', ')} (${image}: ${outcome.reason}); ` +
        'the play runs the rest of the stack (pie_left_out) ***\n',
    );
    leftOut.push(...services);
  }
  return { ok: true, images, leftOut };
}
