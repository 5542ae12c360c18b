/**
 * Device affinity: which distributor instance drives which device. A consistent-hash ring with
 * virtual nodes, so that adding or removing an instance moves only the devices that hash to it
 * (about 1/N of them) and every instance holds an even share. Pure: the same members give the
 * same assignment in every process, with no coordination beyond agreeing on the member list.
 */

/** Points per instance on the ring: more points, evener shares (±10% at 128 with 3 instances). */
export const DEFAULT_VIRTUAL_NODES = 128;

export interface HashRing {
  readonly members: readonly string[];
  /** The instance that drives `key` (a device id); undefined when there are no members. */
  ownerOf(key: string): string | undefined;
}

/** 32-bit FNV-1a over UTF-16 code units, then a murmur3 finaliser: cheap, pure and well spread for short ids. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function hashRing(members: Iterable<string>, virtualNodes = DEFAULT_VIRTUAL_NODES): HashRing {
  if (!Number.isInteger(virtualNodes) || virtualNodes < 1) throw new RangeError(`virtualNodes must be a positive integer, got ${virtualNodes}`);
  const sorted = [...new Set(members)].sort();
  const points: Array<{ point: number; member: string }> = [];
  for (const member of sorted) {
    for (let v = 0; v < virtualNodes; v++) points.push({ point: hash32(`${member}#${v}`), member });
  }
  // Ties (two points on one hash) break by member name, so every process builds the same ring.
  points.sort((a, b) => a.point - b.point || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0));
  const positions = Uint32Array.from(points, (p) => p.point);
  return {
    members: sorted,
    ownerOf(key: string): string | undefined {
      if (points.length === 0) return undefined;
      const h = hash32(key);
      // The first point clockwise from the key's hash, wrapping at the top.
      let lo = 0;
      let hi = positions.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (positions[mid]! < h) lo = mid + 1;
        else hi = mid;
      }
      return points[lo === points.length ? 0 : lo]!.member;
    },
  };
}

/** How many of `keys` each member drives: for spreading checks and the affinity metrics. */
export function shares(ring: HashRing, keys: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>(ring.members.map((m) => [m, 0]));
  for (const key of keys) {
    const owner = ring.ownerOf(key);
    if (owner !== undefined) counts.set(owner, (counts.get(owner) ?? 0) + 1);
  }
  return counts;
}
