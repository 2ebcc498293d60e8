/**
 * Allocation that can fail, by label, written once: every kzalloc / GFP_ATOMIC / get_user_pages
 * a model makes goes through here, is drawn as a fault injection (so shrinking can turn it off and
 * a fail_nth sweep can fail exactly the nth one), and is labelled "<site>:<actor>" so a sweep
 * report names the site. `rate` is the chance that it fails in sampled runs.
 */
import type { DataPort } from '../core/model/kind.ts';

export function allocFails(data: DataPort, site: string, who: string, rate: number): boolean {
  return data.fault(`${site}:${who}`, rate);
}
