// Invalidation tags (MidoNet's model): the slow path names what a flow depended on (a port,
// a learned MAC, a device); a change to that thing removes exactly the flows carrying its tag.
// Flows with the same tags share one interned tag set, so a flow costs one id, whatever
// the number of its tags.

/** A tracked connection (its slot in the connection table): its flows end with it. Flows keep
 *  their connection beside their tag set, not in it (FlowCache.connection). */
export const connectionTag = (slot: number): string => `${CONNECTION_TAG}${slot}`;
const CONNECTION_TAG = 'ct:';
/** The slot a connection tag names, or -1 for any other tag. */
export const connectionOf = (tag: string): number => (tag.startsWith(CONNECTION_TAG) ? Number(tag.slice(CONNECTION_TAG.length)) : -1);

export class TagSets {
  private readonly idsByName = new Map<string, number>();
  private readonly names = new WeakMap<readonly string[], string>();
  private readonly setsByTag = new Map<string, Set<number>>();
  private readonly tagsOf: (readonly string[] | undefined)[] = [];
  private readonly freeIds: number[] = [];
  /** First flow of each set's list; the list itself lives in the cache's typed arrays. */
  readonly head: number[] = [];
  /** Flows referring to each set. */
  readonly refs: number[] = [];

  intern(tags: readonly string[]): number {
    // Flows answered together share their list: its name is made once, not per flow.
    let name = this.names.get(tags);
    let unique: string[] | undefined;
    if (name === undefined) {
      unique = [...new Set(tags)].sort();
      name = unique.join('\n');
      this.names.set(tags, name);
    }
    const known = this.idsByName.get(name);
    if (known !== undefined) return known;
    unique ??= name.split('\n');
    const id = this.freeIds.pop() ?? this.tagsOf.length;
    this.idsByName.set(name, id);
    this.tagsOf[id] = unique;
    this.head[id] = -1;
    this.refs[id] = 0;
    for (const tag of unique) {
      let sets = this.setsByTag.get(tag);
      if (!sets) this.setsByTag.set(tag, (sets = new Set()));
      sets.add(id);
    }
    return id;
  }

  tags(id: number): readonly string[] {
    return this.tagsOf[id] ?? [];
  }

  /** Ids of the sets that hold `tag` (a copy: the caller may release sets while walking it). */
  setsWith(tag: string): number[] {
    const sets = this.setsByTag.get(tag);
    return sets ? [...sets] : [];
  }

  /** Forgets a set no flow refers to any more. */
  release(id: number): void {
    const tags = this.tagsOf[id];
    if (!tags || this.refs[id] !== 0) return;
    this.idsByName.delete(tags.join('\n'));
    for (const tag of tags) {
      const sets = this.setsByTag.get(tag);
      sets?.delete(id);
      if (sets?.size === 0) this.setsByTag.delete(tag);
    }
    this.tagsOf[id] = undefined;
    this.freeIds.push(id);
  }

  get size(): number {
    return this.idsByName.size;
  }
}
